"""Serve one Switchboard agent over A2A with the SDK's own server parts.

The agent card is built from the agent's own card (name, description, one A2A skill
per skill). Each incoming message is one A2A task: submitted, working, then an
``output`` artifact and ``completed`` (or ``failed`` with the error's one line). While
the agent works, what it reports through its session (log lines, tool calls, model
calls, streamed tokens) goes out as ``working`` status updates, so a streaming client
sees the agent's progress live.

The app is wrapped in ``toolkit.web.guard``: with a token, every route but the agent
card and ``/health`` needs ``Authorization: Bearer <token>``; bodies over the limit
get a 413.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from toolkit.a2a_protocol.wire import JSON_MEDIA_TYPE, META_KEY, OUTPUT_ARTIFACT, jsonable
from toolkit.agents import Agent, Directive, Reply
from toolkit.describe import event_summary
from toolkit.extras import needs_extra
from toolkit.redact import redact
from toolkit.web import DEFAULT_MAX_BODY, guard

with needs_extra("a2a", "toolkit.a2a_protocol"):
    from a2a.helpers import get_data_parts, new_task_from_user_message, new_text_part
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import (
        AgentCapabilities,
        AgentCard,
        AgentInterface,
        AgentSkill,
        HTTPAuthSecurityScheme,
        Message,
        SecurityRequirement,
        SecurityScheme,
        StringList,
        TaskState,
    )
    from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
    from google.protobuf.json_format import MessageToDict
with needs_extra("remote", "toolkit.a2a_protocol"):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

__all__ = ["AgentExecutorAdapter", "a2a_app", "agent_card", "directive_from_message"]

_FORWARDED = frozenset({"log", "tool_call", "llm_call", "llm_delta"})
"""Session event kinds a served agent's progress is told with."""


def agent_card(agent: Agent, url: str, *, bearer: bool = False) -> AgentCard:
    """The A2A agent card of ``agent``, served at ``url``.

    Args:
        agent: The agent (its ``card()``: description and skills).
        url: Where its JSON-RPC endpoint is reached (``http://host:port/``).
        bearer: Whether calls need a bearer token (declared as a security scheme).
    """
    from toolkit import __version__

    card = agent.card() if hasattr(agent, "card") else {}
    description = str(card.get("description") or getattr(agent, "description", "") or agent.name)
    skills = [str(s) for s in card.get("skills", getattr(agent, "skills", ()))]
    a2a_skills = [
        AgentSkill(id=skill, name=skill, description=f"{description} ({skill})", tags=[skill])
        for skill in skills
    ] or [AgentSkill(id=agent.name, name=agent.name, description=description, tags=[agent.name])]
    fields: dict[str, Any] = {}
    if bearer:
        fields["security_schemes"] = {
            "bearer": SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="Authorization: Bearer <token>"
                )
            )
        }
        fields["security_requirements"] = [SecurityRequirement(schemes={"bearer": StringList()})]
    return AgentCard(
        name=agent.name,
        description=description,
        version=__version__,
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain", JSON_MEDIA_TYPE],
        default_output_modes=["text/plain", JSON_MEDIA_TYPE],
        skills=a2a_skills,
        **fields,
    )


def _text(parts: Any) -> str:
    return "\n".join(p.text for p in parts if p.HasField("text"))


def directive_from_message(message: Message, agent: str, task_id: str) -> Directive:
    """The directive an incoming A2A message stands for.

    A Switchboard client's message carries the directive in its metadata; any other
    client's message is its text parts (and data parts, as JSON) as the prompt.
    """
    extra: dict[str, Any] = {}
    if message.HasField("metadata"):
        meta = MessageToDict(message.metadata)
        given = meta.get(META_KEY, {}).get("directive", {})
        if isinstance(given, dict):
            extra = given
    prompt = _text(message.parts)
    data = get_data_parts(message.parts)
    if data:
        prompt = "\n".join([prompt, *(json.dumps(d, ensure_ascii=False) for d in data)]).strip()
    fields: dict[str, Any] = {"agent": agent, "task_id": task_id, "prompt": prompt}
    for key, kind in (
        ("task_id", str),
        ("goal", str),
        ("context", dict),
        ("meta", dict),
        ("attempt", float),
        ("round", float),
        ("seed", float),
    ):
        value = extra.get(key)
        if isinstance(value, kind) and not isinstance(value, bool):
            # protobuf metadata holds every number as a float
            fields[key] = int(value) if isinstance(value, float) else value
    return Directive(**fields)


