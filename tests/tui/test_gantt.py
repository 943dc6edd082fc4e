"""The terminal app's timeline: bars from the core's CallTimeline, kinds told by glyph."""

from __future__ import annotations

import pytest

from toolkit import MockAgent, Orchestrator, parallel
from toolkit.agents import FailureSpec
from toolkit.plan import Plan, ReviewSpec, Task
from toolkit.timeline import CallTimeline
from tui.widgets.gantt import LABEL, gantt_lines

from .conftest import HOSTILE, replay_app, screen_text

pytestmark = pytest.mark.anyio


def bars_of(events) -> list[dict]:
    calls = CallTimeline()
    for i, event in enumerate(events):
        calls.add(i, event)
    return calls.bars


def lane(lines, agent: str) -> str:
    return next(line.plain for line in lines if line.plain.startswith(agent))[LABEL + 1 : -1]


def test_parallel_calls_overlap_on_their_lanes() -> None:
    """Three branches of a parallel run, on simulated time, cover the same columns."""
    agents = [MockAgent(n, latency=10.0) for n in ("a", "b", "c")]
    result = Orchestrator(agents, clock="simulated").run_sync("go", parallel("a", "b", "c"))
    lines = gantt_lines(bars_of(result.events), ["a", "b", "c"], 80, 10.0)
    rows = [lane(lines, n) for n in ("a", "b", "c")]
    assert rows[0] == rows[1] == rows[2]
    assert set(rows[0]) == {"█"}  # each bar spans the whole run


def test_retry_fallback_review_and_revision_have_their_own_glyph() -> None:
    """A failing worker is retried, replaced by its fallback, reviewed twice and revised once."""
    dev = MockAgent("dev", latency=1.0, failures=FailureSpec(exception=1.0))
    backup = MockAgent("backup", latency=1.0)
    reviewer = MockAgent("reviewer", reply=["changes please", "APPROVED"], latency=1.0)
    plan = Plan(
        name="p",
        tasks=[
            Task(
                id="build",
                agent="dev",
                retries=1,
                fallback="backup",
                review=ReviewSpec(reviewer="reviewer", max_rounds=3),
            )
        ],
    )
    result = Orchestrator([dev, backup, reviewer], clock="simulated").run_sync("x", plan)
    assert result.status == "succeeded"
    lines = gantt_lines(bars_of(result.events), ["dev", "backup", "reviewer"], 100, 7.0)
    dev_row, backup_row, review_row = (lane(lines, n) for n in ("dev", "backup", "reviewer"))
    assert dev_row.count("✖") == 2 and "↻" in dev_row  # two failed attempts, the 2nd a retry
    assert backup_row.lstrip()[0] == "↪" and "✎" in backup_row  # fallback, then a revision
    assert review_row.count("◇") == 2  # two review rounds
    assert "↻ retry" in lines[-1].plain  # the legend names every glyph


def test_running_call_is_drawn_to_the_cursor() -> None:
    """A call without an answer yet is ░ up to now."""
    bars = [
        {
            "agent": "a",
            "task": "t",
            "attempt": 1,
            "start_s": 0.0,
            "end_s": None,
            "outcome": "unfinished",
        }
    ]
    row = lane(gantt_lines(bars, ["a"], 60, 5.0), "a")
    assert set(row) == {"░"}


def test_agent_names_are_shown_literally() -> None:
    """A hostile agent name cannot carry markup or escapes into the chart."""
    name = "\x1b[31m[b]evil[/b]\u202e"
    bars = [
        {"agent": name, "task": "t", "attempt": 1, "start_s": 0.0, "end_s": 1.0, "outcome": "ok"}
    ]
    lines = gantt_lines(bars, [], 60, 1.0)
    text = "".join(line.plain for line in lines)
    assert "\x1b" not in text and "\u202e" not in text
    assert "[b]evil" in text


async def test_the_time_tab_shows_every_agent_lane() -> None:
    """Key 4 opens the timeline with a lane per agent of the run."""
    app = replay_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        text = screen_text(app)
        for agent in ("developer", "backup-dev", "reviewer", "tester"):
            assert agent in text
        assert "Agent calls over time" in text


async def test_hostile_trace_in_the_time_tab() -> None:
    """The hostile sample trace draws in the timeline without any escape reaching the screen."""
    app = replay_app(HOSTILE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert "\x1b" not in app.export_screenshot()


def _typing_run():
    """A function agent that streams two chunks and then pauses (simulated) mid-reply."""
    from toolkit import FunctionAgent
    from toolkit.session import current_session

    async def writer(directive):
        import anyio

        session = current_session()
        assert session is not None
        session.llm_delta("Once upon ")
        session.llm_delta("a [b]time[/b]")
        await anyio.sleep(5)
        return "Once upon a time"

    orch = Orchestrator([FunctionAgent(writer, "writer")], clock="simulated")
    return orch.run_sync("story", parallel("writer"))


def test_the_agents_panel_shows_a_reply_as_it_streams() -> None:
    """Mid-reply, the agent's row shows the newest end of the streamed text, literally."""
    from toolkit.state import fold
    from tui.widgets.agents_view import agent_cells

    result = _typing_run()
    cut = max(i for i, e in enumerate(result.events) if e.kind == "llm_delta") + 1
    writer = fold(result.events[:cut]).agents["writer"]
    assert agent_cells(writer)[-1].plain == "Once upon a [b]time[/b] ✎"
    done = result.state.agents["writer"]
    assert agent_cells(done)[-1].plain == ""  # the reply arrived: no longer typing


def test_the_notebook_snapshot_carries_typing_and_simulated_time() -> None:
    """The dashboard's snapshot names the agent typing and its text so far."""
    from toolkit.state import fold
    from toolkit.widgets.projection import run_snapshot

    result = _typing_run()
    cut = max(i for i, e in enumerate(result.events) if e.kind == "llm_delta") + 1
    snap = run_snapshot(fold(result.events[:cut]))
    assert snap["typing"] == [{"agent": "writer", "text": "Once upon a [b]time[/b]"}]
    assert snap["run"]["simulated"] is True
    assert run_snapshot(result.state)["typing"] == []
