"""Trace events: the one stream every reader of Switchboard consumes.

Everything the orchestrator does becomes one of the small models below, joined in
the ``TraceEvent`` discriminated union on the ``kind`` tag. The TUI, the notebook
widgets, the metrics and the recorders read nothing else, so a recorded run replays
exactly as it was seen live.

Every event has ``run_id``, a per-run monotonic ``seq``, ``ts`` (Unix epoch seconds,
UTC) and the trace/span/parent-span ids of the step that produced it. The schema is
versioned by ``SCHEMA_VERSION``, carried in ``run_started``.
"""

# No ``from __future__ import annotations`` here: pydantic reads the models' field
# annotations as objects instead of compiling and evaluating each string, which is
# about a quarter of defining a model (this module loads with ``Orchestrator``).

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Discriminator, Field, TypeAdapter

__all__ = [
    "SCHEMA_VERSION",
    "A2AUpdate",
    "AgentState",
    "AgentStateChanged",
    "BreakerChanged",
    "BreakerState",
    "ConflictRaised",
    "ConflictResolved",
    "Envelope",
    "EventBase",
    "LLMCall",
    "LLMDelta",
    "Log",
    "MessageKind",
    "MessageSent",
    "PlanCreated",
    "PlanRejected",
    "PlanUpdated",
    "ReviewVerdict",
    "RunFinished",
    "RunForked",
    "RunResumed",
    "RunStarted",
    "RunStatus",
    "Snapshot",
    "TaskFailed",
    "TaskFinished",
    "TaskRetried",
    "TaskSkipped",
    "TaskStarted",
    "ToolCall",
    "TraceEvent",
    "TrustedMaker",
    "dump_event",
    "dump_line",
    "event_adapter",
    "event_json_schema",
    "parse_event",
    "trusted_maker",
]

SCHEMA_VERSION = 1
"""Version of the event schema; bumped on any incompatible change."""

MessageKind = Literal["directive", "result", "error", "a2a", "broadcast", "question", "answer"]
RunStatus = Literal["running", "succeeded", "failed", "cancelled"]
AgentState = Literal["idle", "working", "waiting", "failed"]
BreakerState = Literal["closed", "open", "half_open"]

ORCHESTRATOR = "orchestrator"
"""The orchestrator is a participant of every run, under this name."""
USER = "user"
"""Who asked: the sender of the request and the recipient of the answer."""

# ``defer_build``: a model's validator is built on its first validation, not at import;
# the tracer builds events without validating them, so a run that only records never
# pays for the schemas of the event kinds (``import toolkit`` stays fast)
_frozen = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Envelope(BaseModel):
    """One message on the wire, with both ends always named."""

    model_config = _frozen

    message_id: str
    """Unique id of this message."""
    conversation_id: str
    """Groups the messages of one exchange (a task and its attempts, a chat)."""
    trace_id: str
    """The run's trace id (OpenTelemetry-compatible, 32 hex digits)."""
    span_id: str
    """The span that sent the message (16 hex digits)."""
    parent_id: str | None = None
    """The message this one answers or follows, if any."""
    sender: str
    """Who sent it: ``orchestrator``, ``user`` or an agent's name."""
    recipient: str
    """Who receives it: a participant's name, ``*`` for a broadcast, or ``topic:<name>``."""
    kind: MessageKind
    """directive, result, error, a2a (agent to agent), broadcast, or question and answer
    (an agent asks a person, the person answers: ``toolkit.human``)."""
    payload: Any = None
    """The content: text or any JSON value. Untrusted: render it literally."""
    priority: int = 0
    """Higher is more urgent; informational for in-process delivery."""
    task_id: str | None = None
    """The plan task this message belongs to, if any."""
    attempt: int = 1
    """Attempt number of the task when sent (a retry's directive has attempt > 1)."""
    topic: str | None = None
    """The bus topic for published messages."""
    sent_at: float
    """When it was sent (Unix epoch seconds, UTC)."""
    delivered_at: float | None = None
    """When it was handed to the recipient, if known."""
    usage: dict[str, Any] | None = None
    """On results and errors of agent calls: ``duration_s``, ``tokens_in``,
    ``tokens_out``, ``cost_usd`` and ``model`` of the call that produced it."""


