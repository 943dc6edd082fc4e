"""Durable runs, embedded: resume an interrupted run from its store, re-run from a step.

The SQLite run store keeps what resuming needs as a run goes: every event, and each
finished task's result (and each review round's) in the same transaction as the event
that says it happened (``RunStore.results``), so what the store says is done is done.

- **Resume** (``Orchestrator.resume``, ``switchboard resume RUN_ID --store DB``): a run
  whose process died goes on under the same run id. Tasks the store holds a result for
  are not run again and their results feed their dependents; the others start afresh
  (attempt numbers go on); the trace goes on from the next seq with a ``run_resumed``
  event saying what was kept and what re-runs. A run is resumed from the plan it
  started from: when a task's prompt, agent or dependencies (or an agent's kind) differ,
  resuming is refused with one line saying what differs, unless forced.
- **Re-run from a step** (``Orchestrator.rerun``, ``switchboard rerun RUN_ID --from
  TASK``): a new run reuses the stored results of every task not downstream of ``TASK``
  (no agent is called for them) and executes ``TASK`` and what depends on it, with
  edits (``--set TASK.prompt=...``, another agent, another seed). It records where it
  was forked from (``run_forked``), which ``switchboard runs`` shows and
  ``toolkit.compare`` compares.

The scheduler stays pure: a resumed run seeds it with the tasks already done
(``Scheduler.resume``); ``Run`` takes the rest from a ``Carryover``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.events import ORCHESTRATOR, USER, RunForked, RunResumed, RunStarted, TraceEvent
from toolkit.plan import Plan, PlanError, Task

if TYPE_CHECKING:
    from toolkit.orchestrator import Orchestrator
    from toolkit.run import Run
    from toolkit.state import RunState
    from toolkit.steps import Steps
    from toolkit.store import RunStore, StoredResult
    from toolkit.tracing import Tracer

__all__ = [
    "Carryover",
    "ChildResume",
    "ResumeError",
    "StoredPlan",
    "apply_edits",
    "downstream",
    "parse_edits",
    "plan_differences",
    "prepare_rerun",
    "prepare_resume",
    "read_stored",
    "resume_carry",
    "resume_children",
    "workflow_rerun",
    "workflow_resume",
]

RESUMABLE = ("interrupted",)
"""Store statuses a run can be resumed from."""


class ResumeError(ValueError):
    """A run that cannot be resumed or re-run as asked; the message is one line."""


# -- what a run takes over ---------------------------------------------------------------


@dataclass
class Carryover:
    """What a run takes over from a stored one (``Run`` reads it; the scheduler is seeded
    with ``results``).

    A resumed run (``resumed``) keeps the stored run id, trace id, root span and seq; a
    re-run is a new run that only reuses results.
    """

    plan: Plan
    results: dict[str, Any] = field(default_factory=dict)
    """Task id -> stored output: these tasks are done and are not run again."""
    attempts: dict[str, int] = field(default_factory=dict)
    """Task id -> attempts already made (a re-run task's attempt numbers go on)."""
    resumed: bool = False
    run_id: str = ""
    trace_id: str = ""
    root_span: str = ""
    next_seq: int = 0
    started_at: float | None = None
    conversation: str | None = None
    """The conversation of the user's request (None when it was never stored)."""
    asked_id: str | None = None
    """The message id of the user's request (the answer's parent)."""
    plan_recorded: bool = False
    """The stored run holds its ``plan_created`` event (it is not emitted again)."""
    resumed_fields: dict[str, Any] = field(default_factory=dict)
    """The ``run_resumed`` event's fields."""
    forked_fields: dict[str, Any] | None = None
    """The ``run_forked`` event's fields (a re-run)."""
    reused: dict[str, StoredResult] = field(default_factory=dict)
    """A re-run's reused results (recorded as ``task_finished`` at zero cost)."""
    history: list[TraceEvent] = field(default_factory=list)
    """A resumed run's stored events (its ``RunResult`` holds them and the new ones)."""

    def continue_run(self, tracer: Tracer, request: str) -> tuple[float, str, str]:
        """Go on with the stored run: ``run_resumed`` first, then the request if it was lost.

        Returns:
            The run's start time, the request's conversation and its message id.
        """
        tracer.continue_run(self.next_seq, self.root_span)
        tracer.emit(RunResumed, **self.resumed_fields)
        conversation, asked_id = self.conversation, self.asked_id
        if conversation is None or asked_id is None:
            conversation = tracer.ids.span_id()
            asked_id = tracer.message(
                USER,
                ORCHESTRATOR,
                "directive",
                request,
                span_id=tracer.root_span,
                conversation_id=conversation,
            ).message_id
        started = self.started_at if self.started_at is not None else tracer.now()
        return started, conversation, asked_id

    def take_over(self, steps: Steps) -> None:
        """Before anything starts: the stored results are the run's, their tasks done."""
        steps.results.update(self.results)
        steps.sched.resume(self.results)
        self.announce(steps.tracer)

    def announce(self, tracer: Tracer) -> None:
        """After the plan: a re-run says where it comes from and records what it reuses."""
        if self.forked_fields is None:
            return
        tracer.emit(RunForked, **self.forked_fields)
        root = tracer.root_span
        for task_id in self.forked_fields["reused"]:
            stored = self.reused[task_id]
            tracer.task_finished(
                tracer.ids.span_id(),
                root,
                task_id,
                stored.agent,
                stored.attempt,
                stored.output,
                0.0,
                1,
                0,
                0,
                0.0,
            )


# -- reading a stored run -------------------------------------------------------------------


@dataclass
class StoredPlan:
    """What the store holds of one run, as resuming and re-running need it."""

    run_id: str
    status: str
    started: RunStarted
    plan: Plan | None
    """The plan it recorded (None when the process died before ``plan_created`` was stored)."""
    planner: str
    state: RunState
    results: dict[str, StoredResult]
    last_seq: int
    asked: tuple[str, str] | None
    """(conversation, message id) of the user's request, when stored."""
    events: list[TraceEvent]

    @property
    def workflow(self) -> str | None:
        """The workflow file the run was started from, when it was started from one."""
        value = self.started.meta.get("workflow")
        return value if isinstance(value, str) else None


def _open_store(store: str | Path | Any) -> RunStore:
    from toolkit.store import RunStore, StoreError

    if isinstance(store, RunStore):
        return store
    if not Path(store).exists():
        raise ResumeError(f"{store}: no such run store")
    try:
        return RunStore(store)
    except StoreError as exc:
        raise ResumeError(str(exc)) from None


def read_stored(store: RunStore, run_id: str) -> StoredPlan:
    """One stored run: its start, plan, fold, results and where its trace ends.

    Raises:
        ResumeError: when the run is not in the store or holds no ``run_started``.
    """
    from toolkit.sources import _without_gc
    from toolkit.state import fold
    from toolkit.store import StoreError

    try:
        info = store.info(run_id)
        with _without_gc():
            stored = store.read_run(run_id)
            state = fold(stored.events)
        results = store.results(run_id)
    except StoreError as exc:
        raise ResumeError(str(exc)) from None
    events = stored.events
    started = events[0] if events and events[0].kind == "run_started" else None
    if started is None:
        raise ResumeError(f"run {run_id} holds no readable run_started event")
    assert isinstance(started, RunStarted)
    if not results:
        # a store written before results were kept: its task_finished events say the same
        from toolkit.store import StoredResult

        results = {
            e.task_id: StoredResult(e.task_id, e.seq, e.agent, e.attempt, e.output)
            for e in events
            if e.kind == "task_finished"
        }
    plan, planner = None, ""
    asked = None
    for e in events:
        if e.kind == "plan_created" and plan is None:
            try:
                plan = Plan.model_validate(e.plan)
            except ValueError as exc:
                raise ResumeError(f"run {run_id}: its stored plan cannot be read: {exc}") from None
            planner = e.planner
        elif (
            e.kind == "message_sent"
            and asked is None
            and e.envelope.sender == USER
            and e.envelope.kind == "directive"
        ):
            asked = (e.envelope.conversation_id, e.envelope.message_id)
        if plan is not None and asked is not None:
            break
    return StoredPlan(
        run_id,
        info.status,
        started,
        plan,
        planner,
        state,
        results,
        events[-1].seq if events else -1,
        asked,
        events,
    )


# -- what differs ---------------------------------------------------------------------------


def plan_differences(stored: Plan, current: Plan) -> list[str]:
    """What differs between two plans in a way that makes resuming one as the other wrong:
    a task's prompt, agent or dependencies, and tasks added or removed. One line each."""
    out: list[str] = []
    before = {t.id: t for t in stored.tasks}
    now = {t.id: t for t in current.tasks}
    for task_id, old in before.items():
        new = now.get(task_id)
        if new is None:
            out.append(f"task {task_id!r} is no longer in the plan")
            continue
        if old.prompt != new.prompt:
            out.append(f"task {task_id!r}: its prompt differs")
        if old.agent != new.agent:
            out.append(f"task {task_id!r}: its agent differs ({old.agent!r} -> {new.agent!r})")
        if old.all_dependencies() != new.all_dependencies():
            out.append(f"task {task_id!r}: its dependencies differ")
    out.extend(f"task {task_id!r} is new in the plan" for task_id in now if task_id not in before)
    return out


def agent_differences(started: RunStarted, orch: Orchestrator, plan: Plan) -> list[str]:
    """Agents of the plan that are missing now or of another kind than when the run started."""
    used: dict[str, None] = {}
    for t in plan.tasks:
        used[t.agent] = None
        if t.fallback:
            used[t.fallback] = None
        if t.review is not None:
            used[t.review.reviewer] = None
    out = []
    for name in used:
        agent = orch.agents.get(name)
        card = started.agents.get(name)
        if agent is None:
            out.append(f"agent {name!r} is missing")
        elif isinstance(card, dict) and card.get("kind") != agent.kind:
            out.append(f"agent {name!r}: its kind differs ({card.get('kind')!r} -> {agent.kind!r})")
    return out


def _refusal(run_id: str, problems: list[str]) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"run {run_id} cannot be resumed as it started: {problems[0]}{more};"
        " use --force (force=True) to resume anyway"
    )


