"""The activities a Switchboard worker runs: one agent call, and one delivery of events.

``AgentActivities.call_agent`` performs an agent call with the in-process executor (the
attempt's time limit included), heartbeating while the agent works so that a killed
worker is noticed within ``heartbeat_s`` and the call runs again elsewhere. An agent
that raises or runs out of time is a result (``CallResult.error``), not an activity
failure: the run's attempt policy, inside the workflow, decides what follows. What the
agent records through its session (tool calls, logs, model calls, bus messages) comes
back with the result, and the workflow numbers it into the run's stream.

``deliver_events`` writes a batch to the run's outlets (``toolkit.temporal.outlets``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core
from temporalio import activity
from temporalio.exceptions import ApplicationError

from toolkit.agents import Agent, Directive
from toolkit.bus import MessageBus
from toolkit.events import dump_event, parse_event
from toolkit.executor import AgentCall, InProcessExecutor
from toolkit.policy import Failure
from toolkit.session import AgentSession
from toolkit.temporal._shapes import (
    AGENT_ACTIVITY,
    DELIVER_ACTIVITY,
    CallInput,
    CallResult,
    DeliverInput,
    DeliverResult,
)
from toolkit.temporal.outlets import OutletRefused, deliver
from toolkit.tracing import SinkOutlet, Tracer

__all__ = ["AgentActivities", "deliver_events"]


class _CallIds:
    """Ids of the events an agent records in one call: under the call's span, stable
    when the call runs again."""

    def __init__(self, span_id: str, trace_id: str) -> None:
        self._prefix, self._trace_id, self._n = f"{span_id}.", trace_id, 0

    def run_id(self) -> str:  # pragma: no cover - the tracer is given the run id
        raise RuntimeError("an agent call has no run id of its own")

    def trace_id(self) -> str:
        return self._trace_id

    def span_id(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n}"


async def _heartbeat(every_s: float) -> None:
    # the first beat after a pause: a quick call costs no heartbeat round trip at all
    while True:
        await asyncio.sleep(every_s)
        activity.heartbeat()


class AgentActivities:
    """The agent-call activity over the agents this worker hosts, by name."""

    def __init__(
        self, agents: Mapping[str, Agent], on_call: Callable[[CallInput, int], Any] | None = None
    ) -> None:
        self.agents = dict(agents)
        self.on_call = on_call
        """Told of each call this worker starts, and Temporal's attempt number (above 1:
        the call runs again after its worker was lost)."""
        self._executor = InProcessExecutor(self.agents)

    @activity.defn(name=AGENT_ACTIVITY)
    async def call_agent(self, call: CallInput) -> CallResult:
        if call.agent not in self.agents:
            raise ApplicationError(
                f"this worker hosts no agent {call.agent!r} (it hosts: {', '.join(sorted(self.agents))})",
                type="UnknownAgent",
                non_retryable=True,
            )
        if self.on_call is not None:
            self.on_call(call, activity.info().attempt)
        directive = Directive.model_validate(call.directive)
        outlet = SinkOutlet()
        tracer = Tracer(
            call.run_id,
            call.trace_id,
            ids=_CallIds(call.span_id, call.trace_id),
            outlet=outlet,
            redact=call.redact,
        )
        bus = MessageBus(tracer, list(self.agents))
        session = AgentSession(
            tracer, bus, call.agent, call.task_id, call.span_id, call.parent_span_id
        )
        beat = asyncio.create_task(_heartbeat(max(0.05, call.heartbeat_s / 3)))
        try:
            outcome = await self._executor.call(
                AgentCall(call.agent, directive, call.timeout_s, session)
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        events = [dump_event(e).decode() for e in outlet.events]
        if type(outcome) is Failure:
            return CallResult(error=outcome.error, error_type=outcome.error_type, events=events)
        output, usage = outcome  # type: ignore[misc]
        if type(output) is not str:
            try:
                pydantic_core.to_json(output)
            except pydantic_core.PydanticSerializationError as exc:
                return CallResult(
                    error=f"malformed output: cannot be carried as JSON ({exc})",
                    error_type="malformed",
                    events=events,
                )
        return CallResult(output=output, usage=usage, events=events)


@activity.defn(name=DELIVER_ACTIVITY)
async def deliver_events(batch: DeliverInput) -> DeliverResult:
    """Write a batch to every outlet of the run; an outlet that refuses is reported once."""
    events = [parse_event(line) for line in batch.lines]
    lines = [line.encode() for line in batch.lines]
    result = DeliverResult()
    for url in batch.outlets:
        try:
            result.written += deliver(url, events, lines, batch.owner)
        except OutletRefused as exc:
            result.problems.append(str(exc))
    return result