class EventBase(BaseModel):
    """Fields every trace event carries."""

    model_config = _frozen

    run_id: str
    """The run this event belongs to."""
    seq: int
    """Position in the run: 0, 1, 2, … with no gaps."""
    ts: float
    """When it happened (Unix epoch seconds, UTC)."""
    trace_id: str
    """The run's trace id."""
    span_id: str
    """The span of the step that emitted the event."""
    parent_span_id: str | None = None
    """The enclosing span (the run's span for a task; the task's for a message)."""


class RunStarted(EventBase):
    kind: Literal["run_started"] = "run_started"
    name: str
    """Name of the workflow or run."""
    request: str = ""
    """The user's request (the workflow ``input``)."""
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Each agent's public description: kind, description, skills."""
    seed: int | None = None
    schema_version: int = SCHEMA_VERSION
    meta: dict[str, Any] = Field(default_factory=dict)


class RunFinished(EventBase):
    kind: Literal["run_finished"] = "run_finished"
    status: RunStatus
    output: Any = None
    """The synthesized answer."""
    error: str | None = None
    duration_s: float = 0.0


class RunResumed(EventBase):
    """The run goes on after its process died: what the store held is kept, the rest re-runs.

    Emitted by ``switchboard resume`` / ``Orchestrator.resume`` as the first event of
    the continuation; its ``seq`` follows the last event the store held.
    """

    kind: Literal["run_resumed"] = "run_resumed"
    kept: list[str] = Field(default_factory=list)
    """Tasks finished before the interruption: their stored results are used, not re-run."""
    rerun: list[str] = Field(default_factory=list)
    """Tasks not finished at the interruption: they start afresh."""
    interrupted: list[str] = Field(default_factory=list)
    """The tasks of ``rerun`` that were running when the process died."""
    attempts: dict[str, int] = Field(default_factory=dict)
    """Attempts already made of each re-run task (its next attempt number follows)."""
    last_seq: int = -1
    """The last event stored before the interruption."""
    forced: list[str] = Field(default_factory=list)
    """What differed between the stored plan and the one resumed (with ``--force``)."""


class RunForked(EventBase):
    """This run re-runs another from one task on, reusing the stored results before it.

    Follows ``plan_created``; a ``task_finished`` for each reused task comes next (its
    stored output, no agent called, zero duration and cost).
    """

    kind: Literal["run_forked"] = "run_forked"
    forked_from: str
    """The run whose results are reused."""
    from_task: str
    """The task re-executed first; it and everything that depends on it run again."""
    reused: list[str] = Field(default_factory=list)
    """Tasks whose stored results are reused (no model is called for them)."""
    rerun: list[str] = Field(default_factory=list)
    """Tasks executed in this run."""
    edits: dict[str, str] = Field(default_factory=dict)
    """What was changed for the re-run (``task.field`` -> new value; ``seed``)."""


class PlanCreated(EventBase):
    kind: Literal["plan_created"] = "plan_created"
    plan: dict[str, Any]
    """The whole plan (``Plan.model_dump()``), so a trace stands on its own."""
    planner: str = ""
    """Which planner or pattern produced it."""


class PlanRejected(EventBase):
    kind: Literal["plan_rejected"] = "plan_rejected"
    planner: str
    """The planner whose plan was refused (``llm``)."""
    attempt: int
    """Which answer of the planner this was: 1, 2, …"""
    max_attempts: int
    """How many answers the planner may give."""
    problems: list[str]
    """Why it was refused, one line each (bad JSON, an unknown agent, a cycle …)."""
    plan: dict[str, Any] | None = None
    """The plan as the planner wrote it, when it was a JSON object."""
    text: str = ""
    """What the planner returned (at most a few thousand characters)."""
    next: Literal["retry", "fallback", "fail"] = "retry"
    """What happens now: ask again with the problems, use the fallback planner, or fail."""
    fallback: str | None = None
    """The planner that makes the plan instead, when ``next`` is ``fallback``."""