# -- resume ----------------------------------------------------------------------------------


def prepare_resume(
    orch: Orchestrator,
    run_id: str,
    *,
    store: str | Path | Any,
    plan: Plan | None = None,
    force: bool = False,
    **options: Any,
) -> Run:
    """A ``Run`` that continues the interrupted run ``run_id`` (``Orchestrator.resume``).

    Raises:
        ResumeError: when the run cannot be resumed (see ``Orchestrator.prepare_resume``).
    """
    from toolkit.sources import _without_gc

    with _without_gc():  # thousands of events and tasks are read and made, no cycles
        return _prepare_resume(orch, run_id, _open_store(store), plan, force, options)


def _prepare_resume(
    orch: Orchestrator,
    run_id: str,
    db: RunStore,
    plan: Plan | None,
    force: bool,
    options: dict[str, Any],
) -> Run:
    stored = read_stored(db, run_id)
    carry = resume_carry(orch, stored, plan, force)
    started = stored.started
    options.setdefault("seed", started.seed)
    try:  # prepare checks the plan against the agents
        run = orch.prepare(
            started.request, carry.plan, name=started.name, store=db, carry=carry, **options
        )
    except PlanError as exc:
        raise ResumeError(f"run {run_id}: the plan cannot run: {exc}") from None
    db.prime(run_id, stored.state)
    run.meta = dict(started.meta)
    resume_children(orch, db, run_id, carry.resumed_fields["rerun"], force)
    return run


