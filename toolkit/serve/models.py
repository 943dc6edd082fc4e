"""The bodies of the start API, as pydantic models: what is accepted and what is answered.

Each request body is validated by its model (the 4xx reasons come from there), and
the OpenAPI document is generated from the same models, so the document, the checks
and the answers cannot drift apart. Pure pydantic: importing this needs no web
framework.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "MAX_DIRECTIVES",
    "AgentInfo",
    "AgentMetrics",
    "AgentsOut",
    "CancelOut",
    "DirectiveIn",
    "ErrorOut",
    "HealthOut",
    "MetricsOut",
    "RunLinks",
    "RunResultOut",
    "RunStatusOut",
    "RunSummary",
    "RunsOut",
    "StartRequest",
    "StartResponse",
    "TaskInfo",
    "WorkflowInfo",
]

MAX_DIRECTIVES = 1000
"""A start request holds at most this many directives."""

_in = ConfigDict(extra="forbid", strict=True, defer_build=True)
_out = ConfigDict(defer_build=True)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


RunStatus = Literal["pending", "running", "succeeded", "failed", "cancelled", "interrupted"]


class DirectiveIn(BaseModel):
    """One step of a pipeline: which agent, what for, and what it is asked."""

    model_config = _in

    agent_id: str = Field(min_length=1, max_length=200)
    """The agent that does the step: one of ``GET /v1/agents``."""
    goal: str = Field(default="", max_length=10_000)
    """What the step is for, in a few words (shown in the views)."""
    prompt: str = Field(default="", max_length=1_000_000)
    """What the agent is asked. From the second step on, the agent also gets the
    previous step's result as context; ``{{input}}`` and ``{{step-N}}`` are filled in."""


class StartRequest(BaseModel):
    """A run to start: directives run as a pipeline, or a workflow.

    Exactly one of ``directives`` and ``workflow``.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        defer_build=True,
        json_schema_extra={"oneOf": [{"required": ["directives"]}, {"required": ["workflow"]}]},
    )

    # absent, never null: the schema says "exactly one of the two" (``oneOf`` below)
    directives: (
        Annotated[list[DirectiveIn], Field(min_length=1, max_length=MAX_DIRECTIVES)]
        | SkipJsonSchema[None]
    ) = Field(default=None, json_schema_extra=_no_default)
    """The steps, in order; each gets the previous one's result as context."""
    workflow: str | dict[str, Any] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )
    """The name of a workflow this server serves, or a whole workflow (the content of a
    workflow file, as JSON). A posted workflow's own agents must be ``kind: mock``; it
    may use every agent this server serves by name."""
    input: str | None = Field(default=None, max_length=1_000_000)
    """The request (fills ``{{input}}``); default: the workflow's, or the first prompt."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """The run's name (default: the workflow's name, or ``directives``)."""
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    """Seed of the mock agents (the same seed, the same replies and failures)."""

    @field_validator("directives", "workflow", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave it out rather than null")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> StartRequest:
        if (self.directives is None) == (self.workflow is None):
            raise ValueError("give exactly one of 'directives' and 'workflow'")
        return self


class RunLinks(BaseModel):
    """Where to read a run and act on it (absolute URLs)."""

    model_config = _out

    status: str
    """``GET``: the run's status (also the URL ``switchboard tui`` follows)."""
    events: str
    """``GET``: the run's events as server-sent events, from its beginning."""
    result: str
    """``GET``: the run's answer once it has finished."""
    metrics: str
    """``GET``: per-agent metrics."""
    cancel: str
    """``POST``: cancel the run."""


class StartResponse(BaseModel):
    """A run that was started."""

    model_config = _out

    run_id: str
    name: str
    status: RunStatus
    status_url: str
    """Where to read its status (and what to follow: ``switchboard tui URL``)."""
    events_url: str
    """Its events as a server-sent event stream."""
    links: RunLinks


class TaskInfo(BaseModel):
    """A task of a run as the run has seen it so far."""

    model_config = _out

    id: str
    agent: str
    """The agent of the latest attempt."""
    goal: str
    status: str
    """waiting, running, done, failed, retrying, skipped or cancelled."""
    attempts: int
    error: str | None


class RunStatusOut(BaseModel):
    """Where a run stands."""

    model_config = _out

    run_id: str
    name: str
    status: RunStatus
    request: str
    started_at: float | None
    """Unix seconds, UTC."""
    finished_at: float | None
    elapsed_s: float
    events: int
    """Events recorded so far."""
    tasks: list[TaskInfo]
    task_counts: dict[str, int]
    error: str | None
    source: Literal["live", "store"]
    """``live``: started by this server process; ``store``: read from the run store."""
    links: RunLinks


class RunResultOut(BaseModel):
    """A run's answer (``output``) once it has finished."""

    model_config = _out

    run_id: str
    status: RunStatus
    finished: bool
    output: Any = None
    error: str | None = None


class AgentMetrics(BaseModel):
    """One agent's figures in a run (``toolkit.metrics.agent_rows``)."""

    model_config = _out

    agent: str
    tasks: int
    succeeded: int
    failed: int
    retries: int
    reviews: int
    mean_s: float | None
    p95_s: float | None
    messages_in: int
    messages_out: int
    tokens_in: int
    tokens_out: int
    cost_usd: float


class MetricsOut(BaseModel):
    """A run's per-agent metrics and totals."""

    model_config = _out

    run_id: str
    status: RunStatus
    agents: list[AgentMetrics]
    tokens_in: int
    tokens_out: int
    cost_usd: float
    elapsed_s: float
    events: int


class CancelOut(BaseModel):
    """A cancellation that was asked for (the run ends with ``run_finished`` cancelled)."""

    model_config = _out

    run_id: str
    status: RunStatus


class RunSummary(BaseModel):
    """One run in the list of runs."""

    model_config = _out

    run_id: str
    name: str
    status: RunStatus
    started_at: float | None
    source: Literal["live", "store"]
    status_url: str


class RunsOut(BaseModel):
    """The runs this server knows, newest first."""

    model_config = _out

    runs: list[RunSummary]


class AgentInfo(BaseModel):
    """An agent a directive may name (``agent_id``)."""

    model_config = _out

    name: str
    kind: str
    description: str
    skills: list[str]
    workflows: list[str]
    """The served workflows that define it."""


class WorkflowInfo(BaseModel):
    """A workflow a start request may name (``workflow``)."""

    model_config = _out

    name: str
    description: str
    agents: list[str]
    input: str


class AgentsOut(BaseModel):
    """What this server can run."""

    model_config = _out

    agents: list[AgentInfo]
    workflows: list[WorkflowInfo]


class HealthOut(BaseModel):
    """The server is up (no token needed)."""

    model_config = _out

    ok: bool
    runs_running: int


class ErrorOut(BaseModel):
    """Every 4xx answer: the reason, and each problem when there are several."""

    model_config = _out

    error: str
    problems: list[str] = Field(default_factory=list)
