"""The notebook dashboard on a resumed run: its flow and its timeline show the interruption."""

from __future__ import annotations

from pathlib import Path

import anyio

from tests.core.test_durable import Counting, cut_after, diamond, interrupted_copy, orchestrator
from toolkit.sources import open_store
from toolkit.widgets.history import RunHistory


def test_widget_flow_and_timeline_mark_the_resume(tmp_path: Path) -> None:
    """In the notebook dashboard's history, the first arrow after run_resumed is tagged
    "⟳ resumed" and the call cut short by the kill is an interrupted Gantt bar."""
    db = tmp_path / "runs.db"
    full = orchestrator(Counting()).run_sync("go", diamond())
    run_id = interrupted_copy(full.events, cut_after(full.events, "task_started", "c") + 1, db)
    anyio.run(lambda: orchestrator(Counting()).resume(run_id, store=db))
    history = RunHistory(open_store(db, run_id).preload())
    arrows, _ = history.arrows(len(history), 100)
    tagged = [a for a in arrows if a["tag"].startswith("⟳ resumed")]
    assert len(tagged) == 1 and tagged[0]["task"] == "c"
    bars, _ = history.calls.bars_at(len(history), 100)
    assert [b["outcome"] for b in bars if b["task"] == "c"] == ["interrupted", "ok"]