def resume_carry(
    orch: Orchestrator, stored: StoredPlan, plan: Plan | None, force: bool
) -> Carryover:
    """What a resumed run takes over from the interrupted stored run ``stored``.

    Raises:
        ResumeError: when the run has ended or still runs, holds no plan and none is
            given, or its plan or agents differ and ``force`` is off.
    """
    run_id = stored.run_id
    if stored.status not in RESUMABLE:
        if stored.status == "running":
            raise ResumeError(
                f"run {run_id} is still running (its process is alive and holds the lease):"
                " nothing to resume"
            )
        raise ResumeError(f"run {run_id} has already ended ({stored.status}): nothing to resume")
    if plan is None and stored.plan is None:
        raise ResumeError(
            f"run {run_id} stopped before its plan was stored: give the plan it started from"
        )
    differences: list[str] = []
    if plan is not None and stored.plan is not None:
        differences = plan_differences(stored.plan, plan)
    use = plan if plan is not None else stored.plan
    assert use is not None
    differences += agent_differences(stored.started, orch, use)
    if differences and not force:
        raise ResumeError(_refusal(run_id, differences))
    ids = {t.id for t in use.tasks}
    kept = {t: r for t, r in stored.results.items() if t in ids}
    state = stored.state
    rerun = [t.id for t in use.tasks if t.id not in kept]
    interrupted = [
        t for t in rerun if t in state.tasks and state.tasks[t].status in ("running", "retrying")
    ]
    attempts = {t: state.tasks[t].attempts for t in rerun if t in state.tasks}
    attempts = {t: n for t, n in attempts.items() if n}
    started = stored.started
    return Carryover(
        plan=use,
        results={t: r.output for t, r in kept.items()},
        attempts=attempts,
        resumed=True,
        run_id=run_id,
        trace_id=started.trace_id,
        root_span=started.span_id,
        next_seq=stored.last_seq + 1,
        started_at=started.ts,
        conversation=stored.asked[0] if stored.asked else None,
        asked_id=stored.asked[1] if stored.asked else None,
        plan_recorded=stored.plan is not None,
        history=stored.events,
        resumed_fields={
            "kept": [t.id for t in use.tasks if t.id in kept],
            "rerun": rerun,
            "interrupted": interrupted,
            "attempts": attempts,
            "last_seq": stored.last_seq,
            "forced": differences,
        },
    )