class PlanUpdated(EventBase):
    kind: Literal["plan_updated"] = "plan_updated"
    added: list[dict[str, Any]] = Field(default_factory=list)
    """Tasks added while the run went on (for example a replanning step)."""
    reason: str = ""


class TaskStarted(EventBase):
    kind: Literal["task_started"] = "task_started"
    task_id: str
    agent: str
    attempt: int = 1
    round: int = 1
    """Round of a review loop (1 outside loops)."""


class TaskFinished(EventBase):
    kind: Literal["task_finished"] = "task_finished"
    task_id: str
    agent: str
    attempt: int = 1
    output: Any = None
    duration_s: float
    """Wall time of the whole task, all attempts and rounds included."""
    rounds: int = 1
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


class TaskFailed(EventBase):
    kind: Literal["task_failed"] = "task_failed"
    task_id: str
    agent: str
    attempt: int = 1
    error: str
    error_type: str = "error"
    """``exception``, ``timeout``, ``malformed``, ``cancelled``, ``unavailable`` (refused
    without trying: an open circuit breaker) or ``error``."""
    final: bool = True
    """False when a retry or a fallback follows."""
    duration_s: float = 0.0


class TaskRetried(EventBase):
    kind: Literal["task_retried"] = "task_retried"
    task_id: str
    agent: str
    """The agent of the next attempt (the fallback agent when ``fallback`` is set)."""
    attempt: int
    """The number of the attempt about to start."""
    delay_s: float = 0.0
    reason: str = ""
    fallback: bool = False


class TaskSkipped(EventBase):
    kind: Literal["task_skipped"] = "task_skipped"
    task_id: str
    agent: str
    reason: str


class MessageSent(EventBase):
    kind: Literal["message_sent"] = "message_sent"
    envelope: Envelope


class AgentStateChanged(EventBase):
    kind: Literal["agent_state"] = "agent_state"
    agent: str
    state: AgentState
    task_id: str | None = None


class ReviewVerdict(EventBase):
    kind: Literal["review_verdict"] = "review_verdict"
    task_id: str
    reviewer: str
    worker: str
    round: int
    approved: bool
    feedback: str = ""


class Log(EventBase):
    kind: Literal["log"] = "log"
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str
    agent: str | None = None
    task_id: str | None = None


class LLMCall(EventBase):
    kind: Literal["llm_call"] = "llm_call"
    agent: str
    model: str
    task_id: str | None = None
    purpose: str = "agent"
    """``agent``, ``planner`` or ``synthesizer``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    attempts: int = 1


class LLMDelta(EventBase):
    kind: Literal["llm_delta"] = "llm_delta"
    agent: str
    task_id: str | None = None
    text: str
    """A chunk of streamed completion text."""


class ToolCall(EventBase):
    kind: Literal["tool_call"] = "tool_call"
    agent: str
    tool: str
    task_id: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    ok: bool = True
    duration_s: float = 0.0


class BreakerChanged(EventBase):
    """A remote agent's circuit breaker changed state (``toolkit.breaker``)."""

    kind: Literal["breaker_changed"] = "breaker_changed"
    agent: str
    """The agent the breaker guards."""
    state: BreakerState
    """The new state: ``closed`` (calls go through), ``open`` (calls fail at once, the
    fallback takes over), ``half_open`` (one probe call decides)."""
    previous: BreakerState
    """The state it left."""
    reason: str = ""
    """Why: the failures that opened it, the cool-down that ended, the probe's outcome."""
    failures: int = 0
    """Consecutive failed calls counted when the change happened."""
    task_id: str | None = None
    """The task whose call made the change, if any."""


