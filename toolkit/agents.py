"""Agents: anything with a name, a description, skills and an async ``run``.

The interface is one method, like an httpx transport: ``run(directive) -> Reply``.
A reply is text, any JSON value, or a ``Reply`` carrying usage figures. Two agents
ship here: ``MockAgent`` (scripted or templated replies, seeded latency and injected
failures — product, not test code) and ``FunctionAgent`` (wraps a sync or async
callable). LLM and tool agents live in their own modules.
"""

# No ``from __future__ import annotations`` here: pydantic reads the models' field
# annotations as objects instead of compiling and evaluating each string, which is
# about a quarter of defining a model (this module loads with ``Orchestrator``).

import inspect
import math
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = [
    "Agent",
    "AgentError",
    "AgentUnavailable",
    "Directive",
    "FailureSpec",
    "FunctionAgent",
    "LatencySpec",
    "MockAgent",
    "Reply",
]


class AgentError(Exception):
    """An agent failed in a way it understood (bad input, refused work)."""


class AgentUnavailable(AgentError):
    """The agent refuses calls for now (its circuit breaker is open), without trying.

    The attempt fails with ``error_type`` ``unavailable`` and the task goes straight to
    its fallback agent when it has one: retrying an agent that refuses calls is futile.
    """


class Directive(BaseModel):
    """What the orchestrator asks of an agent."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    agent: str
    """The agent asked."""
    task_id: str
    """The plan task this directive is for."""
    goal: str = ""
    """What the task is for."""
    prompt: str = ""
    """The request text, with ``{{input}}`` and ``{{<task id>}}`` filled in."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Results of the task's dependencies by task id (and review feedback in loops)."""
    attempt: int = 1
    round: int = 1
    seed: int | None = None
    """The run's seed (mock agents derive their randomness from it)."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """The task's free-form data (read-only)."""

    @property
    def session(self) -> "AgentSession":
        """The running call's link to the run: message bus, logs, tool and LLM events.

        It is the session of the agent call in progress (``current_session()``), valid
        while the agent's ``run`` (and what it starts) runs.

        Raises:
            RuntimeError: outside a run (for example when calling an agent directly).
        """
        from toolkit.session import current_session

        session = current_session()
        if session is None:
            raise RuntimeError("this directive is not part of a run: it has no session")
        return session

    @property
    def in_run(self) -> bool:
        """Whether an agent call of a run is in progress here (``session`` is available)."""
        from toolkit.session import current_session

        return current_session() is not None


