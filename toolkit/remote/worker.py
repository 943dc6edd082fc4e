"""The worker: one agent served over HTTP, its own trace events streamed back.

``worker_app(agent)`` is a plain ASGI app (no framework, like ``toolkit.web``) with
three routes: ``GET /health`` (open), ``GET /card`` and ``POST /run`` (behind the
bearer token when one is set). ``/run`` validates the directive envelope (untrusted
network input: 4xx with a reason when it is not one), runs the agent with a session
of its own whose events go into the response as server-sent events while the agent
works, and ends with the answer envelope (``toolkit.remote.wire``). When the caller
goes away (its time limit, a crash), the agent's call is cancelled.

Messages an agent sends to other agents through its session stay in the worker: they
are not part of the HTTP call (a bus shared across processes is another engine).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from pydantic import ValidationError

from toolkit.agents import Agent, Directive, Reply
from toolkit.bus import MessageBus
from toolkit.events import Envelope
from toolkit.ids import IdFactory
from toolkit.redact import scrub
from toolkit.remote.wire import (
    CARD_PATH,
    HEALTH_PATH,
    PING,
    RUN_PATH,
    answer,
    envelope_frame,
    event_frame,
)
from toolkit.session import AgentSession, _current
from toolkit.tracing import Tracer
from toolkit.web import DEFAULT_MAX_BODY, ASGIApp, Receive, Scope, Send, error_body, guard

__all__ = ["CallHook", "worker_app"]

PING_EVERY_S = 15.0
"""An idle stream gets a comment this often, so proxies and load balancers keep it open."""

CallHook = Callable[[Envelope], None]
"""Told of each directive accepted and each answer sent (the CLI prints them)."""


class _FrameOutlet:
    """The worker session's outlet: each event becomes one SSE frame on the call's stream."""

    __slots__ = ("_send",)

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send

    def publish(self, event: Any) -> None:
        self._send(event_frame(event))

    def close(self) -> list[str]:
        return []


async def _json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _error(
    send: Send, status: int, reason: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _json(send, status, error_body(reason), extra or [])


def _problem(exc: ValidationError) -> str:
    """A short reason from a validation error: the first few places and messages."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{where}: {err['msg']}")
    more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


def worker_app(
    agent: Agent,
    *,
    token: str | None,
    max_body: int = DEFAULT_MAX_BODY,
    on_call: CallHook | None = None,
) -> ASGIApp:
    """The ASGI app serving ``agent``, behind ``toolkit.web.guard``.

    Args:
        agent: The agent to serve.
        token: The bearer token every call must bear (None: none; for loopback use).
        max_body: Largest directive accepted, in bytes.
        on_call: Told of each accepted directive and each answer (never of the token).
    """
    ids = IdFactory()
    name = agent.name
    in_progress = 0

    def health() -> bytes:
        return orjson.dumps(
            {
                "ok": True,
                "status": "ok",
                "agent": name,
                "kind": getattr(agent, "kind", "agent"),
                "protocol": "switchboard-worker/1",
                "calls_in_progress": in_progress,
            }
        )

    async def run_call(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal in_progress
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            directive_env = Envelope.model_validate_json(b"".join(chunks))
        except ValidationError as exc:
            await _error(send, 422, f"not a directive envelope: {_problem(exc)}")
            return
        if directive_env.kind != "directive":
            await _error(
                send, 422, f"envelope kind is {directive_env.kind!r}, expected 'directive'"
            )
            return
        try:
            directive = Directive.model_validate(directive_env.payload)
        except ValidationError as exc:
            await _error(send, 422, f"payload is not a directive: {_problem(exc)}")
            return
        if on_call is not None:
            on_call(directive_env)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        frames_in, frames_out = anyio.create_memory_object_stream[bytes](math.inf)
        put = frames_in.send_nowait

        def push(frame: bytes) -> None:
            try:  # noqa: SIM105 (once per event: a plain try costs less than suppress)
                put(frame)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass  # the call is over: a late event (a ping, a stray log) has nowhere to go

        tracer = Tracer(
            "remote", directive_env.trace_id, ids=ids, outlet=_FrameOutlet(push), keep=False
        )
        session = AgentSession(
            tracer,
            MessageBus(tracer, [name]),
            name,
            directive.task_id,
            directive_env.span_id,
            directive_env.conversation_id,
            directive_id=directive_env.message_id,
        )

        async def work() -> None:
            t0 = time.perf_counter()
            token_ = _current.set(session)
            try:
                raw = await agent.run(directive)
            except Exception as exc:
                reply = answer(
                    directive_env,
                    "error",
                    scrub(f"{type(exc).__name__}: {exc}"),
                    ids.span_id(),
                    {"duration_s": time.perf_counter() - t0},
                )
            else:
                usage: dict[str, Any] = {"duration_s": time.perf_counter() - t0}
                if isinstance(raw, Reply):
                    output = raw.output
                    usage.update(
                        tokens_in=raw.tokens_in,
                        tokens_out=raw.tokens_out,
                        cost_usd=raw.cost_usd,
                        model=raw.model,
                    )
                else:
                    output = raw
                reply = answer(directive_env, "result", scrub(output), ids.span_id(), usage)
            finally:
                _current.reset(token_)
            try:
                frame = envelope_frame(reply)
            except TypeError as exc:
                reply = answer(
                    directive_env,
                    "error",
                    f"the agent's reply is not JSON: {exc}",
                    reply.message_id,
                    reply.usage,
                )
                frame = envelope_frame(reply)
            push(frame)
            frames_in.close()
            if on_call is not None:
                on_call(reply)

        async def ping() -> None:
            while True:
                await anyio.sleep(PING_EVERY_S)
                push(PING)

        async def watch(scope_: anyio.CancelScope) -> None:
            # the body is read: the next message is the client going away
            while (await receive())["type"] != "http.disconnect":
                pass
            scope_.cancel()

        in_progress += 1
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, tg.cancel_scope)
                tg.start_soon(ping)
                tg.start_soon(work)
                try:
                    async for frame in frames_out:
                        await send({"type": "http.response.body", "body": frame, "more_body": True})
                    await send({"type": "http.response.body", "body": b""})
                except OSError:
                    pass  # the client went away while we wrote: the call is over
                tg.cancel_scope.cancel()
        finally:
            in_progress -= 1

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        routes = {HEALTH_PATH: "GET", CARD_PATH: "GET", RUN_PATH: "POST"}
        wanted = routes.get(path)
        if wanted is None:
            await _error(send, 404, f"no route {path[:200]!r} (routes: {', '.join(routes)})")
        elif method != wanted and not (wanted == "GET" and method == "HEAD"):
            await _error(
                send,
                405,
                f"{path} takes {wanted}, not {method[:20]}",
                [(b"allow", wanted.encode())],
            )
        elif path == RUN_PATH:
            await run_call(scope, receive, send)
        elif path == HEALTH_PATH:
            await _json(send, 200, health(), [])
        else:
            card = {"name": name, **agent.card()}
            await _json(send, 200, orjson.dumps(card, default=str), [])

    return guard(app, token=token, open_paths=(HEALTH_PATH,), max_body=max_body)
