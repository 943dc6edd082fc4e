"""Plans: tasks, their agents and their dependencies, checked before anything runs.

A plan is data. Every orchestration pattern (pipeline, parallel, scatter-gather,
router, review loop, planner-led decomposition) produces one of these, and the
scheduler runs them all the same way; the whole plan goes into the trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Plan",
    "PlanError",
    "ReviewSpec",
    "Task",
    "find_cycle",
    "references",
]

_REF = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


def references(text: str) -> list[str]:
    """Names referenced as ``{{name}}`` in a prompt, in order, without repeats."""
    return list(_references(text))


@lru_cache(maxsize=16384)
def _references(text: str) -> tuple[str, ...]:
    # plans of thousands of tasks reuse a handful of prompt shapes; parse each once
    return tuple(dict.fromkeys(m.group(1) for m in _REF.finditer(text)))


class PlanError(ValueError):
    """A plan that cannot run; ``problems`` lists every reason, each with its location."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class ReviewSpec(BaseModel):
    """Makes a task a review loop: the reviewer judges each draft until approval."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    reviewer: str
    """The agent that reviews each draft."""
    max_rounds: int = Field(default=3, ge=1, le=50)
    """At most this many drafts; the last one stands if none is approved."""
    prompt: str = "Review this work and answer APPROVED or give feedback:\n{{draft}}"
    """The reviewer's prompt; ``{{draft}}`` is the worker's latest output."""


class Task(BaseModel):
    """One unit of work for one agent."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(min_length=1)
    """Unique within the plan."""
    agent: str
    """The agent that does it."""
    goal: str = ""
    """What the task is for, in a few words (shown in the views)."""
    prompt: str = ""
    """What the agent is asked; ``{{input}}`` and ``{{<task id>}}`` are filled in."""
    depends_on: list[str] = Field(default_factory=list)
    """Tasks whose results this one needs; also implied by ``{{<task id>}}``."""
    retries: int = Field(default=0, ge=0)
    """Extra attempts after a failure."""
    backoff_s: float = Field(default=0.0, ge=0)
    """Delay before the first retry; doubles on each further retry."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Time limit of one attempt."""
    fallback: str | None = None
    """An agent that gets one last attempt when the retries are used up."""
    output_format: Literal["text", "json"] = "text"
    """``json`` makes output that is not valid JSON a malformed-output failure."""
    review: ReviewSpec | None = None
    """Turns the task into a worker/reviewer loop."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Free-form data for views and planners (for example a data chunk index)."""

    def all_dependencies(self) -> list[str]:
        """Declared dependencies plus the tasks its prompt references."""
        refs = _references(self.prompt) if "{{" in self.prompt else ()
        if not refs:
            return list(self.depends_on)
        deps = dict.fromkeys(self.depends_on)
        for ref in refs:
            if ref != "input":
                deps.setdefault(ref, None)
        return list(deps)


class Plan(BaseModel):
    """Tasks forming a DAG."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = "run"
    tasks: list[Task] = Field(default_factory=list)
    synthesize: Literal["last", "all", "none"] = "last"
    """How the answer is made from results: the sink tasks' outputs (``last``),
    every task's output (``all``), or none."""

    @model_validator(mode="after")
    def _unique_ids(self) -> Plan:
        seen: set[str] = set()
        dup = [t.id for t in self.tasks if t.id in seen or seen.add(t.id)]  # type: ignore[func-returns-value]
        if dup:
            raise ValueError(f"duplicate task ids: {', '.join(sorted(set(dup)))}")
        return self

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    def problems(
        self, agents: Iterable[str] | None = None, deps_map: dict[str, list[str]] | None = None
    ) -> list[str]:
        """Every reason this plan cannot run, each with its location; empty if it can."""
        known_agents = sorted(agents) if agents is not None else None
        ids = {t.id for t in self.tasks}
        problems: list[str] = []
        if not self.tasks:
            problems.append("tasks: the plan has no tasks")
        if deps_map is None:
            deps_map = self.dependency_map()
        known = set(known_agents) if known_agents is not None else None
        for i, t in enumerate(self.tasks):
            deps = deps_map[t.id]
            if (
                known is None
                or (
                    t.agent in known
                    and (t.fallback is None or t.fallback in known)
                    and (t.review is None or t.review.reviewer in known)
                )
            ) and (not deps or (t.id not in deps and ids.issuperset(deps))):
                continue  # the common case, checked without building any message
            where = f"tasks[{i}] ({t.id})"
            if known_agents is not None:
                for field, name in (("agent", t.agent), ("fallback", t.fallback)):
                    if name is not None and name not in known_agents:
                        problems.append(
                            f"{where}.{field}: unknown agent {name!r} (known: {', '.join(known_agents)})"
                        )
                if t.review and t.review.reviewer not in known_agents:
                    problems.append(
                        f"{where}.review.reviewer: unknown agent {t.review.reviewer!r} "
                        f"(known: {', '.join(known_agents)})"
                    )
            for dep in deps:
                if dep == t.id:
                    problems.append(f"{where}.depends_on: a task cannot depend on itself")
                elif dep not in ids:
                    problems.append(
                        f"{where}.depends_on: unknown task {dep!r} (known: {', '.join(sorted(ids))})"
                    )
        cycle = self.find_cycle(deps_map)
        if cycle:
            problems.append(f"tasks: dependency cycle {' -> '.join(cycle)}")
        return problems

    def validate_for(self, agents: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Raise ``PlanError`` listing every problem, if there is any.

        Returns:
            The dependency map it checked (task id → dependencies), for the scheduler.
        """
        deps_map = self.dependency_map()
        problems = self.problems(agents, deps_map)
        if problems:
            raise PlanError(problems)
        return deps_map

    def dependency_map(self) -> dict[str, list[str]]:
        """Each task's dependencies (declared and referenced), by task id."""
        return {t.id: t.all_dependencies() for t in self.tasks}

    def find_cycle(self, deps: dict[str, list[str]] | None = None) -> list[str] | None:
        """A dependency cycle as a list of task ids (first id repeated at the end), or None."""
        return find_cycle(deps if deps is not None else self.dependency_map())

    def order(self) -> list[str]:
        """Task ids in a topological order (stable: plan order among ready tasks)."""
        deps = {t.id: set(t.all_dependencies()) for t in self.tasks}
        done: list[str] = []
        placed: set[str] = set()
        while len(done) < len(deps):
            progressed = False
            for t in self.tasks:
                if t.id not in placed and deps[t.id] <= placed:
                    done.append(t.id)
                    placed.add(t.id)
                    progressed = True
            if not progressed:
                raise PlanError(["tasks: dependency cycle"])
        return done

    def sinks(self) -> list[str]:
        """Tasks nothing depends on, in plan order."""
        needed = {d for t in self.tasks for d in t.all_dependencies()}
        return [t.id for t in self.tasks if t.id not in needed]


def find_cycle(deps: dict[str, list[str]]) -> list[str] | None:
    """A cycle in a dependency map (node → nodes it depends on), or None.

    Iterative, so a 100,000-step pipeline does not hit the recursion limit. Links to
    nodes missing from the map, and self-links, are ignored (reported elsewhere).
    """
    state: dict[str, int] = {}
    for root in deps:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        state[root] = 1
        while stack:
            node, index = stack[-1]
            children = deps[node]
            if index < len(children):
                stack[-1] = (node, index + 1)
                child = children[index]
                if child not in deps or child == node:
                    continue
                if state.get(child) == 1:
                    return [*path[path.index(child) :], child]
                if child not in state:
                    state[child] = 1
                    stack.append((child, 0))
                    path.append(child)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None