@dataclass
class ChildResume:
    """A team's child run that a resumed parent takes up again (``toolkit.team``):
    the interrupted child goes on under its own run id (``carry``), or a child that had
    succeeded before its parent's task was recorded (no ``carry``) answers with what it
    recorded; either way its finished tasks are not run again."""

    run_id: str
    store: RunStore
    stored: StoredPlan
    carry: Carryover | None = None


def resume_children(
    orch: Orchestrator, db: RunStore, run_id: str, rerun: list[str], force: bool = False
) -> list[ChildResume]:
    """Hand each team agent of ``orch`` the child run it left unfinished (or finished
    unrecorded) for a task of ``run_id`` that runs again; at any depth, as each child's
    own teams are handed theirs when it resumes.

    Raises:
        ResumeError: when a child's plan or agents differ from the stored ones.
    """
    from toolkit.team import TeamAgent

    again = set(rerun)
    latest: dict[str, tuple[float, str, TeamAgent]] = {}
    for child, (parent, task, team) in db.parents().items():
        agent = orch.agents.get(team or "")
        if parent != run_id or task not in again or not isinstance(agent, TeamAgent):
            continue
        assert task is not None
        started = db.info(child).started_at or 0.0
        if task not in latest or started >= latest[task][0]:
            latest[task] = (started, child, agent)
    out = []
    for task, (_, child, agent) in latest.items():
        stored = read_stored(db, child)
        if stored.status == "succeeded":
            pending = ChildResume(child, db, stored)
        elif stored.status in RESUMABLE:
            team_orch = agent.orchestrator
            carry = resume_carry(team_orch, stored, agent.plan, force)
            pending = ChildResume(child, db, stored, carry)
            resume_children(team_orch, db, child, carry.resumed_fields["rerun"], force)
        else:
            continue  # failed or cancelled: the parent's task runs the team afresh
        agent.resuming[(run_id, task)] = pending
        out.append(pending)
    return out


# -- re-run from a step --------------------------------------------------------------------


def downstream(deps: dict[str, list[str]], task_id: str) -> set[str]:
    """``task_id`` and every task that depends on it, directly or not."""
    dependents: dict[str, list[str]] = {t: [] for t in deps}
    for t, ds in deps.items():
        for d in ds:
            dependents.setdefault(d, []).append(t)
    seen = {task_id}
    stack = [task_id]
    while stack:
        for nxt in dependents.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def parse_edits(items: list[str]) -> dict[str, str]:
    """``TASK.FIELD=VALUE`` items (``--set``) as a mapping.

    Raises:
        ResumeError: for an item without ``=`` or without ``TASK.FIELD``.
    """
    edits: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        task, dot, fld = key.strip().rpartition(".")
        if not sep or not dot or not task or not fld:
            raise ResumeError(f"--set {item!r}: expected TASK.FIELD=VALUE (e.g. write.prompt=...)")
        edits[f"{task}.{fld}"] = value
    return edits


def apply_edits(plan: Plan, edits: dict[str, str]) -> Plan:
    """The plan with ``TASK.FIELD`` values replaced (each edited task validated again).

    Raises:
        ResumeError: for an unknown task or field, or a value the field cannot hold.
    """
    tasks = {t.id: t for t in plan.tasks}
    changed: dict[str, dict[str, Any]] = {}
    for key, value in edits.items():
        task_id, _, fld = key.rpartition(".")
        if task_id not in tasks:
            raise ResumeError(f"--set {key}: no task {task_id!r} in the plan")
        if fld not in Task.model_fields or fld == "id":
            raise ResumeError(f"--set {key}: a task has no field {fld!r} that can be set")
        changed.setdefault(task_id, tasks[task_id].model_dump())[fld] = value
    new_tasks = []
    for t in plan.tasks:
        if t.id in changed:
            try:
                t = Task.model_validate(changed[t.id])
            except ValueError as exc:
                first = str(exc).splitlines()
                raise ResumeError(
                    f"--set on task {t.id!r}: {first[-1].strip() if first else exc}"
                ) from None
        new_tasks.append(t)
    return plan.model_copy(update={"tasks": new_tasks})


