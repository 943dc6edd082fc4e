"""Plans: tasks, their agents and their dependencies, checked before anything runs.

A plan is data. Every orchestration pattern (pipeline, parallel, scatter-gather,
router, review loop, planner-led decomposition) produces one of these, and the
scheduler runs them all the same way; the whole plan goes into the trace.

The rules of names and links live here once, for plans, workflow files and the fold:
which names are reserved (``reserved_name_problem``), what a task depends on
(``implied_dependencies``: declared plus referenced), and what is wrong with the links
(``link_problems``: unknown, self and cyclic dependencies, in the same words
everywhere; a workflow file calls its tasks "steps").
"""

# No ``from __future__ import annotations`` here: pydantic reads the models' field
# annotations as objects instead of compiling and evaluating each string, which is
# about a quarter of defining a model (this module loads with ``Orchestrator``).

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from toolkit.events import ORCHESTRATOR, USER

__all__ = [
    "MAX_RETRIES",
    "MAX_SECONDS",
    "RESERVED_NAMES",
    "CheckedPlan",
    "Link",
    "Plan",
    "PlanError",
    "Retries",
    "ReviewSpec",
    "Seconds",
    "Task",
    "find_cycle",
    "implied_dependencies",
    "known_list",
    "link_problems",
    "references",
    "reserved_name_problem",
]

MAX_RETRIES = 100
"""At most this many retries of a task (and of an LLM call)."""
MAX_SECONDS = 86_400.0
"""No time limit, latency or retry delay (all delays of a task together) beyond a day:
a value a run cannot finish with is refused before the run, not waited for."""


def _count(value: Any) -> Any:
    """A count written in number notation is read as that number.

    YAML 1.1 reads ``1e18`` as text; judged as a number it gets the range message
    ("less than or equal to 100") instead of "unable to parse string as an integer".
    """
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


Retries = Annotated[int, BeforeValidator(_count), Field(ge=0, le=MAX_RETRIES)]
"""A count of retries: 0 to ``MAX_RETRIES``."""
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A duration: finite, 0 to ``MAX_SECONDS``."""
Timeout = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A time limit: finite, above 0, at most ``MAX_SECONDS``."""

RESERVED_NAMES = (ORCHESTRATOR, USER, "*")
"""Participant names the orchestrator itself uses; no agent may take them."""


def reserved_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an agent's name, or None when it can."""
    if name in RESERVED_NAMES:
        return f"{name!r} is a reserved participant name"
    if name.startswith("topic:"):
        return f"{name!r}: names starting with 'topic:' are reserved for bus topics"
    return None


def known_list(names: Iterable[str], limit: int = 12) -> str:
    """Names for a "(known: …)" hint, sorted, at most ``limit`` of them and a count."""
    ordered = sorted(names)
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown}, … {len(ordered) - limit:,} more"


_REF = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")


def references(text: str) -> list[str]:
    """Names referenced as ``{{name}}`` in a prompt, in order, without repeats."""
    return list(_references(text))


@lru_cache(maxsize=16384)
def _references(text: str) -> tuple[str, ...]:
    # plans of thousands of tasks reuse a handful of prompt shapes; parse each once
    return tuple(dict.fromkeys(m.group(1) for m in _REF.finditer(text)))


def implied_dependencies(depends_on: Iterable[str], prompt: str) -> list[str]:
    """A task's dependencies: those declared, then the tasks its prompt references
    as ``{{id}}`` (``{{input}}`` is the request, not a task), without repeats."""
    refs = _references(prompt) if "{{" in prompt else ()
    if not refs:
        return list(depends_on)
    deps = dict.fromkeys(depends_on)
    for ref in refs:
        if ref != "input":
            deps.setdefault(ref, None)
    return list(deps)


Link = tuple[object, str, Sequence[Any], str]
"""One task's links for ``link_problems``: (location, id, declared dependencies, prompt);
the location is written with ``str`` only when a problem names it."""


