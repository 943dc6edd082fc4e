"""The A2A protocol: serve any Switchboard agent as an A2A server, call any A2A server.

Built on the ``a2a-sdk`` package (the ``a2a`` extra), so what is served here speaks to
any A2A client and what calls out here speaks to any A2A server:

- ``a2a_app(agent, url=...)``: an ASGI app (Starlette) serving one agent: its agent
  card at ``/.well-known/agent-card.json`` (name, description, one skill per skill),
  JSON-RPC at ``/`` with streaming (``message/stream``) and ``/health``, behind
  ``toolkit.web.guard`` (bearer token, body limit). ``switchboard serve-a2a`` runs it.
- ``A2AAgent(name, url)``: an agent whose every directive is one A2A task on a
  server; its status updates and artifacts become ``a2a_update`` trace events. In a
  workflow file it is ``kind: a2a`` with ``url``.

The module is named ``a2a_protocol`` so that it never shadows the SDK's ``a2a``
package. Nothing here is imported by ``import toolkit``; the SDK loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["A2AAgent", "A2AError", "a2a_app", "agent_card"]

if TYPE_CHECKING:
    from toolkit.a2a_protocol.client import A2AAgent, A2AError
    from toolkit.a2a_protocol.server import a2a_app, agent_card

_HOMES = {
    "A2AAgent": "toolkit.a2a_protocol.client",
    "A2AError": "toolkit.a2a_protocol.client",
    "a2a_app": "toolkit.a2a_protocol.server",
    "agent_card": "toolkit.a2a_protocol.server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)
