"""The Temporal workflow that runs a plan: the whole ``Run`` inside, each agent call an activity.

The workflow executes the same ``Run`` as an in-process run (scheduler, attempt
policy, review loop, tracer), with workflow-safe parts injected:

- ``WorkflowClock``: ``workflow.now()`` and durable timers (``workflow.sleep``) for
  the retry backoff, so time is replayed, not read again;
- ``WorkflowIds``: span and message ids drawn from the run id, the same on replay;
- ``ActivityExecutor``: an agent call is ``workflow.execute_activity`` on the run's
  task queue, where the workers hosting the agents poll;
- ``_Buffer``: the outlet keeps the events in workflow state; a delivery lane hands
  them, in order and in batches, to a local activity that writes the outlets and
  skips what they already hold, so a replay never writes an event twice.

A human agent (``toolkit.human``) is no activity: it asks inside the workflow and
waits there for the answer signal (``ANSWER_SIGNAL``; ``switchboard answer --temporal``
and the HTTP answer route send it), so the wait is durable, its deadline a durable
timer, and the open questions are the ``QUESTIONS_QUERY``'s answer.

Code here does no I/O and reads no clock; the toolkit modules are passed through
the sandbox (they are deterministic given these injections).
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from toolkit.agents import Agent
    from toolkit.events import TraceEvent, dump_event, parse_event
    from toolkit.executor import AgentCall, InProcessExecutor, Outcome
    from toolkit.human import Answer, AnswerError, HumanAgent, Question
    from toolkit.orchestrator import Orchestrator
    from toolkit.plan import Plan
    from toolkit.planning import RouterPlanner, RuleBasedPlanner
    from toolkit.policy import Failure
    from toolkit.temporal._shapes import (
        AGENT_ACTIVITY,
        ANSWER_SIGNAL,
        CANCEL_SIGNAL,
        DELIVER_ACTIVITY,
        EVENTS_QUERY,
        QUESTIONS_QUERY,
        WORKFLOW,
        AnswerSignal,
        CallInput,
        CallResult,
        DeliverInput,
        DeliverResult,
        EventPage,
        RunOutcome,
        RunSpec,
    )

__all__ = ["ActivityExecutor", "SwitchboardRun", "WorkflowClock", "WorkflowIds"]

CALL_GRACE_S = 30.0
"""Beyond an attempt's own time limit (enforced by the worker), how long Temporal
waits before it takes the activity as lost."""
NO_LIMIT = timedelta(days=3650)
"""Start-to-close bound of a call without a time limit: the heartbeat finds a lost worker."""
INFRA_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    non_retryable_error_types=["UnknownAgent"],
)
"""Temporal's retries are for lost workers and unreachable outlets only: an agent's own
failure is a result, and the run's attempt policy decides what follows it."""
PAGE = 2000
"""Events per page of the events query."""


class WorkflowClock:
    """The workflow's time: replayed from history, timers durable."""

    __slots__ = ()

    def now(self) -> float:
        return workflow.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        await workflow.sleep(seconds)


class WorkflowIds:
    """The run's ids: given run and trace ids, span ids drawn from the run id."""

    def __init__(self, run_id: str, trace_id: str) -> None:
        self._run_id, self._trace_id = run_id, trace_id
        self._prefix = f"{random.Random(run_id).getrandbits(32):08x}"
        self._n = 0

    def run_id(self) -> str:
        return self._run_id

    def trace_id(self) -> str:
        return self._trace_id

    def span_id(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n:08x}"