class A2AUpdate(EventBase):
    """A status update or an artifact of the A2A task behind one agent call."""

    kind: Literal["a2a_update"] = "a2a_update"
    agent: str
    """The Switchboard agent (``kind: a2a``) whose remote task this is."""
    task_id: str | None = None
    """The plan task of the call."""
    remote_task_id: str = ""
    """The A2A task's id on the server."""
    context_id: str = ""
    """The A2A context id (one per directive's conversation)."""
    update: Literal["status", "artifact", "message"] = "status"
    """A task status update, an artifact (or a chunk of one), or a direct message reply."""
    state: str = ""
    """The A2A task state after a status update (``submitted``, ``working``,
    ``completed``, ``failed``, ``canceled``, ``rejected``, ``input_required``, …)."""
    text: str = ""
    """The text parts of the status message or artifact. Untrusted: render it literally."""
    name: str | None = None
    """The artifact's name, if it has one."""
    data: list[Any] = Field(default_factory=list)
    """The structured (data) parts of the artifact or message."""


class ConflictRaised(EventBase):
    kind: Literal["conflict"] = "conflict"
    task_id: str | None = None
    """The task that resolves the conflict."""
    question: str = ""
    """What the agents were asked."""
    positions: list[dict[str, Any]] = Field(default_factory=list)
    """Each agent's position: ``agent``, ``answer``, ``confidence`` (or None), ``rationale``."""
    strategy: str = "vote"
    """How it is resolved: ``vote``, ``weighted``, ``judge`` or ``human``."""


class ConflictResolved(EventBase):
    kind: Literal["resolution"] = "resolution"
    task_id: str | None = None
    strategy: str
    """The strategy that decided: ``vote``, ``weighted``, ``judge``, ``human``, or
    ``tie-breaker`` when the vote was tied."""
    answer: Any = None
    """The position that won."""
    winners: list[str] = Field(default_factory=list)
    """The agents whose position won."""
    decided_by: str = ""
    """Who decided: the resolver, the judge agent, the human, or the tie-breaker agent."""
    tally: dict[str, float] = Field(default_factory=dict)
    """Votes (or summed confidence) per answer."""
    reason: str = ""


class Snapshot(EventBase):
    kind: Literal["snapshot"] = "snapshot"
    state: dict[str, Any]
    """A summary of the run state at this point, for fast seeking in long runs."""


TraceEvent = Annotated[
    RunStarted
    | RunFinished
    | RunResumed
    | RunForked
    | PlanCreated
    | PlanRejected
    | PlanUpdated
    | TaskStarted
    | TaskFinished
    | TaskFailed
    | TaskRetried
    | TaskSkipped
    | MessageSent
    | AgentStateChanged
    | ReviewVerdict
    | Log
    | LLMCall
    | LLMDelta
    | ToolCall
    | Snapshot
    | BreakerChanged
    | A2AUpdate
    | ConflictRaised
    | ConflictResolved,
    Discriminator("kind"),
]
"""Any trace event; discriminated on ``kind``."""


@cache
def _event_adapter() -> TypeAdapter[TraceEvent]:
    return TypeAdapter(TraceEvent)


def __getattr__(name: str) -> Any:
    # ``event_adapter`` (validates and serializes any trace event) is built on first
    # use: building the union's validator is most of this module's import time
    if name == "event_adapter":
        return _event_adapter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    event_adapter: TypeAdapter[TraceEvent]
    """Validates and serializes any trace event."""


_MISSING: Any = object()
_new = object.__new__
_set = object.__setattr__


