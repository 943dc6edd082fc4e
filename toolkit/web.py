"""What every Switchboard HTTP server shares: bearer tokens, body limits, JSON errors.

The agent worker (``switchboard serve-agent``), the start API (``switchboard serve``)
and the A2A server are ASGI apps. Each wraps itself in ``guard``: a bearer token on
every route but the open ones (health, the agent card), compared in constant time and
never echoed or logged, and a cap on the request body, so a client that sends too much
gets a 413 before the body is read whole. Errors are JSON ``{"error": reason}`` with a
4xx status, the reason saying what is wrong.

Plain ASGI, no framework import: the middleware works under Starlette, FastAPI or any
other ASGI app.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

import orjson

__all__ = [
    "DEFAULT_MAX_BODY",
    "TokenError",
    "error_body",
    "guard",
    "token_from_env",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY = 4 * 1024 * 1024
"""Largest request body accepted by default (4 MiB), the same bound as a workflow file."""


class TokenError(ValueError):
    """The token variable a server was told to use is unset or empty."""


def token_from_env(var: str) -> str:
    """The bearer token held by environment variable ``var``.

    Raises:
        TokenError: the variable is unset or empty (the message names the variable,
            never a value).
    """
    token = os.environ.get(var, "")
    if not token.strip():
        raise TokenError(f"environment variable {var} is not set or empty: it must hold the token")
    return token.strip()


def error_body(reason: str) -> bytes:
    """The JSON body of an error response."""
    return orjson.dumps({"error": reason})


async def _respond(
    send: Send, status: int, reason: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = error_body(reason)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def guard(
    app: ASGIApp,
    *,
    token: str | None,
    open_paths: Collection[str] = ("/health",),
    max_body: int = DEFAULT_MAX_BODY,
) -> ASGIApp:
    """``app`` behind a bearer token and a request-body limit.

    Args:
        app: The ASGI application.
        token: The token every request must bear (``Authorization: Bearer ...``); None
            serves without one (for loopback use; the servers say so when they start).
        open_paths: Paths served without a token (exact matches).
        max_body: Largest request body in bytes; more gets 413.
    """
    expected = token.encode() if token is not None else None
    open_set = frozenset(open_paths)

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if expected is not None and scope.get("path") not in open_set:
            given = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    given = value
                    break
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), expected):
                reason = "missing bearer token" if not given else "invalid bearer token"
                await _respond(
                    send, 401, reason, [(b"www-authenticate", b'Bearer realm="switchboard"')]
                )
                return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _respond(send, 400, "content-length is not a number")
                    return
                if declared > max_body:
                    await _respond(
                        send,
                        413,
                        f"request body of {declared} bytes is over the limit of {max_body}",
                    )
                    return
        seen = 0
        started = responded = False

        async def limited_receive() -> Message:
            # past the limit: answer 413 here and tell the app the client went away,
            # so whatever framework is inside stops reading without a 500
            nonlocal seen, responded
            if responded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    if not started:
                        responded = True
                        await _respond(
                            send, 413, f"request body is over the limit of {max_body} bytes"
                        )
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if responded:
                return  # the 413 is already sent: the app's own answer is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, limited_receive, tracking_send)
        except Exception:
            if not responded:
                raise

    return guarded
