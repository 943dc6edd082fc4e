"""Pilot tests of every control and view of the app (keys, filters, selection, replay, cancel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown, Select, TabbedContent, TextArea

from toolkit.events import Envelope
from toolkit.sources import LiveRunSource, open_demo, open_trace
from toolkit.state import AgentView, TaskView, fold
from tui.app import SwitchboardApp
from tui.screens.details import DetailsScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.widgets.agents_view import AgentsView
from tui.widgets.event_list import EventList
from tui.widgets.message_flow import MessageFlow
from tui.widgets.metrics_table import MetricsTable
from tui.widgets.plan_view import PlanView
from tui.widgets.replay_bar import ReplayBar
from tui.widgets.run_header import RunHeader

from .conftest import FEATURE_REVIEW, replay_app, screen_text, wait_run_done, wait_until

pytestmark = pytest.mark.anyio

SIZE = (120, 40)
N_EVENTS = 38


async def test_replay_opens_at_the_end_with_every_view_filled() -> None:
    """A trace opens on its final state: header, lanes, plan, agents, replay bar at the end."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "38/38" in screen_text(app))
        screen = app.main
        assert screen.player.cursor == N_EVENTS
        flow = app.screen.query_one(MessageFlow)
        names = [name for row in flow.header_names(flow.size.width) for _, name in row]
        assert names[:3] == ["user", "developer", "reviewer"]
        assert names[3:] == ["orchestrator", "backup-dev", "tester"]
        assert len(flow.messages) == 16
        assert app.screen.query_one(PlanView).row_count == 2
        assert app.screen.query_one(AgentsView).row_count == 4
        text = screen_text(app)
        assert "feature-review" in text and "succeeded" in text and "38/38" in text


async def test_help_lists_every_key_and_closes() -> None:
    """`?` opens the key help with every main-screen binding; escape closes it."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for description in (
            "Play/pause",
            "Step back",
            "Step",
            "Faster",
            "Slower",
            "Cancel run",
            "Run again",
            "End/live",
            "Search events",
        ):
            assert description in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_q_quits() -> None:
    """`q` ends the app."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_tabs_by_number() -> None:
    """1, 2 and 3 show the flow, the metrics and the event log."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.screen.query_one(TabbedContent)
        for key, tab in (("2", "tab-metrics"), ("3", "tab-events"), ("1", "tab-flow")):
            await pilot.press(key)
            assert tabs.active == tab
        await pilot.press("2")
        assert app.screen.query_one(MetricsTable).row_count == 4


async def test_each_tab_gives_its_main_widget_the_focus() -> None:
    """After `2` the metrics table has the focus (s sorts); after `3` the event list (↓, ⏎ open)."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.screen.query_one(MetricsTable)
        assert table.has_focus
        await pilot.press("s")
        assert table.sort_column == "tasks"
        await pilot.press("3")
        events = app.screen.query_one(EventList)
        assert events.has_focus
        await pilot.press("down", "enter")
        assert isinstance(app.screen, DetailsScreen)
        assert app.screen.details.title.startswith("event #")
        await pilot.press("escape", "1")
        assert app.screen.query_one(MessageFlow).has_focus


@pytest.mark.parametrize("widget", [PlanView, AgentsView])
async def test_tab_keys_work_from_the_plan_and_the_agents(widget: type) -> None:
    """With the plan or the agents focused, 2 and 3 switch tabs and stay switched."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.screen.query_one(TabbedContent)
        for key, tab in (("2", "tab-metrics"), ("3", "tab-events")):
            await pilot.press("1")
            app.screen.query_one(widget).focus()
            await pilot.pause()
            await pilot.press(key)
            await pilot.pause()
            assert tabs.active == tab


async def test_enter_on_the_flow_opens_the_newest_message() -> None:
    """Enter on the flow with nothing selected opens the newest message (the one in view)."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        flow = app.screen.query_one(MessageFlow)
        assert flow.has_focus and flow.cursor == -1
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        last = flow.messages[-1]
        assert flow.cursor == len(flow.messages) - 1
        assert app.screen.details.title == f"message {last.kind}: {last.sender} → {last.recipient}"


