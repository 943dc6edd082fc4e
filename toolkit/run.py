"""One execution of a plan: the scheduler's decisions carried out, every step recorded.

``Run`` composes the parts of the orchestrator: the pure ``Scheduler`` decides which
task starts and what a failure or a stop means; the ``AttemptPolicy`` decides time
limits, retries and fallbacks; the review loop drives worker and reviewer; the
``Executor`` performs each agent call; the clock, the id source, the bus and the
event outlet are injected. ``Run`` itself only acts on their answers and emits the
events. A bounded pool of workers takes ready tasks; a worker that finishes a task
goes straight on with the one it made ready, so a pipeline runs inline with no task
spawned per step, and a fan-out spawns at most ``concurrency`` workers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from toolkit.agents import Directive
from toolkit.clock import is_simulated
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
)
from toolkit.executor import AgentCall
from toolkit.plan import Plan, PlanError, Task, references
from toolkit.policy import AttemptPolicy, Failure, Usage, check_output
from toolkit.review import as_text, read_verdict, review_loop, review_prompt
from toolkit.scheduler import Scheduler, Skip
from toolkit.session import AgentSession
from toolkit.tracing import Tracer, trusted_maker

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.durable import Carryover
    from toolkit.orchestrator import Orchestrator
    from toolkit.state import RunState

__all__ = ["Run", "RunResult"]

CANCELLED = "the run was cancelled"
_DIRECTIVE = trusted_maker(Directive)  # the orchestrator's own, known-good values


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
        from toolkit.state import fold  # loaded on first use: importing it is ~4 ms

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
    text = as_text(value)
    return text if len(text) <= n else text[: n - 1] + "…"


class _Ended(Exception):
    """The task has ended (its terminal event is recorded): nothing more to do for it."""


class _TaskRun:
    """A running task: its span, its latest attempt and what it has used."""

    __slots__ = ("agent", "attempt", "fallback_used", "policy", "span", "t0", "task", "usage")

    def __init__(self, task: Task, policy: AttemptPolicy, span: str, t0: float) -> None:
        self.task = task
        self.policy = policy
        self.span = span
        """The task's span (also the conversation id of its messages)."""
        self.t0 = t0
        self.agent = task.agent
        """The agent of the latest attempt started."""
        self.attempt = 0
        """The number of the latest attempt started (within the current round)."""
        self.fallback_used = False
        self.usage = Usage()


