"""Workflow files: a run described in YAML or JSON, validated before anything runs.

Everything a user can do in Python they can do from a workflow file and the command
line. A workflow names its agents (``mock``, ``function``, ``tool``, ``llm``), its
steps (or a pattern, or a planner) and its input. Every problem is reported at once,
each with its location: ``steps[2].agent: unknown agent 'writr' (known: editor, writer)``.

Prompts use ``{{input}}`` and ``{{<step id>}}``; a reference to a step implies the
dependency.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from toolkit.agents import (
    Agent,
    FailureSpec,
    FunctionAgent,
    LatencySpec,
    MockAgent,
    template_problems,
)
from toolkit.breaker import BreakerSpec
from toolkit.plan import (
    Link,
    Plan,
    Retries,
    Seconds,
    Task,
    Timeout,
    implied_dependencies,
    known_list,
    link_problems,
    reserved_name_problem,
)

__all__ = [
    "AGENT_KINDS_GROUP",
    "AgentKind",
    "Workflow",
    "WorkflowError",
    "agent_kinds",
    "load_workflow",
    "parse_workflow",
    "register_agent_kind",
]


class WorkflowError(ValueError):
    """A workflow that cannot run; ``problems`` lists every problem with its location."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{source}: {count}: " + "; ".join(problems))


_strict = ConfigDict(extra="forbid")


class MockSpec(BaseModel):
    """A mock agent (also the stand-in of a real agent under ``--mock``)."""

    model_config = _strict
    kind: Literal["mock"] = "mock"
    description: str = ""
    skills: list[str] = Field(default_factory=list)
    reply: str | list[Any] | dict[str, Any] = "{name}: {summary}"
    latency: Seconds | LatencySpec = 0.0
    failures: FailureSpec | None = None
    seed: int | None = None
    price_per_1k_tokens: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    output_json: bool = False
    breaker: BreakerSpec | None = None
    """A circuit breaker in front of the agent (``{failures: 3, cooldown_s: 30}``)."""

    @field_validator("reply")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        templates = [value] if isinstance(value, str) else []
        if isinstance(value, dict):  # a script by task id: its text values are templates
            templates = [v for v in value.values() if isinstance(v, str)]
        problems = [p for t in templates for p in template_problems(t)]
        if problems:
            raise ValueError("; ".join(dict.fromkeys(problems)))
        return value

    def stand_in(self, name: str) -> Agent:
        return self.build(name)

    def build(self, name: str) -> Agent:
        return MockAgent(
            name,
            self.description,
            self.skills,
            reply=self.reply,
            latency=self.latency,
            failures=self.failures,
            seed=self.seed,
            price_per_1k_tokens=self.price_per_1k_tokens,
            output_json=self.output_json,
        )


def _import(ref: str, where: str) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{where}: expected 'package.module:name', got {ref!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{where}: cannot import {module_name!r} ({exc})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"{where}: {module_name!r} has no {attr!r}") from None


class AgentKind(BaseModel):
    """Base of the spec of an agent kind that is not a mock (subclass it for a plug-in).

    A subclass sets ``kind: Literal["<kind>"] = "<kind>"``, adds its fields and
    implements ``build(name) -> Agent``; register it with ``register_agent_kind`` or
    the ``switchboard.agent_kinds`` entry-point group.
    """

    model_config = _strict
    description: str = ""
    skills: list[str] = Field(default_factory=list)
    mock: MockSpec | None = None
    """The stand-in used when the workflow runs with ``--mock``."""
    breaker: BreakerSpec | None = None
    """A circuit breaker in front of the agent (``{failures: 3, cooldown_s: 30}``): after
    that many consecutive failed calls, calls fail at once (the task's fallback takes
    over) until the cool-down ends and a probe call succeeds. Kept under ``--mock``."""

    def stand_in(self, name: str) -> Agent:
        spec = self.mock or MockSpec(description=self.description, skills=self.skills)
        if not spec.description:
            spec = spec.model_copy(
                update={"description": self.description, "skills": spec.skills or self.skills}
            )
        return spec.build(name)