class _CardAgent(Agent):
    """An agent as the workflow knows it: its card. Workers run the real one."""

    def __init__(self, name: str, card: dict[str, Any]) -> None:
        self.name = name
        self.kind = str(card.get("kind", "agent"))
        self.description = str(card.get("description", ""))
        self.skills = tuple(card.get("skills", ()))
        self._card = card

    def card(self) -> dict[str, Any]:
        return dict(self._card)

    async def run(self, directive: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("agents run on workers, as activities")


class _Inbox:
    """The run's open questions and the answers the signal brought (workflow state)."""

    __slots__ = ("answers", "open")

    def __init__(self) -> None:
        self.open: dict[str, Question] = {}
        """The open question of each waiting task, by task id."""
        self.answers: dict[str, Answer] = {}
        """The first fitting answer to each question, by question id."""

    def take(self, signal: AnswerSignal) -> str | None:
        """Keep a signalled answer if it fits an open question; else why not."""
        question = self.open.get(signal.task_id)
        if question is None or signal.question_id not in (None, question.question_id):
            return f"no open question for {signal.task_id}"
        if question.question_id in self.answers:
            return f"the question of {signal.task_id} is answered already"
        try:
            answer = Answer.model_validate(signal.answer).check(question)
        except (AnswerError, ValueError) as exc:
            return str(exc)
        self.answers[question.question_id] = answer
        return None


class _WorkflowHuman(HumanAgent):
    """A human agent asking inside the workflow: it waits for the answer signal."""

    inbox: _Inbox

    async def _wait(self, slot: Any, box: Any, now: float) -> Answer | None:
        question: Question = slot.question
        inbox = self.inbox
        inbox.open[question.task_id] = question
        deadline = question.deadline_at
        try:
            await workflow.wait_condition(
                lambda: question.question_id in inbox.answers,
                timeout=None if deadline is None else timedelta(seconds=max(deadline - now, 0)),
            )
        except TimeoutError:
            return None
        finally:
            if inbox.open.get(question.task_id) is question:
                del inbox.open[question.task_id]
        return inbox.answers[question.question_id]


_BASE_FIELDS = frozenset({"run_id", "seq", "ts", "trace_id", "span_id", "parent_span_id", "kind"})


class ActivityExecutor:
    """Performs each agent call as an activity on the run's task queue."""

    def __init__(self, spec: RunSpec, humans: dict[str, HumanAgent] | None = None) -> None:
        self.spec = spec
        self.humans = InProcessExecutor(humans or {})
        """Human agents ask in the workflow itself (no activity)."""

    async def call(self, call: AgentCall) -> Outcome:
        if call.agent in self.humans.agents:
            return await self.humans.call(call)
        spec, session = self.spec, call.session
        timeout = call.timeout_s
        handle = workflow.start_activity(
            AGENT_ACTIVITY,
            CallInput(
                agent=call.agent,
                directive=call.directive.model_dump(mode="json"),
                timeout_s=timeout,
                run_id=spec.run_id,
                trace_id=spec.trace_id,
                span_id=session.span_id,
                parent_span_id=session.parent_span_id,
                task_id=session.task_id,
                redact=spec.redact,
                heartbeat_s=spec.heartbeat_s,
            ),
            result_type=CallResult,
            task_queue=spec.task_queue,
            start_to_close_timeout=NO_LIMIT
            if timeout is None
            else timedelta(seconds=timeout + CALL_GRACE_S),
            heartbeat_timeout=timedelta(seconds=spec.heartbeat_s),
            retry_policy=INFRA_RETRY,
            summary=f"{call.agent} · {session.task_id}",
        )
        try:
            # shielded: a cancelled run (an anyio cancel scope) must leave this await at
            # once; awaiting the handle itself would hold the task until Temporal confirms
            # the activity's cancellation in a later workflow task, while anyio retries
            # its cancellation on every loop turn and the workflow task never yields
            result: CallResult = await asyncio.shield(handle)
        except asyncio.CancelledError:
            handle.cancel()  # ask the worker to stop the call; nobody waits for it
            raise
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "UnknownAgent":
                # a worker on this queue that does not host the agent: the attempt fails
                # with the worker's reason (the bare ActivityError says only "failed")
                return Failure(
                    f"UnknownAgent: {cause.message} (task queue {spec.task_queue!r})",
                    "unavailable",
                )
            raise
        tracer = session.tracer
        for line in result.events:  # the agent's own events, numbered into the run's stream
            event = parse_event(line)
            fields = {
                k: getattr(event, k) for k in type(event).model_fields if k not in _BASE_FIELDS
            }
            tracer.emit(type(event), event.span_id, event.parent_span_id, **fields)
        if result.error is not None:
            return Failure(result.error, result.error_type or "exception")
        return result.output, result.usage

    async def aclose(self) -> None:
        pass


class _Buffer:
    """The run's outlet inside the workflow: every event, kept in workflow state."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []

    def publish(self, event: TraceEvent) -> None:
        self.events.append(event)

    def close(self) -> list[str]:
        return []


@workflow.defn(name=WORKFLOW)
class SwitchboardRun:
    """One Switchboard run as a Temporal workflow (input ``RunSpec``)."""

    def __init__(self) -> None:
        self._buffer = _Buffer()
        self._delivered = 0
        self._finished = False
        self._run: Any = None
        self._cancel = False
        self._problems: list[str] = []
        self._inbox = _Inbox()

    @workflow.run
    async def run(self, spec: RunSpec) -> RunOutcome:
        buffer = self._buffer
        humans: dict[str, HumanAgent] = {}
        for name, card in spec.agents.items():
            if card.get("kind") == "human":
                human = _WorkflowHuman.from_card(name, card)
                assert isinstance(human, _WorkflowHuman)
                human.inbox = self._inbox
                humans[name] = human
        orch = Orchestrator(
            [humans.get(name) or _CardAgent(name, card) for name, card in spec.agents.items()],
            planner=RouterPlanner() if spec.planner == "router" else RuleBasedPlanner(),
            concurrency=spec.concurrency,
            seed=spec.seed,
            default_timeout_s=spec.default_timeout_s,
            fail_fast=spec.fail_fast,
            executor=ActivityExecutor(spec, humans),
            clock=WorkflowClock(),
            ids=lambda: WorkflowIds(spec.run_id, spec.trace_id),
            outlet=lambda sinks, keep: buffer,
            redact_secrets=spec.redact,
        )
        plan = Plan.model_validate(spec.plan) if spec.plan is not None else None
        run = self._run = orch.prepare(spec.request, plan, name=spec.name, seed=spec.seed)
        if self._cancel:
            run.cancel()
        lane = asyncio.create_task(self._deliver(spec)) if spec.outlets else None
        result = await run.execute()
        self._finished = True
        if lane is not None:
            await lane
        error = result.error
        if self._problems:
            error = (
                (error + "; " if error else "") + "recording failed: " + "; ".join(self._problems)
            )
        return RunOutcome(
            status=result.status, output=result.output, error=error, events=len(buffer.events)
        )

    async def _deliver(self, spec: RunSpec) -> None:
        """Hand the events to the outlets in order, one batch at a time, until the run ends."""
        events = self._buffer.events
        owner = f"temporal:{workflow.info().namespace}/{spec.run_id}"
        while True:
            await workflow.wait_condition(lambda: len(events) > self._delivered or self._finished)
            end = len(events)
            if end == self._delivered:
                return  # finished, and everything is delivered
            start = self._delivered
            result: DeliverResult = await workflow.execute_local_activity(
                DELIVER_ACTIVITY,
                DeliverInput(
                    run_id=spec.run_id,
                    outlets=spec.outlets,
                    lines=[dump_event(e).decode() for e in events[start:end]],
                    first_seq=start,
                    owner=owner,
                ),
                result_type=DeliverResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=INFRA_RETRY,
            )
            self._problems.extend(p for p in result.problems if p not in self._problems)
            self._delivered = end

    @workflow.query(name=EVENTS_QUERY)
    def events(self, after: int) -> EventPage:
        """The run's events from seq ``after`` on (a page of at most ``PAGE``)."""
        events = self._buffer.events
        end = min(len(events), max(after, 0) + PAGE)
        return EventPage(
            lines=[dump_event(e).decode() for e in events[after:end]],
            next=end,
            done=self._finished and end == len(events),
        )

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self) -> None:
        """Cancel the run: running tasks are cancelled, the rest skipped, all recorded."""
        self._cancel = True
        if self._run is not None:
            self._run.cancel()

    @workflow.signal(name=ANSWER_SIGNAL)
    def answer(self, signal: AnswerSignal) -> None:
        """A person's answer to a task's open question; the first that fits is taken
        (the sender checks it against the ``QUESTIONS_QUERY`` first, to say why not)."""
        problem = self._inbox.take(signal)
        if problem is not None:
            workflow.logger.info("answer not taken: %s", problem)

    @workflow.query(name=QUESTIONS_QUERY)
    def questions(self) -> list[dict[str, Any]]:
        """The open questions (``toolkit.human.Question`` as JSON) not answered yet."""
        inbox = self._inbox
        return [
            q.model_dump(mode="json")
            for q in inbox.open.values()
            if q.question_id not in inbox.answers
        ]
