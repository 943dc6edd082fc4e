"""The orchestrator: request → plan → scheduled agent calls → synthesized answer, all traced.

The scheduler runs a plan's DAG with a bounded pool of workers that each take ready
tasks from one queue; a worker that finishes a task goes straight on with the task it
made ready, so a pipeline runs inline with no task spawned per step, and a fan-out
spawns at most ``concurrency`` workers. Per task it applies the attempt timeout,
retries with exponential backoff, a fallback agent, JSON output checks and review
loops. A failed task skips its dependents; independent branches go on.

Every step is a trace event handed to the sinks as it happens; a run that fails or is
cancelled still ends with ``run_finished`` and closed sinks, so its trace is complete.
"""

from __future__ import annotations

import inspect
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from toolkit.agents import Agent, Directive, Reply
from toolkit.bus import MessageBus
from toolkit.events import (
    ORCHESTRATOR,
    USER,
    AgentStateChanged,
    Log,
    PlanCreated,
    ReviewVerdict,
    RunFinished,
    RunStarted,
    TaskFailed,
    TaskRetried,
    TaskSkipped,
    TraceEvent,
    fast_factory,
)
from toolkit.plan import Plan, PlanError, Task, references
from toolkit.session import AgentSession
from toolkit.state import RunState, fold
from toolkit.tracing import CallbackSink, IdFactory, Sink, Tracer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Orchestrator", "Run", "RunResult", "Synthesizer", "default_synthesizer"]


class Planner(Protocol):
    """Turns a request into a plan for the given agents."""

    name: str

    async def plan(self, request: str, agents: Sequence[Agent]) -> Plan: ...


class Synthesizer(Protocol):
    """Makes the run's answer from the tasks' results."""

    async def __call__(
        self, request: str, plan: Plan, results: Mapping[str, Any], session: AgentSession
    ) -> Any: ...


async def default_synthesizer(
    request: str, plan: Plan, results: Mapping[str, Any], session: AgentSession
) -> Any:
    """The sink tasks' outputs (``synthesize: last``) or every output (``all``).

    One output is the answer as it is; several are joined under ``## <task id>`` headings.
    """
    if plan.synthesize == "none":
        return None
    ids = plan.sinks() if plan.synthesize == "last" else [t.id for t in plan.tasks]
    outputs = [(i, results[i]) for i in ids if i in results]
    if len(outputs) == 1:
        return outputs[0][1]
    return "\n\n".join(f"## {i}\n{_text(v)}" for i, v in outputs)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


_make_directive = fast_factory(Directive)  # the orchestrator's own, known-good values


class _TaskFailure(Exception):
    """A task failed for good (its ``task_failed`` event is already emitted)."""


class _AttemptError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class RunResult:
    """What a run produced: its answer, its status and every event."""

    run_id: str
    name: str
    status: str
    """succeeded, failed or cancelled."""
    output: Any
    error: str | None
    events: list[TraceEvent]
    trace_path: Path | None = None

    @cached_property
    def state(self) -> RunState:
        """The run's final state, folded from its events."""
        return fold(self.events)

    @property
    def results(self) -> dict[str, Any]:
        """Each finished task's output, by task id."""
        return {t.id: t.output for t in self.state.tasks.values() if t.status == "done"}

    def metrics(self) -> pd.DataFrame:
        """Per-agent metrics (see ``toolkit.metrics.agent_metrics``)."""
        from toolkit.metrics import agent_metrics

        return agent_metrics(self.events)

    def task_metrics(self) -> pd.DataFrame:
        from toolkit.metrics import task_metrics

        return task_metrics(self.events)

    def timeline(self) -> pd.DataFrame:
        from toolkit.metrics import timeline

        return timeline(self.events)

    def __repr__(self) -> str:
        return f"RunResult(run_id={self.run_id!r}, status={self.status!r}, events={len(self.events)}, output={_short(self.output)!r})"


def _short(value: Any, n: int = 60) -> str:
    text = _text(value)
    return text if len(text) <= n else text[: n - 1] + "…"


