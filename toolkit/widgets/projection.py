"""Trace events and run state as the small JSON rows the dashboard draws.

The widgets' front end never sees a ``TraceEvent`` or a ``RunState``: it gets rows
built here (an arrow per message, a log row per event, a task per plan node, a bar
per agent call) and a compact snapshot of the run. Keeping this projection in plain
Python, apart from anywidget, lets the live widget, the replay and the static HTML
export share it, and lets tests check it without a browser.

The words are ``toolkit.describe``'s, the same as the terminal app's and the CLI's.
Payload text is untrusted. Rows carry it as plain strings; the front end only ever
puts it into the page with ``textContent``, never as markup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from toolkit.describe import (
    MESSAGE_LOOKS,
    MessageLook,
    breaker_label,
    event_agent,
    event_summary,
    message_tag,
    task_holders,
    task_tries,
    task_worker,
)
from toolkit.events import ORCHESTRATOR, USER, TraceEvent
from toolkit.state import RunState

__all__ = [
    "SUMMARY_CHARS",
    "arrow_row",
    "breaker_rows",
    "clip",
    "event_detail",
    "lane_order",
    "log_row",
    "run_snapshot",
    "task_rows",
    "team_rows",
]

SUMMARY_CHARS = 120
"""Longest summary text in a row; the details pane shows the whole event."""
DETAIL_CHARS = 20_000
"""Longest event detail (pretty JSON) sent to the details pane."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def clip(value: Any, n: int = SUMMARY_CHARS) -> str:
    """One line of at most ``n`` characters: whitespace collapsed, cut with an ellipsis."""
    line = " ".join(_text(value).split())
    return line if len(line) <= n else line[: n - 1] + "…"


def _rel(ts: float, t0: float | None) -> float:
    return round(ts - t0, 6) if t0 is not None else 0.0


def arrow_row(event: Any, t0: float | None, look: MessageLook | None = None) -> dict[str, Any]:
    """The sequence-diagram arrow of one ``message_sent`` event.

    ``look`` is the message's role (``toolkit.describe.MessageRoles``); ``tag`` names it
    when it says more than the kind (``↪ fallback #3``, ``◇ review``, ``↻ retry #2``).
    """
    env = event.envelope
    look = look or MESSAGE_LOOKS.get(env.kind, MESSAGE_LOOKS["a2a"])
    plain = look.role == env.kind and env.attempt <= 1
    return {
        "seq": event.seq,
        "t": _rel(event.ts, t0),
        "from": env.sender,
        "to": env.recipient,
        "kind": env.kind,
        "role": look.role,
        "tag": "" if plain else message_tag(env, look),
        "text": clip(env.payload, 80),
        "task": env.task_id,
        "attempt": env.attempt,
    }


def log_row(event: TraceEvent, t0: float | None, look: MessageLook | None = None) -> dict[str, Any]:
    """The event-log row of any event: seq, time since start, kind, who, a summary."""
    return {
        "seq": event.seq,
        "t": _rel(event.ts, t0),
        "kind": event.kind,
        "who": event_agent(event) or "orchestrator",
        "text": clip(event_summary(event, SUMMARY_CHARS * 2, look)),
    }


def lane_order(state: RunState, shown: Sequence[str] = ()) -> list[str]:
    """The lanes of the message flow (and, agents only, of the timeline), in an order
    that never changes while a run goes on and is the same for every run of one
    orchestrator, however its calls interleave.

    The lanes already ``shown`` keep their places; new ones follow in this order: the
    user, the orchestrator, the run's agents as its orchestrator lists them (its
    ``run_started``, then any agent a plan names), then anyone else in the order they
    first sent or received a message (a person asked a question, say).
    """
    lanes = list(shown)
    seen = set(lanes)
    for name in (USER, ORCHESTRATOR, *state.agents, *state.participants):
        if name not in seen:
            seen.add(name)
            lanes.append(name)
    return lanes


def event_detail(event: TraceEvent) -> str:
    """The whole event as indented JSON, for the details pane (cut at ``DETAIL_CHARS``)."""
    text = json.dumps(event.model_dump(mode="json"), indent=2, ensure_ascii=False, default=str)
    if len(text) > DETAIL_CHARS:
        text = text[:DETAIL_CHARS] + f"\n… ({len(text) - DETAIL_CHARS} more characters)"
    return text


