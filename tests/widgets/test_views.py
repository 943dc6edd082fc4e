"""The notebook dashboard without a browser: traits, messages, throttling, replay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.widgets.conftest import HOSTILE, demo_orchestrator
from toolkit import MockAgent, Orchestrator, parallel
from toolkit.events import TraceEvent
from toolkit.metrics import agent_metrics, timeline
from toolkit.recorder import JsonlRecorder, read_trace
from toolkit.state import fold
from toolkit.store import RunStore
from toolkit.widgets import FlowView, GanttView, MetricsView, PlanView, RunView
from toolkit.widgets import history as history_module
from toolkit.widgets.history import LogFilter, RunHistory


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class FakeTimers:
    """Collects scheduled trailing pushes instead of starting threads."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, fn: Callable[[], None]) -> None:
        self.pending.append((delay, fn))

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _, fn in pending:
            fn()


def controlled(view: RunView, clock: FakeClock) -> FakeTimers:
    timers = FakeTimers()
    view.feed.clock = clock
    view.feed.schedule = timers
    view.feed.last_push = clock.now
    view._autoplay = False
    return timers


def sent_states(view: RunView) -> list[dict[str, Any]]:
    """Record the state of every comm message the widget sends to the front end."""
    messages: list[dict[str, Any]] = []
    original = view.comm.send

    def record(data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        if isinstance(data, dict) and data.get("method") == "update":
            messages.append(data["state"])
        original(data=data, metadata=metadata, buffers=buffers)

    view.comm.send = record  # type: ignore[method-assign]
    return messages


def big_run(tasks: int = 2499) -> tuple[Orchestrator, Any]:
    """A zero-latency fan-out of ``tasks`` tasks: about 4 events per task (10,000 for 2,499)."""
    orch = Orchestrator([MockAgent("a"), MockAgent("b")], seed=1)
    return orch, parallel(*["a" if i % 2 else "b" for i in range(tasks)])


# -- import hygiene -----------------------------------------------------------------
def test_core_import_does_not_load_widget_stack() -> None:
    """Importing toolkit (and running a run) loads neither anywidget nor ipywidgets; toolkit.widgets is lazy too."""
    code = (
        "import sys, toolkit, toolkit.widgets\n"
        "from toolkit import MockAgent, Orchestrator, pipeline\n"
        "Orchestrator([MockAgent('a')]).run_sync('x', pipeline('a'))\n"
        "print(sorted(m for m in ('anywidget', 'ipywidgets', 'traitlets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- live view = fold -----------------------------------------------------------------
def test_live_view_shows_the_fold_of_the_run(events: list[TraceEvent]) -> None:
    """A view fed a run's events shows the fold's lanes, every message as an arrow, tasks and agent metrics."""
    view = RunView(events)
    state = fold(events)
    snap = view.snapshot
    assert (
        snap["participants"]
        == state.participants
        == ["user", "orchestrator", "researcher", "writer", "editor", "checker"]
    )
    arrows = view.arrows_head + view.arrows_tail
    assert [(a["from"], a["to"], a["kind"]) for a in arrows] == [
        (m.sender, m.recipient, m.kind) for m in state.messages
    ]
    assert {a["kind"] for a in arrows} == {"directive", "result", "error", "a2a", "broadcast"}
    assert {t["id"]: t["status"] for t in snap["tasks"]} == {
        "research": "done",
        "write": "done",
        "check": "done",
    }
    assert next(t for t in snap["tasks"] if t["id"] == "write")["deps"] == ["research"]
    expected = agent_metrics(state)
    assert [r["agent"] for r in snap["metrics"]] == list(expected["agent"])
    assert [r["tasks"] for r in snap["metrics"]] == list(expected["tasks"])
    assert snap["run"]["status"] == "succeeded"
    assert view.totals == {"messages": len(state.messages), "log": len(events)}
    assert view.metrics().equals(expected)
    assert json.dumps(snap)  # every trait value is plain JSON


def test_gantt_bars_match_metrics_timeline(events: list[TraceEvent]) -> None:
    """The incremental Gantt bars are the rows of toolkit.metrics.timeline (same calls, same times)."""
    bars, hidden = RunHistory(events).calls.bars_at(len(events), 1000)
    frame = timeline(events)
    key = lambda r: (r["agent"], r["task"], r["attempt"], round(r["start_s"], 6), r["outcome"])  # noqa: E731
    assert hidden == 0
    assert sorted(map(key, bars)) == sorted(map(key, frame.to_dict("records")))


def test_parts_are_usable_alone(events: list[TraceEvent]) -> None:
    """Each part view shows only its part, with the same data; an unknown part is refused."""
    assert FlowView(events).parts == ["flow"]
    assert (
        RunView(following=False, selected=3).detail == ""
    )  # trait kwargs before the view is set up
    assert PlanView(events).parts == ["plan"]
    assert MetricsView(events).parts == ["metrics"]
    gantt = GanttView(events)
    assert gantt.parts == ["gantt"] and gantt.snapshot["gantt"]
    assert RunView(parts=["flow", "log"]).parts == ["flow", "log"]
    with pytest.raises(ValueError, match="unknown part"):
        RunView(parts=["flow", "radar"])


# -- running it live ------------------------------------------------------------------
def test_sink_in_the_callers_event_loop() -> None:
    """`await orch.run(..., sinks=[view])` in a running loop (no thread) fills the view and pushes the final state."""
    orch, plan = demo_orchestrator()
    view = RunView()

    async def main() -> Any:
        return await orch.run("go", plan, sinks=[view])

    result = asyncio.run(main())
    assert view.snapshot["run"]["status"] == "succeeded"
    assert view.total == len(result.events) == view.cursor


def test_run_sync_inside_a_running_loop_feeds_the_view_from_its_thread() -> None:
    """`orch.run_sync` called where a loop runs (a notebook cell) runs on another thread; the view still ends complete."""
    orch, plan = demo_orchestrator()
    view = RunView().attach(orch)

    async def cell() -> Any:
        return orch.run_sync("go", plan)

    result = asyncio.run(cell())
    assert view.total == len(result.events)
    assert view.snapshot["run"]["events"] == len(result.events)
    assert len(view.arrows_head + view.arrows_tail) == len(result.state.messages)


def test_attached_view_follows_each_new_run() -> None:
    """A view attached to an orchestrator replaces the shown run when the next one starts."""
    orch, plan = demo_orchestrator()
    view = RunView().attach(orch)
    first = orch.run_sync("one", plan)
    second = orch.run_sync("two", plan, seed=4)
    assert first.run_id != second.run_id
    assert view.snapshot["run"]["run_id"] == second.run_id
    assert view.snapshot["run"]["request"] == "two"
    assert view.total == len(second.events)
    assert all(e.run_id == second.run_id for e in view.events)
    view.detach(orch)
    assert view not in orch.sinks


# -- throttling -------------------------------------------------------------------------
def test_frozen_clock_means_one_trailing_push_for_any_burst() -> None:
    """Within one throttle interval, 10,000 events schedule one trailing push and push nothing else."""
    orch, plan = big_run()
    events = orch.run_sync("x", plan).events
    assert len(events) >= 10_000
    view = RunView()
    timers = controlled(view, FakeClock(step=0.0))
    before = view.pushes
    for event in events:
        view.emit(event)
    assert view.pushes == before
    assert len(timers.pending) == 1
    timers.fire()
    assert view.pushes == before + 1
    assert view.snapshot["run"]["events"] == len(events)
    view.close()
    assert view.pushes == before + 2


def test_push_rate_is_bounded_by_the_clock() -> None:
    """With 1 ms between events and 10 pushes/s, 10,000 events make about 100 pushes, never more than time allows."""
    orch, plan = big_run()
    events = orch.run_sync("x", plan).events
    view = RunView(rate_hz=10)
    clock = FakeClock(step=0.0)
    controlled(view, clock)
    for event in events:
        clock.now += 0.001
        view.emit(event)
    view.close()
    elapsed = len(events) * 0.001
    assert view.pushes <= elapsed * 10 + 3
    assert view.pushes >= elapsed * 10 * 0.9


def test_real_10k_event_run_makes_a_bounded_number_of_pushes() -> None:
    """A real 10,000-event run pushes at most rate × duration + a few times, and the browser holds bounded windows."""
    import time

    orch, plan = big_run()
    view = RunView(rate_hz=10, max_rows=200)
    t0 = time.monotonic()
    result = orch.run_sync("x", plan, sinks=[view])
    elapsed = time.monotonic() - t0
    assert len(result.events) >= 10_000
    assert view.pushes <= elapsed * 10 + 3
    assert view.total == len(result.events)
    assert len(view.arrows_head) + len(view.arrows_tail) <= 200 + 50
    assert len(view.log_head) + len(view.log_tail) <= 200 + 50
    assert len(view.snapshot["tasks"]) == 200 and view.snapshot["tasks_hidden"] == 2499 - 200
    assert view.totals["messages"] == len(result.state.messages)


def test_live_pushes_send_new_rows_not_the_history(events: list[TraceEvent]) -> None:
    """Pushed one event at a time, the messages carry only the small tail window; the head is resent rarely."""
    view = RunView(max_rows=500)
    clock = FakeClock()
    controlled(view, clock)
    messages = sent_states(view)
    for event in events * 1:
        clock.now += 1.0  # every event is its own push
        view.emit(event)
    assert len(messages) == len(events)
    tails = [m["arrows_tail"] for m in messages if "arrows_tail" in m]
    assert tails and max(len(t) for t in tails) <= 50
    heads = [m for m in messages if "arrows_head" in m]
    assert len(heads) <= 2  # the first arrow and nothing more: 20 messages fit in one tail
    assert all("snapshot" in m or "log_tail" in m for m in messages)


# -- replay ---------------------------------------------------------------------------------
def test_seek_shows_the_fold_of_the_prefix(
    events: list[TraceEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """seek(k) shows exactly fold(events[:k]), also when resumed from replay checkpoints."""
    monkeypatch.setattr(history_module, "CHECKPOINT_EVERY", 7)
    view = RunView(events)
    view._autoplay = False
    for k in (0, 1, 6, 7, 8, 15, 22, len(events) - 1):
        view.seek(k)
        expected = fold(events[:k])
        assert view.cursor == k and not view.following
        assert view.snapshot["run"]["events"] == k
        assert view.state.participants == expected.participants
        assert {t.id: t.status for t in view.state.tasks.values()} == {
            t.id: t.status for t in expected.tasks.values()
        }
        assert len(view.arrows_head + view.arrows_tail) == len(expected.messages)


FEATURE_REVIEW = (
    Path(__file__).resolve().parents[2] / "sample_agents" / "traces" / "feature-review.jsonl"
)
"""A recorded run whose events are 0.25 s apart."""


def test_step_play_pause_and_live() -> None:
    """step moves by one event, play from the end restarts at 0, advance moves at `speed` times
    the recorded pace (events 0.25 s apart: 4 a second at speed 1), live returns to the end."""
    events = read_trace(FEATURE_REVIEW).events
    view = RunView(events)
    view._autoplay = False
    n = len(events)
    view.step(-1)
    assert view.cursor == n - 1 and not view.following
    view.step(-3)
    assert view.cursor == n - 4
    view.step(+100)
    assert view.cursor == n
    view.play(speed=1)
    assert view.playing and view.cursor == 0
    assert view.advance(1.0) is True and view.cursor == 5
    view.pause()
    assert not view.playing and view.cursor == 5
    view.play(speed=4)
    assert view.advance(1.0) is True and view.cursor == 5 + 16
    while view.advance(1.0):
        pass
    assert view.cursor == n and not view.playing
    view.seek(3)
    view.live()
    assert view.following and view.cursor == n


@pytest.mark.parametrize("speed", [0.5, 1.0, 4.0, 64.0])
def test_the_widget_replays_at_the_terminal_apps_pace(speed: float) -> None:
    """One speed meaning: at the same speed, the widget and the terminal app's player show the same event after the same time."""
    from toolkit.timeline import Player, Timeline

    events = read_trace(FEATURE_REVIEW).events
    timeline = Timeline()
    timeline.extend(events)
    player = Player(timeline, following=False)
    player.speed = speed
    player.seek(0)
    player.toggle()
    view = RunView(events)
    view._autoplay = False
    view.seek(0)
    view.play(speed=speed)
    for dt in (0.0, 0.3, 0.7, 1.0, 2.5, 0.1, 5.0):
        player.advance(dt)
        view.advance(dt)
        assert view.cursor == player.cursor


def test_front_end_cursor_change_replays(events: list[TraceEvent]) -> None:
    """Setting the cursor trait (what the slider does) stops following and shows that prefix."""
    view = RunView(events)
    view.cursor = 4
    assert not view.following
    assert view.snapshot["run"]["events"] == 4
    view.following = True
    assert view.cursor == len(events)


# -- details, filter, sources ---------------------------------------------------------------
def test_selected_event_details_are_literal(events: list[TraceEvent]) -> None:
    """Selecting a message shows its whole event as JSON, with the hostile payload as plain text."""
    hostile = next(e for e in events if e.kind == "message_sent" and e.envelope.payload == HOSTILE)
    detail = RunView(events).select(hostile.seq)
    assert json.loads(detail)["envelope"]["payload"] == HOSTILE
    assert RunView(events).select(10_000) == ""


def test_log_filter_searches_the_whole_history(events: list[TraceEvent]) -> None:
    """The log filter (kind and text) is applied in Python over every event, beyond the browser's window."""
    view = RunView(events, max_rows=5)
    view.log_filter = {"text": "", "kind": "task_failed"}
    rows = view.log_head + view.log_tail
    assert [r["kind"] for r in rows] == ["task_failed"]
    assert view.totals["log"] == 1
    view.log_filter = {"text": "APPROVED", "kind": ""}
    assert all(
        "approved" in f"{r['kind']} {r['who']} {r['text']}".lower()
        for r in view.log_head + view.log_tail
    )
    assert view.totals["log"] >= 1
    assert LogFilter(text="WRITER").matches({"kind": "log", "who": "writer", "text": ""})


def test_from_trace_and_from_store(tmp_path: Any) -> None:
    """A recorded trace and a stored run open as views identical to the live one."""
    orch, plan = demo_orchestrator()
    result = orch.run_sync("go", plan, trace=tmp_path / "run.jsonl", store=tmp_path / "runs.db")
    live = RunView(result.events)
    from_trace = RunView.from_trace(tmp_path / "run.jsonl")
    from_store = RunView.from_store(tmp_path / "runs.db")
    by_id = RunView.from_store(RunStore(tmp_path / "runs.db"), result.run_id)
    for view in (from_trace, from_store, by_id):
        assert view.snapshot == live.snapshot
        assert view.arrows_head == live.arrows_head
    assert from_trace.problems == []


def test_from_trace_reports_corrupt_lines(tmp_path: Any, events: list[TraceEvent]) -> None:
    """Corrupt lines of a trace are skipped and listed in `problems`; the rest shows."""
    path = tmp_path / "bad.jsonl"
    recorder = JsonlRecorder(path)
    for event in events:
        recorder.emit(event)
    recorder.close()
    with path.open("a") as fh:
        fh.write("{not json\n")
    view = RunView.from_trace(path)
    assert view.total == len(events)
    assert len(view.problems) == 1 and view.problems[0].startswith("line ")


def test_follow_trace_reads_a_growing_file(tmp_path: Any, events: list[TraceEvent]) -> None:
    """follow_trace shows a trace file's events as they are written and stops after run_finished."""
    path = tmp_path / "live.jsonl"
    half = len(events) // 2
    path.write_text("".join(e.model_dump_json() + "\n" for e in events[:half]))
    view = RunView.follow_trace(path, poll_s=0.01, idle_timeout_s=30)
    with path.open("a") as fh:
        fh.write("garbage\n")
        fh.write("".join(e.model_dump_json() + "\n" for e in events[half:]))
    assert view.reader is not None
    view.reader.join(timeout=30)
    assert not view.reader.is_alive()
    assert view.total == len(events)
    assert view.snapshot["run"]["status"] == "succeeded"
    assert len(view.problems) == 1


def test_a_failing_push_never_breaks_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """If pushing to the browser fails, the run goes on, the view keeps every event and reports the error."""
    from toolkit.widgets import views

    orch, plan = demo_orchestrator()
    view = RunView()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("comm is gone")

    monkeypatch.setattr(views, "run_snapshot", broken)
    result = orch.run_sync("go", plan, sinks=[view])
    assert result.status == "succeeded"
    assert not any(e.kind == "log" and "detached" in e.message for e in result.events)
    assert len(view.events) == len(result.events)
    assert view.push_error == "RuntimeError: comm is gone"


def test_trailing_push_runs_on_the_emitting_loop_thread() -> None:
    """Inside a running event loop the trailing push is a loop callback on that thread; without one, a timer thread."""
    import threading

    from toolkit.widgets.views import schedule_later

    async def in_loop() -> int:
        done = asyncio.Event()
        seen: list[int] = []
        schedule_later(0.01, lambda: (seen.append(threading.get_ident()), done.set()))
        await asyncio.wait_for(done.wait(), timeout=10)
        return seen[0]

    assert asyncio.run(in_loop()) == threading.get_ident()
    fired = threading.Event()
    where: list[int] = []
    schedule_later(0.01, lambda: (where.append(threading.get_ident()), fired.set()))
    assert fired.wait(timeout=10)
    assert where[0] != threading.get_ident()


def test_a_simulated_run_watched_live_is_replayed_at_its_pace() -> None:
    """A run on simulated time arrives at once; the live view then plays it from the start."""
    agents = [MockAgent(f"a{i}", latency=60.0) for i in range(5)]
    orch = Orchestrator(agents, clock="simulated", seed=1)
    view = RunView()
    view._autoplay = False  # the test moves the replay itself
    plan = parallel(*(a.name for a in agents))
    result = orch.run_sync("go", plan, sinks=[view])
    assert result.state.simulated
    assert view.playing and view.cursor == 0
    view.speed = 1.0  # the recorded pace; each recorded minute is replayed as one second
    assert view.advance(0.5)  # half a second of wall time: the start, not the end
    assert 0 < view.cursor < view.total
    while view.advance(1.0):
        pass
    assert view.cursor == view.total == len(result.events)
    assert view.snapshot["run"]["status"] == "succeeded"
