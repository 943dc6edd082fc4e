"""One execution of a plan: the scheduler's decisions carried out, every step recorded.

``Run`` composes the parts of the orchestrator: the pure ``Scheduler`` decides which
task starts and what a failure or a stop means; the ``WorkerPool`` starts them;
``Steps`` makes each task's attempts (``AttemptPolicy``: time limits, retries,
fallbacks; the review loop) through the ``Executor`` and records them; the planner
(``toolkit.planning.make_plan``), the bus and the carry-over of a stored run
(``toolkit.durable``) are the orchestrator's. ``Run`` itself opens and closes the run,
and makes ``cancel`` safe from any thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from toolkit.bus import close_bus
from toolkit.clock import is_simulated
from toolkit.events import ORCHESTRATOR, USER, Log, PlanCreated, RunFinished, RunStarted
from toolkit.loop import LoopHandle
from toolkit.plan import CheckedPlan, Plan, PlanError
from toolkit.pool import WorkerPool
from toolkit.result import RunResult
from toolkit.scheduler import Scheduler
from toolkit.session import AgentSession
from toolkit.steps import Steps
from toolkit.tracing import Tracer

if TYPE_CHECKING:
    from toolkit.durable import Carryover
    from toolkit.orchestrator import Orchestrator

__all__ = ["Run", "RunResult"]

CANCELLED = "the run was cancelled"


class Run:
    """One execution of a plan. Execute it once; ``cancel`` stops it cleanly.

    Made by ``Orchestrator.prepare``; ``deps`` is the plan's checked dependency map, or
    ``checked`` the plan's check (its map and its JSON form, ``Plan.check_for``).
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
        checked: CheckedPlan | None = None,
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
        self._checked = checked
        self._deps = deps if checked is None else checked.deps
        self._steps: Steps | None = None
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False
        self._loop = LoopHandle()

    # -- control ---------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: running tasks are cancelled, the rest skipped, all recorded.

        Safe to call from any thread, before the run has started and after it ended;
        it never raises and never waits.
        """
        self._cancel_requested = True
        if self._scope is None or self.result is not None:
            return  # not started yet (it will not start), or already over
        self._loop.call(self._cancel_now)  # dropped once the run's loop has closed: it is over

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
        if self._steps is not None:
            self._steps.apply(self._steps.sched.stop(reason))

    # -- execution -------------------------------------------------------------
    async def execute(self) -> RunResult:
        """Run to the end and return the result; every outcome is recorded.

        On a simulated clock the run executes on a virtual-time loop: in place when it
        is already on one, else in a thread of its own while this task waits.
        """
        if is_simulated(self.orch.clock):
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
        tracer, orch = self.tracer, self.orch
        if (elsewhere := getattr(orch.executor, "run_elsewhere", None)) is not None:
            # a durable engine runs the whole plan (toolkit.temporal) and fills the outlet
            self.result = await elsewhere(self)
            return self.result
        self._loop.bind()  # for ``cancel`` from another thread
        status, output, error = "failed", None, None
        t0, conversation, asked_id = self._open()
        bus = orch.bus(tracer, [ORCHESTRATOR, *orch.agents])
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                if self._cancel_requested:
                    scope.cancel()
                steps = await self._start(bus)
                sched, plan = steps.sched, self.plan
                assert plan is not None
                await WorkerPool(sched, steps, orch.concurrency).run()
                if sched.stop_reason is None:
                    session = AgentSession(tracer, bus, ORCHESTRATOR, None, tracer.root_span)
                    output = await orch.synthesizer(self.request, plan, steps.results, session)
                    # failed or skipped because of a failure: either way not done
                    failed = [t for t, s in sched.status.items() if s != "done"]
                    if failed:
                        error = f"{len(failed)} task(s) failed: {', '.join(sorted(failed))}"
                    else:
                        status = "succeeded"
                elif not self._cancel_requested:
                    error = sched.stop_reason  # fail_fast stopped the run
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
        if status != "cancelled":
            # the user is told the run failed, never handed a partial answer as a result
            ok = status == "succeeded"
            tracer.message(
                ORCHESTRATOR, USER, "result" if ok else "error", output if ok else error,
                span_id=tracer.root_span, conversation_id=conversation, parent_id=asked_id,
            )  # fmt: skip
        await close_bus(bus, tracer)
        return self._finish(status, output, error, t0)

    def _open(self) -> tuple[float, str, str]:
        """The run's first events (or a resumed run's): its start, the request's
        conversation and message id."""
        tracer, carry = self.tracer, self._carry
        if carry is not None and carry.resumed:
            return carry.continue_run(tracer, self.request)
        t0 = tracer.now()
        simulated = is_simulated(self.orch.clock)
        tracer.emit(
            RunStarted,
            name=self.name,
            request=self.request,
            agents={name: agent.card() for name, agent in self.orch.agents.items()},
            seed=self.seed,
            meta={**self.meta, "clock": "simulated"} if simulated else self.meta,
        )
        conversation = tracer.ids.span_id()
        asked = tracer.message(
            USER, ORCHESTRATOR, "directive", self.request,
            span_id=tracer.root_span, conversation_id=conversation,
        )  # fmt: skip
        return t0, conversation, asked.message_id

    async def _start(self, bus: Any) -> Steps:
        """The plan (made by the planner when none was given), recorded, and its steps."""
        orch, tracer, carry, planner_name = self.orch, self.tracer, self._carry, "given"
        if self.plan is None:
            from toolkit.planning import make_plan  # loaded when a run has no plan

            session = AgentSession(tracer, bus, "planner", None, tracer.root_span)
            agents = orch.agents.values()
            self.plan, planner_name = await make_plan(orch.planner, self.request, agents, session)
            self._deps = self.plan.validate_for(orch.agents)
        plan = self.plan
        deps = self._deps if self._deps is not None else plan.dependency_map()
        tasks = {t.id: t for t in plan.tasks}
        sched = Scheduler(list(tasks), deps, fail_fast=orch.fail_fast)
        self._steps = Steps(
            tracer, sched, tasks, deps, orch.executor, orch.clock, bus,
            request=self.request, seed=self.seed, default_timeout_s=orch.default_timeout_s,
            attempt_base=carry.attempts if carry is not None else {}, results={},
        )  # fmt: skip
        if carry is None or not carry.plan_recorded:
            checked = self._checked
            if checked is None:
                tracer.emit(PlanCreated, plan=plan.model_dump(mode="json"), planner=planner_name)
            else:  # dumped (and scrubbed) once for every run of this plan
                dump = checked.scrubbed() if tracer.redacts else checked.dump
                tracer.emit_scrubbed(PlanCreated, plan=dump, planner=planner_name)
        if carry is not None:
            carry.take_over(self._steps)  # stored results are used, not made again
        if self._cancel_requested:
            self._stop(CANCELLED)
        return self._steps

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
