"""A damaged event (it parses, but cannot belong to its run) is skipped by the fold,
counted and reported in ``RunState.problems``, like a corrupt line in a trace: the
views and the metrics still show everything else."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.events import parse_event
from toolkit.metrics import agent_metrics, task_metrics
from toolkit.recorder import read_trace
from toolkit.state import fold

TRACE = Path(__file__).parents[2] / "sample_agents" / "traces" / "research-report.jsonl"


def _lines() -> list[dict]:
    return [json.loads(line) for line in TRACE.read_text().splitlines()]


def _events(rows: list[dict]) -> list:
    return [parse_event(json.dumps(r).encode()) for r in rows]


def _damage_first(rows: list[dict], kind: str, **changes: object) -> int:
    for row in rows:
        if row["kind"] == kind:
            row.update(changes)
            return row["seq"]
    raise AssertionError(kind)


def test_a_finished_task_no_plan_named_is_skipped_and_reported() -> None:
    """task_finished with a damaged task_id: one problem naming its seq; the rest folds."""
    good = fold(read_trace(TRACE).events)
    rows = _lines()
    seq = _damage_first(rows, "task_finished", task_id="d\x1bamaged")
    state = fold(_events(rows))
    assert state.skipped == 1
    assert state.problems[0].startswith(f"seq {seq} (task_finished): unknown task")
    assert state.status == good.status and state.event_count == good.event_count
    assert state.counts["task_finished"] == good.counts["task_finished"] - 1
    assert len(agent_metrics(state)) == len(agent_metrics(good))
    assert len(task_metrics(state)) == len(task_metrics(good))


def test_failed_and_retried_events_of_unknown_tasks_are_skipped() -> None:
    """task_failed and task_retried of a task no plan named are damaged events too."""
    state = fold(_events(_lines()))
    base = state.skipped
    for seq, (kind, extra) in enumerate(
        (("task_failed", {"error": "x", "final": True}), ("task_retried", {})), 900
    ):
        row = {"run_id": state.run_id, "seq": seq, "ts": 1.0, "trace_id": "t", "span_id": "s"}
        row |= {"kind": kind, "task_id": "ghost", "agent": "writer", "attempt": 1} | extra
        state.apply(parse_event(json.dumps(row).encode()))
    assert state.skipped == base + 2
    assert all("unknown task 'ghost'" in p for p in state.problems[base:])


def test_a_plan_task_without_an_id_changes_nothing() -> None:
    """A plan_created whose task list is damaged adds no task and is reported."""
    rows = _lines()
    for row in rows:
        if row["kind"] == "plan_created":
            row["plan"]["tasks"].append({"agent": "writer"})
            break
    state = fold(_events(rows))
    assert any("(plan_created): plan task" in p and "has no id" in p for p in state.problems)
    assert state.planner == ""  # the event was skipped whole, not half applied
    assert all(t.id for t in state.tasks.values())  # tasks come from their own events
    assert state.status in ("succeeded", "failed")


def test_usage_that_is_not_a_number_is_a_damaged_message() -> None:
    """A message whose usage counters are not numbers is skipped, not added as text."""
    rows = _lines()
    for row in rows:
        if row["kind"] == "message_sent" and row["envelope"].get("usage"):
            row["envelope"]["usage"]["tokens_in"] = "lots"
            break
    else:
        raise AssertionError("no message with usage")
    state = fold(_events(rows))
    assert len(state.problems) == 1 and "usage.tokens_in is not a number" in state.problems[0]
    agent_metrics(state)