class _ForwardingOutlet:
    """The served call's session events, sent out as ``working`` status updates."""

    def __init__(self, updater: TaskUpdater) -> None:
        self.updater = updater
        self.pending: list[asyncio.Future[None]] = []

    def publish(self, event: Any) -> None:
        if event.kind not in _FORWARDED:
            return
        text = event.text if event.kind == "llm_delta" else event_summary(event, 500)
        message = self.updater.new_agent_message(
            [new_text_part(text)], metadata={META_KEY: {"event": event.kind}}
        )
        # the updater's lock keeps these in order; the call waits for them before it ends
        self.pending.append(
            asyncio.ensure_future(
                self.updater.update_status(TaskState.TASK_STATE_WORKING, message=message)
            )
        )

    async def drain(self) -> None:
        pending, self.pending = self.pending, []
        await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> list[str]:
        return []


class AgentExecutorAdapter(AgentExecutor):
    """The SDK's ``AgentExecutor`` over one Switchboard agent: one A2A task per message."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        from toolkit.bus import MessageBus
        from toolkit.ids import RandomIds
        from toolkit.session import AgentSession, _current
        from toolkit.tracing import Tracer

        message = context.message
        assert message is not None
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        name = self.agent.name
        directive = directive_from_message(message, name, task.id)
        outlet = _ForwardingOutlet(updater)
        ids = RandomIds()
        tracer = Tracer(ids.run_id(), ids.trace_id(), ids=ids, outlet=outlet)
        session = AgentSession(
            tracer, MessageBus(tracer, [name]), name, directive.task_id, tracer.root_span
        )
        token = _current.set(session)
        try:
            raw = await self.agent.run(directive)
        except Exception as exc:
            await outlet.drain()
            error = redact(f"{type(exc).__name__}: {exc}")
            await updater.failed(updater.new_agent_message([new_text_part(error)]))
            return
        finally:
            _current.reset(token)
        await outlet.drain()
        usage: dict[str, Any] = {}
        output = raw
        if isinstance(raw, Reply):
            output = raw.output
            usage = {
                "tokens_in": raw.tokens_in,
                "tokens_out": raw.tokens_out,
                "cost_usd": raw.cost_usd,
                "model": raw.model,
            }
        if isinstance(output, str):
            part = new_text_part(output, media_type="text/plain")
        else:
            part = new_text_part(json.dumps(jsonable(output), ensure_ascii=False), JSON_MEDIA_TYPE)
        await updater.add_artifact(
            [part], name=OUTPUT_ARTIFACT, metadata={META_KEY: {"usage": jsonable(usage)}}
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id or "", context.context_id or "")
        await updater.cancel()


def a2a_app(
    agent: Agent,
    *,
    url: str,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Any:
    """An ASGI app serving ``agent`` over A2A (JSON-RPC at ``/``, card, ``/health``).

    Args:
        agent: The agent to serve.
        url: The URL clients reach it at (written into the agent card).
        token: The bearer token calls must carry; None serves without one.
        max_body: The largest request body accepted, in bytes.
    """
    card = agent_card(agent, url, bearer=token is not None)
    handler = DefaultRequestHandler(
        agent_executor=AgentExecutorAdapter(agent),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "agent": agent.name, "protocol": "a2a"})

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            *create_agent_card_routes(card),
            *create_jsonrpc_routes(handler, rpc_url="/"),
        ]
    )
    return guard(
        app, token=token, open_paths=("/health", AGENT_CARD_WELL_KNOWN_PATH), max_body=max_body
    )