async def test_stepping_shows_the_state_at_the_cursor() -> None:
    """g jumps to the start, `.` steps forward, `,` back; every view shows fold(events[:cursor])."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        events = screen.timeline.events
        await pilot.press("g")
        assert screen.player.cursor == 0
        for _ in range(12):
            await pilot.press("full_stop")
        await pilot.press("comma")
        assert screen.player.cursor == 11
        expected = fold(events[:11])
        assert len(app.screen.query_one(MessageFlow).messages) == len(expected.messages)
        assert f"events {expected.event_count}" in screen_text(app)
        assert app.screen.query_one(PlanView).row_count == len(expected.tasks)
        await pilot.press("G")
        assert screen.player.cursor == N_EVENTS and screen.player.following


async def test_play_pause_and_speed() -> None:
    """space plays from the start and pauses; + and - change the speed."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        player = app.main.player
        speed = player.speed
        await pilot.press("plus")
        assert player.speed > speed
        await pilot.press("minus", "minus")
        assert player.speed < speed
        await pilot.press("space")
        assert player.playing and player.cursor < N_EVENTS
        await wait_until(pilot, lambda: player.cursor > 0)
        await pilot.press("space")
        assert not player.playing
        assert "paused" in screen_text(app)


async def test_scrubber_click_and_keys_seek() -> None:
    """Clicking the replay bar jumps to that fraction; focused, ←/→ step and shift moves 10%."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        player = app.main.player
        bar = app.screen.query_one(ReplayBar)
        width = bar.size.width - 33 - 1
        await pilot.click(ReplayBar, offset=(33 + width // 2, 0))
        assert abs(player.cursor - N_EVENTS // 2) <= 1
        bar.focus()
        at = player.cursor
        await pilot.press("right")
        assert player.cursor == at + 1
        await pilot.press("left", "left")
        assert player.cursor == at - 1
        await pilot.press("shift+left")
        assert player.cursor == at - 1 - round(0.1 * N_EVENTS)


async def test_selecting_a_message_shows_it_whole() -> None:
    """In the flow, ↑ selects the last message; enter opens its details; m toggles Markdown."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        flow = app.screen.query_one(MessageFlow)
        flow.focus()
        await pilot.press("up", "up", "down")
        assert flow.cursor == len(flow.messages) - 1
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        assert isinstance(app.screen.details, object)
        body = app.screen.query_one("#details-body", TextArea)
        assert body.text.startswith("## implement")
        await pilot.press("m")
        assert app.screen.query_one(Markdown).display and not body.display
        await pilot.press("m")
        assert body.display
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_clicking_a_message_selects_it() -> None:
    """A click on a flow row selects that message; a double click opens it."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        flow = app.screen.query_one(MessageFlow)
        row = flow.HEADER_ROWS  # the first message row, under the lane names
        await pilot.click(MessageFlow, offset=(10, row))
        assert flow.cursor == flow.scroll_offset.y
        await pilot.click(MessageFlow, offset=(10, row), times=2)
        assert isinstance(app.screen, DetailsScreen)


async def test_task_and_agent_details() -> None:
    """enter on a plan row shows the task; on an agent row, the agent."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one(PlanView).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        assert app.screen.details.title == "task implement"
        assert any(name == "review 1" for name, _ in app.screen.details.fields)
        await pilot.press("escape")
        app.screen.query_one(AgentsView).focus()
        await pilot.press("down", "enter")
        assert app.screen.details.title == "agent backup-dev"
        await pilot.press("escape")


async def test_event_log_filters_by_kind_agent_and_text() -> None:
    """The event log narrows to a kind, a participant, a search text; enter shows the event."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        events = app.screen.query_one(EventList)
        assert events.row_count == N_EVENTS
        app.screen.query_one("#event-kind", Select).value = "task_failed"
        await pilot.pause()
        assert events.row_count == 2
        assert all(events.event_at(i).kind == "task_failed" for i in range(2))
        app.screen.query_one("#event-kind", Select).clear()
        app.screen.query_one("#event-agent", Select).value = "reviewer"
        await pilot.pause()
        assert events.row_count > 0
        assert all(
            "reviewer" in (events.event_at(i).model_dump_json()) for i in range(events.row_count)
        )
        app.screen.query_one("#event-agent", Select).clear()
        await pilot.press("slash")
        await pilot.press(*"approved")
        await pilot.pause()
        from tui.describe import event_summary

        expected = [
            e for e in app.main.timeline.events if "approved" in event_summary(e, 400).lower()
        ]
        assert events.row_count == len(expected) >= 2
        assert [events.event_at(i) for i in range(events.row_count)] == expected
        await pilot.press("enter")  # back to the list
        assert events.has_focus
        await pilot.press("down", "enter")
        assert isinstance(app.screen, DetailsScreen)
        assert app.screen.details.title.startswith("event #")


async def test_event_log_follows_the_replay_cursor() -> None:
    """While replaying, the log shows only the events up to the cursor."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "g")
        for _ in range(5):
            await pilot.press("full_stop")
        assert app.screen.query_one(EventList).row_count == 5


