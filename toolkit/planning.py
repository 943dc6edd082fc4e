"""Planners: turn a request into a plan (orchestrator-led decomposition).

``RuleBasedPlanner`` needs no model: it finds which agents' skills the request asks
for, in the order the request mentions them, and chains them (a pipeline), or runs
them side by side when the request says so. The LLM planner (``toolkit.llm``) has
the same interface: ``plan(request, agents, session)``, the session being the
planner's link to the run (for tracing model calls); these planners need none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.agents import Agent
from toolkit.patterns import _stem, route
from toolkit.plan import Plan, Task

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = ["PLANNED_BY", "PlanningError", "RouterPlanner", "RuleBasedPlanner", "make_plan"]

PLANNED_BY: ContextVar[str | None] = ContextVar("switchboard_planned_by", default=None)
"""Set by a planner that hands the planning on (to a fallback), so the run's ``plan_created``
names who made the plan; the run reads it right after awaiting ``plan``."""


class PlanningError(ValueError):
    """The planner could not make a plan from the request."""


async def make_plan(
    planner: Any, request: str, agents: Iterable[Agent], session: AgentSession
) -> tuple[Plan, str]:
    """The plan ``planner`` (default: a ``RuleBasedPlanner``) makes, and who made it.

    ``session`` is the planner's link to the run (a planner that calls a model traces
    its calls as the "planner"); a planner that hands the planning on names the one
    that made the plan in ``PLANNED_BY``.
    """
    if planner is None:
        planner = RuleBasedPlanner()
    name: str = planner.name
    token = PLANNED_BY.set(None)
    try:
        plan = await planner.plan(request, list(agents), session)
        return plan, PLANNED_BY.get() or name
    finally:
        PLANNED_BY.reset(token)


@dataclass
class RuleBasedPlanner:
    """Decompose a request by matching its words against agents' skills.

    Each agent whose skill (or name) appears in the request gets a task, ordered by
    where the request first mentions it. Tasks form a pipeline, or run in parallel
    and feed a final agent when the request contains ``parallel``/``at the same
    time``/``in parallel``. With no match, the best-routed agent does the whole request.
    """

    simulated_time = True

    name: str = "rule-based"

    async def plan(
        self, request: str, agents: Sequence[Agent], session: AgentSession | None = None
    ) -> Plan:
        if not agents:
            raise PlanningError("no agents are registered: add agents before planning")
        text = request.lower()
        words = [(m.start(), _stem(m.group())) for m in re.finditer(r"[a-z0-9]+", text)]
        found: list[tuple[int, Agent, str]] = []
        for agent in agents:
            keys = {_stem(k.lower()) for k in (*agent.skills, agent.name)}
            hits = [(pos, w) for pos, w in words if w in keys]
            if hits:
                found.append((hits[0][0], agent, hits[0][1]))
        found.sort(key=lambda item: item[0])
        if not found:
            best, _ = route(request, agents)
            return Plan(
                name="plan",
                tasks=[Task(id=best.name, agent=best.name, goal=request[:80], prompt="{{input}}")],
            )
        side_by_side = any(
            k in text for k in ("in parallel", "at the same time", "parallel", "simultaneously")
        )
        tasks: list[Task] = []
        for i, (_, agent, skill) in enumerate(found):
            task_id = f"{i + 1}-{skill}"
            if side_by_side or not tasks:
                tasks.append(
                    Task(
                        id=task_id,
                        agent=agent.name,
                        goal=f"{skill}: {request[:60]}",
                        prompt="{{input}}",
                    )
                )
            else:
                prev = tasks[-1].id
                tasks.append(
                    Task(
                        id=task_id,
                        agent=agent.name,
                        goal=f"{skill} the result",
                        prompt="{{input}}\n\n{{" + prev + "}}",
                    )
                )
        return Plan(name="plan", tasks=tasks, synthesize="all" if side_by_side else "last")


@dataclass
class RouterPlanner:
    """Send the whole request to the one best-matching specialist."""

    simulated_time = True

    name: str = "router"

    async def plan(
        self, request: str, agents: Sequence[Agent], session: AgentSession | None = None
    ) -> Plan:
        from toolkit.patterns import router

        return router(request, agents)
