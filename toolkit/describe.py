"""The words of a run: how each event, message, task and agent is named, in one place.

The terminal app, the notebook widgets and the command line all say what happened
with these tables and functions, so they cannot disagree, and the words teach the
patterns right: a fallback attempt is a *fallback* to the backup agent (not a
retry), the reviewer of a review round is *reviewing*, "tries" counts the attempts
made, the agent that did the work is the one named, a cancelled task is *cancelled*.

Everything here is plain text, never styled and never sanitized: each view makes it
safe at its own edge (the terminal's safe text, the page's ``textContent``). Payload
text is bounded here (``short``), so a multi-megabyte payload costs no more than a
short one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from toolkit.events import Envelope, TraceEvent
from toolkit.state import RunState, TaskView

__all__ = [
    "AGENT_GLYPH",
    "BREAKER_GLYPH",
    "EVENT_GLYPH",
    "MESSAGE_LOOKS",
    "TASK_GLYPH",
    "EventRoles",
    "MessageLook",
    "MessageRoles",
    "breaker_label",
    "breaker_word",
    "event_agent",
    "event_summary",
    "message_summary",
    "message_tag",
    "plan_rejected_summary",
    "short",
    "task_holders",
    "task_rounds",
    "task_tries",
    "task_worker",
]


def short(value: Any, limit: int = 80) -> str:
    """A value's text (JSON for non-strings), cut to ``limit`` characters with "… N more".

    Long strings are sliced before anything else touches them. Newlines and control
    characters are kept: the view that shows the text makes it safe.
    """
    if isinstance(value, str):
        text, total = value[: limit + 1], len(value)
    elif value is None:
        text, total = "", 0
    elif isinstance(value, bool | int | float):
        text = str(value)
        total = len(text)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
        except (TypeError, ValueError):
            text = repr(value)
        total = len(text)
    if total > limit:
        return f"{text[:limit]}… {total - limit:,} more"
    return text


# -- messages ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageLook:
    """How one role of message is named and drawn (views add colour on top)."""

    role: str
    """directive, retry, fallback, review, revision, result, error, a2a, broadcast,
    question or answer."""
    label: str
    """The word shown with the arrow."""
    glyph: str
    """A symbol that tells the role apart without colour."""
    line: str
    """The character an arrow's shaft is drawn with."""


MESSAGE_LOOKS: dict[str, MessageLook] = {
    look.role: look
    for look in (
        MessageLook("directive", "directive", "▶", "─"),
        MessageLook("retry", "retry", "↻", "═"),
        MessageLook("fallback", "fallback", "↪", "═"),
        MessageLook("review", "review", "◇", "─"),
        MessageLook("revision", "revision", "✎", "─"),
        MessageLook("result", "result", "✔", "┄"),
        MessageLook("error", "error", "✖", "━"),
        MessageLook("a2a", "a2a", "⇄", "┈"),
        MessageLook("broadcast", "broadcast", "✱", "┈"),
        MessageLook("question", "question", "?", "┈"),
        MessageLook("answer", "answer", "☛", "┄"),
    )
}
"""Message role -> its look."""


class MessageRoles:
    """The role of each message of a run in its task, worked out incrementally.

    A directive is the first ask of a task (``directive``), a new attempt on the same
    agent (``retry``), a new attempt on another agent than the plan's (``fallback``),
    a request to the task's reviewer (``review``) or a new round after a review
    (``revision``); every other message's role is its kind. The role of a message
    depends on the messages before it, so messages are classified in order, once each;
    a replay shows a prefix of the same list, so one ``MessageRoles`` serves every
    cursor. A list that starts with another message (a new run) starts over.
    """

    def __init__(self) -> None:
        self._roles: list[str] = []
        self._first: str | None = None
        self._worked: set[str] = set()
        """Tasks a worker has been asked to do at least once."""

    def role(self, messages: Sequence[Envelope], index: int, tasks: Mapping[str, TaskView]) -> str:
        """The role of ``messages[index]``; ``tasks`` are the plan's tasks (the fold's)."""
        first = messages[0].message_id if messages else None
        if first != self._first:
            self._first, self._roles, self._worked = first, [], set()
        for env in messages[len(self._roles) : index + 1]:
            self.next(env, tasks)
        return self._roles[index]

    def next(self, env: Envelope, tasks: Mapping[str, TaskView]) -> str:
        """Classify the run's next message (messages must come in order, each once)."""
        role = self._classify(env, tasks)
        self._roles.append(role)
        return role

    def look(
        self, messages: Sequence[Envelope], index: int, tasks: Mapping[str, TaskView]
    ) -> MessageLook:
        """The look of ``messages[index]`` (see ``role``)."""
        return MESSAGE_LOOKS[self.role(messages, index, tasks)]

    def _classify(self, env: Envelope, tasks: Mapping[str, TaskView]) -> str:
        if env.kind != "directive":
            return env.kind if env.kind in MESSAGE_LOOKS else "a2a"
        if env.task_id is None:
            return "directive"
        task = tasks.get(env.task_id)
        if task is not None and task.reviewer == env.recipient != task.agent:
            return "review"
        worked = env.task_id in self._worked
        self._worked.add(env.task_id)
        if env.attempt > 1:
            return "fallback" if task is not None and env.recipient != task.agent else "retry"
        return "revision" if worked else "directive"


