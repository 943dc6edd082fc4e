"""An A2A server built from the SDK's parts alone (no Switchboard agent, executor or
card code): the foreign peer that
``kind: a2a`` agents are tested and benchmarked against, shipped like
``toolkit.llm.testing`` so code that uses ``A2AAgent`` can test against it too.

``python -m toolkit.a2a_protocol.testing PORT`` serves it on 127.0.0.1 (``app(url)`` is
the Starlette app). Its behaviour follows the prompt: ``fail`` ends the task failed, ``ask`` asks for input, ``hang`` works
forever; anything else gets a working update, an artifact sent in two chunks and a
data artifact, then completed.
"""

from __future__ import annotations

import asyncio
import sys

from toolkit.extras import needs_extra

with needs_extra("a2a", "toolkit.a2a_protocol.testing"):
    from a2a.helpers import new_data_part, new_task_from_user_message, new_text_part
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
    from starlette.applications import Starlette


__all__ = ["Shouter", "app"]


class Shouter(AgentExecutor):
    """Shouts the request back (see the module's docstring for its other behaviours)."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        text = context.get_user_input()
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        up = TaskUpdater(event_queue, task.id, task.context_id)
        await up.start_work(up.new_agent_message([new_text_part("reading the request")]))
        if text == "fail":
            await up.failed(up.new_agent_message([new_text_part("the shouter lost its voice")]))
            return
        if text == "ask":
            await up.requires_input(up.new_agent_message([new_text_part("shout what?")]))
            return
        if text == "hang":
            await asyncio.Event().wait()
        await up.add_artifact([new_text_part(text.upper())], artifact_id="loud", name="shout")
        await up.add_artifact([new_text_part("!")], artifact_id="loud", name="shout", append=True)
        await up.add_artifact([new_data_part({"letters": len(text)})], name="stats")
        await up.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


def app(url: str) -> Starlette:
    """The shouter's A2A app, its card naming ``url`` as its JSON-RPC endpoint."""
    card = AgentCard(
        name="shouter",
        description="Repeats the request, louder",
        version="1.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="shout", name="shout", description="shouts", tags=["shout", "loud"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Shouter(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(
        routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, rpc_url="/")]
    )


if __name__ == "__main__":
    import uvicorn

    port = int(sys.argv[1])
    uvicorn.run(app(f"http://127.0.0.1:{port}/"), host="127.0.0.1", port=port, log_level="warning")
