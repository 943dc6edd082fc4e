"""Agents across processes and machines over HTTP.

A worker process serves one agent (``switchboard serve-agent``, ``worker_app``): a
directive envelope comes in, the agent's own trace events stream back as server-sent
events while it works, and a result or error envelope with the same ids ends the
stream. ``HttpAgent`` (workflow kind ``http``) is the orchestrator's side: an agent
whose ``run`` is that call, so a remote agent's tool calls, model calls and tokens
land in the run's trace as if it ran in process.

Starlette, uvicorn and httpx come with the ``remote`` extra and load only here, on
first use; ``toolkit.remote.spec`` (the workflow kind) needs none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit._lazy import lazy_exports

__all__ = ["HttpAgent", "HttpSpec", "worker_app"]

_EXPORTS = {
    "HttpAgent": "toolkit.remote.http_agent",
    "HttpSpec": "toolkit.remote.spec",
    "worker_app": "toolkit.remote.worker",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from toolkit.remote.http_agent import HttpAgent
    from toolkit.remote.spec import HttpSpec
    from toolkit.remote.worker import worker_app
