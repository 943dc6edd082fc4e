"""The fold: ``RunState = reduce(apply, events)``.

One fold serves the TUI, the notebook widgets and the metrics. It is incremental
(``apply`` one event at a time, so a live view stays current) and pure (the same
events always give the same state), which is what makes a replayed run look exactly
like the live one. Views render a ``RunState``; they never call the orchestrator.

An event that parses but cannot belong to the run (a ``task_finished`` of a task no
plan named, a plan task without an id, usage that is not a number) is a damaged
event: the fold skips it, counts it and says why in ``RunState.problems``, as the
trace reader does for a corrupt line. A damaged trace never stops a view.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from toolkit.events import ORCHESTRATOR, USER, Envelope, TraceEvent
from toolkit.plan import implied_dependencies

__all__ = [
    "APPEND_ONLY",
    "TASK_STATUSES",
    "TERMINAL_STATUSES",
    "AgentView",
    "DamagedEvent",
    "RunState",
    "TaskView",
    "fold",
]


class DamagedEvent(ValueError):
    """An event that parses but contradicts the run it is in (raised inside the fold)."""


# what a handler raises on a well-typed event whose free-form parts are damaged
_DAMAGE = (DamagedEvent, KeyError, TypeError, AttributeError, ValueError)

TASK_STATUSES = ("waiting", "running", "done", "failed", "retrying", "skipped", "cancelled")
TERMINAL_STATUSES = ("done", "failed", "skipped", "cancelled")
"""The statuses a task ends in: once there, nothing more happens to it."""

_T = TypeVar("_T")
_COPIERS: dict[type, Callable[[Any, Collection[str]], Any]] = {}


def _field_copy(name: str, hint: Any) -> str:
    """The expression that copies field ``name`` of ``o`` so that the copy shares nothing mutable.

    Decided from the field's type: containers are copied, records (dataclasses with a
    ``copy`` method) are copied, containers of records copy each record; everything else
    (str, int, float, ``Any`` values, frozen envelopes) is immutable or never mutated in
    place by the fold, so it is shared.
    """
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        records = [a for a in args if is_dataclass(a)]
        if records:
            return f"(None if o.{name} is None else o.{name}.copy())"
        return f"o.{name}"
    if is_dataclass(hint):
        return f"o.{name}.copy()"
    if origin is dict:
        if args and is_dataclass(args[-1]):
            return f"{{k: v.copy() for k, v in o.{name}.items()}}"
        return f"dict(o.{name})"
    if origin is list:
        if args and is_dataclass(args[0]):
            return f"[v.copy() for v in o.{name}]"
        return f"list(o.{name})"
    if origin is set:
        return f"set(o.{name})"
    if hint in (list, dict, set):
        return f"{hint.__name__}(o.{name})"
    return f"o.{name}"


def _copier(cls: type) -> Callable[[Any, Collection[str]], Any]:
    """A generated copy function for the dataclass ``cls`` (built once per class).

    A generated constructor call costs ~2 µs where ``copy.deepcopy`` costs ~50 µs,
    which matters when a replay checkpoint copies 25,000 tasks.
    """
    copier = _COPIERS.get(cls)
    if copier is None:
        hints = typing.get_type_hints(cls)
        parts = []
        for f in fields(cls):
            expr = _field_copy(f.name, hints[f.name])
            if expr != f"o.{f.name}":
                expr = f"(type(o.{f.name})() if {f.name!r} in empty else {expr})"
            parts.append(f"{f.name}={expr}")
        namespace: dict[str, Any] = {"cls": cls}
        exec(f"def copy(o, empty):\n    return cls({', '.join(parts)})", namespace)
        copier = _COPIERS[cls] = namespace["copy"]
    return copier


def _copy(record: _T, empty: Collection[str] = ()) -> _T:
    return _copier(type(record))(record, empty)


@dataclass(slots=True)
class TaskView:
    """A plan task as the run has seen it so far."""

    id: str
    agent: str
    goal: str = ""
    depends_on: list[str] = field(default_factory=list)
    status: str = "waiting"
    """waiting, running, done, failed, retrying, skipped or cancelled."""
    attempt: int = 0
    """The current attempt within the current round (1 unless retried)."""
    attempts: int = 0
    """Attempts made in all (every ``task_started``, all rounds)."""
    round: int = 0
    max_rounds: int = 1
    reviewer: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    output: Any = None
    error: str | None = None
    retries: int = 0
    fallback_used: bool = False
    last_agent: str | None = None
    """The agent of the latest attempt (differs from ``agent`` after a fallback)."""
    verdicts: list[tuple[int, bool, str]] = field(default_factory=list)
    """(round, approved, feedback) of each review."""
    winners: list[str] = field(default_factory=list)
    """The agents whose position won, when the task resolved a conflict."""
    waited_s: float = 0.0
    """Time the task waited for a person's answers (``toolkit.human``), run clock."""

    def copy(self) -> TaskView:
        """A copy that shares nothing the fold mutates (every container is copied)."""
        return _copy(self)


