"""The terminal app on a resumed run: the message flow marks where the run went on
after its process died, and the event log words the resume."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.core.test_durable import Counting, cut_after, diamond, interrupted_copy, orchestrator
from toolkit.sources import open_store
from tui.app import SwitchboardApp
from tui.widgets.message_flow import MessageFlow

from .conftest import screen_text, wait_until

pytestmark = pytest.mark.anyio


async def test_flow_marks_the_resume(tmp_path: Path) -> None:
    """The first message sent after run_resumed is marked "⟳ resumed" in the flow and the
    header counts the resumes; the run ends succeeded."""
    db = tmp_path / "runs.db"
    full = orchestrator(Counting()).run_sync("go", diamond())
    run_id = interrupted_copy(full.events, cut_after(full.events, "task_started", "c") + 1, db)
    await anyio.to_thread.run_sync(
        lambda: anyio.run(lambda: orchestrator(Counting()).resume(run_id, store=db))
    )
    app = SwitchboardApp(open_store(db, run_id))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: "succeeded" in screen_text(app))
        flow = app.screen.query_one(MessageFlow)
        resumed_at = app.main.timeline.latest.resumes[0][4]
        assert flow.messages[resumed_at].task_id == "c"
        text = screen_text(app)
        assert "⟳ resumed" in text and "⟳ resumed 1×" in text  # the flow and the header
