"""The fault soak at suite size: seeded runs mixing every fault, each checked against the run rules.

``benchmarks/soak.py`` runs the same checker over 1,000+ seeds; here a slice of them runs
in a few seconds. The checker itself is tested on hand-made event streams first, so a
soak that passes means the rules held, not that the checker saw nothing.
"""

from __future__ import annotations

from typing import Any

from benchmarks.soak import check_events, scenario, soak
from toolkit.events import (
    PlanCreated,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskFinished,
    TaskSkipped,
    TaskStarted,
)

SUITE_SEEDS = range(0, 150)


def _events(*specs: tuple[type, dict[str, Any]]) -> list[Any]:
    base = {"run_id": "run-x", "ts": 0.0, "trace_id": "t" * 32, "span_id": "s"}
    return [cls(seq=i, **base, **fields) for i, (cls, fields) in enumerate(specs)]


def _plan(*ids: str) -> tuple[type, dict[str, Any]]:
    return (PlanCreated, {"plan": {"tasks": [{"id": i, "agent": "a"} for i in ids]}})


def _rules(events: list[Any]) -> set[str]:
    return {rule for rule, _ in check_events(events)}


def test_checker_accepts_a_clean_run() -> None:
    """A run whose every task ends once, with seq 0.. and run_finished last, breaks no rule."""
    events = _events(
        (RunStarted, {"name": "r"}),
        _plan("a", "b"),
        (TaskStarted, {"task_id": "a", "agent": "a"}),
        (TaskFinished, {"task_id": "a", "agent": "a", "duration_s": 0.0}),
        (TaskSkipped, {"task_id": "b", "agent": "a", "reason": "dependency 'a' failed"}),
        (RunFinished, {"status": "failed"}),
    )
    assert check_events(events) == []


def test_checker_finds_a_task_recorded_twice_after_a_stop() -> None:
    """A task cancelled by a stop that then records its own outcome breaks the one-terminal
    rule, the nothing-after-terminal rule, and (attempt 2 cancelled as 1) the cancel rule."""
    events = _events(
        (RunStarted, {"name": "r"}),
        _plan("a", "b"),
        (TaskStarted, {"task_id": "a", "agent": "a"}),
        (TaskFailed, {"task_id": "a", "agent": "a", "error": "x", "final": False}),
        (TaskStarted, {"task_id": "a", "agent": "a", "attempt": 2}),
        (TaskFailed, {"task_id": "b", "agent": "a", "error": "boom"}),
        (TaskFailed, {"task_id": "a", "agent": "a", "error": "stop", "error_type": "cancelled"}),
        (TaskFinished, {"task_id": "a", "agent": "a", "attempt": 2, "duration_s": 0.0}),
        (RunFinished, {"status": "failed"}),
    )
    assert _rules(events) == {"terminal_count", "event_after_terminal", "cancel_attempt"}


def test_checker_finds_gaps_starts_after_stop_and_unended_tasks() -> None:
    """A seq gap, an attempt started after the run stopped, a task left running and a second
    run_finished are each reported."""
    events = _events(
        (RunStarted, {"name": "r"}),
        _plan("a", "b"),
        (TaskSkipped, {"task_id": "a", "agent": "a", "reason": "the run was cancelled"}),
        (TaskStarted, {"task_id": "b", "agent": "a"}),
        (RunFinished, {"status": "cancelled"}),
        (RunFinished, {"status": "cancelled"}),
    )
    events[3] = events[3].model_copy(update={"seq": 7})
    assert _rules(events) == {
        "seq_gap",
        "start_after_stop",
        "terminal_count",
        "task_not_ended",
        "one_run_finished_last",
    }


def test_scenarios_are_seeded_and_mix_every_fault() -> None:
    """The same seed makes the same run; the suite's seeds include fail_fast runs, runs
    cancelled from another thread, retries, fallbacks, review loops and hangs."""
    assert scenario(7).plan == scenario(7).plan
    made = [scenario(s) for s in SUITE_SEEDS]
    tasks = [t for sc in made for t in sc.plan.tasks]
    assert sum(sc.fail_fast for sc in made) >= 10
    assert sum(sc.cancel_at is not None for sc in made) >= 10
    assert any(t.retries for t in tasks) and any(t.fallback for t in tasks)
    assert any(t.review for t in tasks)
    assert any(a.failures.hang for sc in made for a in sc.agents)


def test_soak_keeps_every_rule() -> None:
    """Over seeded runs with failures, hangs, retries, fallbacks, review loops, fail_fast and
    cancellations from another thread: one run_finished, last; seq without gaps; exactly one
    terminal event per task; nothing started after a stop; no hang; the JSONL trace folds to
    the live state; the store holds the same events."""
    report = soak(SUITE_SEEDS, watchdog_s=60.0)
    assert len(report.outcomes) == len(SUITE_SEEDS)
    assert report.ok, report.render(verbose=True)