class FunctionSpec(AgentKind):
    """A Python callable as an agent: ``function: package.module:callable``."""

    kind: Literal["function"] = "function"
    function: str

    def build(self, name: str) -> Agent:
        fn = _import(self.function, f"agents.{name}.function")
        if not callable(fn):
            raise ValueError(
                f"agents.{name}.function: {self.function!r} is a {type(fn).__name__}, not a function"
            )
        return FunctionAgent(fn, name, self.description, self.skills)


class ToolSpec(AgentKind):
    """An agent class or factory: ``factory: package.module:Class`` called with ``options``."""

    kind: Literal["tool"] = "tool"
    factory: str
    options: dict[str, Any] = Field(default_factory=dict)

    def build(self, name: str) -> Agent:
        factory = _import(self.factory, f"agents.{name}.factory")
        try:
            agent = factory(name=name, **self.options)
        except TypeError as exc:
            raise ValueError(f"agents.{name}.options: {exc}") from None
        if not (
            isinstance(getattr(agent, "name", None), str) and callable(getattr(agent, "run", None))
        ):
            raise ValueError(
                f"agents.{name}.factory: {self.factory!r} made a {type(agent).__name__}, not an "
                "agent (an Agent has a name, a description, skills and an async run)"
            )
        if self.description:
            agent.description = self.description
        if self.skills:
            agent.skills = tuple(self.skills)
        return agent


class LLMSpec(AgentKind):
    """An LLM agent on an OpenAI-compatible endpoint. The key is read from ``api_key_env``."""

    kind: Literal["llm"] = "llm"
    model: str
    system: str | None = None
    temperature: float | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_tokens: int | None = None
    stream: bool = True
    timeout_s: Timeout = 60.0
    max_retries: Retries = 3
    prices: dict[str, float] | None = None

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value.startswith(("sk-", "Bearer ")) or len(value) > 64:
            raise ValueError(
                "api_key_env names the environment variable that holds the key; never put the key itself in a workflow"
            )
        return value

    def build(self, name: str) -> Agent:
        from toolkit.llm import LLMAgent

        options = self.model_dump(exclude={"kind", "mock", "description", "skills", "breaker"})
        return LLMAgent(name, description=self.description, skills=tuple(self.skills), **options)


_loading: ContextVar[tuple[Path, ...]] = ContextVar("switchboard_loading", default=())
"""The workflow files being loaded, outermost first (relative team paths, cycles)."""


class TeamSpec(AgentKind):
    """Another workflow file run as one agent (``toolkit.team.TeamAgent``):
    ``workflow: teams/research.yaml``, relative to the file that names it. Its agents,
    steps or pattern and planner make the team; each directive runs it as a child run.
    A team that includes itself, directly or through other teams, is refused."""

    kind: Literal["team"] = "team"
    workflow: str

    @field_validator("workflow")
    @classmethod
    def _load(cls, value: str) -> str:
        stack = _loading.get()
        base = stack[-1].parent if stack else Path.cwd()
        path = (base / value).resolve()
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack[stack.index(path) :], path))
            raise ValueError(f"a team cannot include itself ({chain})")
        try:
            load_workflow(path)
        except WorkflowError as exc:
            raise ValueError(f"the team's workflow: {exc}") from None
        return str(path)

    def team(self, name: str, mock: bool) -> Agent:
        from toolkit.team import TeamAgent

        workflow = load_workflow(self.workflow)
        return TeamAgent(
            name,
            workflow.orchestrator(mock=mock),
            workflow.plan(),
            description=self.description or workflow.description,
            skills=self.skills or None,
        )

    def build(self, name: str) -> Agent:
        return self.team(name, mock=False)

    def stand_in(self, name: str) -> Agent:
        """Under ``--mock`` the team runs with its own agents' stand-ins."""
        return self.team(name, mock=True)


def _agent_kind(value: Any) -> str:
    kind = value.get("kind", "mock") if isinstance(value, dict) else getattr(value, "kind", "mock")
    return kind if isinstance(kind, str) else repr(kind)


AGENT_KINDS_GROUP = "switchboard.agent_kinds"
"""The entry-point group through which packages add agent kinds: ``<kind> = module:Spec``."""

_kinds: dict[str, type[BaseModel]] = {}
_broken_kinds: dict[str, str] = {}
_entry_points_loaded = False