async def test_metrics_sort_keys_and_header_click() -> None:
    """s sorts by the next column (largest first), S reverses, a header click sorts by it."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.screen.query_one(MetricsTable)
        table.focus()
        first = lambda: table.get_row_at(0)[0].plain  # noqa: E731
        assert first() == "backup-dev"
        await pilot.press("s")
        assert table.sort_column == "tasks" and table.sort_reverse
        await pilot.press("s", "s")
        assert table.sort_column == "failed"
        assert first() == "developer"
        await pilot.press("S")
        assert not table.sort_reverse and first() != "developer"
        await pilot.click(MetricsTable, offset=(3, 1))
        assert table.sort_column == "agent"


def _hanging_then_quick_demo() -> LiveRunSource:
    """The demo whose first run cannot end by itself (its agents take hours), then quick runs.

    So a cancel always meets a running run, however slow or loaded the machine is.
    """
    from sample_agents.scenarios import feature_review

    runs = []

    def factory(sinks):
        orchestrator, plan, request = feature_review(speed=0.0 if runs else 10_000.0)
        runs.append(request)
        return orchestrator.prepare(request, plan, sinks=sinks)

    return LiveRunSource("demo", factory)


async def test_cancel_and_run_again_in_a_live_run() -> None:
    """c cancels a live run (recorded as cancelled); r runs it again from a fresh timeline."""
    app = SwitchboardApp(_hanging_then_quick_demo())
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await wait_until(pilot, lambda: screen.timeline.latest.counts.get("task_started", 0) > 0)
        assert screen.running
        await pilot.press("c")
        screen = await wait_run_done(pilot)
        assert screen.timeline.latest.status == "cancelled"
        await wait_until(
            pilot, lambda: "cancelled" in app.screen.query_one(RunHeader).render().plain
        )
        await pilot.press("r")
        # the timeline starts afresh: the cancelled run is gone from it
        await wait_until(pilot, lambda: screen.timeline.latest.status != "cancelled")
        await wait_run_done(pilot)
        assert screen.timeline.events[0].seq == 0
        assert screen.timeline.latest.status == "succeeded"
        assert screen.timeline.latest.counts["run_started"] == 1


async def test_run_again_while_running_restarts() -> None:
    """r during a run cancels it and starts a new one."""
    app = SwitchboardApp(open_demo(speed=0.3))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await wait_until(pilot, lambda: len(screen.timeline) > 3)
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.timeline.latest.status == "succeeded", timeout_s=30)
        assert screen.timeline.events[0].kind == "run_started"
        assert screen.timeline.latest.counts["run_started"] == 1


async def test_cancel_and_rerun_do_nothing_on_a_recording() -> None:
    """In a replay, c and r only explain that there is no live run."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c", "r")
        assert len(app.main.timeline) == N_EVENTS


async def test_follow_mode_shows_a_file_being_written(tmp_path: Path) -> None:
    """--follow tails a trace: events appear as lines are appended, until run_finished."""
    lines = FEATURE_REVIEW.read_text().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_text("".join(lines[:10]))
    app = SwitchboardApp(open_trace(path, follow=True))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await wait_until(pilot, lambda: len(screen.timeline) == 10)
        assert "FOLLOW" in screen_text(app)
        with path.open("a") as fh:
            fh.write("not json\n")
            fh.write("".join(lines[10:]))
        await wait_run_done(pilot)
        assert len(screen.timeline) == N_EVENTS
        assert "skipped 1 corrupt line" in screen_text(app)


