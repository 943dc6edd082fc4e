"""Metrics: a run's events as pandas DataFrames (per agent, per task, a timeline).

Built on the same fold as the views, so the numbers in a notebook, the TUI and the
CLI are the same numbers. pandas is imported here and only here in the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from toolkit.events import TraceEvent
from toolkit.extras import needs_extra
from toolkit.state import RunState, fold
from toolkit.timeline import CallTimeline

with needs_extra("metrics", "toolkit.metrics"):
    import pandas as pd

__all__ = ["AGENT_COLUMNS", "agent_metrics", "agent_rows", "task_metrics", "timeline"]

AGENT_COLUMNS = [
    "agent",
    "tasks",
    "succeeded",
    "failed",
    "retries",
    "reviews",
    "won",
    "mean_s",
    "p95_s",
    "messages_in",
    "messages_out",
    "tokens_in",
    "tokens_out",
    "cost_usd",
]
"""The columns of ``agent_metrics``, in order."""


def _state(source: Iterable[TraceEvent] | RunState) -> RunState:
    return source if isinstance(source, RunState) else fold(source)


def _p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    # nearest-rank percentile: a value that was actually observed
    rank = max(0, -(-95 * len(ordered) // 100) - 1)
    return ordered[rank]


def agent_rows(source: Iterable[TraceEvent] | RunState) -> list[dict[str, Any]]:
    """One dict per agent with the ``AGENT_COLUMNS`` (plain Python, no DataFrame).

    What a live view redraws from: building a DataFrame per frame costs a
    millisecond or more, these rows a few microseconds per agent.
    """
    state = _state(source)
    return [
        {
            "agent": a.name,
            "tasks": a.tasks,
            "succeeded": a.succeeded,
            "failed": a.failed,
            "retries": a.retries,
            "reviews": a.reviews,
            "won": a.won,
            "mean_s": sum(a.durations) / len(a.durations) if a.durations else float("nan"),
            "p95_s": _p95(a.durations),
            "messages_in": a.messages_in,
            "messages_out": a.messages_out,
            "tokens_in": a.tokens_in,
            "tokens_out": a.tokens_out,
            "cost_usd": round(a.cost_usd, 8),
        }
        for a in state.agents.values()
    ]


def agent_metrics(source: Iterable[TraceEvent] | RunState) -> pd.DataFrame:
    """One row per agent (the ``agent_rows`` as a DataFrame).

    ``tasks``: tasks the agent finished or finally failed; ``succeeded``: tasks it
    finished; ``failed``: its failed attempts (each counts); ``retries``: retries of
    its tasks; ``reviews``: reviews it gave as a reviewer; ``won``: conflicts its position
    won (``patterns.conflict``); ``mean_s``/``p95_s``:
    latency of its calls (p95 is nearest-rank); messages, tokens and cost as traced.
    """
    frame = pd.DataFrame(agent_rows(source), columns=AGENT_COLUMNS)
    return frame.astype(
        {c: "int64" for c in AGENT_COLUMNS if c not in ("agent", "mean_s", "p95_s", "cost_usd")}
    )


def task_metrics(source: Iterable[TraceEvent] | RunState) -> pd.DataFrame:
    """One row per task: agent, status, attempts, rounds, retries, start, end, duration."""
    state = _state(source)
    t0 = state.started_at or 0.0
    rows = [
        {
            "task": t.id,
            "agent": t.agent,
            "status": t.status,
            "attempts": t.attempts,
            "rounds": max(t.round, 1) if t.status != "skipped" else 0,
            "retries": t.retries,
            "fallback_used": t.fallback_used,
            "start_s": None if t.started_at is None else t.started_at - t0,
            "end_s": None if t.finished_at is None else t.finished_at - t0,
            "duration_s": t.duration_s,
            "error": t.error,
        }
        for t in state.tasks.values()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "task",
            "agent",
            "status",
            "attempts",
            "rounds",
            "retries",
            "fallback_used",
            "start_s",
            "end_s",
            "duration_s",
            "error",
        ],
    )


def timeline(events: Iterable[TraceEvent]) -> pd.DataFrame:
    """One row per agent call (a Gantt chart's bars): who worked on which task, when.

    Built from directive → result/error message pairs, so reviewers and fallbacks
    appear too. Columns: agent, task, attempt, start_s, end_s, duration_s, outcome.
    """
    calls = CallTimeline()
    for index, event in enumerate(events):
        calls.add(index, event)
    rows = calls.bars
    return pd.DataFrame(
        rows, columns=["agent", "task", "attempt", "start_s", "end_s", "duration_s", "outcome"]
    )
