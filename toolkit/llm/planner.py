"""``LLMPlanner``: a model decomposes a request into a plan, checked before it runs.

The model gets the request and each agent's name, description and skills, and is asked
for a JSON plan (tasks, agent, prompt, dependencies). Its answer is validated against
the ``Plan`` schema and the agents at hand; bad JSON, an unknown agent or a cycle
sends the errors back to the model to fix, a bounded number of times, then planning
fails with an error that shows what the model returned. Every call is an ``llm_call``
event (purpose ``planner``) and every rejected plan a ``log`` event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from pydantic import ValidationError

from toolkit.agents import Agent
from toolkit.events import Log
from toolkit.llm.cassette import Cassette, as_cassette
from toolkit.llm.client import ClientOptions, ModelClient, Reporter, parse_json_text
from toolkit.plan import Plan
from toolkit.planning import PlanningError

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = ["PLANNER_SYSTEM", "LLMPlanner", "PlanningFailed", "check_plan"]

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


class LLMPlanner:
    """Asks a model for a plan and checks it (see the module docstring).

    Args:
        model: The model the server serves.
        max_attempts: Plans asked for at most (the first and the corrections).
        temperature: Sampling temperature (0 by default: plans should be stable).
        json_mode: Ask the server for a JSON object (``response_format``); not every
            local server supports it, so it is off by default.
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
        json_mode: bool = False,
        stream: bool = False,
        cassette: Cassette | str | Path | None = None,
        system: str = PLANNER_SYSTEM,
        name: str = "llm",
        **options: Unpack[ClientOptions],
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.name = name
        self.model = model
        self.max_attempts = max_attempts
        self.temperature = temperature
        self.json_mode = json_mode
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
        messages = self.messages(request, agents)
        response_format = {"type": "json_object"} if self.json_mode else None
        tried: list[tuple[str, list[str]]] = []
        for attempt in range(1, self.max_attempts + 1):
            reporter = Reporter(session, "planner", "planner")
            body = self.client.body(
                messages,
                temperature=self.temperature,
                stream=self.stream,
                response_format=response_format,
            )
            exchange = await self.client.complete(body, reporter)
            plan, errors = check_plan(exchange.text, names)
            if plan is not None:
                return plan
            tried.append((exchange.text, errors))
            if session is not None:
                session.tracer.emit(
                    Log,
                    span_id=session.span_id,
                    level="warning",
                    message=f"planner: plan rejected (attempt {attempt} of {self.max_attempts}): {'; '.join(errors)}",
                    agent="planner",
                )
            messages = [
                *messages,
                {"role": "assistant", "content": exchange.text},
                {
                    "role": "user",
                    "content": "That plan was rejected:\n"
                    + "\n".join(f"- {e}" for e in errors)
                    + "\nReply with the corrected JSON plan only.",
                },
            ]
        raise PlanningFailed(self.model, tried)
