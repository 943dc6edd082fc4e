"""Orchestration patterns as plan builders.

A pattern is not an engine: each function here returns a ``Plan`` the scheduler runs
like any other, so the pattern is visible, whole, in the trace's ``plan_created``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.agents import Agent
from toolkit.plan import Plan, ReviewSpec, Task

__all__ = ["conflict", "parallel", "pipeline", "review_loop", "route", "router", "scatter_gather"]

Step = str | tuple[str, str] | Mapping[str, Any]


def _task(step: Step, index: int, default_prompt: str, **extra: Any) -> Task:
    if isinstance(step, str):
        fields: dict[str, Any] = {"agent": step}
    elif isinstance(step, tuple):
        fields = {"agent": step[0], "goal": step[1]}
    else:
        fields = dict(step)
    fields.setdefault("id", f"{fields['agent']}" if index < 0 else f"{index + 1}-{fields['agent']}")
    fields.setdefault("prompt", default_prompt)
    fields.update({k: v for k, v in extra.items() if k not in fields})
    return Task(**fields)


def pipeline(*steps: Step, name: str = "pipeline", **task_options: Any) -> Plan:
    """Each step gets the previous step's output; the first gets the request.

    A step is an agent name, ``(agent, goal)``, or a mapping of ``Task`` fields.
    """
    tasks: list[Task] = []
    for i, step in enumerate(steps):
        prompt = "{{input}}" if i == 0 else "{{" + tasks[-1].id + "}}"
        tasks.append(_task(step, i, prompt, **task_options))
        if i:
            tasks[-1].depends_on = list(dict.fromkeys([*tasks[-1].depends_on, tasks[-2].id]))
    return Plan(name=name, tasks=tasks)


def parallel(
    *steps: Step, join: Step | None = None, name: str = "parallel", **task_options: Any
) -> Plan:
    """Every step works on the request at once; an optional ``join`` step gets all outputs."""
    tasks = [_task(step, i, "{{input}}", **task_options) for i, step in enumerate(steps)]
    plan_tasks = list(tasks)
    if join is not None:
        prompt = "\n\n".join(f"{t.id}:\n{{{{{t.id}}}}}" for t in tasks)
        plan_tasks.append(_task(join, len(tasks), prompt, **task_options))
        plan_tasks[-1].depends_on = [t.id for t in tasks]
    return Plan(name=name, tasks=plan_tasks, synthesize="last" if join is not None else "all")


def scatter_gather(
    items: Sequence[Any],
    mapper: str,
    reducer: str,
    *,
    split: str | None = None,
    goal: str = "process a chunk",
    reduce_goal: str = "combine the results",
    name: str = "scatter-gather",
    **task_options: Any,
) -> Plan:
    """Split the work into chunks, map each on ``mapper``, reduce on ``reducer``.

    Args:
        items: The chunks (one map task each).
        mapper: The agent that processes one chunk.
        reducer: The agent that combines the chunk results.
        split: An optional agent that runs first (its output is in every map's context).
    """
    tasks: list[Task] = []
    if split is not None:
        tasks.append(
            Task(id="split", agent=split, goal="split the work", prompt="{{input}}", **task_options)
        )
    maps = []
    for i, item in enumerate(items):
        deps = ["split"] if split is not None else []
        maps.append(
            Task(
                id=f"map-{i + 1}",
                agent=mapper,
                goal=goal,
                prompt=str(item),
                depends_on=deps,
                meta={"chunk": i},
                **task_options,
            )
        )
    tasks.extend(maps)
    reduce_prompt = "\n".join(f"{{{{{t.id}}}}}" for t in maps)
    tasks.append(
        Task(id="reduce", agent=reducer, goal=reduce_goal, prompt=reduce_prompt, **task_options)
    )
    return Plan(name=name, tasks=tasks)


def review_loop(
    worker: str,
    reviewer: str,
    *,
    goal: str = "do the work",
    max_rounds: int = 3,
    prompt: str = "{{input}}",
    task_id: str = "work",
    name: str = "review-loop",
    **task_options: Any,
) -> Plan:
    """The worker drafts, the reviewer judges; repeat until approved or ``max_rounds``."""
    review = ReviewSpec(reviewer=reviewer, max_rounds=max_rounds)
    return Plan(
        name=name,
        tasks=[
            Task(id=task_id, agent=worker, goal=goal, prompt=prompt, review=review, **task_options)
        ],
    )


def conflict(
    agents: Sequence[str],
    *,
    resolver: str = "resolver",
    goal: str = "take a position",
    prompt: str = "{{input}}",
    resolve_goal: str | None = None,
    name: str = "conflict",
    **task_options: Any,
) -> Plan:
    """Each agent takes a position on the same question, side by side; a resolver decides.

    The resolver (a ``toolkit.resolution.Resolver`` registered under ``resolver``) reads
    the positions from its context and records a ``conflict`` and a ``resolution``
    event; its output, the winning answer, is the plan's result.

    Args:
        agents: The agents that take positions (at least two).
        resolver: The resolver agent's name.
        goal: Each position task's goal.
        prompt: Each position task's prompt.
        resolve_goal: The resolve task's goal (the question the resolution answers).
    """
    if len(agents) < 2:
        raise ValueError("a conflict needs at least two agents")
    if len(set(agents)) != len(agents):
        raise ValueError("each agent takes one position: the agents must differ")
    positions = [
        Task(id=f"position-{agent}", agent=agent, goal=goal, prompt=prompt, **task_options)
        for agent in agents
    ]
    resolve = Task(
        id="resolve",
        agent=resolver,
        goal=resolve_goal or goal,
        prompt="{{input}}",
        depends_on=[t.id for t in positions],
        meta={"positions": {t.id: t.agent for t in positions}},
    )
    return Plan(name=name, tasks=[*positions, resolve], synthesize="last")


_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ers", "er", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower())}


def route(request: str, agents: Sequence[Agent]) -> tuple[Agent, dict[str, float]]:
    """Choose the specialist for a request: skills weigh 3, description words 1.

    Returns the chosen agent and every agent's score. Ties go to the earlier agent.
    """
    if not agents:
        raise ValueError("route: no agents to choose from")
    words = _words(request)
    scores: dict[str, float] = {}
    for agent in agents:
        skills = set().union(*(_words(s) for s in agent.skills)) if agent.skills else set()
        scores[agent.name] = 3 * len(words & skills) + len(words & _words(agent.description))
    best = max(agents, key=lambda a: scores[a.name])
    return best, scores


def router(
    request: str, agents: Sequence[Agent], *, name: str = "router", **task_options: Any
) -> Plan:
    """A one-task plan for the best-matching specialist; the scores go into the task's meta."""
    best, scores = route(request, agents)
    task = Task(
        id="route",
        agent=best.name,
        goal=f"answer as the {best.name}",
        prompt="{{input}}",
        meta={"route_scores": scores},
        **task_options,
    )
    return Plan(name=name, tasks=[task])