@dataclass(slots=True)
class AgentView:
    """An agent's status and counters."""

    name: str
    kind: str = "agent"
    description: str = ""
    skills: list[str] = field(default_factory=list)
    state: str = "idle"
    """idle, working, waiting or failed."""
    current_task: str | None = None
    tasks: int = 0
    """Tasks finished by this agent (succeeded or finally failed)."""
    succeeded: int = 0
    failed: int = 0
    """Failed attempts (each failed attempt counts)."""
    retries: int = 0
    reviews: int = 0
    """Reviews this agent gave as a reviewer (each verdict counts)."""
    won: int = 0
    """Conflicts its position won (each ``resolution`` naming it counts)."""
    waited_s: float = 0.0
    """Time its questions waited for a person's answer (a human agent), run clock."""
    calls: int = 0
    """Calls answered (results and errors sent back to the orchestrator)."""
    durations: list[float] = field(default_factory=list)
    """Duration of each call this agent answered, in seconds."""
    messages_in: int = 0
    messages_out: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    tool_calls: int = 0
    streaming: str = ""
    """Text streamed by the agent's current LLM call (the "typing" view)."""
    breaker: str = ""
    """Its circuit breaker's state (closed, open, half_open); "" when it has none."""
    breaker_reason: str = ""
    """Why the breaker last changed state."""
    remote_updates: int = 0
    """Status updates and artifacts of its remote (A2A) tasks."""

    def copy(self) -> AgentView:
        """A copy that shares nothing the fold mutates (every container is copied)."""
        return _copy(self)