def prepare_rerun(
    orch: Orchestrator,
    run_id: str,
    from_task: str,
    *,
    store: str | Path | Any,
    plan: Plan | None = None,
    edits: dict[str, str] | None = None,
    **options: Any,
) -> Run:
    """A new ``Run`` that re-executes ``from_task`` and its dependents (``Orchestrator.rerun``).

    Raises:
        ResumeError: when the run, its plan or the task is not there, or an edit is wrong.
    """
    db = _open_store(store)
    stored = read_stored(db, run_id)
    base = plan if plan is not None else stored.plan
    if base is None:
        raise ResumeError(f"run {run_id} holds no plan: give the plan it ran")
    if from_task not in {t.id for t in base.tasks}:
        from toolkit.plan import known_list

        known = known_list(t.id for t in base.tasks)
        raise ResumeError(f"run {run_id} has no task {from_task!r} (known: {known})")
    edits = dict(edits or {})
    use = apply_edits(base, edits) if edits else base
    try:
        deps = use.validate_for(orch.agents)
    except PlanError as exc:
        raise ResumeError(f"the re-run's plan cannot run: {exc}") from None
    again = downstream(deps, from_task)
    for key in edits:
        task_id = key.rpartition(".")[0]
        if task_id not in again:
            raise ResumeError(
                f"--set {key}: task {task_id!r} is reused from run {run_id}; only {from_task!r}"
                " and the tasks that depend on it run again"
            )
    if stored.plan is not None:
        # a task that is not as it was stored cannot reuse its result, nor can its dependents
        before = {t.id: t for t in stored.plan.tasks}
        for t in use.tasks:
            old = before.get(t.id)
            if old is None or (old.prompt, old.agent, old.all_dependencies()) != (
                t.prompt,
                t.agent,
                t.all_dependencies(),
            ):
                again |= downstream(deps, t.id)
    reused = {
        t.id: stored.results[t.id]
        for t in use.tasks
        if t.id not in again and t.id in stored.results
    }
    seed = options.get("seed")
    if seed is not None and seed != stored.started.seed:
        edits["seed"] = str(seed)
    options.setdefault("seed", stored.started.seed)
    reused_ids = [t.id for t in use.tasks if t.id in reused]
    carry = Carryover(
        plan=use,
        results={t: r.output for t, r in reused.items()},
        reused=reused,
        forked_fields={
            "forked_from": run_id,
            "from_task": from_task,
            "reused": reused_ids,
            "rerun": [t.id for t in use.tasks if t.id not in reused],
            "edits": edits,
        },
    )
    started = stored.started
    run = orch.prepare(started.request, use, name=started.name, store=db, carry=carry, **options)
    run.meta = {**started.meta, "forked_from": run_id, "from_task": from_task}
    return run


# -- from a workflow file ----------------------------------------------------------------------


def _workflow_orchestrator(
    db: RunStore, run_id: str, workflow: str | Path | None
) -> tuple[Orchestrator, Plan | None, StoredPlan]:
    from toolkit.workflow import load_workflow

    stored = read_stored(db, run_id)
    path = workflow if workflow is not None else stored.workflow
    if path is None:
        raise ResumeError(
            f"run {run_id} was not started from a workflow file: give --workflow FILE,"
            " or resume it in Python with Orchestrator.resume"
        )
    wf = load_workflow(path)
    orch = wf.orchestrator(seed=stored.started.seed, mock=bool(stored.started.meta.get("mock")))
    return orch, wf.plan(), stored


def workflow_resume(
    run_id: str,
    store: str | Path | Any,
    *,
    workflow: str | Path | None = None,
    force: bool = False,
    **options: Any,
) -> Run:
    """A ``Run`` continuing ``run_id`` with the agents and plan of the workflow file it
    started from (``meta.workflow`` of its ``run_started``, or ``workflow``).

    Raises:
        ResumeError: as ``prepare_resume``, or when no workflow file is known.
        WorkflowError: when the workflow file is missing or invalid.
    """
    db = _open_store(store)
    orch, plan, _ = _workflow_orchestrator(db, run_id, workflow)
    return prepare_resume(orch, run_id, store=db, plan=plan, force=force, **options)


def workflow_rerun(
    run_id: str,
    from_task: str,
    store: str | Path | Any,
    *,
    workflow: str | Path | None = None,
    edits: dict[str, str] | None = None,
    **options: Any,
) -> Run:
    """A re-run of ``run_id`` from ``from_task`` with the agents of its workflow file."""
    db = _open_store(store)
    # the workflow's plan as it is now: a task changed since the run is executed again
    orch, plan, _ = _workflow_orchestrator(db, run_id, workflow)
    return prepare_rerun(orch, run_id, from_task, store=db, plan=plan, edits=edits, **options)