class TrustedMaker:
    """Builds models of one class from trusted values, without validation.

    Validating an event costs 2–3 µs and the orchestrator emits several per agent
    step; the run's own values (ids, counters, clock readings, names) are known good,
    so the tracer builds its events with this. Everything read from outside (a trace
    file, a store, a network peer) still goes through ``parse_event``'s full
    validation.

    ``template`` holds every field in declared order (so JSON keeps the schema's
    order) with its default; required fields and fields with a default factory hold
    ``MISSING``, and ``build`` makes the factories' fresh lists and dicts per event.
    Filling a copy of the template costs a third of a keyword-argument constructor.
    """

    __slots__ = ("cls", "factories", "fields_set", "template")

    MISSING: Any = _MISSING
    """The template's value of a field the caller must fill (or a factory makes)."""

    def __init__(self, cls: type[BaseModel]) -> None:
        self.cls = cls
        self.template: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                self.template[name] = _MISSING
                self.factories.append((name, info.default_factory))  # type: ignore[arg-type]
            elif info.is_required():
                self.template[name] = _MISSING
            else:
                self.template[name] = info.default
        self.fields_set = set(cls.model_fields)

    def build(self, values: dict[str, Any]) -> Any:
        """The model holding ``values`` (a filled copy of ``template``; kept, not copied)."""
        for name, factory in self.factories:
            if values[name] is _MISSING:
                values[name] = factory()
        return self.wrap(values)

    def wrap(self, values: dict[str, Any]) -> Any:
        """The model holding ``values``, which name every field in declared order (kept,
        not copied): for the hottest events, built as literal dicts with no template."""
        obj = _new(self.cls)
        _set(obj, "__dict__", values)
        _set(obj, "__pydantic_fields_set__", self.fields_set)
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj

    def __call__(self, **fields: Any) -> Any:
        """The model with ``fields`` (the others take their defaults), unvalidated.

        Raises:
            TypeError: when a required field is not given.
        """
        values = self.template.copy()
        values.update(fields)
        obj = self.build(values)
        absent = [name for name, value in values.items() if value is _MISSING]
        if absent:
            raise TypeError(f"{self.cls.__name__} needs field(s) {', '.join(absent)}")
        return obj


_MAKERS: dict[type, TrustedMaker] = {}


def trusted_maker(cls: type[BaseModel]) -> TrustedMaker:
    """The one unvalidated builder of ``cls`` (made once per class), for the run's own
    values: ``maker(**fields)``, or ``maker.build(filled copy of maker.template)`` on
    the hottest paths."""
    maker = _MAKERS.get(cls)
    if maker is None:
        maker = _MAKERS[cls] = TrustedMaker(cls)
    return maker


def dump_event(event: BaseModel) -> bytes:
    """One event as compact JSON (one JSONL line, without the newline).

    orjson over the model's fields gives the same JSON as pydantic's serializer at a
    fifth of the cost; payload values JSON cannot hold are written as their ``repr``.
    """
    try:
        return _dumps(event.__dict__, default=_default)
    except TypeError:
        # orjson refuses integers beyond 64 bits, non-string keys and lone surrogates,
        # which agents can produce; one such payload must not cost the whole trace, so
        # the stdlib writes it (keys as strings, unencodable characters replaced)
        text = json.dumps(
            event.__dict__,
            default=_default,
            ensure_ascii=False,
            separators=(",", ":"),
            skipkeys=True,
        )
        return text.encode("utf-8", "replace")


def dump_line(event: BaseModel) -> bytes:
    """One event as one JSONL line: ``dump_event``'s JSON and the newline, in one call."""
    try:
        return _dumps(event.__dict__, default=_default, option=_NEWLINE)
    except TypeError:
        return dump_event(event) + b"\n"


def _default(value: Any) -> Any:
    if type(value) is Envelope:  # every message_sent event: the cheap test first
        return value.__dict__
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def parse_event(line: str | bytes) -> TraceEvent:
    """Parse one JSON-encoded event (one JSONL line).

    Raises:
        pydantic.ValidationError: when the line is not a valid event.
    """
    return _event_adapter().validate_json(line)


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``TraceEvent``, with the schema version."""
    schema = _event_adapter().json_schema()
    schema["title"] = "Switchboard TraceEvent"
    schema["$comment"] = f"schema_version {SCHEMA_VERSION}"
    return schema
