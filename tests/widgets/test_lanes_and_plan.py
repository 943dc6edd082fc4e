"""The dashboard's lanes keep a stable order, and its plan lights up task by task.

Pure projection (``toolkit.widgets.projection``) over the fold of every prefix of a
run, on simulated time (exact and fast), plus the view's pushed snapshot.
"""

from __future__ import annotations

from toolkit import MockAgent, Orchestrator, Plan, Task, pipeline
from toolkit.events import TraceEvent
from toolkit.human import HumanAgent
from toolkit.metrics import timeline
from toolkit.state import fold
from toolkit.widgets import RunView
from toolkit.widgets.projection import lane_order, task_rows

ROSTER = ["dana", "carl", "bo", "ann"]
"""The orchestrator's agents, in the order it lists them (not the plan's, not the calls')."""


def race(first: float, second: float) -> list[TraceEvent]:
    """Two branches: ann then carl, bo then dana; which follow-up is called first depends
    on which branch's head (ann: ``first`` s, bo: ``second`` s) finishes first."""
    latency = {"ann": first, "bo": second, "carl": 0.1, "dana": 0.1}
    agents = [MockAgent(name, latency=latency[name]) for name in ROSTER]
    plan = Plan(
        name="race",
        tasks=[
            Task(id="a", agent="ann"),
            Task(id="b", agent="bo"),
            Task(id="c", agent="carl", depends_on=["a"]),
            Task(id="d", agent="dana", depends_on=["b"]),
        ],
    )
    return Orchestrator(agents, seed=1, clock="simulated").run_sync("go", plan).events


def first_calls(events: list[TraceEvent]) -> list[str]:
    """The agents in the order of their first call (how the timeline used to order rows)."""
    seen: list[str] = []
    for agent in timeline(events).sort_values("start_s", kind="stable")["agent"]:
        if agent not in seen:
            seen.append(agent)
    return seen


def test_lanes_follow_the_orchestrator_however_the_calls_interleave() -> None:
    """Two runs whose calls come in different orders draw the same lanes: the user, the
    orchestrator, then the agents in the orchestrator's order."""
    ann_first, bo_first = race(0.1, 0.3), race(0.3, 0.1)
    assert first_calls(ann_first) == ["ann", "bo", "carl", "dana"]
    assert first_calls(bo_first) == ["ann", "bo", "dana", "carl"]
    for events in (ann_first, bo_first):
        assert lane_order(fold(events)) == ["user", "orchestrator", *ROSTER]


def test_no_lane_ever_moves_while_the_run_goes_on() -> None:
    """At every prefix of a run (a person asked a question included), the lanes are a
    prefix of the finished run's lanes: a new lane is only ever added at the end."""

    person = HumanAgent("approver", person="alice", deadline_s=60, default="approve")
    orch = Orchestrator(
        [MockAgent("writer", latency=0.1), person, MockAgent("editor", latency=0.1)],
        seed=2,
        clock="simulated",
    )
    events = orch.run_sync("go", pipeline("writer", "approver", "editor")).events
    final = lane_order(fold(events))
    assert final == ["user", "orchestrator", "writer", "approver", "editor", "alice"]
    for n in range(len(events) + 1):
        lanes = lane_order(fold(events[:n]))
        assert final[: len(lanes)] == lanes, f"after {n} events: {lanes}"
    # lanes already shown keep their places, whatever the new state lists first
    assert lane_order(fold(events), ["alice", "editor"]) == [
        "alice",
        "editor",
        "user",
        "orchestrator",
        "writer",
        "approver",
    ]


def test_the_plan_lights_up_task_by_task() -> None:
    """Folded event by event, a pipeline's plan is drawn whole from ``plan_created`` on
    (same tasks, same order) and its tasks light up one after the other."""
    orch = Orchestrator(
        [MockAgent(name, latency=0.1) for name in ("p", "w", "e")], seed=1, clock="simulated"
    )
    events = orch.run_sync("go", pipeline("p", "w", "e")).events
    frames: list[tuple[str, ...]] = []
    ids: set[tuple[str, ...]] = set()
    for n in range(len(events) + 1):
        rows, hidden = task_rows(fold(events[:n]), 100)
        assert hidden == 0
        if rows:
            ids.add(tuple(r["id"] for r in rows))
        frame = tuple(r["status"] for r in rows)
        if not frames or frames[-1] != frame:
            frames.append(frame)
    assert ids == {("1-p", "2-w", "3-e")}
    W, R, D = "waiting", "running", "done"
    assert frames == [
        (),
        (W, W, W),
        (R, W, W),
        (D, W, W),
        (D, R, W),
        (D, D, W),
        (D, D, R),
        (D, D, D),
    ]


def test_the_views_rows_keep_their_places_when_early_bars_scroll_out() -> None:
    """The view pushes the lanes of the whole run: its timeline has a row per agent from
    the start, in the lanes' order, even when only the last bars are drawn or the replay
    is moved back to the start."""
    events = race(0.3, 0.1)
    view = RunView(events, max_bars=2)
    expected = ["user", "orchestrator", *ROSTER]
    assert view.snapshot["lanes"] == expected
    assert view.snapshot["gantt_lanes"] == ROSTER
    assert [b["agent"] for b in view.snapshot["gantt"]] == ["dana", "carl"]  # the last two calls
    for cursor in (0, 3, len(events) // 2):
        view.seek(cursor)
        assert (view.snapshot["lanes"], view.snapshot["gantt_lanes"]) == (expected, ROSTER)
    # watched live, event by event: the lanes only ever grow at the end
    live = RunView(rate_hz=0)  # a push per event
    live._autoplay = False  # closing a simulated run replays it: not here
    seen: list[list[str]] = []
    for event in events:
        live.emit(event)
        lanes = list(live.snapshot.get("lanes", []))
        assert seen == [] or lanes[: len(seen[-1])] == seen[-1]
        seen.append(lanes)
    live.close()
    assert live.snapshot["lanes"] == expected
