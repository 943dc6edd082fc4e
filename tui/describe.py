"""The terminal's colours for the words of a run; the words are ``toolkit.describe``'s.

The message flow, the event log, the plan and the agents tell kinds and states apart
by a glyph and a word (from ``toolkit.describe``, the same as the widgets' and the
CLI's), with a Rich style from here on top, never colour alone. Summaries are made
terminal-safe here (``sanitize_line``) and bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit import describe
from toolkit.describe import (
    AGENT_GLYPH,
    MESSAGE_LOOKS,
    TASK_GLYPH,
    EventRoles,
    MessageRoles,
    event_agent,
    task_holders,
    task_rounds,
    task_tries,
    task_worker,
)
from toolkit.events import Envelope, TraceEvent
from toolkit.text import sanitize_line

__all__ = [
    "AGENT_LOOK",
    "BREAKER_LOOK",
    "EVENT_GLYPH",
    "RUN_LOOK",
    "TASK_LOOK",
    "EventRoles",
    "MessageLook",
    "MessageRoles",
    "event_agent",
    "event_summary",
    "message_look",
    "message_summary",
    "task_holders",
    "task_rounds",
    "task_tries",
    "task_worker",
]


RUN_LOOK = {
    "pending": ("○", "dim"),
    "running": ("◐", "bold #5fafff"),
    "succeeded": ("✔", "bold #5fd75f"),
    "failed": ("✖", "bold #ff5f5f"),
    "cancelled": ("⊘", "bold #ffaf00"),
    "interrupted": ("✖", "bold #ff5f5f"),
}
"""Glyph and style of a run's status (the header, the run browser)."""


@dataclass(frozen=True, slots=True)
class MessageLook:
    """How one message role is drawn in the message flow."""

    label: str
    """The word shown with the arrow."""
    glyph: str
    """A symbol that tells the role apart without colour."""
    line: str
    """The character the arrow's shaft is drawn with."""
    style: str
    """Rich style of the arrow and its label."""


_MESSAGE_STYLE: dict[str, str] = {
    "directive": "bold #5fafff",
    "retry": "bold #ffaf00",
    "fallback": "bold #ff8700",
    "review": "#d7af5f",
    "revision": "bold #87afd7",
    "result": "#5fd75f",
    "error": "bold #ff5f5f",
    "a2a": "#d787ff",
    "broadcast": "#d7af5f",
    "question": "bold #ffd700",
    "answer": "bold #00d7af",
}

_LOOKS: dict[str, MessageLook] = {
    role: MessageLook(look.label, look.glyph, look.line, _MESSAGE_STYLE[role])
    for role, look in MESSAGE_LOOKS.items()
}


def message_look(envelope: Envelope, role: str | None = None) -> MessageLook:
    """The look of a message in its ``role`` (``MessageRoles``; its kind when None)."""
    return _LOOKS.get(role or envelope.kind, _LOOKS["a2a"])


def message_summary(envelope: Envelope, limit: int = 80) -> str:
    """A safe one-line summary of a message's payload."""
    return sanitize_line(describe.message_summary(envelope, limit))


_TASK_STYLE: dict[str, str] = {
    "waiting": "dim",
    "running": "bold #5fafff",
    "done": "#5fd75f",
    "failed": "bold #ff5f5f",
    "retrying": "bold #ffaf00",
    "skipped": "#8a8a8a",
    "cancelled": "#ff8700",
}

TASK_LOOK: dict[str, tuple[str, str]] = {s: (TASK_GLYPH[s], _TASK_STYLE[s]) for s in TASK_GLYPH}
"""Task status -> (glyph, style)."""

_AGENT_STYLE: dict[str, str] = {
    "idle": "dim",
    "working": "bold #5fafff",
    "waiting": "#ffaf00",
    "failed": "bold #ff5f5f",
}

AGENT_LOOK: dict[str, tuple[str, str]] = {s: (AGENT_GLYPH[s], _AGENT_STYLE[s]) for s in AGENT_GLYPH}
"""Agent state -> (glyph, style)."""

_BREAKER_STYLE: dict[str, str] = {
    "closed": "#5fd75f",
    "open": "bold #ff5f5f",
    "half_open": "bold #ffaf00",
}

BREAKER_LOOK: dict[str, tuple[str, str]] = {
    s: (describe.breaker_label(s), _BREAKER_STYLE[s]) for s in describe.BREAKER_GLYPH
}
"""Circuit breaker state -> (glyph and word, style)."""

_EVENT_STYLE: dict[str, str] = {
    "run_started": "bold",
    "run_finished": "bold",
    "run_resumed": "bold #ffaf00",
    "run_forked": "bold #87afd7",
    "plan_created": "#87afd7",
    "plan_updated": "#87afd7",
    "plan_rejected": "#ffaf00",
    "task_started": "#5fafff",
    "task_finished": "#5fd75f",
    "task_failed": "#ff5f5f",
    "task_retried": "#ffaf00",
    "task_skipped": "#8a8a8a",
    "message_sent": "#d7d7ff",
    "agent_state": "dim",
    "review_verdict": "#d7af5f",
    "log": "dim",
    "llm_call": "#d787ff",
    "llm_delta": "dim",
    "tool_call": "#87d7d7",
    "snapshot": "dim",
    "breaker_changed": "bold #ff8700",
    "a2a_update": "#d787ff",
}

EVENT_GLYPH: dict[str, tuple[str, str]] = {
    kind: (glyph, _EVENT_STYLE.get(kind, "")) for kind, glyph in describe.EVENT_GLYPH.items()
}
"""Event kind -> (glyph, style) in the event log."""


def event_summary(
    event: TraceEvent, limit: int = 100, look: describe.MessageLook | None = None
) -> str:
    """A safe one-line description of an event (``toolkit.describe.event_summary``).

    ``look`` names a message's role (``EventRoles``); without it, its kind does.
    """
    text = sanitize_line(describe.event_summary(event, limit, look))
    return text if len(text) <= limit else text[: limit - 1] + "…"