async def test_a_corrupt_trace_shows_its_notice(tmp_path: Path) -> None:
    """A trace with bad lines opens, and says how many lines it skipped."""
    lines = FEATURE_REVIEW.read_text().splitlines(keepends=True)
    path = tmp_path / "c.jsonl"
    path.write_text("".join(lines[:3]) + "garbage\n" + "".join(lines[3:]))
    app = SwitchboardApp(open_trace(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "skipped 1 corrupt line" in screen_text(app))


async def test_small_terminal_still_shows_everything() -> None:
    """At 80x24 the header, lanes, plan, agents, replay bar and footer are all on screen."""
    app = replay_app()
    parts = ("feature-review", "Message flow", "Plan", "Agents", "38/38", "Play/pause")
    async with app.run_test(size=(80, 24)) as pilot:
        # wait for the drawn screen, not a fixed pause: a loaded machine draws later
        await wait_until(pilot, lambda: all(part in screen_text(app) for part in parts))
        assert app.screen.query_one(MessageFlow).size.height >= 8


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_lane_names_stay_whole_in_a_small_terminal(size: tuple[int, int]) -> None:
    """Lanes too narrow for their names put every other name on a second header row: whole."""
    app = replay_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        flow = app.screen.query_one(MessageFlow)
        header = flow.render_line(0).text + "\n" + flow.render_line(1).text
        for name in ("user", "orchestrator", "developer", "backup-dev", "reviewer", "tester"):
            assert name in header
        assert flow.HEADER_ROWS == 2
        # the rows under the header are the messages, the newest in view
        rows = [flow.render_line(y).text for y in range(flow.HEADER_ROWS, flow.size.height)]
        tags = ("directive", "retry", "fallback", "review", "revision", "result", "error")
        assert any(tag in rows[0] for tag in tags), rows[0]  # a message row, not the header
        assert not any(name in rows[0] for name in ("orchestrator", "backup-dev"))
        assert any("## implement" in row for row in rows)


async def test_metrics_scroll_to_their_hidden_columns_at_80x24() -> None:
    """At 80x24 the metrics table hides its right columns; → scrolls to them, the agent stays."""
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert "cost" not in screen_text(app)
        for _ in range(60):
            await pilot.press("right")
        await pilot.pause()
        text = screen_text(app)
        assert "cost" in text and "$0.0005" in text
        assert "backup-dev" in text


async def test_details_subjects_have_the_right_kind() -> None:
    """The details view accepts messages, tasks, agents and events."""
    from tui.screens.details import details_of

    state = fold(open_trace(FEATURE_REVIEW).preload())
    assert details_of(state.messages[0]).title.startswith("message directive")
    assert isinstance(state.messages[0], Envelope)
    assert details_of(next(iter(state.tasks.values()))).body_label == "output"
    assert isinstance(next(iter(state.tasks.values())), TaskView)
    assert details_of(state.agents["developer"]).title == "agent developer"
    assert isinstance(state.agents["developer"], AgentView)


async def test_a_workflow_file_runs_live() -> None:
    """`switchboard tui WORKFLOW.yaml` runs the workflow in the app: every task ends done."""
    from toolkit.sources import open_path

    source = open_path(
        Path(__file__).resolve().parents[2]
        / "sample_agents"
        / "workflows"
        / "two-workers-parallel.yaml",
        seed=1,
    )
    app = SwitchboardApp(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_run_done(pilot)
        state = screen.timeline.latest
        assert state.status == "succeeded"
        assert {t.status for t in state.tasks.values()} == {"done"}
        assert app.screen.query_one(PlanView).row_count == len(state.tasks) == 2


NO_KEY_WORKFLOW = """
name: no-key
input: "say hi"
agents:
  writer:
    kind: llm
    model: gpt-4o-mini
    api_key_env: SWITCHBOARD_TEST_NO_SUCH_KEY
steps:
  - {id: write, agent: writer, goal: write a greeting, prompt: "{{input}}"}
"""


async def test_a_failed_task_shows_its_error_on_its_plan_row_and_in_a_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An LLM step run with no key fails; its LLMConfigError is on its plan row and notified."""
    from toolkit.sources import open_path

    for name in ("SWITCHBOARD_TEST_NO_SUCH_KEY", "SWITCHBOARD_CASSETTE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "no-key.yaml"
    path.write_text(NO_KEY_WORKFLOW)
    app = SwitchboardApp(open_path(path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_run_done(pilot)
        task = screen.timeline.latest.tasks["write"]
        assert task.status == "failed" and task.error
        row = app.screen.query_one(PlanView).row_plain(0)
        assert "failed" in row[0]
        assert "no API key" in row[5] and "write a greeting" not in row[5]
        notes = [(n.title, n.message) for n in app._notifications]
        assert any("write" in title and "no API key" in message for title, message in notes)


def test_lanes_do_not_move_as_agents_join() -> None:
    """At every point of a run the flow's lanes are a prefix-stable order: a lane never moves."""
    from toolkit import MockAgent, Orchestrator, Plan, Task
    from tui.screens.main import lanes

    # declared c, b, a; they speak a, b, c: the order of first appearance differs
    orch = Orchestrator([MockAgent(name) for name in "cba"], seed=1)
    plan = Plan(
        name="p",
        tasks=[
            Task(id="ta", agent="a", prompt="x"),
            Task(id="tb", agent="b", prompt="x", depends_on=["ta"]),
            Task(id="tc", agent="c", prompt="x", depends_on=["tb"]),
        ],
    )
    events = orch.run_sync("go", plan).events
    final = lanes(fold(events))
    assert final[:2] == ["user", "orchestrator"]
    for n in range(2, len(events) + 1):
        now = lanes(fold(events[:n]))
        assert now == final[: len(now)], n