class Reply(BaseModel):
    """An agent's answer with its usage figures."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    output: Any
    """Text or any JSON value."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Agent:
    """Base class of agents.

    Subclasses set ``name``, ``description`` and ``skills`` and implement ``run``.
    ``run`` may return a ``str``, any JSON value, or a ``Reply``; it raises to fail.
    Any object with these attributes and an async ``run`` works as an agent.
    """

    name: str
    description: str = ""
    skills: Sequence[str] = ()
    kind: str = "agent"
    simulated_time: bool = False
    """True when the agent does no real I/O, so it may run on simulated time."""

    async def run(self, directive: Directive) -> Reply | str | Any:  # pragma: no cover
        raise NotImplementedError

    def card(self) -> dict[str, Any]:
        """The agent's public description, as recorded in ``run_started``."""
        return {"kind": self.kind, "description": self.description, "skills": list(self.skills)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class LatencySpec(BaseModel):
    """A seeded latency distribution, in seconds."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    dist: Literal["fixed", "uniform", "normal", "lognormal"] = "fixed"
    mean: float = Field(default=0.0, ge=0, le=86_400, allow_inf_nan=False)
    """The fixed value, or the distribution's mean (lognormal: its median)."""
    spread: float = Field(default=0.0, ge=0, le=86_400, allow_inf_nan=False)
    """uniform: half-width; normal: standard deviation; lognormal: sigma."""

    def sample(self, rng: random.Random) -> float:
        match self.dist:
            case "fixed":
                value = self.mean
            case "uniform":
                value = rng.uniform(self.mean - self.spread, self.mean + self.spread)
            case "normal":
                value = rng.gauss(self.mean, self.spread)
            case "lognormal":
                value = self.mean * math.exp(rng.gauss(0.0, self.spread)) if self.mean else 0.0
        return max(0.0, value)


class FailureSpec(BaseModel):
    """Injected failures: each attempt fails in one of these ways with the given rate."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    exception: float = Field(default=0.0, ge=0, le=1)
    """Rate of attempts that raise."""
    hang: float = Field(default=0.0, ge=0, le=1)
    """Rate of attempts that never return (the task's timeout ends them)."""
    malformed: float = Field(default=0.0, ge=0, le=1)
    """Rate of attempts that return garbage (empty text, or broken JSON)."""
    fail_attempts: list[int] = Field(default_factory=list)
    """Attempt numbers that always raise (for example ``[1]``: the first attempt fails)."""
    message: str = "injected failure"

    def draw(self, rng: random.Random, attempt: int) -> str | None:
        if attempt in self.fail_attempts:
            return "exception"
        roll = rng.random()
        for mode, rate in (
            ("exception", self.exception),
            ("hang", self.hang),
            ("malformed", self.malformed),
        ):
            if roll < rate:
                return mode
            roll -= rate
        return None


_S = TypeVar("_S", bound=BaseModel)


def _spec(kind: type[_S], value: Any, agent: str, what: str, also: str = "") -> _S:
    """``value`` as a ``kind``: the model itself, or its fields as a mapping.

    Raises:
        TypeError: when ``value`` is neither.
        ValueError: naming every unknown field or bad value of the mapping.
    """
    if isinstance(value, kind):
        return value
    fields = ", ".join(kind.model_fields)
    if not isinstance(value, Mapping):
        raise TypeError(
            f"MockAgent {agent!r}: {what} must be {also}a {kind.__name__} or a mapping of its "
            f"fields ({fields}), not {type(value).__name__}"
        )
    try:
        return kind.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"MockAgent {agent!r}: {what}: {problems} (fields: {fields})") from None


def _clip(text: str, n: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def _words(value: Any) -> int:
    return len(str(value).split())


class MockAgent(Agent):
    """A deterministic stand-in for a real agent.

    Replies come from a script (one reply per call, in order, the last repeated; a
    mapping of task id to template or script scripts each task on its own) or from a
    template formatted with ``{name}``, ``{goal}``, ``{prompt}``, ``{task_id}``,
    ``{summary}`` (the goal, or the prompt's start), ``{attempt}``, ``{round}`` and ``{context}``. Latency and failures are drawn from a
    random generator seeded by (seed, agent, task, attempt, round), so a run gives the
    same outcome for the same seed whatever the concurrency. Token counts are the word
    counts of prompt and reply, and cost follows ``price_per_1k_tokens``, so metrics are
    meaningful without a model.

    A reviewer mock approves when its reply contains ``APPROVED``: script it as
    ``["needs tests", "APPROVED"]`` to approve in round 2.

    Args:
        name: The agent's name.
        description: What it does (routers and planners read it).
        skills: Keywords routers and planners match against.
        reply: A template string, or a list of replies used in order.
        latency: Seconds as a number, a ``LatencySpec``, or its fields as a mapping
            (``{"dist": "uniform", "mean": 0.2, "spread": 0.1}``).
        failures: A ``FailureSpec`` of injected failures, or its fields as a mapping
            (``{"fail_attempts": [1]}``, the shape of a workflow file's ``failures:``).
        seed: Seed of the agent's own randomness; the run's seed is used when None.
        price_per_1k_tokens: Cost in USD per 1,000 tokens (in and out).
        output_json: Reply with a JSON object ``{"agent":…, "output":…}`` instead of text.

    Raises:
        TypeError: at construction, when ``latency`` or ``failures`` is none of the shapes
            above.
        ValueError: at construction, when their mapping names an unknown field or holds a
            bad value (the message lists the fields).
    """

    simulated_time = True

    kind = "mock"

    def __init__(
        self,
        name: str,
        description: str = "",
        skills: Sequence[str] = (),
        *,
        reply: str | Sequence[Any] | Mapping[str, Any] = "{name}: {summary}",
        latency: float | LatencySpec | Mapping[str, Any] = 0.0,
        failures: FailureSpec | Mapping[str, Any] | None = None,
        seed: int | None = None,
        price_per_1k_tokens: float = 0.0,
        output_json: bool = False,
    ) -> None:
        self.name = name
        self.description = description or f"mock agent {name}"
        self.skills = tuple(skills)
        self.reply = reply
        if isinstance(latency, int | float) and not isinstance(latency, bool):
            self.latency = LatencySpec(mean=float(latency))
        else:
            self.latency = _spec(LatencySpec, latency, name, "latency", "seconds as a number, ")
        self.failures = (
            FailureSpec() if failures is None else _spec(FailureSpec, failures, name, "failures")
        )
        self.seed = seed
        self.price_per_1k_tokens = price_per_1k_tokens
        self.output_json = output_json
        self._calls = 0
        self._task_calls: dict[str, int] = {}
        self._quiet = self.latency.mean == 0.0 and self.latency.dist == "fixed" and failures is None

    def _rng(self, directive: Directive) -> random.Random:
        seed = self.seed if self.seed is not None else (directive.seed or 0)
        return random.Random(
            f"{seed}:{self.name}:{directive.task_id}:{directive.attempt}:{directive.round}"
        )

    def _format(self, template: str, directive: Directive) -> str:
        return template.format_map(
            _Defaults(  # the names here are TEMPLATE_FIELDS
                name=self.name,
                goal=directive.goal,
                prompt=directive.prompt,
                task_id=directive.task_id,
                attempt=directive.attempt,
                round=directive.round,
                summary=directive.goal or _clip(directive.prompt),
                context=", ".join(f"{k}: {v}" for k, v in directive.context.items()),
            )
        )

    def _text(self, directive: Directive) -> Any:
        if isinstance(self.reply, str):
            return self._format(self.reply, directive)
        script = self.reply
        if isinstance(script, Mapping):
            script = script.get(directive.task_id, script.get("*", "{name}: {summary}"))
            if isinstance(script, str):
                return self._format(script, directive)
            calls = self._task_calls.get(directive.task_id, 0)
        else:
            calls = self._calls
        script = list(script)
        if not script:
            return ""
        return script[min(calls, len(script) - 1)]

    async def run(self, directive: Directive) -> Reply:
        if not self._quiet:
            rng = self._rng(directive)
            delay = self.latency.sample(rng)
            mode = self.failures.draw(rng, directive.attempt)
            if delay:
                await anyio.sleep(delay)
            if mode == "exception":
                raise AgentError(
                    f"{self.failures.message} ({self.name}, attempt {directive.attempt})"
                )
            if mode == "hang":
                await anyio.sleep_forever()
            if mode == "malformed":
                garbage = '{"output": "unterminated' if self.output_json else ""
                return Reply(output=garbage, meta={"injected": "malformed"})
        output = self._text(directive)
        self._calls += 1
        self._task_calls[directive.task_id] = self._task_calls.get(directive.task_id, 0) + 1
        if self.output_json:
            output = {"agent": self.name, "output": output}
        tokens_in, tokens_out = _words(directive.prompt) + _words(directive.context), _words(output)
        cost = (tokens_in + tokens_out) * self.price_per_1k_tokens / 1000
        return Reply(
            output=output, tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost, model="mock"
        )


TEMPLATE_FIELDS = ("attempt", "context", "goal", "name", "prompt", "round", "summary", "task_id")
"""The ``{placeholders}`` a mock agent's reply template may use."""


def template_problems(template: str) -> list[str]:
    """Why a mock reply template would not fill as meant: unknown ``{placeholders}``
    (a typo such as ``{promt}`` would be left in the reply as it is) or bad braces."""
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"{exc} (write {{{{ and }}}} for literal braces)"]
    problems = []
    for name in dict.fromkeys(fields):
        if name not in TEMPLATE_FIELDS:
            problems.append(
                f"unknown placeholder {{{name}}} (known: {', '.join(TEMPLATE_FIELDS)};"
                " write {{ and }} for literal braces)"
            )
    return problems


class _Defaults(dict[str, Any]):
    """Leaves unknown ``{placeholders}`` of a template as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class FunctionAgent(Agent):
    """Wraps a callable as an agent.

    The callable takes the ``Directive`` (or, if it has one positional parameter
    annotated ``str`` or named ``text``/``prompt``, just the prompt) and returns
    anything an agent may return. Sync and async callables both work; a sync one runs
    in a worker thread when ``thread=True`` so it cannot block the run.
    """

    simulated_time = True

    kind = "function"

    def __init__(
        self,
        fn: Callable[..., Any | Awaitable[Any]],
        name: str | None = None,
        description: str = "",
        skills: Sequence[str] = (),
        *,
        thread: bool = False,
    ) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "function"))
        self.description = description or (inspect.getdoc(fn) or "").split("\n")[0]
        self.skills = tuple(skills)
        self.thread = thread
        # a function run in a worker thread is waited for in real time
        self.simulated_time = not thread
        self._is_async = inspect.iscoroutinefunction(fn)
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        self._wants_text = bool(params) and (
            params[0].annotation in (str, "str") or params[0].name in ("text", "prompt")
        )

    async def run(self, directive: Directive) -> Any:
        arg: Any = directive.prompt if self._wants_text else directive
        if self._is_async:
            return await self.fn(arg)
        if self.thread:
            return await anyio.to_thread.run_sync(self.fn, arg)
        result = self.fn(arg)
        if inspect.isawaitable(result):
            return await result
        return result
