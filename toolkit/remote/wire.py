"""The worker protocol: one directive envelope in, a stream of events, one envelope out.

``POST /run`` takes an ``Envelope`` of kind ``directive`` whose payload is the
``Directive``. The answer is ``text/event-stream``: ``trace`` events carry the agent's
own trace events (logs, tool calls, model calls, streamed tokens) as they happen, and
one ``result`` event ends the stream with an envelope of kind ``result`` (payload: the
output; ``usage``: tokens, cost, model, duration) or ``error`` (payload: the reason),
with the directive's conversation, trace and span ids and ``parent_id`` set to the
directive's message id. A stream that ends without a ``result`` means the worker
stopped mid-task. ``GET /health`` answers without a token.

Both ends import this module; it needs nothing beyond the core.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from toolkit.events import Envelope, dump_event

__all__ = [
    "FORWARDED_KINDS",
    "MAX_EVENT_BYTES",
    "RUN_PATH",
    "RemoteUsage",
    "SSEReader",
    "answer",
    "sse_frame",
]

RUN_PATH = "/run"
HEALTH_PATH = "/health"
CARD_PATH = "/card"

FORWARDED_KINDS = frozenset({"log", "tool_call", "llm_call", "llm_delta"})
"""The trace events of an agent's own session that a worker streams back and a caller
re-emits; anything else a worker sends is ignored (the run's own events are the run's)."""

MAX_EVENT_BYTES = 4 * 1024 * 1024
"""Largest server-sent event a caller accepts (4 MiB, the request-body limit)."""


class RemoteUsage(BaseModel):
    """The usage figures of a result envelope, as a caller reads them (untrusted)."""

    model_config = ConfigDict(extra="ignore")

    tokens_in: int = Field(default=0, ge=0)
    tokens_out: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    model: str | None = Field(default=None, max_length=200)


def answer(
    directive: Envelope,
    kind: str,
    payload: Any,
    message_id: str,
    usage: dict[str, Any] | None = None,
) -> Envelope:
    """The result or error envelope answering ``directive``: same conversation, trace,
    span, task and attempt; from its recipient to its sender; ``parent_id`` is its id."""
    return Envelope(
        message_id=message_id,
        conversation_id=directive.conversation_id,
        trace_id=directive.trace_id,
        span_id=directive.span_id,
        parent_id=directive.message_id,
        sender=directive.recipient,
        recipient=directive.sender,
        kind=kind,  # type: ignore[arg-type]
        payload=payload,
        task_id=directive.task_id,
        attempt=directive.attempt,
        sent_at=time.time(),
        usage=usage,
    )


def sse_frame(name: str, data: bytes) -> bytes:
    """One server-sent event (``data`` is compact JSON: it holds no newline)."""
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


def event_frame(event: BaseModel) -> bytes:
    return sse_frame("trace", dump_event(event))


def envelope_frame(envelope: Envelope) -> bytes:
    return sse_frame("result", orjson.dumps(envelope.__dict__, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


PING = b": ping\n\n"
"""A comment line that keeps an idle stream alive through proxies; readers skip it."""


class SSEReader:
    """Splits a byte stream into server-sent events ``(name, data)``, bounded.

    Only ``event:`` and ``data:`` fields are read (a multi-line ``data`` is joined with
    newlines, as the standard says); comments and other fields are skipped.

    Raises (from ``feed``):
        ValueError: an event, or a line, longer than ``limit`` bytes.
    """

    __slots__ = ("_buffer", "_data", "_name", "_size", "limit")

    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self.limit = limit
        self._buffer = b""
        self._name = b""
        self._data: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> Iterator[tuple[str, bytes]]:
        buffer = self._buffer + chunk if self._buffer else chunk
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = buffer[start:end]
            start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data:
                    yield (
                        (self._name.decode("utf-8", "replace") or "message"),
                        b"\n".join(self._data),
                    )
                self._name, self._data, self._size = b"", [], 0
                continue
            field, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                self._size += len(value)
                if self._size > self.limit:
                    raise ValueError(f"an event of more than {self.limit} bytes")
                self._data.append(value)
            elif field == b"event":
                self._name = value[:100]
        self._buffer = buffer[start:]
        if len(self._buffer) > self.limit:
            raise ValueError(f"a line of more than {self.limit} bytes")