class EventRoles:
    """``MessageRoles`` over a list of events: the plan is learnt from its plan events.

    For views that hold events but no fold (an event log, a printed replay). The
    roles are the same as ``MessageRoles`` gives over the fold's messages.
    """

    def __init__(self) -> None:
        self._first: TraceEvent | None = None
        self._reset(None)

    def _reset(self, first: TraceEvent | None) -> None:
        self._first, self._scanned = first, 0
        self._roles = MessageRoles()
        self._tasks: dict[str, TaskView] = {}
        self._looks: dict[int, MessageLook] = {}

    def look(self, events: Sequence[TraceEvent], index: int) -> MessageLook | None:
        """The look of ``events[index]``'s message (None when it is not a ``message_sent``)."""
        first = events[0] if events else None
        if first is not self._first:
            self._reset(first)
        for i in range(self._scanned, min(index + 1, len(events))):
            event = events[i]
            if event.kind in ("plan_created", "plan_updated"):
                added = event.plan.get("tasks", []) if event.kind == "plan_created" else event.added
                for t in added:
                    if isinstance(t, dict) and "id" in t and "agent" in t:
                        review = t.get("review") or {}
                        self._tasks[str(t["id"])] = TaskView(
                            id=str(t["id"]), agent=str(t["agent"]), reviewer=review.get("reviewer")
                        )
            elif event.kind == "message_sent":
                self._looks[i] = MESSAGE_LOOKS[self._roles.next(event.envelope, self._tasks)]
        self._scanned = max(self._scanned, index + 1)
        return self._looks.get(index)


class _Named(Protocol):
    @property
    def glyph(self) -> str: ...
    @property
    def label(self) -> str: ...


def message_tag(env: Envelope, look: _Named) -> str:
    """The glyph and word of a message, with its attempt when past the first: ``↪ fallback #3``.

    ``look`` is a ``MessageLook`` (or a view's styled copy of one).
    """
    tag = f"{look.glyph} {look.label}"
    if env.attempt > 1 and env.kind in ("directive", "result", "error"):
        tag += f" #{env.attempt}"
    return tag


def message_summary(envelope: Envelope, limit: int = 80) -> str:
    """A bounded one-line summary of a message's payload."""
    payload = envelope.payload
    if envelope.kind == "question" and isinstance(payload, dict):
        return short(payload.get("text", payload), limit)
    if envelope.kind == "answer" and isinstance(payload, dict):
        return short(answer_words(payload), limit)
    return short(payload, limit)


def answer_words(answer: dict[str, Any]) -> str:
    """A person's answer (an ``answer`` message's payload) in words."""
    if answer.get("approve") is not None:
        words = "approved" if answer["approve"] else "rejected"
    elif answer.get("choice") is not None:
        words = f"chose {answer['choice']}"
    elif answer.get("default") is not None:
        words = f"no answer by the deadline: {answer['default']}"
    else:
        words = str(answer.get("text", ""))
    comment = answer.get("comment")
    if comment and answer.get("via") != "deadline":
        words += f" ({comment})"
    return words


# -- tasks and agents -----------------------------------------------------------------

TASK_GLYPH: dict[str, str] = {
    "waiting": "○",
    "running": "◐",
    "done": "✔",
    "failed": "✖",
    "retrying": "↻",
    "skipped": "⊘",
    "cancelled": "⊗",
}
"""Task status -> glyph (the word is the status itself)."""

