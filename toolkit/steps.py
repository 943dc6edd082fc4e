"""The steps of a run's tasks: each attempt, retry, fallback and review round, recorded.

``Steps`` acts on the answers of the parts that decide (the pure ``Scheduler``, the
``AttemptPolicy``, the review loop) and of the ``Executor`` that performs each agent
call, and emits the events of every step: ``task_started``, the directive and its
reply, ``task_failed``/``task_retried``, the review's states and verdict,
``task_finished``. The worker pool (``toolkit.pool``) calls ``open``, ``attempts`` (or
the review loop over ``attempts`` and ``judge``) and ``close`` for each task it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from toolkit.agents import Directive
from toolkit.events import (
    ORCHESTRATOR,
    AgentStateChanged,
    ReviewVerdict,
    TaskFailed,
    TaskRetried,
    TaskSkipped,
)
from toolkit.executor import AgentCall
from toolkit.plan import Task, references
from toolkit.policy import AttemptPolicy, Failure, Usage, check_output
from toolkit.review import as_text, read_verdict, review_prompt
from toolkit.scheduler import Decision, Scheduler, Skip
from toolkit.session import AgentSession
from toolkit.tracing import Tracer, trusted_maker

if TYPE_CHECKING:
    from toolkit.bus import Bus
    from toolkit.clock import Clock
    from toolkit.executor import Executor

__all__ = ["Ended", "Steps", "TaskRun"]

_DIRECTIVE = trusted_maker(Directive)  # the orchestrator's own, known-good values


class Ended(Exception):
    """The task has ended (its terminal event is recorded): nothing more to do for it."""


class TaskRun:
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


class Steps:
    """Makes and records the steps of one run's tasks.

    Args:
        tracer: The run's tracer.
        sched: The run's scheduler (``finish``, ``fail`` and ``stop`` are told here).
        tasks: The plan's tasks by id.
        deps: Each task's dependencies (their results are its context).
        executor: Performs each agent call.
        clock: Waits out retry backoffs.
        bus: The run's bus (each call's session reaches it).
        request: The user's request (``{{input}}``).
        seed: The run's seed, given to agents.
        default_timeout_s: The attempt time limit of tasks without their own.
        attempt_base: Attempts already made of each task (a resumed task's numbers go on).
        results: Each finished task's output (stored results of a resumed run included).
    """

    def __init__(
        self,
        tracer: Tracer,
        sched: Scheduler,
        tasks: dict[str, Task],
        deps: dict[str, list[str]],
        executor: Executor,
        clock: Clock,
        bus: Bus,
        *,
        request: str,
        seed: int | None,
        default_timeout_s: float | None,
        attempt_base: dict[str, int],
        results: dict[str, Any],
    ) -> None:
        self.tracer = tracer
        self.sched = sched
        self.tasks = tasks
        self.deps = deps
        self.executor = executor
        self.clock = clock
        self.bus = bus
        self.request = request
        self.seed = seed
        self.default_timeout_s = default_timeout_s
        self.attempt_base = attempt_base
        self.results = results
        self.live: dict[str, TaskRun] = {}
        """The running tasks, by id."""
        self.stop_work: Callable[[], None] | None = None
        """Cancels the running work once a failure stopped the run (set by the pool)."""

    def apply(self, decisions: list[Decision]) -> None:
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
                    agent=self.tasks[task_id].agent,
                    reason=decision.reason,
                )
                continue
            tr = self.live.pop(task_id)
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

    def prompt(self, task: Task) -> str:
        text = task.prompt
        if not text:
            return task.goal or self.request
        for ref in references(text):
            value = self.request if ref == "input" else self.results.get(ref, "")
            text = text.replace("{{" + ref + "}}", as_text(value)).replace(
                "{{ " + ref + " }}", as_text(value)
            )
        return text

    def open(self, task: Task) -> tuple[TaskRun, str, dict[str, Any]]:
        """A started task's record, prompt and context (its dependencies' results)."""
        tracer = self.tracer
        policy = AttemptPolicy.of(task, self.default_timeout_s)
        tr = self.live[task.id] = TaskRun(task, policy, tracer.ids.span_id(), tracer.now())
        results = self.results
        context = {dep: results.get(dep) for dep in self.deps[task.id]}
        return tr, self.prompt(task), context

    def close(self, tr: TaskRun, output: Any, rounds: int) -> None:
        """The task's output is accepted: record it, unless a stop ended the task first."""
        task_id, tracer = tr.task.id, self.tracer
        if not self.sched.finish(task_id):
            return  # ended meanwhile (a stop): its terminal event is recorded
        del self.live[task_id]
        self.results[task_id] = output
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

    async def attempts(self, tr: TaskRun, prompt: str, context: dict[str, Any], round_: int) -> Any:
        """Get one accepted output for a round: attempts, retries, fallback."""
        tracer, task, policy, sched = self.tracer, tr.task, tr.policy, self.sched
        agent, attempt, retried = tr.agent, 1 + self.attempt_base.get(task.id, 0), 0
        while True:
            span = tracer.ids.span_id()
            tr.agent, tr.attempt = agent, attempt
            tracer.task_started(span, tr.span, task.id, agent, attempt, round_)
            call, sent_id, t0 = self._begin(tr, agent, prompt, context, attempt, round_, span)
            outcome = self._end(tr, call, sent_id, t0, await self.executor.call(call))
            if type(outcome) is not Failure:
                return outcome
            nxt = policy.after_failure(agent, retried, tr.fallback_used, outcome.error_type)
            if nxt is None:
                self.fail(tr, agent, str(outcome), outcome.error_type)
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
                    await self.clock.sleep(nxt.delay_s)
                    if not sched.is_running(task.id):
                        raise Ended  # stopped during the backoff: nothing more starts

    def _begin(
        self,
        tr: TaskRun,
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
            tracer, self.bus, agent, task.id, span, tr.span, directive_id=sent.message_id
        )
        call = AgentCall(agent, directive, tr.policy.timeout_s, session)
        return call, sent.message_id, tracer.now()

    def _end(self, tr: TaskRun, call: AgentCall, sent_id: str, t0: float, outcome: Any) -> Any:
        """Record the reply (or the failure) of one call; the accepted output or a Failure."""
        tracer, task_id, directive = self.tracer, tr.task.id, call.directive
        if self.sched.status[task_id] != "running":
            raise Ended  # the run stopped while the agent worked: its reply is dropped
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

    def fail(self, tr: TaskRun, agent: str, error: str, error_type: str) -> NoReturn:
        """The task has failed for good: record it, act on what follows, end it."""
        sched, tracer, task_id = self.sched, self.tracer, tr.task.id
        decisions = sched.fail(task_id)
        if decisions is None:
            raise Ended  # already ended by a stop
        del self.live[task_id]
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
        self.apply(decisions)
        if sched.stop_reason is not None and self.stop_work is not None:
            self.stop_work()  # fail_fast: the running tasks are already recorded
        raise Ended

    async def judge(self, tr: TaskRun, draft: Any, round_: int) -> tuple[bool, str]:
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
        verdict = self._end(tr, call, sent_id, t0, await self.executor.call(call))
        if type(verdict) is Failure:
            tracer.emit(
                AgentStateChanged,
                span_id=span,
                parent_span_id=parent,
                agent=reviewer,
                state="failed",
                task_id=task_id,
            )
            self.fail(tr, reviewer, f"reviewer failed: {verdict}", verdict.error_type)
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
