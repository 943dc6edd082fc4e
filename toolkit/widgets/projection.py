"""Trace events and run state as the small JSON rows the dashboard draws.

The widgets' front end never sees a ``TraceEvent`` or a ``RunState``: it gets rows
built here (an arrow per message, a log row per event, a task per plan node, a bar
per agent call) and a compact snapshot of the run. Keeping this projection in plain
Python, apart from anywidget, lets the live widget, the replay and the static HTML
export share it, and lets tests check it without a browser.

Payload text is untrusted. Rows carry it as plain strings; the front end only ever
puts it into the page with ``textContent``, never as markup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from toolkit.events import TraceEvent
from toolkit.state import RunState

__all__ = [
    "SUMMARY_CHARS",
    "arrow_row",
    "clip",
    "event_detail",
    "log_row",
    "run_snapshot",
    "task_rows",
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


def arrow_row(event: Any, t0: float | None) -> dict[str, Any]:
    """The sequence-diagram arrow of one ``message_sent`` event."""
    env = event.envelope
    return {
        "seq": event.seq,
        "t": _rel(event.ts, t0),
        "from": env.sender,
        "to": env.recipient,
        "kind": env.kind,
        "text": clip(env.payload, 80),
        "task": env.task_id,
        "attempt": env.attempt,
    }


def _who(event: Any) -> str:
    for name in ("agent", "reviewer"):
        value = getattr(event, name, None)
        if value:
            return str(value)
    if event.kind == "message_sent":
        return event.envelope.sender
    return "orchestrator"


_DESCRIBE: dict[str, Callable[[Any], str]] = {
    "run_started": lambda e: f"run {e.name!r} started: {e.request}",
    "run_finished": lambda e: (
        f"{e.status} after {e.duration_s:.3f}s" + (f": {e.error}" if e.error else "")
    ),
    "plan_created": lambda e: (
        f"plan {e.plan.get('name', '')!r}: {len(e.plan.get('tasks', []))} task(s) ({e.planner})"
    ),
    "plan_updated": lambda e: f"+{len(e.added)} task(s): {e.reason}",
    "task_started": lambda e: f"{e.task_id} attempt {e.attempt} round {e.round}",
    "task_finished": lambda e: f"{e.task_id} done in {e.duration_s:.3f}s",
    "task_failed": lambda e: (
        f"{e.task_id} attempt {e.attempt} {'failed' if e.final else 'failed, will retry'}: {e.error}"
    ),
    "task_retried": lambda e: (
        f"{e.task_id} attempt {e.attempt}" + (" (fallback)" if e.fallback else "") + f": {e.reason}"
    ),
    "task_skipped": lambda e: f"{e.task_id} skipped: {e.reason}",
    "message_sent": lambda e: (
        f"→ {e.envelope.recipient} [{e.envelope.kind}] {_text(e.envelope.payload)}"
    ),
    "agent_state": lambda e: e.state + (f" on {e.task_id}" if e.task_id else ""),
    "review_verdict": lambda e: (
        f"{e.task_id} round {e.round}: {'approved' if e.approved else 'changes requested'}: {e.feedback}"
    ),
    "log": lambda e: f"{e.level}: {e.message}",
    "llm_call": lambda e: (
        f"{e.model} ({e.purpose}) {e.prompt_tokens}+{e.completion_tokens} tokens, {e.status}"
    ),
    "llm_delta": lambda e: e.text,
    "tool_call": lambda e: f"{e.tool}({_text(e.arguments)}) → {_text(e.result)}",
    "snapshot": lambda e: "state snapshot",
}


def log_row(event: TraceEvent, t0: float | None) -> dict[str, Any]:
    """The event-log row of any event: seq, time since start, kind, who, a summary."""
    describe = _DESCRIBE.get(event.kind)
    text = describe(event) if describe is not None else event.kind
    return {
        "seq": event.seq,
        "t": _rel(event.ts, t0),
        "kind": event.kind,
        "who": _who(event),
        "text": clip(text),
    }


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
    for task in list(state.tasks.values())[:limit]:
        row: dict[str, Any] = {
            "id": task.id,
            "agent": task.agent,
            "status": task.status,
            "deps": list(task.depends_on),
        }
        if task.goal:
            row["goal"] = clip(task.goal, 80)
        if task.attempt > 1:
            row["attempt"] = task.attempt
        if task.max_rounds > 1:
            row["round"], row["max_rounds"] = task.round, task.max_rounds
        if task.reviewer:
            row["reviewer"] = task.reviewer
        if task.duration_s is not None:
            row["duration_s"] = round(task.duration_s, 6)
        if task.error:
            row["error"] = clip(task.error, 200)
        if task.fallback_used:
            row["fallback"] = True
        rows.append(row)
    return rows, max(0, len(state.tasks) - limit)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    return value


def metric_rows(state: RunState) -> list[dict[str, Any]]:
    """``toolkit.metrics.agent_metrics`` as JSON rows (NaN becomes null)."""
    from toolkit.metrics import agent_metrics

    frame = agent_metrics(state)
    return [{k: _finite(v) for k, v in row.items()} for row in frame.to_dict("records")]


def run_snapshot(state: RunState, *, task_limit: int = 200) -> dict[str, Any]:
    """The coalesced state the dashboard shows: header, lanes, plan, metrics."""
    tasks, hidden = task_rows(state, task_limit)
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
        },
        "participants": list(state.participants),
        "tasks": tasks,
        "tasks_hidden": hidden,
        "metrics": metric_rows(state),
    }