@dataclass(slots=True)
class RunState:
    """Everything a view shows about one run, folded from its events."""

    run_id: str = ""
    name: str = ""
    request: str = ""
    status: str = "pending"
    """pending, running, succeeded, failed or cancelled."""
    started_at: float | None = None
    finished_at: float | None = None
    last_ts: float | None = None
    output: Any = None
    error: str | None = None
    seed: int | None = None
    simulated: bool = False
    """The run went on simulated time (its timestamps are virtual)."""
    planner: str = ""
    tasks: dict[str, TaskView] = field(default_factory=dict)
    agents: dict[str, AgentView] = field(default_factory=dict)
    participants: list[str] = field(default_factory=list)
    """Message-flow lanes in order of first appearance: user, orchestrator, agents."""
    messages: list[Envelope] = field(default_factory=list, metadata={"append_only": True})
    """Every message, in order (the fold only ever appends to it)."""
    questions_asked: int = 0
    """``question`` messages so far (a human agent's; ``toolkit.human``)."""
    event_count: int = 0
    last_seq: int = -1
    counts: dict[str, int] = field(default_factory=dict)
    """Events seen, by kind."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    logs: list[tuple[float, str, str]] = field(default_factory=list, metadata={"append_only": True})
    """(ts, level, message) of log events and rejected plans (the fold only ever appends to it)."""
    problems: list[str] = field(default_factory=list)
    """One line per damaged event the fold skipped: ``seq N (kind): reason``."""
    resumes: list[tuple[int, float, int, list[str], int]] = field(default_factory=list)
    """(seq, ts, tasks kept, tasks interrupted, messages before it) of each
    ``run_resumed``: where the run's process died and the run went on."""
    forked_from: str | None = None
    """The run this one re-runs (``run_forked``), if any."""
    from_task: str | None = None
    """The task the re-run executed first."""
    reused: list[str] = field(default_factory=list)
    """Tasks whose results a re-run reused from ``forked_from`` (no agent was called)."""
    parent_run: str | None = None
    """The run this one is a child of (a team's run, ``toolkit.team``), if any."""
    parent_task: str | None = None
    """The parent run's task this child run works on."""
    team: str | None = None
    """The team agent (of the parent run) whose run this is."""
    parent_attempt: int | None = None
    """The attempt of the parent's task this child run served (a team retried by its
    parent runs once per attempt)."""
    children: dict[str, RunState] = field(default_factory=dict)
    """Child runs (teams' runs) by run id, each folded on its own: their events sit in
    the same trace and store but never change this run's tasks, agents or counts."""

    # -- copying -----------------------------------------------------------------
    def copy(self, *, empty: Collection[str] = ()) -> RunState:
        """A copy that folding more events into cannot change, nor be changed by, the original.

        Every container field is copied and every task and agent record with it, whatever
        the fields are (the copy is generated from the type hints), so a field added later
        never aliases between copies.

        Args:
            empty: Container fields to leave empty in the copy instead of copying them
                (a replay checkpoint keeps only the lengths of the ``APPEND_ONLY`` lists).
        """
        return _copy(self, empty)

    # -- reading -----------------------------------------------------------------
    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at or self.last_ts or self.started_at
        return max(0.0, end - self.started_at)

    def task_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(TASK_STATUSES, 0)
        for task in self.tasks.values():
            counts[task.status] = counts.get(task.status, 0) + 1
        return counts

    # -- folding -----------------------------------------------------------------
    @property
    def skipped(self) -> int:
        """Damaged events skipped by the fold."""
        return len(self.problems)

    def apply(self, event: TraceEvent) -> None:
        """Fold one event into the state; a damaged event is skipped and reported.

        An event of a child run (or of a child's child) is folded into that child's
        state in ``children``, not into this one.
        """
        if event.run_id != self.run_id and self.run_id and self._to_child(event):
            return
        self.event_count += 1
        self.last_seq = event.seq
        self.last_ts = event.ts
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            try:
                handler(event)
            except _DAMAGE as exc:
                reason = (
                    exc.args[0] if isinstance(exc, DamagedEvent) else f"{type(exc).__name__}: {exc}"
                )
                self.problems.append(f"seq {event.seq} ({event.kind}): {reason}")
                return
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1

    def _to_child(self, event: TraceEvent) -> bool:
        """Fold a child run's event into its child state; False for any other run's event."""
        child = self.child(event.run_id)
        if child is None and event.kind == "run_started":
            meta = getattr(event, "meta", None)
            parent_run = meta.get("parent_run") if isinstance(meta, dict) else None
            if isinstance(parent_run, str):
                owner = self if parent_run == self.run_id else self.child(parent_run)
                if owner is not None:
                    task, team = meta.get("parent_task"), meta.get("team")  # type: ignore[union-attr]
                    child = owner.children[event.run_id] = RunState(
                        parent_run=parent_run,
                        parent_task=task if isinstance(task, str) else None,
                        team=team if isinstance(team, str) else None,
                    )
        if child is None:
            return False
        child.apply(event)
        return True

    def child(self, run_id: str) -> RunState | None:
        """The state of child run ``run_id`` at any depth, or None."""
        children = self.children
        if not children:
            return None
        found = children.get(run_id)
        if found is not None:
            return found
        for state in children.values():
            found = state.child(run_id)
            if found is not None:
                return found
        return None

    def teams(self) -> list[tuple[str, RunState]]:
        """Every child run at any depth as (path, state), depth first; the path names
        the teams from this run down, joined by ``/`` (``research/web``)."""
        out: list[tuple[str, RunState]] = []
        for run_id, state in self.children.items():
            path = state.team or state.name or run_id
            out.append((path, state))
            out.extend((f"{path}/{sub}", s) for sub, s in state.teams())
        return out

    def apply_all(self, events: Iterable[TraceEvent]) -> RunState:
        for event in events:
            self.apply(event)
        return self

    def _participant(self, name: str) -> None:
        if name not in self.participants and name != "*" and not name.startswith("topic:"):
            self.participants.append(name)

    def _task(self, task_id: str) -> TaskView:
        task = self.tasks.get(task_id)
        if task is None:
            raise DamagedEvent(f"unknown task {task_id!r} (no plan names it)")
        return task

    def _agent(self, name: str) -> AgentView:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentView(name=name)
        return agent

    def _on_run_started(self, e: Any) -> None:
        self.run_id, self.name, self.request, self.seed = e.run_id, e.name, e.request, e.seed
        self.status, self.started_at = "running", e.ts
        self.simulated = isinstance(e.meta, dict) and e.meta.get("clock") == "simulated"
        if isinstance(e.meta, dict) and isinstance(e.meta.get("parent_run"), str):
            # a team's child run folded on its own still knows whose it is
            task, team = e.meta.get("parent_task"), e.meta.get("team")
            self.parent_run = e.meta["parent_run"]
            self.parent_task = task if isinstance(task, str) else None
            self.team = team if isinstance(team, str) else None
            attempt = e.meta.get("attempt")
            self.parent_attempt = attempt if isinstance(attempt, int) else None
        self._participant(USER)
        self._participant(ORCHESTRATOR)
        cards = {name: card for name, card in e.agents.items() if isinstance(card, dict)}
        for name, card in cards.items():
            agent = self._agent(name)
            agent.kind = card.get("kind", "agent")
            agent.description = card.get("description", "")
            agent.skills = list(card.get("skills", []))
            breaker = card.get("breaker")
            if isinstance(breaker, dict) and isinstance(breaker.get("state"), str):
                agent.breaker = breaker["state"]

    def _on_run_finished(self, e: Any) -> None:
        self.status, self.finished_at = e.status, e.ts
        self.output, self.error = e.output, e.error
        for agent in self.agents.values():
            if agent.state in ("working", "waiting"):
                agent.state, agent.current_task = "idle", None

    def _on_run_resumed(self, e: Any) -> None:
        # the tasks that were under way when the process died start afresh
        for task_id in e.rerun:
            task = self.tasks.get(task_id)
            if task is not None and task.status not in ("waiting", "skipped"):
                task.status, task.finished_at, task.duration_s = "waiting", None, None
        for agent in self.agents.values():
            if agent.state in ("working", "waiting"):
                agent.state, agent.current_task, agent.streaming = "idle", None, ""
        self.status, self.finished_at = "running", None
        self.resumes.append((e.seq, e.ts, len(e.kept), list(e.interrupted), len(self.messages)))

    def _on_run_forked(self, e: Any) -> None:
        self.forked_from, self.from_task = e.forked_from, e.from_task
        self.reused = list(e.reused)

    def _add_tasks(self, tasks: Any) -> None:
        # every task is checked before any is added: a damaged plan changes nothing
        views = [_task_view(t, i) for i, t in enumerate(tasks if isinstance(tasks, list) else ())]
        if not isinstance(tasks, list):
            raise DamagedEvent("the plan's tasks are not a list")
        for view in views:
            self.tasks[view.id] = view
            self._agent(view.agent)

    def _on_plan_created(self, e: Any) -> None:
        self._add_tasks(e.plan.get("tasks", []))
        self.planner = e.planner

    def _on_plan_updated(self, e: Any) -> None:
        self._add_tasks(e.added)

    def _on_task_started(self, e: Any) -> None:
        task = self.tasks.get(e.task_id)
        if task is None:
            task = self.tasks[e.task_id] = TaskView(id=e.task_id, agent=e.agent)
        if task.started_at is None:
            task.started_at = e.ts
        task.status, task.attempt, task.round = "running", e.attempt, e.round
        task.attempts += 1
        if task.agent != e.agent:
            task.fallback_used = True
        task.last_agent = e.agent
        agent = self._agent(e.agent)
        agent.state, agent.current_task = "working", e.task_id

    def _end_attempt(self, agent_name: str) -> AgentView:
        agent = self._agent(agent_name)
        agent.state, agent.current_task = "idle", None
        agent.streaming = ""
        return agent

    def _on_task_finished(self, e: Any) -> None:
        task = self._task(e.task_id)
        task.status, task.finished_at, task.duration_s = "done", e.ts, e.duration_s
        task.output, task.error = e.output, None
        agent = self._end_attempt(e.agent)
        agent.tasks += 1
        agent.succeeded += 1

    def _on_task_failed(self, e: Any) -> None:
        task = self._task(e.task_id)
        task.error = e.error
        agent = self._end_attempt(e.agent)
        if e.error_type == "cancelled":
            # the run stopped the attempt: the task is cancelled, the agent did not fail
            task.status, task.finished_at = "cancelled", e.ts
            task.duration_s = e.duration_s
            return
        agent.failed += 1
        if e.final:
            task.status, task.finished_at = "failed", e.ts
            task.duration_s = e.duration_s
            agent.tasks += 1
            agent.state = "failed"
        else:
            task.status = "retrying"

    def _on_task_retried(self, e: Any) -> None:
        task = self._task(e.task_id)
        task.status = "retrying"
        task.retries += 1
        # the retry counts against the agent whose attempt failed, not the fallback
        self._agent(task.last_agent or e.agent).retries += 1

    def _on_task_skipped(self, e: Any) -> None:
        task = self.tasks.get(e.task_id)
        if task is None:
            task = self.tasks[e.task_id] = TaskView(id=e.task_id, agent=e.agent)
        task.status, task.error, task.finished_at = "skipped", e.reason, e.ts

    def _on_message_sent(self, e: Any) -> None:
        env: Envelope = e.envelope
        usage = _usage(env.usage) if env.usage is not None else None
        self.messages.append(env)
        self._participant(env.sender)
        self._participant(env.recipient)
        sender = self.agents.get(env.sender)
        if sender is not None:
            sender.messages_out += 1
            if usage is not None:
                sender.calls += 1
                sender.durations.append(usage["duration_s"])
                self.add_usage(
                    env.sender, usage["tokens_in"], usage["tokens_out"], usage["cost_usd"]
                )
        if env.recipient in self.agents:
            self.agents[env.recipient].messages_in += 1
        elif env.recipient == "*":
            for name, agent in self.agents.items():
                if name != env.sender:
                    agent.messages_in += 1
        if env.kind == "answer" and isinstance(env.payload, dict):
            self._waited(env)
        elif env.kind == "question":
            self.questions_asked += 1

    def _waited(self, env: Envelope) -> None:
        """An answer to a person's question: its wait counts for the asking agent and task."""
        waited = env.payload.get("waited_s")
        if isinstance(waited, bool) or not isinstance(waited, int | float) or not waited >= 0:
            return
        self._agent(env.recipient).waited_s += waited
        task = self.tasks.get(env.task_id) if env.task_id is not None else None
        if task is not None:
            task.waited_s += waited

    def _on_agent_state(self, e: Any) -> None:
        agent = self._agent(e.agent)
        agent.state = e.state
        agent.current_task = e.task_id if e.state in ("working", "waiting") else None

    def _on_review_verdict(self, e: Any) -> None:
        task = self.tasks.get(e.task_id)
        if task is not None:
            task.verdicts.append((e.round, e.approved, e.feedback))
            task.round = e.round
        self._agent(e.reviewer).reviews += 1

    def _on_log(self, e: Any) -> None:
        self.logs.append((e.ts, e.level, e.message))

    def _on_plan_rejected(self, e: Any) -> None:
        from toolkit.describe import plan_rejected_summary  # describe builds on this module

        self.logs.append((e.ts, "warning", plan_rejected_summary(e)))

    def _on_llm_call(self, e: Any) -> None:
        agent = self._agent(e.agent)
        agent.llm_calls += 1
        if e.purpose != "agent":
            # planner/synthesizer calls are not part of a task reply: count them here
            agent.tokens_in += e.prompt_tokens
            agent.tokens_out += e.completion_tokens
            agent.cost_usd += e.cost_usd
            self.tokens_in += e.prompt_tokens
            self.tokens_out += e.completion_tokens
            self.cost_usd += e.cost_usd

    def _on_llm_delta(self, e: Any) -> None:
        agent = self._agent(e.agent)
        agent.streaming = (agent.streaming + e.text)[-2000:]

    def _on_breaker_changed(self, e: Any) -> None:
        agent = self._agent(e.agent)
        agent.breaker, agent.breaker_reason = e.state, e.reason

    def _on_a2a_update(self, e: Any) -> None:
        self._agent(e.agent).remote_updates += 1

    def _on_resolution(self, e: Any) -> None:
        if e.task_id is not None and e.task_id in self.tasks:
            self.tasks[e.task_id].winners = [w for w in e.winners if isinstance(w, str)]
        for name in e.winners:
            if isinstance(name, str):
                self._agent(name).won += 1

    def _on_tool_call(self, e: Any) -> None:
        self._agent(e.agent).tool_calls += 1

    def add_usage(self, agent_name: str, tokens_in: int, tokens_out: int, cost: float) -> None:
        agent = self._agent(agent_name)
        agent.tokens_in += tokens_in
        agent.tokens_out += tokens_out
        agent.cost_usd += cost
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost_usd += cost


