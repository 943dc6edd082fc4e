"""The scheduler is a pure state machine: driven by hand, with no event loop, it runs a
plan to the end, starts a task only when its dependencies are done, ends every task
exactly once, and knows what fail_fast and a stop mean."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.scheduler import Cancel, Scheduler, Skip


def test_a_plan_runs_to_the_end_driven_by_hand() -> None:
    """No event loop, no clock: start/finish calls alone take a diamond plan to the end,
    each task started only once its dependencies are done."""
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    sched = Scheduler(list(deps), deps)
    assert sched.status == {"a": "ready", "b": "waiting", "c": "waiting", "d": "waiting"}
    assert sched.start() == "a" and sched.start() is None
    assert sched.finish("a")
    assert sched.ready == 2
    assert [sched.start(), sched.start()] == ["b", "c"]
    assert sched.running == 2 and not sched.over
    assert sched.finish("c") and sched.start() is None  # d still waits for b
    assert sched.finish("b") and sched.start() == "d"
    assert sched.finish("d")
    assert sched.over and set(sched.status.values()) == {"done"}


def test_a_failure_skips_its_dependents_and_only_them() -> None:
    """Without fail_fast a final failure skips its transitive dependents, naming the cause."""
    deps = {"a": [], "b": ["a"], "c": ["b"], "x": []}
    sched = Scheduler(list(deps), deps)
    assert (sched.start(), sched.start()) == ("a", "x")
    assert sched.fail("a") == [
        Skip("b", "dependency 'a' failed"),
        Skip("c", "dependency 'b' failed"),
    ]
    assert sched.finish("x") and sched.over
    assert sched.status == {"a": "failed", "b": "skipped", "c": "skipped", "x": "done"}


def test_fail_fast_cancels_running_tasks_and_starts_nothing_more() -> None:
    """With fail_fast a final failure cancels every running task and skips the rest; a
    late report from a cancelled task is refused, so it cannot end twice."""
    deps = {"a": [], "b": [], "c": [], "d": ["b"]}
    sched = Scheduler(list(deps), deps, fail_fast=True)
    assert (sched.start(), sched.start()) == ("a", "b")
    reason = "task 'a' failed and fail_fast is on"
    assert sched.fail("a") == [Cancel("b", reason), Skip("c", reason), Skip("d", reason)]
    assert sched.stop_reason == reason and sched.start() is None and sched.over
    assert sched.finish("b") is False and sched.fail("b") is None
    assert sched.status == {"a": "failed", "b": "failed", "c": "skipped", "d": "skipped"}
    assert sched.stop("again") == [] and sched.stop_reason == reason


def test_the_scheduler_imports_no_event_loop_library() -> None:
    """Importing the scheduler and the attempt policy loads neither anyio nor the tracer."""
    code = (
        "import sys, toolkit.scheduler, toolkit.policy; "
        "print(sorted(m for m in ('anyio', 'toolkit.tracing', 'toolkit.store', "
        "'toolkit.recorder') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@st.composite
def _plans(draw: st.DrawFn) -> tuple[dict[str, list[str]], dict[str, bool], bool, list[int]]:
    n = draw(st.integers(1, 12))
    ids = [f"t{i}" for i in range(n)]
    deps = {
        t: sorted(set(draw(st.lists(st.sampled_from(ids[:i]), max_size=3)))) if i else []
        for i, t in enumerate(ids)
    }
    outcomes = {t: draw(st.booleans()) for t in ids}
    picks = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    return deps, outcomes, draw(st.booleans()), picks


@settings(max_examples=200, deadline=None)
@given(_plans())
def test_every_task_ends_exactly_once(
    plan: tuple[dict[str, list[str]], dict[str, bool], bool, list[int]],
) -> None:
    """For any DAG, outcomes and completion order: a task starts only after its
    dependencies are done, nothing starts after a fail_fast stop, every task ends
    exactly once, and the run is over with nothing left waiting or running."""
    deps, outcomes, fail_fast, picks = plan
    sched = Scheduler(list(deps), deps, fail_fast=fail_fast)
    ended: dict[str, int] = {}
    running: list[str] = []
    step = 0
    while not sched.over:
        while (task_id := sched.start()) is not None:
            assert all(sched.status[d] == "done" for d in deps[task_id])
            running.append(task_id)
        # complete one running task, picked by the drawn order (any interleaving)
        task_id = running.pop(picks[step % len(picks)] % len(running))
        step += 1
        if outcomes[task_id]:
            if sched.finish(task_id):
                ended[task_id] = ended.get(task_id, 0) + 1
            continue
        decisions = sched.fail(task_id)
        if decisions is None:
            continue  # cancelled earlier by a stop: already ended
        ended[task_id] = ended.get(task_id, 0) + 1
        for decision in decisions:
            ended[decision.task_id] = ended.get(decision.task_id, 0) + 1
        if sched.stop_reason is not None:
            assert sched.start() is None
    assert ended == dict.fromkeys(deps, 1)
    assert set(sched.status.values()) <= {"done", "failed", "skipped"}


def test_drive_runs_a_plan_to_the_end_with_given_outcomes() -> None:
    """``drive`` starts tasks one at a time with the given outcomes (a simulation needs
    no event loop): a failure's decisions come back with it, and the run ends over."""
    deps = {"a": [], "b": ["a"], "c": []}
    sched = Scheduler(list(deps), deps)
    steps = list(sched.drive({"a": False}))
    assert steps == [("a", [Skip("b", "dependency 'a' failed")]), ("c", None)]
    assert sched.over and sched.status == {"a": "failed", "b": "skipped", "c": "done"}