def register_agent_kind(spec: type[BaseModel], kind: str | None = None) -> None:
    """Make ``kind`` usable as ``agents.<name>.kind`` in workflow files.

    Args:
        spec: A pydantic model of the agent's fields with ``build(name) -> Agent`` and
            ``stand_in(name) -> Agent`` (the mock used under ``--mock``); subclass
            ``AgentKind`` to get ``description``, ``skills``, ``mock`` and ``stand_in``.
        kind: The kind's name (default: the default of the spec's ``kind`` field).
    """
    if kind is None:
        field = spec.model_fields.get("kind")
        kind = field.default if field is not None else None
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{spec.__name__}: give the kind, or a default for its 'kind' field")
    if not callable(getattr(spec, "build", None)):
        raise TypeError(f"{spec.__name__}: an agent kind's spec needs build(name) -> Agent")
    _kinds[kind] = spec
    _broken_kinds.pop(kind, None)


def agent_kinds() -> dict[str, type[BaseModel]]:
    """Every registered agent kind (built-in, entry points, ``register_agent_kind``)."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=AGENT_KINDS_GROUP):
            if ep.name in _kinds and ep.value == f"{__name__}:{_kinds[ep.name].__name__}":
                continue  # a built-in, already here
            try:
                register_agent_kind(ep.load(), ep.name)
            except Exception as exc:  # a broken plug-in must not break the other kinds
                _broken_kinds[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}"
    return dict(_kinds)


def _validate_agent(value: Any, handler: Any) -> Any:
    kinds = agent_kinds()
    kind = _agent_kind(value)
    spec = kinds.get(kind)
    if spec is None:
        why = (
            f"kind {kind!r} could not be loaded ({_broken_kinds[kind]}); "
            if kind in _broken_kinds
            else ""
        )
        raise PydanticCustomError(
            "agent_kind",
            "{why}kind must be one of: {kinds}",
            {"why": why, "kinds": ", ".join(kinds)},
        )
    if isinstance(value, spec):
        return value
    return spec.model_validate(value)


for _spec in (MockSpec, FunctionSpec, ToolSpec, LLMSpec, TeamSpec):
    register_agent_kind(_spec)

AgentSpec = Annotated[Any, WrapValidator(_validate_agent)]
"""An agent of a workflow file: validated by the spec its ``kind`` names in the registry."""


StepSpec = Task
"""One step of a workflow: exactly a plan ``Task`` (same fields, same checks)."""


RESOLVER = "resolver"
"""The agent the ``conflict`` pattern adds to decide between the positions."""


class ScatterSpec(BaseModel):
    model_config = _strict
    kind: Literal["scatter_gather"] = "scatter_gather"
    items: list[Any] = Field(min_length=1)
    mapper: str
    reducer: str
    split: str | None = None
    goal: str = "process a chunk"
    reduce_goal: str = "combine the results"
    retries: Retries = 0
    timeout_s: Timeout | None = None


class ReviewLoopSpec(BaseModel):
    model_config = _strict
    kind: Literal["review_loop"] = "review_loop"
    worker: str
    reviewer: str
    goal: str = "do the work"
    max_rounds: int = Field(default=3, ge=1, le=50)
    retries: Retries = 0
    fallback: str | None = None
    timeout_s: Timeout | None = None


class ConflictSpec(BaseModel):
    """Agents take positions on the same question; a resolver decides (``patterns.conflict``)."""

    model_config = _strict
    kind: Literal["conflict"] = "conflict"
    agents: list[str] = Field(min_length=2)
    """The agents that take positions."""
    strategy: Literal["vote", "weighted", "judge", "human"] = "vote"
    tie_breaker: str | None = None
    """The agent whose position wins a tied vote (default: the first of ``agents``)."""
    judge: str | None = None
    """The agent that decides (``strategy: judge``), or takes over a tie (``escalate: true``)."""
    escalate: bool = False
    """A tied vote goes to ``judge`` instead of the tie-breaker."""
    goal: str = "take a position"
    retries: Retries = 0
    timeout_s: Timeout | None = None


class SimplePattern(BaseModel):
    model_config = _strict
    kind: Literal["pipeline", "parallel", "router", "planner", "dag"]


def _pattern_kind(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("kind", "?"))
    return str(getattr(value, "kind", "?"))


PatternSpec = Annotated[
    Annotated[ScatterSpec, Tag("scatter_gather")]
    | Annotated[ReviewLoopSpec, Tag("review_loop")]
    | Annotated[ConflictSpec, Tag("conflict")]
    | Annotated[SimplePattern, Tag("pipeline")]
    | Annotated[SimplePattern, Tag("parallel")]
    | Annotated[SimplePattern, Tag("router")]
    | Annotated[SimplePattern, Tag("planner")]
    | Annotated[SimplePattern, Tag("dag")],
    Discriminator(
        _pattern_kind,
        custom_error_type="pattern_kind",
        custom_error_message="pattern must be one of: dag, pipeline, parallel, scatter_gather, review_loop, conflict, router, planner",
    ),
]


class PlannerSpec(BaseModel):
    model_config = _strict
    kind: Literal["rule-based", "router", "llm"] = "rule-based"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_tokens: int | None = Field(default=512, ge=1)
    """Longest plan the llm planner may write (``null``: the server's own limit)."""
    json_mode: Literal["off", "object", "schema"] = "off"
    """What the llm planner asks of ``response_format`` (``schema``: the plan's JSON schema)."""
    fallback: Literal["rules"] | None = None
    """``rules``: when the llm planner gives no valid plan, the rule-based planner makes it."""


class Workflow(BaseModel):
    """A workflow file's content."""

    model_config = _strict
    name: str = "workflow"
    description: str = ""
    input: str = ""
    """The request; fills ``{{input}}``; ``--input`` overrides it."""
    seed: int | None = None
    concurrency: int = Field(default=16, ge=1, le=10_000)
    timeout_s: Timeout | None = None
    """Attempt time limit for steps that set none."""
    clock: Literal["real", "simulated"] = "real"
    """``simulated``: latencies, time limits, backoff and hangs advance a virtual clock
    (mock and function agents only; ``--simulate`` asks for it from the command line)."""
    agents: dict[str, AgentSpec] = Field(min_length=1)
    steps: list[StepSpec] = Field(default_factory=list)
    pattern: PatternSpec | None = None
    planner: PlannerSpec | None = None
    synthesize: Literal["last", "all", "none"] = "last"

    @field_validator("pattern", mode="before")
    @classmethod
    def _pattern_string(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value

    # -- checks beyond the schema -------------------------------------------------
    def problems(self) -> list[str]:
        """Every problem that the schema alone cannot see, with its location."""
        return reference_problems(self.model_dump(mode="json"))

    # -- building ---------------------------------------------------------------
    def _plan_from_steps(self) -> Plan:
        tasks = []
        pipeline = self.pattern is not None and self.pattern.kind == "pipeline"
        for i, step in enumerate(self.steps):
            fields = step.model_dump(exclude_none=False)
            if (
                pipeline
                and i > 0
                and not step.depends_on
                and not implied_dependencies([], step.prompt)
            ):
                prev = self.steps[i - 1].id
                fields["depends_on"] = [prev]
                if not step.prompt:
                    fields["prompt"] = "{{" + prev + "}}"
            if not fields["prompt"] and (i == 0 or not pipeline):
                fields["prompt"] = "{{input}}" if not step.goal else f"{step.goal}\n\n{{{{input}}}}"
            tasks.append(Task(**fields))
        synth = (
            self.synthesize
            if not (self.pattern and self.pattern.kind == "parallel" and self.synthesize == "last")
            else "all"
        )
        return Plan(name=self.name, tasks=tasks, synthesize=synth)

    def plan(self) -> Plan | None:
        """The plan this workflow runs, or None when a planner makes it at run time."""
        from toolkit import patterns

        p = self.pattern
        if isinstance(p, ScatterSpec):
            plan = patterns.scatter_gather(
                p.items,
                p.mapper,
                p.reducer,
                split=p.split,
                goal=p.goal,
                reduce_goal=p.reduce_goal,
                name=self.name,
                retries=p.retries,
                timeout_s=p.timeout_s,
            )
        elif isinstance(p, ReviewLoopSpec):
            plan = patterns.review_loop(
                p.worker,
                p.reviewer,
                goal=p.goal,
                max_rounds=p.max_rounds,
                name=self.name,
                retries=p.retries,
                fallback=p.fallback,
                timeout_s=p.timeout_s,
            )
        elif isinstance(p, ConflictSpec):
            plan = patterns.conflict(
                p.agents,
                resolver=RESOLVER,
                goal=p.goal,
                name=self.name,
                retries=p.retries,
                timeout_s=p.timeout_s,
            )
        elif p is not None and p.kind in ("router", "planner"):
            return None
        else:
            return self._plan_from_steps()
        plan.synthesize = self.synthesize
        return plan

    def build_agents(self, mock: bool = False) -> list[Agent]:
        """The workflow's agents; with ``mock`` every real agent is replaced by its stand-in.

        Raises:
            WorkflowError: when an agent cannot be built (a bad import, bad options).
        """
        agents, problems = [], []
        for name, spec in self.agents.items():
            try:
                agent = spec.stand_in(name) if mock else spec.build(name)
                breaker = getattr(spec, "breaker", None)
                agents.append(breaker.wrap(agent) if breaker is not None else agent)
            except ValueError as exc:
                problems.append(str(exc))
            except Exception as exc:
                problems.append(f"agents.{name}: {type(exc).__name__}: {exc}")
        if problems:
            raise WorkflowError(self.name, problems)
        if isinstance(self.pattern, ConflictSpec):
            agents.append(self._resolver(agents))
        return agents

    def _resolver(self, agents: list[Agent]) -> Agent:
        from toolkit.resolution import Resolver

        spec = self.pattern
        assert isinstance(spec, ConflictSpec)
        judge = next((a for a in agents if a.name == spec.judge), None) if spec.judge else None
        return Resolver(
            RESOLVER,
            strategy=spec.strategy,
            tie_breaker=spec.tie_breaker,
            judge=judge,
            escalate_to=spec.escalate,
        )

    def orchestrator(
        self,
        *,
        seed: int | None = None,
        mock: bool = False,
        sinks: Iterable[Any] = (),
        clock: Literal["real", "simulated"] | None = None,
        executor: Any = None,
    ) -> Any:
        """An ``Orchestrator`` with this workflow's agents, planner and limits (and
        ``executor``, in process by default).

        ``clock`` overrides the file's ``clock``.
        """
        from toolkit.orchestrator import Orchestrator
        from toolkit.planning import RouterPlanner, RuleBasedPlanner

        agents = self.build_agents(mock)
        planner: Any = None
        kind = (
            self.planner.kind
            if self.planner is not None
            else (
                "router"
                if self.pattern is not None and self.pattern.kind == "router"
                else "rule-based"
            )
        )
        if kind == "router":
            planner = RouterPlanner()
        elif kind == "llm" and self.planner is not None and not mock:
            from toolkit.llm import LLMPlanner

            model = self.planner.model
            assert model is not None  # validate() refuses an llm planner without a model
            planner = LLMPlanner(
                model=model,
                base_url=self.planner.base_url,
                api_key_env=self.planner.api_key_env,
                max_attempts=self.planner.max_attempts,
                max_tokens=self.planner.max_tokens,
                json_mode=self.planner.json_mode,
                fallback=RuleBasedPlanner() if self.planner.fallback == "rules" else None,
            )
        else:
            planner = RuleBasedPlanner()
        return Orchestrator(
            agents,
            planner=planner,
            concurrency=self.concurrency,
            seed=self.seed if seed is None else seed,
            default_timeout_s=self.timeout_s,
            sinks=sinks,
            clock=clock or self.clock,
            executor=executor,
        )

    def prepare(
        self,
        input: str | None = None,
        *,
        seed: int | None = None,
        mock: bool = False,
        sinks: Iterable[Any] = (),
        trace: str | Path | None = None,
        store: Any = None,
        clock: Literal["real", "simulated"] | None = None,
        executor: Any = None,
    ) -> Any:
        """A ready ``Run`` of this workflow (execute it with ``await run.execute()``).

        Raises:
            SimulationError: on simulated time, when an agent does real work.
        """
        orch = self.orchestrator(seed=seed, mock=mock, clock=clock, executor=executor)
        return orch.prepare(
            self.input if input is None else input,
            self.plan(),
            name=self.name,
            sinks=sinks,
            trace=trace,
            store=store,
        )

    async def run(self, input: str | None = None, **options: Any) -> Any:
        """Run the workflow and return the ``RunResult``."""
        return await self.prepare(input, **options).execute()


def reference_problems(data: dict[str, Any]) -> list[str]:
    """Problems of names and links (agents, steps, references, cycles) in raw workflow data.

    Works on the parsed file as it is, before or without schema validation, so a file
    with a schema error still gets every other problem reported in the same pass.
    Values of the wrong type are skipped here: the schema reports them. Linear in the
    number of steps. Problems are listed in the order of the file.
    """
    problems: list[str] = []
    agents_value = data.get("agents")
    raw_agents = agents_value if isinstance(agents_value, dict) else {}
    agents = {name for name in raw_agents if isinstance(name, str)}
    known_text = known_list(agents)

    def agent_ref(where: str, name: Any) -> None:
        if isinstance(name, str) and agents and name not in agents:
            problems.append(f"{where}: unknown agent {name!r} (known: {known_text})")

    for name in agents:
        if (reserved := reserved_name_problem(name)) is not None:
            problems.append(f"agents.{name}: {reserved}")
    pattern = data.get("pattern")
    kind = (
        pattern
        if isinstance(pattern, str)
        else (pattern.get("kind") if isinstance(pattern, dict) else None)
    )
    kind = kind if isinstance(kind, str) and kind else "dag"
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raw_steps = []
    steps = [(i, s) for i, s in enumerate(raw_steps) if isinstance(s, dict)]
    if kind in ("scatter_gather", "review_loop", "conflict", "router", "planner"):
        if steps:
            what = (
                "builds its own steps"
                if kind in ("scatter_gather", "review_loop", "conflict")
                else "decides the steps at run time"
            )
            problems.append(f"steps: pattern {kind} {what}; remove 'steps'")
    elif not raw_steps:
        problems.append(
            "steps: a workflow needs steps (or a pattern: scatter_gather, review_loop, conflict, router, planner)"
        )
    if isinstance(pattern, dict):
        for field in ("mapper", "reducer", "split", "worker", "reviewer", "fallback", "judge"):
            agent_ref(f"pattern.{field}", pattern.get(field))
        if kind == "conflict":
            sides = pattern.get("agents")
            for j, name in enumerate(sides if isinstance(sides, list) else []):
                agent_ref(f"pattern.agents[{j}]", name)
            breaker = pattern.get("tie_breaker")
            if isinstance(breaker, str) and isinstance(sides, list) and breaker not in sides:
                problems.append(
                    f"pattern.tie_breaker: {breaker!r} takes no position (agents: {', '.join(map(str, sides))})"
                )
            if (pattern.get("strategy") == "judge" or pattern.get("escalate")) and not pattern.get(
                "judge"
            ):
                problems.append("pattern.judge: strategy judge (or escalate) needs a judge agent")
            if pattern.get("strategy") == "human":
                judge = pattern.get("judge")
                judge_spec = raw_agents.get(judge) if isinstance(judge, str) else None
                if not isinstance(judge_spec, dict) or judge_spec.get("kind") != "human":
                    problems.append(
                        "pattern.judge: strategy human needs a judge of kind human (the person who decides)"
                    )
            if RESOLVER in agents:
                problems.append(
                    f"agents.{RESOLVER}: the conflict pattern adds its own {RESOLVER!r} agent"
                )
    seen: set[str] = set()
    links: list[Link] = []
    implied: dict[str, list[str]] = {}
    previous: str | None = None
    for i, step in steps:
        where = f"steps[{i}]"
        step_id = step.get("id")
        agent_ref(f"{where}.agent", step.get("agent"))
        agent_ref(f"{where}.fallback", step.get("fallback"))
        review = step.get("review")
        if isinstance(review, dict):
            agent_ref(f"{where}.review.reviewer", review.get("reviewer"))
        if not isinstance(step_id, str):
            previous = None
            continue
        if step_id in seen:
            problems.append(f"{where}.id: duplicate step id {step_id!r}")
        seen.add(step_id)
        depends_on = step.get("depends_on")
        prompt = step.get("prompt")
        links.append(
            (
                where,
                step_id,
                depends_on if isinstance(depends_on, list) else [],
                prompt if isinstance(prompt, str) else "",
            )
        )
        if kind == "pipeline" and previous is not None:
            implied[step_id] = [previous]
        previous = step_id
    problems += link_problems(links, "step", implied)[0]
    planner = data.get("planner")
    if isinstance(planner, dict) and planner.get("kind") == "llm" and not planner.get("model"):
        problems.append("planner.model: the llm planner needs a model")
    return sorted(problems, key=_file_order)


_STEP_PLACE = re.compile(r"steps\[(\d+)\]")


def _file_order(problem: str) -> tuple[int, int]:
    """Sort key keeping a step's problems together, in the order of the steps."""
    if problem.startswith("steps["):
        match = _STEP_PLACE.match(problem)
        return (1, int(match.group(1))) if match else (1, 0)
    return (2, 0) if problem.startswith("steps:") else (0, 0)


_TYPE_TAGS = re.compile(
    r"^(float|int|str|bool|none|constrained-[a-z]+|list\[.*\]|dict\[.*\]|[a-z-]+\[.*\]|[A-Z]\w*Spec|Workflow)$"
)


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and _TYPE_TAGS.match(part) and out:
            continue  # a union member's name, not a place in the file
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in (
            "mock",
            "function",
            "tool",
            "llm",
            "scatter_gather",
            "review_loop",
            "pipeline",
            "parallel",
            "router",
            "planner",
            "dag",
        ) and out.startswith(("agents", "pattern")):
            continue  # the union's tag, not a place in the file
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _schema_problems(exc: ValidationError) -> list[str]:
    by_place: dict[str, list[str]] = {}
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif loc and loc[-1] == "[key]":
            loc, msg = loc[:-1], "a name here must be text (quote it)"
        messages = by_place.setdefault(_location(loc), [])
        if msg not in messages:
            messages.append(msg)
    # the members of a union each complain about the same place: one line, joined by "or"
    return [f"{place}: {' or '.join(msgs)}" for place, msgs in by_place.items()]


def parse_workflow(data: Any, source: str = "workflow") -> Workflow:
    """Validate workflow data (already parsed from YAML/JSON).

    Raises:
        WorkflowError: listing every problem with its location.
    """
    if not isinstance(data, dict):
        raise WorkflowError(
            source,
            [f"(top level): expected a mapping of workflow fields, got {type(data).__name__}"],
        )
    problems = reference_problems(data)
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc) + problems
    if problems:
        raise WorkflowError(source, problems)
    return workflow


MAX_FILE_BYTES = 4 * 1024 * 1024
"""A workflow file is at most 4 MiB."""
MAX_VALUES = 500_000
"""A workflow file expands to at most this many values (YAML aliases counted each time
they are used, so an alias bomb is refused, not expanded)."""
MAX_TEXT = 16 * 1024 * 1024
"""A workflow file expands to at most this many characters of text (aliases counted)."""
MAX_DEPTH = 64
"""Values nest at most this deep."""
MAX_INT_DIGITS = 100
"""An integer has at most this many digits."""


class _LimitError(yaml.MarkedYAMLError):
    """A workflow file beyond a limit (it may be valid YAML, but too big to accept)."""

    def __init__(self, problem: str, mark: Any) -> None:
        # ``mark`` is the pure-Python parser's Mark or libyaml's: both have line and column
        super().__init__(None, None, problem, mark)


_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


def _check_expansion(text: str) -> None:
    """Refuse a YAML document beyond the limits, from its parse events, before composing.

    A collection's expanded size (values, characters) is the sum of its children's,
    and an alias adds the size its anchor had, without expanding anything: the check
    is linear in the file, and the error names the line and column of the value that
    is too big.

    Raises:
        _LimitError: at the first value beyond ``MAX_DEPTH``, ``MAX_VALUES`` or ``MAX_TEXT``.
    """
    stack: list[list[Any]] = []  # [values, characters, anchor, start mark] per open collection
    anchors: dict[str, tuple[int, int]] = {}
    opened: set[str] = set()

    def add(values: int, chars: int) -> None:
        if stack:
            stack[-1][0] += values
            stack[-1][1] += chars

    for event in yaml.parse(text, Loader=_FastLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _LimitError(
                    f"values nest more than {MAX_DEPTH} levels deep", event.start_mark
                )
            stack.append([1, 0, event.anchor, event.start_mark])
            if event.anchor:
                opened.add(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            values, chars, anchor, mark = stack.pop()
            if values > MAX_VALUES or chars > MAX_TEXT:
                raise _LimitError(
                    f"this value expands to more than {MAX_VALUES:,} values or "
                    f"{MAX_TEXT // 1024 // 1024} MiB of text (aliases included)",
                    mark,
                )
            if anchor:
                anchors[anchor] = (values, chars)
                opened.discard(anchor)
            add(values, chars)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                anchors[event.anchor] = (1, len(event.value))
            add(1, len(event.value))
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in opened:
                raise _LimitError(
                    "an alias inside the value it names (it would never end)",
                    event.start_mark,
                )
            add(*anchors.get(event.anchor or "", (1, 0)))  # an unknown alias: the loader says so


class _BoundedLoader(_FastLoader):
    """The safe loader, refusing integers of more than ``MAX_INT_DIGITS`` digits."""

    def construct_yaml_int(self, node: Any) -> Any:
        digits = sum(c.isdigit() for c in node.value)
        if digits > MAX_INT_DIGITS:
            raise _LimitError(
                f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS})",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text):,} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _json_depth_problem(data: Any) -> str | None:
    """Where JSON data nests deeper than ``MAX_DEPTH`` (iterative: no recursion limit)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where or '(top level)'}: values nest more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            stack.extend(
                (v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items()
            )
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    return None


def _not_a_workflow(raw: bytes, path: Path) -> str | None:
    """What the file is, when it is a Switchboard file of another kind."""
    if raw.startswith(b"SQLite format 3\x00"):
        return (
            f"this is a SQLite run store, not a workflow file; list its runs with "
            f"`switchboard runs --store {path}`"
        )
    first = raw.lstrip()[:4096].split(b"\n", 1)[0]
    if first.startswith(b"{") and b'"run_id"' in first and b'"kind"' in first:
        return (
            f"this is a trace of a run (JSONL), not a workflow file; open it with "
            f"`switchboard replay {path}` or `switchboard tui {path}`"
        )
    return None


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate a workflow file (``.yaml``, ``.yml`` or ``.json``).

    A file beyond the limits (``MAX_FILE_BYTES``, ``MAX_VALUES``, ``MAX_TEXT``,
    ``MAX_DEPTH``, ``MAX_INT_DIGITS``) is refused with the place of the value at fault.

    Raises:
        WorkflowError: when the file is missing, unparsable or invalid; every problem listed.
    """
    path = Path(path)
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkflowError(source, ["no such file"]) from None
    except IsADirectoryError:
        raise WorkflowError(source, ["is a directory, not a workflow file"]) from None
    except OSError as exc:
        raise WorkflowError(source, [f"cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise WorkflowError(
            source, [f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB: not a workflow file"]
        )
    other = _not_a_workflow(raw, path)
    if other is not None:
        raise WorkflowError(source, [other])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowError(
            source, [f"byte {exc.start}: not UTF-8 text: is it a workflow file?"]
        ) from None
    try:
        if path.suffix == ".json":
            data = json.loads(text, parse_int=_json_int)
            depth = _json_depth_problem(data)
            if depth is not None:
                raise WorkflowError(source, [depth])
        else:
            _check_expansion(text)
            data = yaml.load(text, Loader=_BoundedLoader)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            source, [f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        what = "" if isinstance(exc, _LimitError) else "invalid YAML: "
        raise WorkflowError(
            source, [f"{where}: {what}{getattr(exc, 'problem', None) or exc}"]
        ) from None
    except RecursionError:
        raise WorkflowError(
            source, [f"(file): values nest too deeply (at most {MAX_DEPTH} levels)"]
        ) from None
    except ValueError as exc:  # an integer too long for JSON
        raise WorkflowError(source, [f"(file): invalid JSON: {exc}"]) from None
    token = _loading.set((*_loading.get(), path.resolve()))
    try:
        return parse_workflow(data, source)
    finally:
        _loading.reset(token)