AGENT_GLYPH: dict[str, str] = {"idle": "·", "working": "◐", "waiting": "…", "failed": "✖"}
"""Agent state -> glyph (the word is the state itself)."""

BREAKER_GLYPH: dict[str, str] = {"closed": "●", "open": "○", "half_open": "◑"}
"""Circuit breaker state -> glyph; ``breaker_word`` gives the word."""


def breaker_word(state: str) -> str:
    """The word of a breaker state ("half-open", not ``half_open``); "" for no breaker."""
    return state.replace("_", "-")


def breaker_label(state: str) -> str:
    """Glyph and word of a breaker state (``○ open``); "" for an agent without a breaker."""
    if not state:
        return ""
    return f"{BREAKER_GLYPH.get(state, '?')} {breaker_word(state)}"


def task_holders(state: RunState) -> dict[str, str]:
    """Task id -> the agent working on it now."""
    return {
        a.current_task: a.name
        for a in state.agents.values()
        if a.current_task and a.state == "working"
    }


def task_worker(task: TaskView, holder: str | None = None) -> str:
    """Who is doing, or did, the task's work, and in what part.

    ``holder`` is the agent working on it now (``task_holders``). During a review
    round that is the reviewer: "editor (reviewing)". An agent other than the plan's,
    after a fallback: "backup-dev (fallback)". Otherwise the agent's name; a task that
    resolved a conflict adds whose position won: "resolver ⚖ alice, carol".
    """
    if holder is not None and holder == task.reviewer and holder != task.agent:
        return f"{holder} (reviewing)"
    agent = holder or task.last_agent or task.agent
    worker = f"{agent} (fallback)" if agent != task.agent else agent
    if task.winners:  # a resolved conflict: whose position won
        worker += " ⚖ " + ", ".join(task.winners)
    return worker


def task_tries(task: TaskView) -> int:
    """Attempts made so far, every retry, fallback and review round included."""
    return task.attempts


def task_rounds(task: TaskView) -> str:
    """``round/max`` of a reviewed task ("" for a task without review)."""
    return f"{task.round}/{task.max_rounds}" if task.reviewer else ""


# -- events -----------------------------------------------------------------------------

EVENT_GLYPH: dict[str, str] = {
    "run_started": "◆",
    "run_finished": "◆",
    "run_resumed": "⟳",
    "run_forked": "⑂",
    "plan_created": "☰",
    "plan_updated": "☰",
    "plan_rejected": "☒",
    "task_started": "◐",
    "task_finished": "✔",
    "task_failed": "✖",
    "task_retried": "↻",
    "task_skipped": "⊘",
    "message_sent": "✉",
    "agent_state": "•",
    "review_verdict": "◇",
    "log": "≡",
    "llm_call": "λ",
    "llm_delta": "λ",
    "tool_call": "⚒",
    "conflict": "⚖",
    "resolution": "⚖",
    "snapshot": "▣",
    "breaker_changed": "⚡",
    "a2a_update": "⇆",
}
"""Event kind -> glyph in the event log."""


def event_agent(event: TraceEvent) -> str:
    """The participant an event is about, for filtering ("" when none)."""
    if event.kind == "message_sent":
        return event.envelope.sender
    if event.kind == "review_verdict":
        return event.reviewer
    if event.kind == "resolution":
        return event.decided_by
    return getattr(event, "agent", None) or ""


def _attempt(n: int) -> str:
    return f"attempt {n}"


def plan_rejected_summary(event: Any) -> str:
    """``plan rejected (attempt 1 of 3; retrying): problem; problem``: one rejected plan."""
    then = {
        "retry": "asking again",
        "fallback": f"falling back to {event.fallback or 'another planner'}",
        "fail": "giving up",
    }[event.next]
    problems = "; ".join(event.problems) or "no reason given"
    return f"{event.planner} plan rejected (attempt {event.attempt} of {event.max_attempts}; {then}): {problems}"


