"""``TemporalExecutor``: an orchestrator's runs go to Temporal as workflows.

Given to an ``Orchestrator`` (or chosen with ``switchboard run --executor temporal``),
it takes the whole run: the plan, the request, the seed, the agents' cards and the
run's limits go into a ``RunSpec``, the run starts as a workflow whose id is the run
id, and this process follows it. The trace file and the run store the run was given
are not written here but by the workers (the run goes on, and is recorded, if this
process dies); the run's other sinks (live views, callbacks) and its ``RunResult``
get every event from the workflow's events query, in ``seq`` order, as they happen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from toolkit.temporal._shapes import CANCEL_SIGNAL, WORKFLOW, RunOutcome, RunSpec
from toolkit.temporal.outlets import outlet_url
from toolkit.temporal.source import event_pages
from toolkit.temporal.worker import DEFAULT_TASK_QUEUE, connect
from toolkit.tracing import SinkOutlet

if TYPE_CHECKING:
    from temporalio.client import Client

    from toolkit.executor import AgentCall, Outcome
    from toolkit.run import Run, RunResult

__all__ = ["TemporalExecutor"]


class TemporalError(RuntimeError):
    """A run that cannot go to Temporal as it is (a planner that calls a model, say)."""


class TemporalExecutor:
    """Runs each run of an orchestrator as a Temporal workflow; workers run the agents.

    Args:
        address: The Temporal server, ``HOST:PORT``.
        task_queue: The queue the workers hosting the agents poll.
        namespace: The Temporal namespace.
        blobs: Directory for payloads over Temporal's size limit, shared with the
            workers (default ``toolkit.temporal.storage.DEFAULT_BLOBS``).
        heartbeat_s: An agent call not heard from for this long runs again elsewhere.
        poll_s: How often this process asks the workflow for new events while idle.
        on_start: Called with the run id once the workflow has started.
        client: A connected client to use instead of connecting to ``address``.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:7233",
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        namespace: str = "default",
        blobs: str | Path | None = None,
        heartbeat_s: float = 10.0,
        poll_s: float = 0.1,
        on_start: Callable[[str], Any] | None = None,
        client: Client | None = None,
    ) -> None:
        self.address = address
        self.task_queue = task_queue
        self.namespace = namespace
        self.blobs = blobs
        self.heartbeat_s = heartbeat_s
        self.poll_s = poll_s
        self.on_start = on_start
        self._client = client

    async def call(self, call: AgentCall) -> Outcome:
        raise TemporalError("on Temporal, agent calls are activities of the run's workflow")

    async def aclose(self) -> None:
        pass

    async def client(self) -> Client:
        if self._client is None:
            try:
                self._client = await connect(
                    self.address, namespace=self.namespace, blobs=self.blobs
                )
            except RuntimeError as exc:
                reason = str(exc).split(":", 1)[0]  # the SDK's reason, not its transport dump
                raise TemporalError(
                    f"cannot reach the Temporal server at {self.address} ({reason}); is it"
                    " running? (switchboard temporal dev starts one)"
                ) from None
        return self._client

    def spec(self, run: Run, outlets: list[str]) -> RunSpec:
        """The workflow input for ``run``.

        Raises:
            TemporalError: when part of the run cannot execute inside a workflow.
        """
        from toolkit.orchestrator import default_synthesizer
        from toolkit.planning import RouterPlanner, RuleBasedPlanner

        orch = run.orch
        planner = "rule-based"
        if run.plan is None:
            if isinstance(orch.planner, RouterPlanner):
                planner = "router"
            elif orch.planner is not None and not isinstance(orch.planner, RuleBasedPlanner):
                raise TemporalError(
                    f"the {orch.planner.name!r} planner cannot run inside a Temporal workflow"
                    " (workflow code does no I/O): give the run a plan"
                )
        if orch.synthesizer is not default_synthesizer:
            raise TemporalError("a run on Temporal uses the default synthesizer")
        return RunSpec(
            run_id=run.run_id,
            trace_id=run.tracer.trace_id,
            name=run.name,
            request=run.request,
            plan=None if run.plan is None else run.plan.model_dump(mode="json"),
            planner=planner,
            agents={name: agent.card() for name, agent in orch.agents.items()},
            seed=run.seed,
            concurrency=orch.concurrency,
            fail_fast=orch.fail_fast,
            default_timeout_s=orch.default_timeout_s,
            redact=orch.redact_secrets,
            task_queue=self.task_queue,
            outlets=outlets,
            heartbeat_s=self.heartbeat_s,
        )

    async def run_elsewhere(self, run: Run) -> RunResult:
        """Execute ``run`` as a workflow and follow it to the end (``Run.execute`` calls this)."""
        from toolkit.recorder import JsonlRecorder
        from toolkit.run import RunResult
        from toolkit.store import RunStore

        outlet = run.tracer.outlet
        outlets: list[str] = []
        if isinstance(outlet, SinkOutlet):  # the recorders are the workers' to write
            for sink in list(outlet.sinks):
                if isinstance(sink, JsonlRecorder):
                    outlets.append(outlet_url("jsonl", sink.path))
                elif isinstance(sink, RunStore) and isinstance(sink.path, Path):
                    outlets.append(outlet_url("sqlite", sink.path))
                else:
                    continue
                outlet.sinks.remove(sink)
                sink.close()
        spec = self.spec(run, outlets)
        client = await self.client()
        handle = await client.start_workflow(
            WORKFLOW,
            spec,
            id=run.run_id,
            task_queue=self.task_queue,
            result_type=RunOutcome,
        )
        if self.on_start is not None:
            self.on_start(run.run_id)
        cancelled = False
        async for events in event_pages(handle, poll_s=self.poll_s):
            for event in events:
                outlet.publish(event)
            if run.cancel_requested and not cancelled:
                cancelled = True
                await handle.signal(CANCEL_SIGNAL)
        while True:
            try:
                outcome = await handle.result()
                break
            except Exception as exc:  # the server restarts: the run is still there
                if _fatal(exc):
                    raise
                await anyio.sleep(0.5)
        problems = outlet.close()
        error = outcome.error
        if problems:
            error = (error + "; " if error else "") + "recording failed: " + "; ".join(problems)
        events = outlet.events if isinstance(outlet, SinkOutlet) else []
        return RunResult(
            run.run_id, run.name, outcome.status, outcome.output, error, events, run.trace_path
        )


def _fatal(exc: Exception) -> bool:
    """Whether a failed call means the run cannot be followed (not just not now: no
    worker answers the query yet, the server restarts)."""
    from temporalio.service import RPCError, RPCStatusCode

    if isinstance(exc, RPCError):
        return exc.status in (
            RPCStatusCode.NOT_FOUND,
            RPCStatusCode.INVALID_ARGUMENT,
            RPCStatusCode.PERMISSION_DENIED,
            RPCStatusCode.UNAUTHENTICATED,
        )
    return True
