"""What crosses Temporal's boundary: the run's spec, one agent call, one batch of events.

Pydantic models (the SDK's pydantic data converter carries them), so every value
that enters or leaves the workflow, an activity or a query is validated. This module
imports only pydantic: the workflow sandbox re-imports it on every run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AnswerSignal",
    "CallInput",
    "CallResult",
    "DeliverInput",
    "DeliverResult",
    "EventPage",
    "RunOutcome",
    "RunSpec",
]

WORKFLOW = "switchboard.run"
"""The workflow type of every Switchboard run on Temporal."""
AGENT_ACTIVITY = "switchboard.agent"
"""The activity type of one agent call."""
DELIVER_ACTIVITY = "switchboard.deliver"
"""The (local) activity type that writes a batch of events to the run's outlets."""
EVENTS_QUERY = "switchboard.events"
"""The query that pages through a run's events (the starter's live view)."""
CANCEL_SIGNAL = "switchboard.cancel"
"""The signal that cancels a run the way ``Run.cancel`` does (recorded, then ended)."""
ANSWER_SIGNAL = "switchboard.answer"
"""The signal that answers the open question of a human agent's task (``AnswerSignal``)."""
QUESTIONS_QUERY = "switchboard.questions"
"""The query that lists the run's open questions (``toolkit.human.Question`` as JSON)."""


class RunSpec(BaseModel):
    """Everything the workflow needs to run a plan (the workflow's input)."""

    run_id: str
    """The run's id, which is also the workflow id."""
    trace_id: str
    name: str
    request: str
    plan: dict[str, Any] | None
    """The plan as JSON; None when the planner makes it inside the workflow."""
    planner: str = "rule-based"
    """rule-based or router when ``plan`` is None (the pure planners)."""
    agents: dict[str, dict[str, Any]]
    """Each agent's card (as recorded in ``run_started``), by name."""
    seed: int | None = None
    concurrency: int = 16
    fail_fast: bool = False
    default_timeout_s: float | None = None
    redact: bool = True
    task_queue: str
    """Where the agent activities go (the workers hosting the agents poll it)."""
    outlets: list[str] = Field(default_factory=list)
    """Where workers write the events: ``jsonl:PATH``, ``sqlite:PATH`` (see ``toolkit.temporal.outlets``)."""
    heartbeat_s: float = 10.0
    """An agent activity not heard from for this long is taken as lost and run again."""


class CallInput(BaseModel):
    """One agent call (the agent activity's input)."""

    agent: str
    directive: dict[str, Any]
    """The ``Directive`` as JSON."""
    timeout_s: float | None
    run_id: str
    trace_id: str
    span_id: str
    """The attempt's span: the session's events sit under it."""
    parent_span_id: str | None
    task_id: str | None
    redact: bool = True
    heartbeat_s: float = 10.0


class CallResult(BaseModel):
    """What one agent call gave (the agent activity's result)."""

    output: Any = None
    usage: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    """Set when the call failed (the agent raised, timed out): the attempt policy decides."""
    error_type: str | None = None
    events: list[str] = Field(default_factory=list)
    """Events the agent emitted through its session (tool calls, logs, model calls), as
    JSON; the workflow numbers them into the run's stream."""


class DeliverInput(BaseModel):
    """A batch of events for the run's outlets (the deliver activity's input)."""

    run_id: str
    outlets: list[str]
    lines: list[str]
    """The events as JSON, consecutive by ``seq``."""
    first_seq: int
    owner: str
    """Who carries the run on (recorded as the store row's owner)."""


class DeliverResult(BaseModel):
    """What a delivery wrote, and what an outlet refused for good."""

    written: int = 0
    problems: list[str] = Field(default_factory=list)


class EventPage(BaseModel):
    """A page of a run's events (the events query's answer)."""

    lines: list[str]
    next: int
    """The seq to ask for next."""
    done: bool
    """The run has finished and every event is in this or an earlier page."""


class RunOutcome(BaseModel):
    """The workflow's result."""

    status: str
    output: Any = None
    error: str | None = None
    events: int


class AnswerSignal(BaseModel):
    """A person's answer to the open question of ``task_id`` (the answer signal's input)."""

    task_id: str
    question_id: str | None = None
    """The question answered; None: whichever question of the task is open."""
    answer: dict[str, Any]
    """The ``toolkit.human.Answer`` as JSON."""