def task_rows(state: RunState, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The plan's tasks as DAG nodes (first ``limit``), and how many were left out.

    Optional fields are left out when they hold their default, to keep pushes small.
    """
    rows = []
    held = task_holders(state)
    for task in list(state.tasks.values())[:limit]:
        # ``agent`` is the plan's; ``worker`` names who does or did the work, and how
        row: dict[str, Any] = {
            "id": task.id,
            "agent": task.agent,
            "worker": task_worker(task, held.get(task.id)),
            "status": task.status,
            "deps": list(task.depends_on),
        }
        if task.goal:
            row["goal"] = clip(task.goal, 80)
        if task_tries(task) > 1:
            row["tries"] = task_tries(task)
        if task.max_rounds > 1:
            row["round"], row["max_rounds"] = task.round, task.max_rounds
        if task.reviewer:
            row["reviewer"] = task.reviewer
        if task.duration_s is not None:
            row["duration_s"] = round(task.duration_s, 6)
        if task.error:
            row["error"] = clip(task.error, 200)
        rows.append(row)
    return rows, max(0, len(state.tasks) - limit)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    return value


def metric_rows(state: RunState) -> list[dict[str, Any]]:
    """``toolkit.metrics.agent_rows`` as JSON rows (NaN becomes null; no DataFrame per push)."""
    from toolkit.metrics import agent_rows

    return [{k: _finite(v) for k, v in row.items()} for row in agent_rows(state)]


TYPING_CHARS = 80
"""Characters of a streamed reply the dashboard shows while it arrives."""


def breaker_rows(state: RunState) -> dict[str, dict[str, str]]:
    """Agent -> its circuit breaker's state, label (``○ open``) and last reason; only
    agents that have a breaker."""
    return {
        a.name: {
            "state": a.breaker,
            "label": breaker_label(a.breaker),
            "reason": clip(a.breaker_reason, 200),
        }
        for a in state.agents.values()
        if a.breaker
    }


def shown_team(state: RunState, team: str | None) -> RunState | None:
    """The child run of team ``team`` (a path of ``RunState.teams()``, such as
    ``research/sources``; a team retried: its latest run), or None when it has none."""
    if not team:
        return None
    return dict(state.teams()).get(team)


def run_snapshot(
    state: RunState, *, task_limit: int = 200, team: str | None = None
) -> dict[str, Any]:
    """The coalesced state the dashboard shows: header, lanes, plan, metrics.

    Args:
        state: The run's state.
        task_limit: Plan tasks drawn at most.
        team: A team expanded (its path in ``state.teams()``): the lanes, plan, agents
            and teams are that team's run's, the header stays the run's; ``team``
            describes it (None when the run is shown, or the team has not started).
    """
    child = shown_team(state, team)
    shown = child or state
    tasks, hidden = task_rows(shown, task_limit)
    prefix = f"{team}/" if child is not None else ""
    return {
        "run": {
            "run_id": state.run_id,
            "name": state.name,
            "request": clip(state.request, 300),
            "status": state.status,
            "elapsed_s": round(state.elapsed_s, 6),
            "events": state.event_count,
            "messages": len(state.messages),
            "error": clip(state.error, 300) if state.error else None,
            "output": clip(state.output, 300) if state.output is not None else None,
            "tokens_in": state.tokens_in,
            "tokens_out": state.tokens_out,
            "cost_usd": round(state.cost_usd, 8),
            "task_counts": state.task_counts(),
            "simulated": state.simulated,
        },
        # the newest end of each reply being streamed: the agent seen "typing"
        "typing": [
            {"agent": name, "text": clip(agent.streaming[-TYPING_CHARS:], TYPING_CHARS)}
            for name, agent in shown.agents.items()
            if agent.streaming
        ],
        "participants": list(shown.participants),
        "tasks": tasks,
        "tasks_hidden": hidden,
        "metrics": metric_rows(shown),
        "breakers": breaker_rows(shown),
        "teams": team_rows(shown, task_limit, prefix),
        "team": None
        if child is None
        else {
            "path": team,
            "run_id": child.run_id,
            "parent_task": child.parent_task,
            "status": child.status,
            "error": clip(child.error, 300) if child.error else None,
        },
        # the lanes that expand: each team of the run shown whose run has started
        "expand": {c.team: prefix + c.team for c in shown.children.values() if c.team},
    }


def team_rows(state: RunState, task_limit: int = 200, prefix: str = "") -> list[dict[str, Any]]:
    """Each team's child run (``toolkit.team``) at any depth: its path (after
    ``prefix``, the path of the team ``state`` is the run of), the parent's task, its
    status and its own plan's tasks (as ``task_rows``)."""
    rows = []
    for path, child in state.teams():
        tasks, hidden = task_rows(child, task_limit)
        rows.append(
            {
                "team": clip(prefix + path, 120),
                "run_id": child.run_id,
                "parent_task": child.parent_task,
                "status": child.status,
                "tasks": tasks,
                "tasks_hidden": hidden,
            }
        )
    return rows
