"""Words that teach the patterns right, the same in the TUI, the notebook widgets and the CLI.

The words come from one place (``toolkit.describe``); these tests read them where a
user sees them: the app's screen, the widget's synced rows, the CLI's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from toolkit import FunctionAgent, MockAgent, Orchestrator, pipeline
from toolkit.events import TraceEvent
from toolkit.recorder import JsonlRecorder, read_trace
from toolkit.sources import open_trace
from toolkit.widgets import RunView
from tui.app import SwitchboardApp

from .conftest import FEATURE_REVIEW, ROOT, screen_text

pytestmark = pytest.mark.anyio

SIZE = (160, 48)
EVENTS = read_trace(FEATURE_REVIEW).events
FALLBACK_SEQ = 14
"""The directive that hands ``implement`` to the backup agent (attempt 3)."""
REVIEW_SEQ = 18
"""The directive that asks the reviewer for round 1's review."""


def cli(*args: str | Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return proc.stdout


async def _screen_at(path: Path, cursor: int | None, tab: str = "tab-flow") -> str:
    app = SwitchboardApp(open_trace(path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.main
        if cursor is not None:
            screen.player.seek(cursor)
        if tab != "tab-flow":
            await pilot.press({"tab-metrics": "2", "tab-events": "3"}[tab])
        screen.render_frame()
        await pilot.pause()
        return screen_text(app)


def _arrow(view: RunView, seq: int) -> dict[str, Any]:
    return next(a for a in view.arrows_head + view.arrows_tail if a["seq"] == seq)


def _task(view: RunView, task_id: str) -> dict[str, Any]:
    return next(t for t in view.snapshot["tasks"] if t["id"] == task_id)


async def test_a_fallback_attempt_is_named_a_fallback_everywhere() -> None:
    """The directive that hands a task to the backup agent reads "fallback #3" (never "retry #3")
    in the TUI's flow and event log, the widget's arrow and the CLI's replay."""
    flow = await _screen_at(FEATURE_REVIEW, None)
    assert "↪ fallback #3" in flow and "retry #3" not in flow
    log = await _screen_at(FEATURE_REVIEW, None, "tab-events")
    assert "orchestrator → backup-dev fallback #3" in log
    view = RunView(EVENTS)
    assert _arrow(view, FALLBACK_SEQ)["tag"] == "↪ fallback #3"
    assert next(r for r in view.log_head + view.log_tail if r["seq"] == FALLBACK_SEQ)[
        "text"
    ].startswith("orchestrator → backup-dev fallback #3")
    replay = cli("replay", FEATURE_REVIEW)
    (line,) = [ln for ln in replay.splitlines() if ln.split()[0] == str(FALLBACK_SEQ)]
    assert "↪ fallback #3" in line and "backup-dev" in line


async def test_a_review_round_says_the_reviewer_is_reviewing() -> None:
    """Mid-review, the plan names the reviewer as reviewing (not "(fallback)"), and the
    request to the reviewer is a "review" in the flow, the widget and the CLI."""
    text = await _screen_at(FEATURE_REVIEW, REVIEW_SEQ + 1)
    assert "reviewer (reviewing)" in text and "reviewer (fallback)" not in text
    assert "◇ review" in text
    view = RunView(EVENTS)
    view.seek(REVIEW_SEQ + 1)
    assert _task(view, "implement")["worker"] == "reviewer (reviewing)"
    assert _arrow(view, REVIEW_SEQ)["tag"] == "◇ review"
    replay = cli("replay", FEATURE_REVIEW)
    (line,) = [ln for ln in replay.splitlines() if ln.split()[0] == str(REVIEW_SEQ)]
    assert "◇ review" in line


async def test_the_plan_names_who_did_the_work_and_counts_the_tries() -> None:
    """A task done by the backup agent after two failed attempts and a revision names
    "backup-dev (fallback)" and 4 tries in the TUI's plan and the widget's plan card; no "done*"."""
    text = await _screen_at(FEATURE_REVIEW, None)
    row = next(line for line in text.splitlines() if "implement" in line and "done" in line)
    assert "backup-dev (fallback)" in row and "done*" not in row and "+fallback" not in row
    assert " 4 " in row.split("backup-dev (fallback)")[1]
    view = RunView(EVENTS)
    task = _task(view, "implement")
    assert task["worker"] == "backup-dev (fallback)" and task["agent"] == "developer"
    assert task["tries"] == 4


async def test_the_reviewers_reviews_count_in_agents() -> None:
    """The reviewer gave 2 reviews: the TUI's agents and metrics, the widget's metrics and the CLI's metrics say so."""
    text = await _screen_at(FEATURE_REVIEW, None, "tab-metrics")
    header = next(line for line in text.splitlines() if "reviews" in line).strip("│ ").split()
    reviewer = next(line for line in text.splitlines() if line.strip("│ ").startswith("reviewer"))
    assert header[:6] == ["agent", "tasks", "ok", "failed", "retries", "reviews"]
    assert reviewer.strip("│ ").split()[5] == "2"
    view = RunView(EVENTS)
    assert next(r for r in view.snapshot["metrics"] if r["agent"] == "reviewer")["reviews"] == 2
    assert '"reviews":2' in cli("metrics", FEATURE_REVIEW, "--format", "json").replace(" ", "")


async def _cancelled_trace(path: Path) -> list[TraceEvent]:
    """A run cancelled while its first task runs (the agent cancels the run itself)."""
    holder: dict[str, Any] = {}

    async def slow(directive: Any) -> str:
        holder["run"].cancel()
        await anyio.sleep(60)
        return "never"

    orch = Orchestrator([FunctionAgent(slow, name="worker"), MockAgent("next")], seed=1)
    run = holder["run"] = orch.prepare(
        "go", pipeline("worker", "next"), sinks=[JsonlRecorder(path)]
    )
    result = await run.execute()
    assert result.status == "cancelled"
    return result.events


async def test_a_cancelled_task_shows_as_cancelled(tmp_path: Path) -> None:
    """A task stopped by a cancelled run is "cancelled" (not "failed") in the fold, the TUI's plan,
    the widget's plan card and the CLI's replay; its agent did not fail."""
    path = tmp_path / "cancelled.jsonl"
    events = await _cancelled_trace(path)
    text = await _screen_at(path, None)
    assert "⊗ cancelled" in text
    view = RunView(events)
    assert _task(view, "1-worker")["status"] == "cancelled"
    assert view.state.agents["worker"].failed == 0
    assert "1-worker cancelled on worker" in cli("replay", path, "--all")


async def test_the_metrics_tab_redraws_without_a_dataframe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The metrics tab draws from toolkit.metrics.agent_rows: no DataFrame is built on a redraw."""
    import pandas as pd

    def no_frames(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a DataFrame was built on a redraw")

    monkeypatch.setattr(pd, "DataFrame", no_frames)
    text = await _screen_at(FEATURE_REVIEW, 20, "tab-metrics")
    assert "backup-dev" in text and "reviewer" in text