def event_summary(event: TraceEvent, limit: int = 100, look: MessageLook | None = None) -> str:
    """A one-line description of an event, at most ``limit`` characters.

    Args:
        event: The event.
        limit: Longest text returned.
        look: The role of a ``message_sent`` event's message, when the caller knows it
            (``MessageRoles``); otherwise its kind names it.
    """
    match event.kind:
        case "run_started":
            text = f"run {short(event.name, 40)} started ({len(event.agents)} agents)"
        case "run_finished":
            text = f"run {event.status} in {event.duration_s:.2f}s" + (
                f": {short(event.error, 60)}" if event.error else ""
            )
        case "run_resumed":
            lost = f", {len(event.interrupted)} interrupted" if event.interrupted else ""
            text = (
                f"run resumed after an interruption: {len(event.kept)} task(s) kept,"
                f" {len(event.rerun)} to run{lost}"
            )
        case "run_forked":
            text = (
                f"re-run of {short(event.forked_from, 40)} from {short(event.from_task, 30)}:"
                f" {len(event.reused)} result(s) reused, {len(event.rerun)} to run"
            )
        case "plan_created":
            text = (
                f"plan with {len(event.plan.get('tasks', []))} tasks ({short(event.planner, 30)})"
            )
        case "plan_rejected":
            text = plan_rejected_summary(event)
        case "plan_updated":
            text = f"plan +{len(event.added)} tasks: {short(event.reason, 40)}"
        case "task_started":
            text = f"{event.task_id} started on {event.agent} ({_attempt(event.attempt)}, round {event.round})"
        case "task_finished":
            text = f"{event.task_id} done by {event.agent} in {event.duration_s:.2f}s: {short(event.output, 50)}"
        case "task_failed":
            if event.error_type == "cancelled":
                text = f"{event.task_id} cancelled on {event.agent}: {short(event.error, 50)}"
            else:
                final = "failed" if event.final else "attempt failed"
                text = f"{event.task_id} {final} on {event.agent} ({event.error_type}): {short(event.error, 50)}"
        case "task_retried":
            how = "fallback to" if event.fallback else "retry on"
            text = f"{event.task_id} {how} {event.agent}, {_attempt(event.attempt)}"
        case "task_skipped":
            text = f"{event.task_id} skipped: {short(event.reason, 50)}"
        case "message_sent":
            env = event.envelope
            tag = message_tag(env, look or MESSAGE_LOOKS.get(env.kind, MESSAGE_LOOKS["a2a"]))
            text = (
                f"{env.sender} → {env.recipient} {tag.split(' ', 1)[1]}: {message_summary(env, 60)}"
            )
        case "agent_state":
            text = f"{event.agent} is {event.state}" + (
                f" on {event.task_id}" if event.task_id else ""
            )
        case "review_verdict":
            verdict = "approved" if event.approved else "changes requested"
            text = f"{event.task_id} round {event.round}: {verdict} by {event.reviewer}: {short(event.feedback, 40)}"
        case "log":
            text = f"{event.level}: {short(event.message, limit)}"
        case "llm_call":
            text = f"{event.agent} {short(event.model, 30)} {event.prompt_tokens}+{event.completion_tokens} tok {event.latency_s:.2f}s {event.status}"
        case "llm_delta":
            text = f"{event.agent} streams: {short(event.text, 60)}"
        case "tool_call":
            text = f"{event.agent} {short(event.tool, 30)}({short(event.arguments, 40)}) {'ok' if event.ok else 'failed'}"
        case "conflict":
            sides = ", ".join(
                f"{short(p.get('agent'), 20)}: {short(p.get('answer'), 20)}"
                for p in event.positions[:4]
                if isinstance(p, dict)
            )
            more = f" +{len(event.positions) - 4}" if len(event.positions) > 4 else ""
            text = f"conflict on {event.task_id} ({event.strategy}): {sides}{more}"
        case "resolution":
            won = ", ".join(short(w, 20) for w in event.winners[:4])
            text = f"resolved by {short(event.decided_by, 20)} ({event.strategy}): {short(event.answer, 30)} (won: {won}); {short(event.reason, 40)}"
        case "snapshot":
            text = f"snapshot of {len(event.state)} fields"
        case "breaker_changed":
            text = (
                f"{event.agent} circuit {breaker_word(event.state)}"
                f" (was {breaker_word(event.previous)}): {short(event.reason, 60)}"
            )
        case "a2a_update":
            what = (
                f"artifact {short(event.name or '', 30)}".rstrip()
                if event.update == "artifact"
                else event.update
            )
            state = f" {event.state}" if event.state else ""
            text = f"{event.agent} a2a {what}{state}" + (
                f": {short(event.text, 60)}" if event.text else ""
            )
        case _:
            text = event.kind
    return text if len(text) <= limit else text[: limit - 1] + "…"
