"""How each thing in a run looks in one line: glyphs, words and styles, never colour alone.

The message flow, the event log, the plan and the agents all tell kinds and states
apart the same way: a glyph and a word, with colour on top. This module holds those
tables and the one-line summaries of envelopes and events, so every view agrees.
Summaries go through ``safe_text`` and are bounded, whatever the payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.events import Envelope, TraceEvent
from toolkit.text import one_line, sanitize_line

__all__ = [
    "AGENT_LOOK",
    "EVENT_GLYPH",
    "TASK_LOOK",
    "MessageLook",
    "event_agent",
    "event_summary",
    "message_look",
    "message_summary",
]


@dataclass(frozen=True, slots=True)
class MessageLook:
    """How one message kind is drawn in the message flow."""

    label: str
    """The word shown with the arrow."""
    glyph: str
    """A symbol that tells the kind apart without colour."""
    line: str
    """The character the arrow's shaft is drawn with."""
    style: str
    """Rich style of the arrow and its label."""


_LOOKS: dict[str, MessageLook] = {
    "directive": MessageLook("directive", "▶", "─", "bold #5fafff"),
    "retry": MessageLook("retry", "↻", "═", "bold #ffaf00"),
    "result": MessageLook("result", "✔", "┄", "#5fd75f"),
    "error": MessageLook("error", "✖", "━", "bold #ff5f5f"),
    "a2a": MessageLook("a2a", "⇄", "┈", "#d787ff"),
    "broadcast": MessageLook("broadcast", "✱", "┈", "#d7af5f"),
}


def message_look(envelope: Envelope, retry: bool = False) -> MessageLook:
    """The look of a message; ``retry`` marks a directive that starts a new attempt."""
    if retry and envelope.kind == "directive":
        return _LOOKS["retry"]
    return _LOOKS.get(envelope.kind, _LOOKS["a2a"])


def message_summary(envelope: Envelope, limit: int = 80) -> str:
    """A safe one-line summary of a message's payload."""
    return one_line(envelope.payload, limit)


TASK_LOOK: dict[str, tuple[str, str]] = {
    "waiting": ("○", "dim"),
    "running": ("◐", "bold #5fafff"),
    "done": ("✔", "#5fd75f"),
    "failed": ("✖", "bold #ff5f5f"),
    "retrying": ("↻", "bold #ffaf00"),
    "skipped": ("⊘", "#8a8a8a"),
}
"""Task status -> (glyph, style)."""

AGENT_LOOK: dict[str, tuple[str, str]] = {
    "idle": ("·", "dim"),
    "working": ("◐", "bold #5fafff"),
    "waiting": ("…", "#ffaf00"),
    "failed": ("✖", "bold #ff5f5f"),
}
"""Agent state -> (glyph, style)."""

EVENT_GLYPH: dict[str, tuple[str, str]] = {
    "run_started": ("◆", "bold"),
    "run_finished": ("◆", "bold"),
    "plan_created": ("☰", "#87afd7"),
    "plan_updated": ("☰", "#87afd7"),
    "task_started": ("◐", "#5fafff"),
    "task_finished": ("✔", "#5fd75f"),
    "task_failed": ("✖", "#ff5f5f"),
    "task_retried": ("↻", "#ffaf00"),
    "task_skipped": ("⊘", "#8a8a8a"),
    "message_sent": ("✉", "#d7d7ff"),
    "agent_state": ("•", "dim"),
    "review_verdict": ("◇", "#d7af5f"),
    "log": ("≡", "dim"),
    "llm_call": ("λ", "#d787ff"),
    "llm_delta": ("λ", "dim"),
    "tool_call": ("⚒", "#87d7d7"),
    "snapshot": ("▣", "dim"),
}
"""Event kind -> (glyph, style) in the event log."""


def event_agent(event: TraceEvent) -> str:
    """The participant an event is about, for filtering ("" when none)."""
    if event.kind == "message_sent":
        return event.envelope.sender
    if event.kind == "review_verdict":
        return event.reviewer
    return getattr(event, "agent", None) or ""


def event_summary(event: TraceEvent, limit: int = 100) -> str:
    """A safe one-line description of an event."""
    match event.kind:
        case "run_started":
            text = f"run {one_line(event.name, 40)} started ({len(event.agents)} agents)"
        case "run_finished":
            text = f"run {event.status} in {event.duration_s:.2f}s" + (
                f": {one_line(event.error, 60)}" if event.error else ""
            )
        case "plan_created":
            text = f"plan with {len(event.plan.get('tasks', []))} tasks ({one_line(event.planner, 30)})"
        case "plan_updated":
            text = f"plan +{len(event.added)} tasks: {one_line(event.reason, 40)}"
        case "task_started":
            text = f"{event.task_id} started on {event.agent} (attempt {event.attempt}, round {event.round})"
        case "task_finished":
            text = f"{event.task_id} done by {event.agent} in {event.duration_s:.2f}s: {one_line(event.output, 50)}"
        case "task_failed":
            final = "failed" if event.final else "attempt failed"
            text = f"{event.task_id} {final} on {event.agent} ({event.error_type}): {one_line(event.error, 50)}"
        case "task_retried":
            how = "fallback to" if event.fallback else "retry on"
            text = f"{event.task_id} {how} {event.agent}, attempt {event.attempt}"
        case "task_skipped":
            text = f"{event.task_id} skipped: {one_line(event.reason, 50)}"
        case "message_sent":
            env = event.envelope
            attempt = f" #{env.attempt}" if env.attempt > 1 else ""
            text = f"{env.sender} → {env.recipient} {message_look(env).label}{attempt}: {message_summary(env, 60)}"
        case "agent_state":
            text = f"{event.agent} is {event.state}" + (
                f" on {event.task_id}" if event.task_id else ""
            )
        case "review_verdict":
            verdict = "approved" if event.approved else "changes requested"
            text = f"{event.task_id} round {event.round}: {verdict} by {event.reviewer}: {one_line(event.feedback, 40)}"
        case "log":
            text = f"{event.level}: {one_line(event.message, limit)}"
        case "llm_call":
            text = f"{event.agent} {one_line(event.model, 30)} {event.prompt_tokens}+{event.completion_tokens} tok {event.latency_s:.2f}s {event.status}"
        case "llm_delta":
            text = f"{event.agent} streams: {one_line(event.text, 60)}"
        case "tool_call":
            text = f"{event.agent} {one_line(event.tool, 30)}({one_line(event.arguments, 40)}) {'ok' if event.ok else 'failed'}"
        case "snapshot":
            text = f"snapshot of {len(event.state)} fields"
        case _:
            text = event.kind
    text = sanitize_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