class Orchestrator:
    """Runs agents over plans and traces every step.

    Args:
        agents: The agents it may use (names must be unique).
        planner: Turns a bare request into a plan; default: a ``RuleBasedPlanner``.
        synthesizer: Makes the answer from the results; default: ``default_synthesizer``.
        concurrency: At most this many tasks run at once.
        seed: Seed for mock agents and ids, so a run is reproducible.
        sinks: Consumers of every run's events (recorders, live views).
        default_timeout_s: Attempt time limit for tasks that set none.
        fail_fast: Cancel the remaining tasks when one fails for good.
    """

    def __init__(
        self,
        agents: Iterable[Agent] = (),
        *,
        planner: Planner | None = None,
        synthesizer: Synthesizer | None = None,
        concurrency: int = 16,
        seed: int | None = None,
        sinks: Iterable[Sink] = (),
        default_timeout_s: float | None = None,
        fail_fast: bool = False,
    ) -> None:
        self.agents: dict[str, Agent] = {}
        for agent in agents:
            self.add(agent)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.planner = planner
        self.synthesizer = synthesizer or default_synthesizer
        self.concurrency = concurrency
        self.seed = seed
        self.sinks: list[Sink] = list(sinks)
        self.default_timeout_s = default_timeout_s
        self.fail_fast = fail_fast

    def add(self, agent: Agent) -> Agent:
        """Register an agent; its name must be new."""
        if agent.name in self.agents:
            raise ValueError(f"an agent named {agent.name!r} is already registered")
        if agent.name in (ORCHESTRATOR, USER, "*"):
            raise ValueError(f"{agent.name!r} is a reserved participant name")
        self.agents[agent.name] = agent
        return agent

    def prepare(
        self,
        request: str = "",
        plan: Plan | None = None,
        *,
        name: str | None = None,
        sinks: Iterable[Sink] = (),
        trace: str | Path | None = None,
        store: str | Path | Any | None = None,
        on_event: Callable[[TraceEvent], Any] | None = None,
        seed: int | None = None,
        keep_events: bool = True,
    ) -> Run:
        """Make a ``Run`` that can be executed once and cancelled.

        Args:
            request: The user's request; fills ``{{input}}``.
            plan: The plan; when None the planner makes one from the request.
            name: The run's name (default: the plan's name).
            sinks: Extra consumers of this run's events.
            trace: A JSONL file to record the run to.
            store: A SQLite run store (path or ``RunStore``) to record the run to.
            on_event: A function called with every event.
            seed: Overrides the orchestrator's seed for this run.
            keep_events: Keep events in memory for the result (off for huge runs).

        Raises:
            PlanError: when the plan cannot run (unknown agents, cycles, …).
        """
        deps = plan.validate_for(self.agents) if plan is not None else None
        all_sinks = [*self.sinks, *sinks]
        trace_path = None
        if trace is not None:
            from toolkit.recorder import JsonlRecorder

            trace_path = Path(trace)
            all_sinks.append(JsonlRecorder(trace_path))
        if store is not None:
            from toolkit.store import RunStore

            all_sinks.append(store if isinstance(store, RunStore) else RunStore(store))
        if on_event is not None:
            all_sinks.append(CallbackSink(on_event))
        run = Run(
            self,
            request,
            plan,
            name,
            all_sinks,
            trace_path,
            self.seed if seed is None else seed,
            keep_events,
        )
        if deps is not None:
            run._deps = deps  # checked above: the scheduler need not parse the plan again
        return run

    async def run(self, request: str = "", plan: Plan | None = None, **options: Any) -> RunResult:
        """Run a request or a plan and wait for the result (see ``prepare`` for options)."""
        return await self.prepare(request, plan, **options).execute()

    def run_sync(self, request: str = "", plan: Plan | None = None, **options: Any) -> RunResult:
        """``run`` from synchronous code, including a notebook cell whose loop is running.

        Where an event loop already runs in this thread (Jupyter), the run goes to a
        fresh thread with its own loop, so there is no "event loop is already running".
        """
        run = self.prepare(request, plan, **options)
        if not _loop_running():
            return anyio.run(run.execute)
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = anyio.run(run.execute)
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, name="switchboard-run", daemon=True)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]