def link_problems(
    links: Sequence[Link], noun: str = "task", implied: dict[str, list[str]] | None = None
) -> tuple[list[str], dict[str, list[str]]]:
    """Every problem of the links between tasks, each with its location, in one pass.

    Args:
        links: Each task's location, id, declared dependencies and prompt.
        noun: What the tasks are called where the user wrote them ("step" in a
            workflow file).
        implied: Extra dependencies by id that are not written (a pipeline's
            previous step), added after the written ones.

    Returns:
        The problems (unknown, self and cyclic dependencies and references) and the
        dependency map of the links that are valid (id → dependencies).
    """
    ids = {task_id for _, task_id, _, _ in links}
    known = known_list(ids)
    problems: list[str] = []
    deps_map: dict[str, list[str]] = {}
    for where, task_id, depends_on, prompt in links:
        deps: dict[str, None] = {}
        for j, dep in enumerate(depends_on):
            if not isinstance(dep, str):
                continue  # a schema problem, reported by the schema
            if dep == task_id:
                problems.append(f"{where}.depends_on[{j}]: a {noun} cannot depend on itself")
            elif dep not in ids:
                problems.append(f"{where}.depends_on[{j}]: unknown {noun} {dep!r} (known: {known})")
            else:
                deps[dep] = None
        for ref in _references(prompt) if "{{" in prompt else ():
            if ref == "input":
                continue
            if ref == task_id:
                problems.append(f"{where}.prompt: a {noun} cannot reference its own output")
            elif ref not in ids:
                problems.append(
                    f"{where}.prompt: unknown {noun} {ref!r} in {{{{{ref}}}}} "
                    f"(use {{{{input}}}} or a {noun} id: {known})"
                )
            else:
                deps.setdefault(ref, None)
        if not deps and implied and task_id in implied:
            deps = dict.fromkeys(implied[task_id])
        deps_map[task_id] = list(deps)
    cycle = find_cycle(deps_map)
    if cycle:
        problems.append(f"{noun}s: dependency cycle {' -> '.join(cycle)}")
    return problems, deps_map


class _TaskWhere:
    """A task's location in a plan (``tasks[3] (fetch)``), written only if a problem needs it."""

    __slots__ = ("index", "task_id")

    def __init__(self, index: int, task_id: str) -> None:
        self.index, self.task_id = index, task_id

    def __str__(self) -> str:
        return f"tasks[{self.index}] ({self.task_id})"


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
    retries: Retries = 0
    """Extra attempts after a failure."""
    backoff_s: Seconds = 0.0
    """Delay before the first retry; doubles on each further retry."""
    timeout_s: Timeout | None = None
    """Time limit of one attempt."""
    fallback: str | None = None
    """An agent that gets one last attempt when the retries are used up."""
    output_format: Literal["text", "json"] = "text"
    """``json`` makes output that is not valid JSON a malformed-output failure."""
    review: ReviewSpec | None = None
    """Turns the task into a worker/reviewer loop."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Free-form data for views and planners (for example a data chunk index)."""

    @model_validator(mode="after")
    def _delays_end(self) -> "Task":
        if self.backoff_s and self.backoff_s * (2**self.retries - 1) > MAX_SECONDS:
            raise ValueError(
                f"backoff_s {self.backoff_s:g} doubled over {self.retries} retries waits more "
                f"than {MAX_SECONDS:,.0f} s in all; lower retries or backoff_s"
            )
        return self

    def all_dependencies(self) -> list[str]:
        """Declared dependencies plus the tasks its prompt references."""
        return implied_dependencies(self.depends_on, self.prompt)


