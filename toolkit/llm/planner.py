"""``LLMPlanner``: a model decomposes a request into a plan, checked before it runs.

The model gets the request and each agent's name, description and skills, and is asked
for a JSON plan (tasks, agent, prompt, dependencies). Its answer is validated against
the ``Plan`` schema and the agents at hand; bad JSON, an unknown agent or a cycle
sends the errors back to the model to fix, a bounded number of times. Then planning
fails with an error that shows what the model returned, or, when a ``fallback``
planner is given, that planner makes the plan. Every call is an ``llm_call`` event
(purpose ``planner``) and every refused plan a ``plan_rejected`` event with the plan
and its problems, so the repair loop can be watched.

A small model makes bad plans often (tasks depending on themselves, agents it made
up); ``json_mode="schema"`` sends the plan's JSON schema as ``response_format``, which
servers that support it (OpenAI, llama.cpp's server, vLLM, Ollama) enforce while the
model writes, so unknown agents and malformed JSON cannot come out at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Unpack

from pydantic import ValidationError

from toolkit.agents import Agent
from toolkit.events import PlanRejected
from toolkit.llm.cassette import Cassette, as_cassette
from toolkit.llm.client import ClientOptions, LLMError, ModelClient, Reporter, parse_json_text
from toolkit.plan import Plan
from toolkit.planning import PLANNED_BY, PlanningError

if TYPE_CHECKING:
    from toolkit.orchestrator import Planner
    from toolkit.session import AgentSession

__all__ = ["PLANNER_SYSTEM", "LLMPlanner", "PlanningFailed", "check_plan", "plan_schema"]

JsonMode = Literal["off", "object", "schema"]

PLANNER_SYSTEM = """\
You are the planner of a team of agents. Break the user's request into tasks for the \
agents listed, and reply with one JSON object and nothing else, of this form:
{"name": "<short plan name>",
 "tasks": [{"id": "<short unique id>", "agent": "<an agent's exact name>",
            "goal": "<what the task is for, in a few words>",
            "prompt": "<what the agent is asked>",
            "depends_on": ["<ids of earlier tasks whose results it needs>"]}],
 "synthesize": "last"}
Rules: use only the agents listed, by their exact names; task ids are unique; no \
dependency cycles. In a prompt, {{input}} stands for the user's request and \
{{<task id>}} for the result of that task (which makes it a dependency). Keep the \
plan as small as the request allows."""

_ALIASES = {"input": "prompt", "dependencies": "depends_on", "deps": "depends_on"}


class PlanningFailed(PlanningError):
    """The model gave no valid plan within the allowed attempts.

    Attributes:
        attempts: ``(what the model returned, the errors found)`` per attempt.
    """

    def __init__(self, model: str, attempts: list[tuple[str, list[str]]]) -> None:
        self.attempts = attempts
        lines = [f"the planner model {model!r} gave no valid plan in {len(attempts)} attempt(s)"]
        for i, (text, errors) in enumerate(attempts, 1):
            lines.append(f"attempt {i}: {'; '.join(errors)}")
            lines.append(f"  the model returned: {_clip(text)!r}")
        super().__init__("\n".join(lines))

    @property
    def last_output(self) -> str:
        return self.attempts[-1][0] if self.attempts else ""


