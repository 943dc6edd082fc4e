"""Metrics: a run's events as pandas DataFrames (per agent, per task, a timeline).

Built on the same fold as the views, so the numbers in a notebook, the TUI and the
CLI are the same numbers. pandas is imported here and only here in the core, when the
first DataFrame is built: ``agent_rows`` (what the terminal app's Metrics tab shows)
needs none, and importing pandas on the app's thread froze it for seconds on a busy
machine. Without pandas installed, importing this module names the missing extra.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from toolkit.events import TraceEvent
from toolkit.extras import needs_extra
from toolkit.state import AgentView, RunState, fold
from toolkit.timeline import CallTimeline

if TYPE_CHECKING:
    import pandas as pd

with needs_extra("metrics", "toolkit.metrics"):
    if importlib.util.find_spec("pandas") is None:
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")


def _pandas() -> Any:
    import pandas

    return pandas


__all__ = [
    "AGENT_COLUMNS",
    "TEAM_COLUMNS",
    "agent_metrics",
    "agent_rows",
    "task_metrics",
    "team_metrics",
    "timeline",
]

AGENT_COLUMNS = [
    "agent",
    "tasks",
    "succeeded",
    "failed",
    "retries",
    "reviews",
    "won",
    "waited_s",
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


def agent_rows(
    source: Iterable[TraceEvent] | RunState, *, flatten: bool = False
) -> list[dict[str, Any]]:
    """One dict per agent with the ``AGENT_COLUMNS`` (plain Python, no DataFrame).

    What a live view redraws from: building a DataFrame per frame costs a
    millisecond or more, these rows a few microseconds per agent.

    Args:
        flatten: Also the agents of every team's child run (``toolkit.team``), named by
            their team path (``research/writer``), in place of the team agents
            themselves; by default a team is one agent of its parent run.
    """
    state = _state(source)
    agents = [(a.name, a) for a in state.agents.values()]
    if flatten:
        teams = {s.team for s in state.children.values()}
        agents = [(n, a) for n, a in agents if a.kind != "team" and n not in teams]
        for path, child in state.teams():
            subteams = {s.team for s in child.children.values()}
            agents.extend(
                (f"{path}/{a.name}", a)
                for a in child.agents.values()
                if a.kind != "team" and a.name not in subteams
            )
        agents = _add_up(agents)
    return [
        {
            "agent": name,
            "tasks": a.tasks,
            "succeeded": a.succeeded,
            "failed": a.failed,
            "retries": a.retries,
            "reviews": a.reviews,
            "won": a.won,
            "waited_s": a.waited_s,
            "mean_s": sum(a.durations) / len(a.durations) if a.durations else float("nan"),
            "p95_s": _p95(a.durations),
            "messages_in": a.messages_in,
            "messages_out": a.messages_out,
            "tokens_in": a.tokens_in,
            "tokens_out": a.tokens_out,
            "cost_usd": round(a.cost_usd, 8),
        }
        for name, a in agents
    ]


_SUMMED = (
    "tasks", "succeeded", "failed", "retries", "reviews", "won", "calls",
    "messages_in", "messages_out", "tokens_in", "tokens_out", "cost_usd",
)  # fmt: skip
"""The ``AgentView`` counts that add up over the runs of one team."""


def _add_up(agents: list[tuple[str, AgentView]]) -> list[tuple[str, AgentView]]:
    """One agent per name: a team that ran more than once (the parent retried its
    task) has its agents once each, their counts and call durations added up."""
    merged: dict[str, AgentView] = {}
    copied: set[str] = set()  # the fold's own records are never changed
    for name, agent in agents:
        total = merged.get(name)
        if total is None:
            merged[name] = agent
            continue
        if name not in copied:
            total = merged[name] = total.copy()
            copied.add(name)
        for count in _SUMMED:
            setattr(total, count, getattr(total, count) + getattr(agent, count))
        total.durations = [*total.durations, *agent.durations]
    return list(merged.items())


def agent_metrics(
    source: Iterable[TraceEvent] | RunState, *, flatten: bool = False
) -> pd.DataFrame:
    """One row per agent (the ``agent_rows`` as a DataFrame).

    ``tasks``: tasks the agent finished or finally failed; ``succeeded``: tasks it
    finished; ``failed``: its failed attempts (each counts); ``retries``: retries of
    its tasks; ``reviews``: reviews it gave as a reviewer; ``won``: conflicts its position
    won (``patterns.conflict``); ``waited_s``: seconds its questions waited for a
    person's answer (a ``human`` agent; run clock); ``mean_s``/``p95_s``:
    latency of its calls (p95 is nearest-rank); messages, tokens and cost as traced.
    With ``flatten``, the agents inside teams replace the team agents (``agent_rows``).
    """
    frame = _pandas().DataFrame(agent_rows(source, flatten=flatten), columns=AGENT_COLUMNS)
    return frame.astype(
        {
            c: "int64"
            for c in AGENT_COLUMNS
            if c not in ("agent", "waited_s", "mean_s", "p95_s", "cost_usd")
        }
    )


TEAM_COLUMNS = [
    "team",
    "run_id",
    "parent_task",
    "attempt",
    "status",
    "tasks",
    "done",
    "failed",
    "retries",
    "duration_s",
    "tokens_in",
    "tokens_out",
    "cost_usd",
]
"""The columns of ``team_metrics``, in order."""


def team_metrics(source: Iterable[TraceEvent] | RunState) -> pd.DataFrame:
    """One row per team run (each child run at any depth, ``toolkit.team``): its team
    path, run id, the parent's task and the attempt of it the run served (a team
    retried by its parent runs once per attempt), status, tasks (all, done, failed),
    retries of its own tasks, duration and the usage of its own agents and sub-teams."""
    rows = []
    for path, child in _state(source).teams():
        counts = child.task_counts()
        rows.append(
            {
                "team": path,
                "run_id": child.run_id,
                "parent_task": child.parent_task,
                "attempt": child.parent_attempt,
                "status": child.status,
                "tasks": len(child.tasks),
                "done": counts["done"],
                "failed": counts["failed"],
                "retries": sum(t.retries for t in child.tasks.values()),
                "duration_s": child.elapsed_s,
                "tokens_in": child.tokens_in,
                "tokens_out": child.tokens_out,
                "cost_usd": round(child.cost_usd, 8),
            }
        )
    return _pandas().DataFrame(rows, columns=TEAM_COLUMNS)


def task_metrics(source: Iterable[TraceEvent] | RunState) -> pd.DataFrame:
    """One row per task: agent, status, attempts, rounds, retries, start, end, duration,
    and ``waited_s``, the part of it spent waiting for a person's answers."""
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
            "waited_s": t.waited_s,
            "error": t.error,
        }
        for t in state.tasks.values()
    ]
    return _pandas().DataFrame(
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
            "waited_s",
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
    return _pandas().DataFrame(
        rows, columns=["agent", "task", "attempt", "start_s", "end_s", "duration_s", "outcome"]
    )
