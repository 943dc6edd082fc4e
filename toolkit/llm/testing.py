"""A scripted OpenAI-compatible chat completions server on loopback: a test double to import.

Test an agent, planner or synthesizer over the wire, with the real ``openai`` client
and no key, no network and no model (like pydantic-ai's ``TestModel``, but at the
HTTP level, so retries, streaming and cassettes are exercised for real)::

    from toolkit.llm import LLMAgent
    from toolkit.llm.testing import FakeOpenAI, Scripted

    with FakeOpenAI(["Hello!", Scripted(status=429, headers={"retry-after-ms": "10"}), "Again"]) as fake:
        agent = LLMAgent("a", model="gpt-4o-mini", base_url=fake.base_url)
        ...
        fake.requests[0].body["messages"]   # what the agent sent

It is a real HTTP server (``http.server`` on 127.0.0.1, a free port, its own
thread): SSE streaming with a final usage chunk, plain JSON replies, 429 and 5xx
errors with ``Retry-After``, hanging responses for timeouts, replies without usage, a
stream cut mid-reply. Each request is kept (path, headers, JSON body) for assertions.

Replies come from a script (one per request, in order) and, when the script runs
out, from a responder function of the request body (default: echo the last message).

Run it by hand to record against it: ``python -m toolkit.llm.testing`` serves a
responder that echoes, on the printed URL, until interrupted.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAI", "Received", "Scripted"]


@dataclass
class Scripted:
    """One scripted reply.

    Attributes:
        text: The completion text.
        chunks: How a streamed reply is cut (default: word by word).
        status: HTTP status; anything but 200 sends an OpenAI-style error body.
        error: The error message of a non-200 reply.
        headers: Extra response headers (``retry-after-ms`` …).
        prompt_tokens: Usage reported (default: words in the request's messages).
        completion_tokens: Usage reported (default: words in ``text``).
        usage: Report usage at all.
        hang: Send nothing until the server stops (for timeouts).
        echo_auth: Put the request's Authorization header into the error message,
            like a careless server would (for secret-redaction tests).
        model: The model name reported (default: the requested one).
        break_after: Close a streamed reply after this many content chunks, with no
            finish_reason and no ``[DONE]`` (a server dying mid-reply).
    """

    text: str = ""
    chunks: list[str] | None = None
    status: int = 200
    error: str = "scripted error"
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage: bool = True
    hang: bool = False
    echo_auth: bool = False
    model: str | None = None
    break_after: int | None = None


@dataclass
class Received:
    """A request the server got."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _words(text: str) -> int:
    return len(text.split())


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or [text]


def _echo(body: dict[str, Any]) -> Scripted:
    messages = body.get("messages") or [{}]
    return Scripted(text=f"echo: {messages[-1].get('content', '')}")


class FakeOpenAI:
    """A scripted OpenAI-compatible server; use it as a context manager.

    Args:
        script: Replies in order (a ``str`` is a 200 reply with that text).
        responder: Makes the reply once the script is used up.
    """

    def __init__(
        self,
        script: Iterable[Scripted | str] = (),
        responder: Callable[[dict[str, Any]], Scripted | str] = _echo,
    ) -> None:
        self.script: deque[Scripted | str] = deque(script)
        self.responder = responder
        self.requests: list[Received] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def add(self, *replies: Scripted | str) -> None:
        """Append replies to the script."""
        with self._lock:
            self.script.extend(replies)

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------
    def _next(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            item = self.script.popleft() if self.script else None
        if item is None:
            item = self.responder(body)
        return Scripted(text=item) if isinstance(item, str) else item

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        with self._lock:
            self.requests.append(
                Received(h.path, {k.lower(): v for k, v in h.headers.items()}, body)
            )
        if not h.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(
                h, 404, {"error": {"message": f"no route {h.path}", "type": "not_found"}}
            )
            return
        reply = self._next(body)
        if reply.hang:
            self._release.wait()
            return
        if reply.status != 200:
            message = reply.error
            if reply.echo_auth:
                message += f" (you sent Authorization: {h.headers.get('Authorization')})"
            kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(
                reply.status, "server_error"
            )
            self._send_json(
                h,
                reply.status,
                {"error": {"message": message, "type": kind, "code": kind}},
                reply.headers,
            )
            return
        model = reply.model or body.get("model", "fake")
        prompt_tokens = (
            reply.prompt_tokens
            if reply.prompt_tokens is not None
            else sum(_words(str(m.get("content", ""))) for m in body.get("messages", []))
        )
        completion_tokens = (
            reply.completion_tokens if reply.completion_tokens is not None else _words(reply.text)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not body.get("stream"):
            data = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": "stop",
                    }
                ],
            }
            if reply.usage:
                data["usage"] = usage
            self._send_json(h, 200, data, reply.headers)
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        for name, value in reply.headers.items():
            h.send_header(name, value)
        h.end_headers()

        def event(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": choices,
                **(extra or {}),
            }
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()

        event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for n, piece in enumerate(
            reply.chunks if reply.chunks is not None else _pieces(reply.text)
        ):
            if n == reply.break_after:
                return  # HTTP/1.0: the connection closes, the body simply ends
            event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        if reply.usage and include_usage:
            event([], {"usage": usage})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    @staticmethod
    def _send_json(
        h: BaseHTTPRequestHandler,
        status: int,
        data: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = json.dumps(data).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(payload)


if __name__ == "__main__":  # pragma: no cover
    with FakeOpenAI() as server:
        print(f"fake OpenAI-compatible server on {server.base_url} (Ctrl-C stops it)")
        threading.Event().wait()