class Plan(BaseModel):
    """Tasks forming a DAG."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = "run"
    tasks: list[Task] = Field(default_factory=list)
    synthesize: Literal["last", "all", "none"] = "last"
    """How the answer is made from results: the sink tasks' outputs (``last``),
    every task's output (``all``), or none."""

    @model_validator(mode="after")
    def _unique_ids(self) -> "Plan":
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
        return self._check(agents)[0]

    def _check(self, agents: Iterable[str] | None) -> tuple[list[str], dict[str, list[str]]]:
        """The problems and the dependency map of the valid links, in one pass."""
        known_agents = set(agents) if agents is not None else None
        problems: list[str] = []
        tasks = self.tasks
        if not tasks:
            problems.append("tasks: the plan has no tasks")
        if known_agents is not None:
            for i, t in enumerate(tasks):
                reviewer = t.review.reviewer if t.review else None
                if (
                    t.agent in known_agents
                    and (t.fallback is None or t.fallback in known_agents)
                    and (reviewer is None or reviewer in known_agents)
                ):
                    continue  # the common case: no location to write
                where = f"tasks[{i}] ({t.id})"
                for field, name in (
                    ("agent", t.agent),
                    ("fallback", t.fallback),
                    ("review.reviewer", reviewer),
                ):
                    if name is not None and name not in known_agents:
                        problems.append(
                            f"{where}.{field}: unknown agent {name!r} (known: {known_list(known_agents)})"
                        )
        links = [(_TaskWhere(i, t.id), t.id, t.depends_on, t.prompt) for i, t in enumerate(tasks)]
        link_errors, deps_map = link_problems(links, "task")
        problems += link_errors
        return problems, deps_map

    def validate_for(self, agents: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Raise ``PlanError`` listing every problem, if there is any.

        Returns:
            The dependency map it checked (task id → dependencies), for the scheduler.
        """
        problems, deps_map = self._check(agents)
        if problems:
            raise PlanError(problems)
        return deps_map  # valid links only, and all of them are: ``dependency_map()``

    def check_for(self, agents: Iterable[str]) -> "CheckedPlan":
        """``validate_for(agents)`` and the plan's JSON form, remembered for the plan's
        current content: a plan run again unchanged (by value: its JSON, and the same
        agent names) is neither checked nor dumped again, as a compiled graph is not
        compiled again. The most recent plans are remembered, up to a few MB of their
        JSON; a plan whose content cannot be written as JSON is not.

        Raises:
            PlanError: listing every problem, as ``validate_for``.
        """
        names = frozenset(agents)
        try:
            key = (self.model_dump_json(), names)
        except ValueError:  # a ``meta`` value JSON cannot hold: check it each time
            return CheckedPlan(self.validate_for(names), self.model_dump(mode="json"))
        with _CHECKED_LOCK:
            hit = _CHECKED.get(key)
            if hit is not None:
                _CHECKED.move_to_end(key)
                return hit
        checked = CheckedPlan(self.validate_for(names), self.model_dump(mode="json"))
        if len(key[0]) > _CHECKED_CHARS:
            return checked  # a plan this big is checked each time rather than held
        global _checked_chars
        with _CHECKED_LOCK:
            if key not in _CHECKED:
                _checked_chars += len(key[0])
            _CHECKED[key] = checked
            while len(_CHECKED) > _CHECKED_MAX or _checked_chars > _CHECKED_CHARS:
                (text, _), _ = _CHECKED.popitem(last=False)
                _checked_chars -= len(text)
        return checked

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


@dataclass(slots=True)
class CheckedPlan:
    """A plan found valid for a set of agents (``Plan.check_for``), shared by every run
    of the same plan content: treat it as read-only."""

    deps: dict[str, list[str]]
    """The checked dependency map (task id → dependencies), for the scheduler."""
    dump: dict[str, Any]
    """``Plan.model_dump(mode="json")``: the plan as ``plan_created`` records it."""
    _scrubbed: dict[str, Any] | None = None

    def scrubbed(self) -> dict[str, Any]:
        """``dump`` with every well-known key shape masked (``toolkit.redact.scrub``),
        computed once."""
        if self._scrubbed is None:
            from toolkit.redact import scrub

            self._scrubbed = scrub(self.dump)
        return self._scrubbed


_CHECKED: OrderedDict[tuple[str, frozenset[str]], CheckedPlan] = OrderedDict()
_CHECKED_LOCK = threading.Lock()
_CHECKED_MAX = 32
"""Plans remembered by ``Plan.check_for`` (the most recently used) ..."""
_CHECKED_CHARS = 8_000_000
"""... while their JSON adds up to at most this many characters (a 1,000-task plan has
~180,000; a long-lived server running many big plans holds a few MB, not each plan)."""
_checked_chars = 0


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