def _task_view(t: Any, index: int) -> TaskView:
    """A plan task (as recorded) as a view; ``DamagedEvent`` when it is not one."""
    where = f"plan task {index}"
    if not isinstance(t, dict) or not isinstance(t.get("id"), str) or not t["id"]:
        raise DamagedEvent(f"{where} has no id")
    if not isinstance(t.get("agent"), str):
        raise DamagedEvent(f"{where} ({t['id']!r}) has no agent")
    review = t.get("review") or {}
    depends_on = t.get("depends_on", [])
    prompt = t.get("prompt", "")
    if (
        not isinstance(review, dict)
        or not isinstance(depends_on, list)
        or not isinstance(prompt, str)
    ):
        raise DamagedEvent(f"{where} ({t['id']!r}) is malformed")
    max_rounds = review.get("max_rounds", 1)
    return TaskView(
        id=t["id"],
        agent=t["agent"],
        goal=str(t.get("goal", "")),
        depends_on=implied_dependencies([d for d in depends_on if isinstance(d, str)], prompt),
        max_rounds=max_rounds if isinstance(max_rounds, int) else 1,
        reviewer=review.get("reviewer") if isinstance(review.get("reviewer"), str) else None,
    )


def _usage(usage: dict[str, Any]) -> dict[str, Any]:
    """A message's usage, its counters checked (``DamagedEvent`` when one is not a number)."""
    out: dict[str, Any] = {}
    for key, default in (
        ("duration_s", 0.0),
        ("tokens_in", 0),
        ("tokens_out", 0),
        ("cost_usd", 0.0),
    ):
        value = usage.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise DamagedEvent(f"usage.{key} is not a number")
        out[key] = value
    return out


APPEND_ONLY: tuple[str, ...] = tuple(
    f.name for f in fields(RunState) if f.metadata.get("append_only")
)
"""``RunState`` lists the fold only appends to: a prefix of the run holds a prefix of each."""


def fold(events: Iterable[TraceEvent]) -> RunState:
    """Fold events into a fresh ``RunState``."""
    return RunState().apply_all(events)
