"""Connecting to Temporal and hosting a workflow's agents on a task queue.

Every worker on a task queue runs both halves of a run: the workflow (the scheduler,
replayed from history wherever it lands) and the agent calls of the agents it hosts.
Several workers, on several machines, may share a queue: Temporal hands each call to
one of them, and a call whose worker dies runs again on another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio._backends._asyncio  # noqa: F401 (loaded here: the sandbox would re-import it)
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from toolkit.agents import Agent
from toolkit.temporal._shapes import CallInput
from toolkit.temporal._workflow import SwitchboardRun
from toolkit.temporal.activities import AgentActivities, deliver_events
from toolkit.temporal.storage import data_converter

__all__ = ["DEFAULT_TASK_QUEUE", "connect", "make_worker"]

DEFAULT_TASK_QUEUE = "switchboard"
"""The task queue of runs and workers that name none."""

_PASSTHROUGH = ("toolkit", "anyio", "sniffio", "orjson", "yaml", "idna")
"""Modules the sandbox shares with the worker instead of re-importing them per run:
the toolkit's code is deterministic given the workflow's clock, ids and executor."""


async def connect(
    address: str, *, namespace: str = "default", blobs: str | Path | None = None
) -> Client:
    """A client of the Temporal server at ``address`` (``HOST:PORT``) with Switchboard's
    data converter (large payloads in files under ``blobs``)."""
    return await Client.connect(address, namespace=namespace, data_converter=data_converter(blobs))


def make_worker(
    client: Client,
    agents: Iterable[Agent],
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_concurrent_activities: int | None = None,
    sticky_timeout_s: float = 3.0,
    on_call: Callable[[CallInput, int], Any] | None = None,
    **options: Any,
) -> Worker:
    """A worker that runs Switchboard workflows and calls ``agents`` (run it with
    ``await worker.run()`` or ``async with worker:``).

    Args:
        sticky_timeout_s: A workflow task waits this long for the worker that ran the
            workflow last (it has it in memory) before any worker takes it and replays
            the history: short, so a dead worker's runs move on quickly.
        on_call: Told of each agent call this worker starts (and Temporal's attempt).
        options: More ``temporalio.worker.Worker`` options (``max_cached_workflows``, …).
    """
    hosted = AgentActivities({agent.name: agent for agent in agents}, on_call)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SwitchboardRun],
        activities=[hosted.call_agent, deliver_events],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*_PASSTHROUGH)
        ),
        max_concurrent_activities=max_concurrent_activities,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout_s),
        **options,
    )