def _loop_running() -> bool:
    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Run:
    """One execution of a plan. Execute it once; ``cancel`` stops it cleanly."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        request: str,
        plan: Plan | None,
        name: str | None,
        sinks: list[Sink],
        trace_path: Path | None,
        seed: int | None,
        keep_events: bool,
    ) -> None:
        self.orch = orchestrator
        self.request = request
        self.plan = plan
        self.name = name or (plan.name if plan is not None else "run")
        self.trace_path = trace_path
        self.seed = seed
        ids = IdFactory(seed)
        self.tracer = Tracer(ids.run_id(), ids.trace_id(), sinks, ids, keep=keep_events)
        self.run_id = self.tracer.run_id
        self.result: RunResult | None = None
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False
        self._stopped_by: str | None = None  # the task whose failure stopped a fail_fast run
        self._loop_token: Any = None
        # scheduling state
        self._results: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._ready: deque[Task] = deque()
        self._workers = 0
        self._tg: Any = None
        self._waiting: dict[str, int] = {}
        self._dependents: dict[str, list[str]] = {}
        self._deps: dict[str, list[str]] = {}
        self._tasks: dict[str, Task] = {}
        self._running: dict[str, str] = {}
        self._bus: MessageBus | None = None

    # -- control ---------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: running tasks are cancelled, the rest skipped, all recorded.

        Safe to call from any thread, and before the run has started.
        """
        self._cancel_requested = True
        scope = self._scope
        if scope is None or self.result is not None:
            return  # not started yet (it will not start), or already over
        token = self._loop_token
        try:
            current = anyio.lowlevel.current_token()
        except RuntimeError:
            current = None
        if token is None or current == token:
            scope.cancel()
        else:
            anyio.from_thread.run_sync(scope.cancel, token=token)

    # -- execution -------------------------------------------------------------
    async def execute(self) -> RunResult:
        """Run to the end and return the result; every outcome is recorded."""
        if self.result is not None or self._scope is not None:
            raise RuntimeError("a Run executes once; prepare a new one")
        tracer, orch = self.tracer, self.orch
        self._loop_token = anyio.lowlevel.current_token()
        t0 = tracer.now()
        status, output, error = "failed", None, None
        tracer.emit(
            RunStarted,
            name=self.name,
            request=self.request,
            agents={name: agent.card() for name, agent in orch.agents.items()},
            seed=self.seed,
        )
        conversation = tracer.ids.span_id()
        request_msg = tracer.message(
            USER,
            ORCHESTRATOR,
            "directive",
            self.request,
            span_id=tracer.root_span,
            conversation_id=conversation,
        )
        self._bus = MessageBus(tracer, [ORCHESTRATOR, *orch.agents])
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._cancel_requested:
                    scope.cancel()
                plan = await self._make_plan()
                await self._schedule(plan)
                session = AgentSession(tracer, self._bus, ORCHESTRATOR, None, tracer.root_span)
                output = await orch.synthesizer(self.request, plan, self._results, session)
                tracer.message(
                    ORCHESTRATOR,
                    USER,
                    "result",
                    output,
                    span_id=tracer.root_span,
                    conversation_id=conversation,
                    parent_id=request_msg.message_id,
                )
                if self._failed:
                    status, error = (
                        "failed",
                        f"{len(self._failed)} task(s) failed: {', '.join(sorted(self._failed))}",
                    )
                else:
                    status = "succeeded"
            if self._cancel_requested or (scope.cancelled_caught and self._stopped_by is None):
                status, error = "cancelled", "the run was cancelled"
                self._skip_unfinished("the run was cancelled")
            elif scope.cancelled_caught:
                # fail_fast stopped the run: it failed, nobody cancelled it
                status, error = "failed", f"task {self._stopped_by!r} failed and fail_fast is on"
                output = None
        except PlanError as exc:
            error = f"invalid plan: {exc}"
            tracer.emit(Log, level="error", message=error)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            tracer.emit(Log, level="error", message=f"run failed: {error}")
        except BaseException:
            # cancelled from outside (KeyboardInterrupt, an enclosing scope): record it, then let it go
            with anyio.CancelScope(shield=True):
                self._skip_unfinished("the run was cancelled")
                self._finish("cancelled", None, "the run was cancelled", t0)
            raise
        return self._finish(status, output, error, t0)

    def _finish(self, status: str, output: Any, error: str | None, t0: float) -> RunResult:
        tracer = self.tracer
        tracer.emit(
            RunFinished, status=status, output=output, error=error, duration_s=tracer.now() - t0
        )
        problems = tracer.close_sinks()
        if problems:
            error = (error + "; " if error else "") + "recording failed: " + "; ".join(problems)
        self.result = RunResult(
            self.run_id, self.name, status, output, error, tracer.events, self.trace_path
        )
        return self.result

    def _skip_unfinished(self, reason: str) -> None:
        for task_id, agent in list(self._running.items()):
            self._failed.add(task_id)  # reported failed (cancelled): not skipped as well
            self.tracer.emit(
                TaskFailed, task_id=task_id, agent=agent, error=reason, error_type="cancelled"
            )
        self._running.clear()
        for task in self._tasks.values():
            if task.id not in self._results and task.id not in self._failed:
                self._failed.add(task.id)
                self.tracer.emit(TaskSkipped, task_id=task.id, agent=task.agent, reason=reason)

    async def _make_plan(self) -> Plan:
        plan, planner_name = self.plan, "given"
        if plan is None:
            planner = self.orch.planner
            if planner is None:
                from toolkit.planning import RuleBasedPlanner

                planner = RuleBasedPlanner()
            planner_name = planner.name
            agents = list(self.orch.agents.values())
            if "session" in inspect.signature(planner.plan).parameters:
                # a planner that calls a model (toolkit.llm) traces its calls as the "planner"
                session = AgentSession(
                    self.tracer, self._bus, "planner", None, self.tracer.root_span
                )  # type: ignore[arg-type]
                plan = await planner.plan(self.request, agents, session=session)
            else:
                plan = await planner.plan(self.request, agents)
            self._deps = plan.validate_for(self.orch.agents)
        self.plan = plan
        self.tracer.emit(PlanCreated, plan=plan.model_dump(mode="json"), planner=planner_name)
        return plan

    # -- scheduling ------------------------------------------------------------
    async def _schedule(self, plan: Plan) -> None:
        self._tasks = {t.id: t for t in plan.tasks}
        self._dependents = {t.id: [] for t in plan.tasks}
        if not self._deps:
            self._deps = plan.dependency_map()
        for t in plan.tasks:
            deps = self._deps[t.id]
            self._waiting[t.id] = len(deps)
            for dep in deps:
                self._dependents[dep].append(t.id)
            if not deps:
                self._ready.append(t)
        if len(self._ready) == 1:
            await self._worker()  # a lone ready task runs inline: no task spawned
        else:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self._spawn()

    def _spawn(self) -> None:
        want = min(len(self._ready), self.orch.concurrency - self._workers)
        for _ in range(want):
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        try:
            while self._ready:
                # agents that never await (quiet mocks, plain functions) give the run no
                # checkpoint: without this a cancelled run would go on starting tasks
                if self._scope is not None and self._scope.cancel_called:
                    await anyio.lowlevel.checkpoint()  # raises the cancellation
                task = self._ready.popleft()
                try:
                    self._results[task.id] = await self._run_task(task)
                except _TaskFailure:
                    self._failed.add(task.id)
                    if self.orch.fail_fast:
                        self._stopped_by = self._stopped_by or task.id
                        self._skip_unfinished(f"task {task.id!r} failed and fail_fast is on")
                        if self._scope is not None:
                            self._scope.cancel()
                        return
                    self._skip_dependents(task.id)
                self._release(task.id)
                if len(self._ready) > 1:
                    if self._tg is None:
                        # the inline worker met a fan-out: go on in a task group
                        async with anyio.create_task_group() as tg:
                            self._tg = tg
                            self._spawn()
                        return
                    self._spawn()
        finally:
            self._workers = max(0, self._workers - 1)

    def _release(self, task_id: str) -> None:
        for dep_id in self._dependents[task_id]:
            self._waiting[dep_id] -= 1
            if self._waiting[dep_id] == 0 and dep_id not in self._failed:
                self._ready.append(self._tasks[dep_id])

    def _skip_dependents(self, task_id: str) -> None:
        stack = [(d, task_id) for d in self._dependents[task_id]]
        while stack:
            dep_id, cause = stack.pop()
            if dep_id in self._failed:
                continue
            self._failed.add(dep_id)
            self.tracer.emit(
                TaskSkipped,
                task_id=dep_id,
                agent=self._tasks[dep_id].agent,
                reason=f"dependency {cause!r} failed",
            )
            stack.extend((d, dep_id) for d in self._dependents[dep_id])

    # -- one task ----------------------------------------------------------------
    def _prompt(self, task: Task) -> str:
        text = task.prompt
        if not text:
            return task.goal or self.request
        for ref in references(text):
            value = self.request if ref == "input" else self._results.get(ref, "")
            text = text.replace("{{" + ref + "}}", _text(value)).replace(
                "{{ " + ref + " }}", _text(value)
            )
        return text

    async def _run_task(self, task: Task) -> Any:
        t0 = self.tracer.now()
        conversation = self.tracer.ids.span_id()
        context = {dep: self._results.get(dep) for dep in self._deps[task.id]}
        state = {"agent": task.agent, "attempt": 1, "fallback_used": False, "usage": [0, 0, 0.0]}
        prompt = self._prompt(task)
        draft = await self._work(task, prompt, context, 1, conversation, state)
        rounds = 1
        if task.review is not None:
            review = task.review
            while True:
                approved, feedback = await self._review(task, draft, rounds, conversation, state)
                if approved or rounds >= review.max_rounds:
                    break
                rounds += 1
                state["attempt"] = 1  # a new round is a new draft, not a retry
                context = {**context, "draft": draft, "feedback": feedback}
                revised = f"{prompt}\n\nRevise your previous work.\nPrevious work:\n{_text(draft)}\n\nReviewer feedback:\n{feedback}"
                draft = await self._work(task, revised, context, rounds, conversation, state)
        usage = state["usage"]
        self.tracer.task_finished(
            task.id,
            state["agent"],
            state["attempt"],
            draft,
            self.tracer.now() - t0,
            rounds,
            usage[0],
            usage[1],
            usage[2],
        )
        return draft

    async def _work(
        self,
        task: Task,
        prompt: str,
        context: dict[str, Any],
        round_: int,
        conversation: str,
        state: dict[str, Any],
    ) -> Any:
        """Get one accepted output from the task's agent: attempts, retries, fallback."""
        tracer = self.tracer
        t0 = tracer.now()
        retries_left = task.retries
        delay = task.backoff_s
        timeout = task.timeout_s if task.timeout_s is not None else self.orch.default_timeout_s
        while True:
            agent_name, attempt = state["agent"], state["attempt"]
            span = tracer.ids.span_id()
            tracer.task_started(span, task.id, agent_name, attempt, round_)
            self._running[task.id] = agent_name
            try:
                output = await self._call(
                    task,
                    agent_name,
                    prompt,
                    context,
                    attempt,
                    round_,
                    span,
                    conversation,
                    timeout,
                    state,
                )
                self._running.pop(task.id, None)
                return output
            except _AttemptError as exc:
                self._running.pop(task.id, None)
                retry = retries_left > 0
                fallback = (
                    not retry
                    and task.fallback not in (None, agent_name)
                    and not state["fallback_used"]
                )
                final = not (retry or fallback)
                tracer.emit(
                    TaskFailed,
                    span_id=span,
                    task_id=task.id,
                    agent=agent_name,
                    attempt=attempt,
                    error=str(exc),
                    error_type=exc.error_type,
                    final=final,
                    duration_s=tracer.now() - t0 if final else 0.0,
                )
                if final:
                    raise _TaskFailure(task.id) from exc
                next_agent = agent_name if retry else task.fallback
                tracer.emit(
                    TaskRetried,
                    span_id=span,
                    task_id=task.id,
                    agent=next_agent,
                    attempt=attempt + 1,
                    delay_s=delay if retry else 0.0,
                    reason=str(exc) if retry else f"fallback after: {exc}",
                    fallback=fallback,
                )
                state["agent"], state["attempt"] = next_agent, attempt + 1
                if retry:
                    retries_left -= 1
                    if delay:
                        await anyio.sleep(delay)
                    delay = delay * 2
                else:
                    state["fallback_used"] = True

    async def _call(
        self,
        task: Task,
        agent_name: str,
        prompt: str,
        context: dict[str, Any],
        attempt: int,
        round_: int,
        span: str,
        conversation: str,
        timeout: float | None,
        state: dict[str, Any],
    ) -> Any:
        """One traced call: directive out, result (or error) back."""
        tracer = self.tracer
        agent = self.orch.agents[agent_name]
        directive = _make_directive(
            agent=agent_name,
            task_id=task.id,
            goal=task.goal,
            prompt=prompt,
            context=context,
            attempt=attempt,
            round=round_,
            seed=self.seed,
            meta=task.meta,
        )
        # the session is built on first use of ``directive.session``
        object.__setattr__(
            directive,
            "__pydantic_private__",
            {"_session": (tracer, self._bus, agent_name, task.id, span)},
        )
        sent = tracer.message(
            ORCHESTRATOR,
            agent_name,
            "directive",
            prompt,
            span_id=span,
            conversation_id=conversation,
            task_id=task.id,
            attempt=attempt,
        )
        t0 = tracer.now()
        try:
            if timeout is None:
                raw = await agent.run(directive)
            else:
                with anyio.fail_after(timeout):
                    raw = await agent.run(directive)
            output, usage = _accept(raw, task.output_format)
        except TimeoutError:
            error = _AttemptError(f"timed out after {timeout:g}s", "timeout")
        except _AttemptError as exc:
            error = exc
        except Exception as exc:
            error = _AttemptError(f"{type(exc).__name__}: {exc}", "exception")
        else:
            usage["duration_s"] = tracer.now() - t0
            acc = state["usage"]
            acc[0] += usage["tokens_in"]
            acc[1] += usage["tokens_out"]
            acc[2] += usage["cost_usd"]
            tracer.message(
                agent_name,
                ORCHESTRATOR,
                "result",
                output,
                span_id=span,
                conversation_id=conversation,
                parent_id=sent.message_id,
                task_id=task.id,
                attempt=attempt,
                usage=usage,
            )
            return output
        usage = {"duration_s": tracer.now() - t0}
        tracer.message(
            agent_name,
            ORCHESTRATOR,
            "error",
            str(error),
            span_id=span,
            conversation_id=conversation,
            parent_id=sent.message_id,
            task_id=task.id,
            attempt=attempt,
            usage=usage,
        )
        raise error

    async def _review(
        self, task: Task, draft: Any, round_: int, conversation: str, state: dict[str, Any]
    ) -> tuple[bool, str]:
        review = task.review
        assert review is not None
        tracer = self.tracer
        reviewer = review.reviewer
        worker = state["agent"]
        span = tracer.ids.span_id()
        prompt = review.prompt.replace("{{draft}}", _text(draft)).replace("{{input}}", self.request)
        tracer.emit(AgentStateChanged, span_id=span, agent=worker, state="waiting", task_id=task.id)
        tracer.emit(
            AgentStateChanged, span_id=span, agent=reviewer, state="working", task_id=task.id
        )
        try:
            verdict = await self._call(
                task,
                reviewer,
                prompt,
                {"draft": draft},
                1,
                round_,
                span,
                conversation,
                task.timeout_s or self.orch.default_timeout_s,
                state,
            )
        except _AttemptError as exc:
            tracer.emit(
                AgentStateChanged, span_id=span, agent=reviewer, state="failed", task_id=task.id
            )
            tracer.emit(
                TaskFailed,
                span_id=span,
                task_id=task.id,
                agent=reviewer,
                attempt=state["attempt"],
                error=f"reviewer failed: {exc}",
                error_type=exc.error_type,
                final=True,
            )
            raise _TaskFailure(task.id) from exc
        tracer.emit(AgentStateChanged, span_id=span, agent=reviewer, state="idle")
        approved, feedback = _verdict(verdict)
        tracer.emit(
            ReviewVerdict,
            span_id=span,
            task_id=task.id,
            reviewer=reviewer,
            worker=worker,
            round=round_,
            approved=approved,
            feedback=feedback,
        )
        return approved, feedback