class Run:
    """One execution of a plan. Execute it once; ``cancel`` stops it cleanly.

    Made by ``Orchestrator.prepare``; ``deps`` is the plan's checked dependency map.
    """

    def __init__(
        self,
        orchestrator: Orchestrator,
        request: str,
        plan: Plan | None,
        name: str | None,
        tracer: Tracer,
        *,
        trace_path: Path | None = None,
        seed: int | None = None,
        deps: dict[str, list[str]] | None = None,
        carry: Carryover | None = None,
    ) -> None:
        self.orch = orchestrator
        self.request = request
        self.plan = plan
        self.name = name or (plan.name if plan is not None else "run")
        self.trace_path = trace_path
        self.seed = seed
        self.tracer = tracer
        self.run_id = tracer.run_id
        self.result: RunResult | None = None
        self.meta: dict[str, Any] = {}
        """Recorded in ``run_started`` (a workflow run names its file here, for resuming)."""
        self._carry = carry
        """What a resumed run or a re-run takes over from a stored run (``toolkit.durable``)."""
        self._attempt_base: dict[str, int] = carry.attempts if carry is not None else {}
        self._deps = deps
        self._executor = orchestrator.executor
        self._clock = orchestrator.clock
        self._default_timeout_s = orchestrator.default_timeout_s
        self._sched: Scheduler | None = None
        self._tasks: dict[str, Task] = {}
        self._results: dict[str, Any] = {}
        self._live: dict[str, _TaskRun] = {}
        self._bus: Any = None
        self._scope: anyio.CancelScope | None = None
        self._work_scope: anyio.CancelScope | None = None
        self._tg: Any = None
        self._workers = 0
        self._cancel_requested = False
        self._loop_thread: int | None = None
        self._call_soon: Callable[[Callable[[], None]], Any] | None = None

    # -- control ---------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: running tasks are cancelled, the rest skipped, all recorded.

        Safe to call from any thread, before the run has started and after it ended;
        it never raises and never waits.
        """
        self._cancel_requested = True
        if self._scope is None or self.result is not None:
            return  # not started yet (it will not start), or already over
        if threading.get_ident() == self._loop_thread:
            self._cancel_now()
            return
        call_soon = self._call_soon
        if call_soon is None:
            return
        with contextlib.suppress(RuntimeError):  # the run's loop has closed: it is over
            call_soon(self._cancel_now)

    @property
    def cancel_requested(self) -> bool:
        """Whether ``cancel`` was called (an engine running the plan elsewhere polls it)."""
        return self._cancel_requested

    def answer(self, task_id: str, answer: Any = None, /, **fields: Any) -> Any:
        """Answer the open question of a human agent's task (``toolkit.human.answer``).

        Give an ``Answer`` or its fields (``approve=True, comment="ok"``); safe from any
        thread. Raises ``AnswerError`` when the task has no open question or the answer
        does not fit it.
        """
        from toolkit.human import answer as give

        return give(self.run_id, task_id, answer, **fields)

    def _cancel_now(self) -> None:
        if self.result is not None or self._scope is None:
            return
        self._stop(CANCELLED)
        self._scope.cancel()

    def _stop(self, reason: str) -> None:
        if self._sched is not None:
            self._apply(self._sched.stop(reason))

    def _apply(self, decisions: list[Any]) -> None:
        """Record the scheduler's decisions: skipped tasks, cancelled running ones."""
        tracer = self.tracer
        for decision in decisions:
            task_id = decision.task_id
            if type(decision) is Skip:
                tracer.emit(
                    TaskSkipped,
                    span_id=tracer.ids.span_id(),
                    parent_span_id=tracer.root_span,
                    task_id=task_id,
                    agent=self._tasks[task_id].agent,
                    reason=decision.reason,
                )
                continue
            tr = self._live.pop(task_id)
            tracer.emit(
                TaskFailed,
                span_id=tr.span,
                parent_span_id=tracer.root_span,
                task_id=task_id,
                agent=tr.agent,
                attempt=max(tr.attempt, 1),
                error=decision.reason,
                error_type="cancelled",
                duration_s=tracer.now() - tr.t0,
            )

    # -- execution -------------------------------------------------------------
    async def execute(self) -> RunResult:
        """Run to the end and return the result; every outcome is recorded.

        On a simulated clock the run executes on a virtual-time loop: in place when it
        is already on one, else in a thread of its own while this task waits.
        """
        if is_simulated(self._clock):
            from toolkit.simtime import in_virtual_time, run_in_virtual_time

            if not in_virtual_time():
                try:
                    return await anyio.to_thread.run_sync(
                        run_in_virtual_time, self._execute, abandon_on_cancel=True
                    )
                except anyio.get_cancelled_exc_class():
                    self.cancel()  # the run's own loop records the cancellation
                    raise
        return await self._execute()

    async def _execute(self) -> RunResult:
        if self.result is not None or self._scope is not None:
            raise RuntimeError("a Run executes once; prepare a new one")
        if (elsewhere := getattr(self._executor, "run_elsewhere", None)) is not None:
            # a durable engine runs the whole plan (toolkit.temporal) and fills the outlet
            self.result = await elsewhere(self)
            return self.result
        tracer, orch = self.tracer, self.orch
        self._capture_loop()
        t0 = tracer.now()
        status, output, error = "failed", None, None
        carry = self._carry
        if carry is not None and carry.resumed:
            t0, conversation, asked_id = carry.continue_run(tracer, self.request)
        else:
            tracer.emit(
                RunStarted,
                name=self.name,
                request=self.request,
                agents={name: agent.card() for name, agent in orch.agents.items()},
                seed=self.seed,
                meta={**self.meta, "clock": "simulated"}
                if is_simulated(self._clock)
                else self.meta,
            )
            conversation = tracer.ids.span_id()
            asked_id = tracer.message(
                USER,
                ORCHESTRATOR,
                "directive",
                self.request,
                span_id=tracer.root_span,
                conversation_id=conversation,
            ).message_id
        root = tracer.root_span
        self._bus = orch.bus(tracer, [ORCHESTRATOR, *orch.agents])
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._cancel_requested:
                    scope.cancel()
                plan = await self._make_plan()
                if self._cancel_requested:
                    self._stop(CANCELLED)
                await self._schedule()
                sched = self._sched
                assert sched is not None
                if sched.stop_reason is None:
                    session = AgentSession(tracer, self._bus, ORCHESTRATOR, None, root)
                    output = await orch.synthesizer(self.request, plan, self._results, session)
                    # failed or skipped because of a failure: either way not done
                    failed = [t for t, s in sched.status.items() if s != "done"]
                    if failed:
                        status = "failed"
                        error = f"{len(failed)} task(s) failed: {', '.join(sorted(failed))}"
                    else:
                        status = "succeeded"
                elif not self._cancel_requested:
                    status, error = "failed", sched.stop_reason  # fail_fast stopped the run
            if self._cancel_requested or scope.cancelled_caught:
                status, error = "cancelled", CANCELLED
                self._stop(CANCELLED)
        except PlanError as exc:
            error = f"invalid plan: {exc}"
            tracer.emit(Log, level="error", message=error)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            tracer.emit(Log, level="error", message=f"run failed: {error}")
        except BaseException:
            # cancelled from outside (KeyboardInterrupt, an enclosing scope): record it, then let it go
            with anyio.CancelScope(shield=True):
                self._stop(CANCELLED)
                self._finish("cancelled", None, CANCELLED, t0)
            raise
        if status == "succeeded":
            tracer.message(
                ORCHESTRATOR,
                USER,
                "result",
                output,
                span_id=root,
                conversation_id=conversation,
                parent_id=asked_id,
            )
        elif status == "failed":
            # the user is told the run failed, never handed a partial answer as a result
            tracer.message(
                ORCHESTRATOR,
                USER,
                "error",
                error,
                span_id=root,
                conversation_id=conversation,
                parent_id=asked_id,
            )
        await self._close_bus()
        return self._finish(status, output, error, t0)

    async def _close_bus(self) -> None:
        """Close a bus that holds resources (``aclose``: a Redis bus), before the run's
        last event, so nothing it receives afterwards is traced into a closed run."""
        aclose = getattr(self._bus, "aclose", None)
        if aclose is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await aclose()
            except Exception as exc:  # the run is over: its bus failing to close is news only
                self.tracer.emit(Log, level="warning", message=f"closing the bus failed: {exc!r}")

    def _capture_loop(self) -> None:
        """Remember how to reach this event loop from another thread (for ``cancel``)."""
        self._loop_thread = threading.get_ident()
        try:
            import asyncio

            self._call_soon = asyncio.get_running_loop().call_soon_threadsafe
        except RuntimeError:  # another backend (trio)
            import trio  # type: ignore[import-not-found]

            self._call_soon = trio.lowlevel.current_trio_token().run_sync_soon

    def _finish(self, status: str, output: Any, error: str | None, t0: float) -> RunResult:
        tracer = self.tracer
        tracer.emit(
            RunFinished, status=status, output=output, error=error, duration_s=tracer.now() - t0
        )
        problems = tracer.close_sinks()
        if problems:
            error = (error + "; " if error else "") + "recording failed: " + "; ".join(problems)
        events, carry = tracer.events, self._carry
        if carry is not None and carry.resumed and events:
            events = [*carry.history, *events]  # a resumed run's result is the whole run
        self.result = RunResult(
            self.run_id, self.name, status, output, error, events, self.trace_path
        )
        return self.result

    async def _make_plan(self) -> Plan:
        plan, planner_name = self.plan, "given"
        if plan is None:
            planner = self.orch.planner
            if planner is None:
                from toolkit.planning import RuleBasedPlanner

                planner = RuleBasedPlanner()
            planner_name = planner.name
            tracer = self.tracer
            # a planner that calls a model traces its calls as the "planner"
            session = AgentSession(tracer, self._bus, "planner", None, tracer.root_span)
            from toolkit.planning import PLANNED_BY

            token = PLANNED_BY.set(None)
            try:
                plan = await planner.plan(self.request, list(self.orch.agents.values()), session)
                planner_name = PLANNED_BY.get() or planner_name
            finally:
                PLANNED_BY.reset(token)
            self._deps = plan.validate_for(self.orch.agents)
        self.plan = plan
        deps = self._deps if self._deps is not None else plan.dependency_map()
        self._tasks = {t.id: t for t in plan.tasks}
        self._sched = Scheduler(list(self._tasks), deps, fail_fast=self.orch.fail_fast)
        self._deps = deps
        carry = self._carry
        if carry is None or not carry.plan_recorded:
            self.tracer.emit(PlanCreated, plan=plan.model_dump(mode="json"), planner=planner_name)
        if carry is not None:  # stored results are used, not made again
            self._results.update(carry.results)
            self._sched.resume(carry.results)
            carry.announce(self.tracer)
        return plan

    # -- the worker pool ---------------------------------------------------------
    async def _schedule(self) -> None:
        sched = self._sched
        assert sched is not None
        with anyio.CancelScope() as self._work_scope:
            if sched.ready <= 1:
                await self._worker()  # a lone ready task runs inline: no task spawned
            else:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    self._spawn()

    def _spawn(self) -> None:
        assert self._sched is not None
        for _ in range(min(self._sched.ready, self.orch.concurrency - self._workers)):
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        sched = self._sched
        assert sched is not None
        tasks, open_task, attempts, close_task = (
            self._tasks,
            self._open_task,
            self._attempts,
            self._close_task,
        )
        try:
            while (task_id := sched.start()) is not None:
                # one task: opened and closed by plain calls, so a step costs one
                # coroutine frame of the run's own (``_attempts``)
                task = tasks[task_id]
                tr, prompt, context = open_task(task)
                try:
                    if task.review is None:
                        output, rounds = await attempts(tr, prompt, context, 1), 1
                    else:
                        output, rounds = await review_loop(
                            task.review,
                            prompt,
                            context,
                            partial(attempts, tr),
                            partial(self._judge, tr),
                        )
                except _Ended:
                    pass  # its terminal event is recorded
                else:
                    close_task(tr, output, rounds)
                if sched.ready > 1:
                    if self._tg is None:
                        # the inline worker met a fan-out: go on in a task group
                        async with anyio.create_task_group() as tg:
                            self._tg = tg
                            self._spawn()
                        return
                    self._spawn()
        finally:
            if self._workers:
                self._workers -= 1

    # -- one task ----------------------------------------------------------------
    def _prompt(self, task: Task) -> str:
        text = task.prompt
        if not text:
            return task.goal or self.request
        for ref in references(text):
            value = self.request if ref == "input" else self._results.get(ref, "")
            text = text.replace("{{" + ref + "}}", as_text(value)).replace(
                "{{ " + ref + " }}", as_text(value)
            )
        return text

    def _open_task(self, task: Task) -> tuple[_TaskRun, str, dict[str, Any]]:
        """A started task's record, prompt and context (its dependencies' results)."""
        tracer = self.tracer
        policy = AttemptPolicy.of(task, self._default_timeout_s)
        tr = self._live[task.id] = _TaskRun(task, policy, tracer.ids.span_id(), tracer.now())
        results = self._results
        context = {dep: results.get(dep) for dep in self._deps[task.id]}  # type: ignore[index]
        return tr, self._prompt(task), context

    def _close_task(self, tr: _TaskRun, output: Any, rounds: int) -> None:
        """The task's output is accepted: record it, unless a stop ended the task first."""
        task_id, tracer = tr.task.id, self.tracer
        if not self._sched.finish(task_id):  # type: ignore[union-attr]
            return  # ended meanwhile (a stop): its terminal event is recorded
        del self._live[task_id]
        self._results[task_id] = output
        usage = tr.usage
        tracer.task_finished(
            tr.span,
            tracer.root_span,
            task_id,
            tr.agent,
            tr.attempt,
            output,
            tracer.now() - tr.t0,
            rounds,
            usage.tokens_in,
            usage.tokens_out,
            usage.cost_usd,
        )

    async def _attempts(
        self, tr: _TaskRun, prompt: str, context: dict[str, Any], round_: int
    ) -> Any:
        """Get one accepted output for a round: attempts, retries, fallback."""
        tracer, task, policy, sched = self.tracer, tr.task, tr.policy, self._sched
        assert sched is not None
        agent, attempt, retried = tr.agent, 1 + self._attempt_base.get(task.id, 0), 0
        while True:
            span = tracer.ids.span_id()
            tr.agent, tr.attempt = agent, attempt
            tracer.task_started(span, tr.span, task.id, agent, attempt, round_)
            call, sent_id, t0 = self._begin(tr, agent, prompt, context, attempt, round_, span)
            outcome = self._end(tr, call, sent_id, t0, await self._executor.call(call))
            if type(outcome) is not Failure:
                return outcome
            nxt = policy.after_failure(agent, retried, tr.fallback_used, outcome.error_type)
            if nxt is None:
                self._fail(tr, agent, str(outcome), outcome.error_type)
            tracer.emit(
                TaskFailed,
                span_id=span,
                parent_span_id=tr.span,
                task_id=task.id,
                agent=agent,
                attempt=attempt,
                error=outcome.error,
                error_type=outcome.error_type,
                final=False,
            )
            tracer.emit(
                TaskRetried,
                span_id=span,
                parent_span_id=tr.span,
                task_id=task.id,
                agent=nxt.agent,
                attempt=attempt + 1,
                delay_s=nxt.delay_s,
                reason=f"fallback after: {outcome}" if nxt.fallback else outcome.error,
                fallback=nxt.fallback,
            )
            agent, attempt = nxt.agent, attempt + 1
            if nxt.fallback:
                tr.fallback_used = True
            else:
                retried += 1
                if nxt.delay_s:
                    await self._clock.sleep(nxt.delay_s)
                    if not sched.is_running(task.id):
                        raise _Ended  # stopped during the backoff: nothing more starts

    def _begin(
        self,
        tr: _TaskRun,
        agent: str,
        prompt: str,
        context: dict[str, Any],
        attempt: int,
        round_: int,
        span: str,
    ) -> tuple[AgentCall, str, float]:
        """Send one directive: the call for the executor, the message id and the time."""
        tracer, task = self.tracer, tr.task
        directive = _DIRECTIVE.wrap(  # every field given, in declared order
            {
                "agent": agent,
                "task_id": task.id,
                "goal": task.goal,
                "prompt": prompt,
                "context": context,
                "attempt": attempt,
                "round": round_,
                "seed": self.seed,
                "meta": task.meta,
            }
        )
        sent = tracer.message(
            ORCHESTRATOR,
            agent,
            "directive",
            prompt,
            span_id=span,
            conversation_id=tr.span,
            task_id=task.id,
            attempt=attempt,
        )
        session = AgentSession(
            tracer, self._bus, agent, task.id, span, tr.span, directive_id=sent.message_id
        )
        call = AgentCall(agent, directive, tr.policy.timeout_s, session)
        return call, sent.message_id, tracer.now()

    def _end(self, tr: _TaskRun, call: AgentCall, sent_id: str, t0: float, outcome: Any) -> Any:
        """Record the reply (or the failure) of one call; the accepted output or a Failure."""
        tracer, task_id, directive = self.tracer, tr.task.id, call.directive
        if self._sched.status[task_id] != "running":  # type: ignore[union-attr]
            raise _Ended  # the run stopped while the agent worked: its reply is dropped
        if type(outcome) is not Failure:
            output, usage = outcome
            output = check_output(output, tr.policy.output_format)
            if type(output) is not Failure:
                usage["duration_s"] = tracer.now() - t0
                acc = tr.usage
                acc.tokens_in += usage["tokens_in"]
                acc.tokens_out += usage["tokens_out"]
                acc.cost_usd += usage["cost_usd"]
                tracer.message(
                    call.agent,
                    ORCHESTRATOR,
                    "result",
                    output,
                    span_id=call.session.span_id,
                    conversation_id=tr.span,
                    parent_id=sent_id,
                    task_id=task_id,
                    attempt=directive.attempt,
                    usage=usage,
                )
                return output
            outcome = output
        tracer.message(
            call.agent,
            ORCHESTRATOR,
            "error",
            outcome.error,
            span_id=call.session.span_id,
            conversation_id=tr.span,
            parent_id=sent_id,
            task_id=task_id,
            attempt=directive.attempt,
            usage={"duration_s": tracer.now() - t0},
        )
        return outcome

    def _fail(self, tr: _TaskRun, agent: str, error: str, error_type: str) -> NoReturn:
        """The task has failed for good: record it, act on what follows, end it."""
        sched, tracer, task_id = self._sched, self.tracer, tr.task.id
        assert sched is not None
        decisions = sched.fail(task_id)
        if decisions is None:
            raise _Ended  # already ended by a stop
        del self._live[task_id]
        tracer.emit(
            TaskFailed,
            span_id=tr.span,
            parent_span_id=tracer.root_span,
            task_id=task_id,
            agent=agent,
            attempt=tr.attempt,
            error=error,
            error_type=error_type,
            final=True,
            duration_s=tracer.now() - tr.t0,
        )
        self._apply(decisions)
        if sched.stop_reason is not None and self._work_scope is not None:
            self._work_scope.cancel()  # fail_fast: the running tasks are already recorded
        raise _Ended

    async def _judge(self, tr: _TaskRun, draft: Any, round_: int) -> tuple[bool, str]:
        """The reviewer's verdict on ``draft``."""
        review = tr.task.review
        assert review is not None
        tracer, task_id = self.tracer, tr.task.id
        reviewer, worker = review.reviewer, tr.agent
        span = tracer.ids.span_id()
        parent = tr.span
        tracer.emit(
            AgentStateChanged,
            span_id=span,
            parent_span_id=parent,
            agent=worker,
            state="waiting",
            task_id=task_id,
        )
        tracer.emit(
            AgentStateChanged,
            span_id=span,
            parent_span_id=parent,
            agent=reviewer,
            state="working",
            task_id=task_id,
        )
        prompt = review_prompt(review, draft, self.request)
        call, sent_id, t0 = self._begin(tr, reviewer, prompt, {"draft": draft}, 1, round_, span)
        verdict = self._end(tr, call, sent_id, t0, await self._executor.call(call))
        if type(verdict) is Failure:
            tracer.emit(
                AgentStateChanged,
                span_id=span,
                parent_span_id=parent,
                agent=reviewer,
                state="failed",
                task_id=task_id,
            )
            self._fail(tr, reviewer, f"reviewer failed: {verdict}", verdict.error_type)
        tracer.emit(
            AgentStateChanged, span_id=span, parent_span_id=parent, agent=reviewer, state="idle"
        )
        approved, feedback = read_verdict(verdict)
        tracer.emit(
            ReviewVerdict,
            span_id=span,
            parent_span_id=parent,
            task_id=task_id,
            reviewer=reviewer,
            worker=worker,
            round=round_,
            approved=approved,
            feedback=feedback,
        )
        return approved, feedback