def _clip(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def check_plan(text: str, agents: Sequence[str]) -> tuple[Plan | None, list[str]]:
    """Read a model's plan: the plan, or None and every error found (each with its place).

    Accepts a ```json fence and the keys ``input`` (for ``prompt``) and
    ``dependencies``/``deps`` (for ``depends_on``); anything else must match ``Plan``.
    """
    try:
        data: Any = parse_json_text(text)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        return None, [f"expected a JSON object with a 'tasks' list, got {type(data).__name__}"]
    tasks = data.get("tasks")
    if isinstance(tasks, list):
        data = {**data, "tasks": [_normalize(t) for t in tasks]}
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        return None, [f"{'.'.join(map(str, e['loc'])) or 'plan'}: {e['msg']}" for e in exc.errors()]
    problems = plan.problems(agents)
    return (None, problems) if problems else (plan, [])


def _normalize(task: Any) -> Any:
    if not isinstance(task, dict):
        return task
    out = dict(task)
    for alias, field in _ALIASES.items():
        if alias in out and field not in out:
            out[field] = out.pop(alias)
    if isinstance(out.get("depends_on"), str):
        out["depends_on"] = [out["depends_on"]]
    return out


def describe_agents(agents: Sequence[Agent]) -> str:
    """The agent list the model plans with: name, description, skills."""
    lines = []
    for agent in agents:
        skills = ", ".join(agent.skills)
        lines.append(
            f"- {agent.name}: {agent.description or '(no description)'}"
            + (f" (skills: {skills})" if skills else "")
        )
    return "\n".join(lines)


def plan_schema(agents: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of a plan for ``agents``: what ``json_mode="schema"`` sends.

    Agent names are an enum, so a server that enforces the schema lets no other name
    through; what a schema cannot say (dependencies that exist, no cycles) is still
    checked after the answer.
    """
    task = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 40},
            "agent": {"type": "string", "enum": list(agents)},
            "goal": {"type": "string", "maxLength": 200},
            "prompt": {"type": "string", "maxLength": 1000},
            "depends_on": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
        },
        "required": ["id", "agent", "goal", "prompt", "depends_on"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "tasks": {"type": "array", "items": task, "minItems": 1, "maxItems": 12},
            "synthesize": {"type": "string", "enum": ["last", "all", "none"]},
        },
        "required": ["name", "tasks", "synthesize"],
        "additionalProperties": False,
    }


def _as_plan_dict(text: str) -> dict[str, Any] | None:
    try:
        data = parse_json_text(text)
    except (json.JSONDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class LLMPlanner:
    """Asks a model for a plan and checks it (see the module docstring).

    Args:
        model: The model the server serves.
        max_attempts: Plans asked for at most (the first and the corrections).
        temperature: Sampling temperature (0 by default: plans should be stable).
        json_mode: What to ask of the server's ``response_format``: ``"off"`` (nothing;
            the default, since not every server supports it), ``"object"`` (any JSON
            object; ``True`` means this) or ``"schema"`` (the plan's JSON schema,
            ``plan_schema``, enforced by servers that support it).
        max_tokens: Longest answer (default 512). Always capped: a small model asked
            for JSON may otherwise write until its context is full.
        fallback: A planner that makes the plan when this one gives no valid plan or
            its model call fails (``RuleBasedPlanner()``); None: planning fails.
        stream: Stream the plan as ``llm_delta`` events of the ``planner``.
        cassette: as for ``LLMAgent``.
        system: The planner's instructions (default ``PLANNER_SYSTEM``).
        name: The planner's name.
        **options: ``ClientOptions`` (``base_url``, ``api_key_env``, ``timeout_s``,
            ``max_retries``, ``backoff_s``, …), as for ``LLMAgent``.
    """

    kind = "llm"

    def __init__(
        self,
        model: str,
        *,
        max_attempts: int = 3,
        temperature: float | None = 0.0,
        json_mode: bool | JsonMode = "off",
        max_tokens: int | None = 512,
        fallback: Planner | None = None,
        stream: bool = False,
        cassette: Cassette | str | Path | None = None,
        system: str = PLANNER_SYSTEM,
        name: str = "llm",
        **options: Unpack[ClientOptions],
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        mode: JsonMode
        if json_mode is True or json_mode is False:
            mode = "object" if json_mode else "off"
        elif json_mode in ("off", "object", "schema"):
            mode = json_mode
        else:
            raise ValueError("json_mode must be off, object or schema")
        self.name = name
        self.model = model
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.json_mode = mode
        self.max_tokens = max_tokens
        self.fallback = fallback
        self.stream = stream
        self.system = system
        self.client = ModelClient(model, cassette=as_cassette(cassette), **options)

    def messages(self, request: str, agents: Sequence[Agent]) -> list[dict[str, Any]]:
        """The first exchange's messages."""
        user = f"Agents:\n{describe_agents(agents)}\n\nRequest:\n{request}"
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    async def plan(
        self, request: str, agents: Sequence[Agent], session: AgentSession | None = None
    ) -> Plan:
        """A checked plan for ``request`` using ``agents``.

        Args:
            request: The user's request.
            agents: The agents the plan may use.
            session: Where to trace the model calls and rejected plans (the
                orchestrator passes one); None traces nothing.

        Raises:
            PlanningFailed: no valid plan after ``max_attempts`` answers.
            LLMError: a model call failed for good.
        """
        if not agents:
            raise PlanningError("no agents are registered: add agents before planning")
        names = [a.name for a in agents]
        try:
            return await self._plan(request, agents, names, session)
        except (PlanningFailed, LLMError):
            if self.fallback is None:
                raise
            plan = await self.fallback.plan(request, agents, session)
            PLANNED_BY.set(f"{self.fallback.name} (fallback of {self.name})")
            return plan

    def response_format(self, names: Sequence[str]) -> dict[str, Any] | None:
        """What the requests carry as ``response_format`` (see ``json_mode``)."""
        if self.json_mode == "object":
            return {"type": "json_object"}
        if self.json_mode == "schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": "plan", "strict": True, "schema": plan_schema(names)},
            }
        return None

    async def _plan(
        self,
        request: str,
        agents: Sequence[Agent],
        names: list[str],
        session: AgentSession | None,
    ) -> Plan:
        first = self.messages(request, agents)
        messages = first
        response_format = self.response_format(names)
        tried: list[tuple[str, list[str]]] = []
        for attempt in range(1, self.max_attempts + 1):
            reporter = Reporter(session, "planner", "planner")
            body = self.client.body(
                messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stream=self.stream,
                response_format=response_format,
            )
            try:
                exchange = await self.client.complete(body, reporter)
            except LLMError as exc:
                if self.fallback is not None and session is not None:
                    # a failed call has only its llm_call: say, as this attempt, who plans now
                    session.tracer.emit(
                        PlanRejected,
                        span_id=session.span_id,
                        planner=self.name,
                        attempt=attempt,
                        max_attempts=self.max_attempts,
                        problems=[f"the model call failed: {exc}"],
                        next="fallback",
                        fallback=self.fallback.name,
                    )
                raise
            plan, errors = check_plan(exchange.text, names)
            if plan is None and exchange.finish_reason == "length":
                errors = [
                    *errors,
                    f"the answer was cut off at max_tokens={self.max_tokens}: keep the plan short",
                ]
            if plan is not None:
                return plan
            tried.append((exchange.text, errors))
            last = attempt == self.max_attempts
            if session is not None:
                session.tracer.emit(
                    PlanRejected,
                    span_id=session.span_id,
                    planner=self.name,
                    attempt=attempt,
                    max_attempts=self.max_attempts,
                    problems=errors,
                    plan=_as_plan_dict(exchange.text),
                    text=_clip(exchange.text, 4000),
                    next="retry" if not last else ("fallback" if self.fallback else "fail"),
                    fallback=self.fallback.name if last and self.fallback else None,
                )
            # only the latest answer goes back: a conversation of every bad plan would
            # soon fill a small model's context
            messages = [
                *first,
                {"role": "assistant", "content": _clip(exchange.text, 4000)},
                {
                    "role": "user",
                    "content": "That plan was rejected:\n"
                    + "\n".join(f"- {e}" for e in errors)
                    + "\nReply with the corrected JSON plan only.",
                },
            ]
        raise PlanningFailed(self.model, tried)