def _verdict(verdict: Any) -> tuple[bool, str]:
    """Read a reviewer's answer: a dict with ``approved``, or text containing APPROVED."""
    if isinstance(verdict, Mapping):
        approved = bool(verdict.get("approved"))
        feedback = str(verdict.get("feedback", verdict.get("comments", "")))
        return approved, feedback
    text = _text(verdict)
    upper = text.upper()
    approved = "APPROVED" in upper and "NOT APPROVED" not in upper
    return approved, text


def _accept(raw: Any, output_format: str) -> tuple[Any, dict[str, Any]]:
    """Check an agent's reply and split it into output and usage."""
    if isinstance(raw, Reply):
        output = raw.output
        usage = {
            "tokens_in": raw.tokens_in,
            "tokens_out": raw.tokens_out,
            "cost_usd": raw.cost_usd,
            "model": raw.model,
        }
    else:
        output = raw
        usage = {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "model": None}
    if output is None or (isinstance(output, str) and (not output or output.isspace())):
        raise _AttemptError("malformed output: the agent returned nothing", "malformed")
    if isinstance(output, bytes):
        raise _AttemptError(
            "malformed output: the agent returned bytes, not text or JSON", "malformed"
        )
    if output_format == "json" and isinstance(output, str):
        try:
            output = json.loads(output)
        except json.JSONDecodeError as exc:
            raise _AttemptError(
                f"malformed output: not valid JSON ({exc.msg} at char {exc.pos}): {output[:80]!r}",
                "malformed",
            ) from None
    if isinstance(output, float) and not math.isfinite(output):
        raise _AttemptError("malformed output: a non-finite number", "malformed")
    return output, usage
