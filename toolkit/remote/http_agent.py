"""``HttpAgent``: an agent served by a worker process (``switchboard serve-agent``).

Its ``run`` sends the directive as an envelope carrying the run's ids (the traced
directive's message id, the task's conversation id, the run's trace id, the attempt's
span), re-emits the agent's own events into the run's trace while they stream back,
and returns the answer. The worker's events are network input: each is validated as
a trace event, only an agent session's kinds are kept (``wire.FORWARDED_KINDS``), its
agent and task are the caller's, and its spans are re-parented under the call's span,
so the remote agent's tool calls, model calls and tokens read as a local agent's.

Every failure names the worker's address and what went wrong (unreachable, refused,
closed mid-task, too slow, a broken answer); the token is never in a message, a
trace or a log. ``health()`` asks ``GET /health`` (for circuit breakers and checks).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from pydantic import ValidationError

from toolkit.agents import Agent, AgentError, Directive, Reply
from toolkit.events import ORCHESTRATOR, Envelope, dump_event, parse_event, trusted_maker
from toolkit.extras import needs_extra
from toolkit.ids import IdFactory
from toolkit.remote.wire import (
    FORWARDED_KINDS,
    HEALTH_PATH,
    MAX_EVENT_BYTES,
    RUN_PATH,
    RemoteUsage,
    SSEReader,
)
from toolkit.session import current_session
from toolkit.web import token_from_env

with needs_extra("remote", "kind: http agents (toolkit.remote.HttpAgent)"):
    import httpx

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = ["HttpAgent", "WorkerError", "public_url"]

_ENVELOPE = trusted_maker(Envelope)
MAX_EVENTS_PER_CALL = 100_000
"""Most events of one call re-emitted into the run's trace (a flood is cut off, with a warning)."""
_BASE_FIELDS = ("run_id", "seq", "ts", "trace_id", "span_id", "parent_span_id", "kind")


class WorkerError(AgentError):
    """A call to a worker failed: unreachable, refused, stopped mid-task, or a broken answer."""


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: what may appear in traces and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _reason(response: httpx.Response) -> str:
    """A refusal's reason: the ``{"error": ...}`` of a Switchboard server, else the status."""
    try:
        data = orjson.loads(response.content[:4096])
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return data["error"][:300]
    except orjson.JSONDecodeError:
        pass
    return response.reason_phrase or "no reason given"


class HttpAgent(Agent):
    """An agent that runs in a worker process, reached over HTTP.

    Args:
        name: The agent's name in this run.
        url: The worker's base address (``http://127.0.0.1:8001``).
        description: What it does (planners read it).
        skills: Keywords routers and planners match against.
        token: The bearer token the worker expects (prefer ``token_env``).
        token_env: The environment variable holding that token (read now).
        timeout_s: Longest a call may take, from connecting to the answer; the task's
            own ``timeout_s`` applies as well.
        connect_timeout_s: Longest wait for the connection itself.
        transport: An httpx transport to use instead of the network (tests, ASGI apps).

    Raises:
        toolkit.web.TokenError: ``token_env`` names an unset or empty variable.
    """

    kind = "http"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        description: str = "",
        skills: Sequence[str] = (),
        token: str | None = None,
        token_env: str | None = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"the worker's url must be http(s)://host:port, got {public_url(url)!r}"
            )
        if parts.username or parts.password:
            raise ValueError("the worker's url must not hold credentials: use token_env")
        self.name = name
        self.url = public_url(url)
        """The worker's address (no credentials): in the agent card and every error."""
        self.description = description or f"agent served at {self.url}"
        self.skills = tuple(skills)
        self.timeout_s = timeout_s
        self.connect_timeout_s = min(connect_timeout_s, timeout_s)
        self.token_env = token_env
        self._token = (
            token if token is not None else (token_from_env(token_env) if token_env else None)
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._client_loop: object = None
        self._ids = IdFactory()

    def __repr__(self) -> str:
        return f"HttpAgent({self.name!r}, {self.url!r})"

    def card(self) -> dict[str, Any]:
        """Public description: kind, description, skills and the worker's address."""
        card = super().card()
        card["url"] = self.url
        return card

    # -- the connection ------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        """The client of the running event loop (connections are kept between calls)."""
        import asyncio

        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:  # another backend: a client per call's loop is the same rule
            loop = None
        if self._client is None or self._client_loop is not loop:
            headers = {"accept": "text/event-stream"}
            if self._token is not None:
                headers["authorization"] = f"Bearer {self._token}"
            self._client = httpx.AsyncClient(
                base_url=self.url,
                headers=headers,
                timeout=httpx.Timeout(None, connect=self.connect_timeout_s),
                transport=self._transport,
                trust_env=False,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the kept connections (the agent can still be used: it reconnects)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> HttpAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def health(self) -> dict[str, Any]:
        """The worker's ``GET /health`` answer.

        Raises:
            WorkerError: unreachable, not answering in time, or not healthy.
        """
        import anyio

        try:
            with anyio.fail_after(self.connect_timeout_s):
                response = await self._http().get(HEALTH_PATH)
        except TimeoutError:
            raise WorkerError(
                f"worker at {self.url} did not answer its health check within {self.connect_timeout_s:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise WorkerError(f"worker at {self.url} is unreachable ({_what(exc)})") from None
        if response.status_code != 200:
            raise WorkerError(
                f"worker at {self.url} is not healthy: {response.status_code} {_reason(response)}"
            )
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise WorkerError(
                f"worker at {self.url} answered its health check with no JSON"
            ) from None
        if not isinstance(data, dict):
            raise WorkerError(f"worker at {self.url} answered its health check with no JSON object")
        return data

    # -- a call -------------------------------------------------------------------
    def envelope(self, directive: Directive, session: AgentSession | None) -> Envelope:
        """The directive envelope for ``directive``, with the ids of the call in progress
        (fresh ones outside a run)."""
        if session is not None:
            trace_id = session.tracer.trace_id
            span_id = session.span_id
            conversation_id = session.parent_span_id or span_id
            message_id = session.directive_id or self._ids.span_id()
        else:
            trace_id, span_id = self._ids.trace_id(), self._ids.span_id()
            conversation_id, message_id = span_id, self._ids.span_id()
        return _ENVELOPE(
            message_id=message_id,
            conversation_id=conversation_id,
            trace_id=trace_id,
            span_id=span_id,
            sender=ORCHESTRATOR,
            recipient=self.name,
            kind="directive",
            payload=directive.__dict__,
            task_id=directive.task_id,
            attempt=directive.attempt,
            sent_at=time.time(),
        )

    async def run(self, directive: Directive) -> Reply:
        import anyio

        session = current_session()
        sent = self.envelope(directive, session)
        body = dump_event(sent)
        try:
            with anyio.fail_after(self.timeout_s):
                return await self._call(sent, body, session)
        except TimeoutError:
            # a WorkerError, not a TimeoutError: the executor words a TimeoutError as the
            # task's own time limit, and this is the agent's (usually shorter) one
            raise WorkerError(
                f"worker at {self.url} did not answer within {self.timeout_s:g}s"
            ) from None

    async def _call(self, sent: Envelope, body: bytes, session: AgentSession | None) -> Reply:
        url = self.url
        try:
            async with self._http().stream("POST", RUN_PATH, content=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise WorkerError(
                        f"worker at {url} refused the call: {response.status_code} {_reason(response)}"
                    )
                reader = SSEReader(MAX_EVENT_BYTES)
                result: bytes | None = None
                events = 0
                async for chunk in response.aiter_bytes():
                    if result is not None:
                        continue  # read to the end: a connection read whole is kept for reuse
                    for name, data in reader.feed(chunk):
                        if name == "result":
                            result = data
                            break
                        if name == "trace" and session is not None:
                            events += 1
                            if events <= MAX_EVENTS_PER_CALL:
                                self._reemit(session, data)
                            elif events == MAX_EVENTS_PER_CALL + 1:
                                session.log(
                                    f"worker at {url} sent more than {MAX_EVENTS_PER_CALL:,} "
                                    "events for one call: the rest are not recorded",
                                    "warning",
                                )
            if result is not None:
                return self._answer(sent, result)
        except WorkerError:
            raise
        except ValueError as exc:  # the reader's bound
            raise WorkerError(f"worker at {url} sent {exc}") from None
        except httpx.ConnectError as exc:
            raise WorkerError(f"worker at {url} is unreachable ({_what(exc)})") from None
        except httpx.ConnectTimeout:
            raise WorkerError(
                f"worker at {url} is unreachable (no connection within {self.connect_timeout_s:g}s)"
            ) from None
        except httpx.HTTPError as exc:
            raise WorkerError(
                f"worker at {url} closed the connection before answering: it stopped or "
                f"crashed mid-task ({_what(exc)})"
            ) from None
        raise WorkerError(f"worker at {url} ended its answer without a result: it stopped mid-task")

    def _answer(self, sent: Envelope, data: bytes) -> Reply:
        url = self.url
        try:
            got = Envelope.model_validate_json(data)
        except ValidationError:
            raise WorkerError(f"worker at {url} answered with a broken envelope") from None
        if (
            got.parent_id != sent.message_id
            or got.conversation_id != sent.conversation_id
            or got.trace_id != sent.trace_id
        ):
            raise WorkerError(f"worker at {url} answered with the ids of another call")
        if got.kind == "error":
            reason = got.payload if isinstance(got.payload, str) else repr(got.payload)
            raise WorkerError(f"worker at {url}: {reason[:2000]}")
        if got.kind != "result":
            raise WorkerError(f"worker at {url} answered with a {got.kind!r} envelope")
        try:
            usage = RemoteUsage.model_validate(got.usage or {})
        except ValidationError:
            usage = RemoteUsage()
        return Reply(
            output=got.payload,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost_usd=usage.cost_usd,
            model=usage.model,
        )

    def _reemit(self, session: AgentSession, data: bytes) -> None:
        """One of the worker's events, validated, into the run's trace under the call's span."""
        try:
            event = parse_event(data)
        except ValidationError:
            return  # not an event: ignored, as an unknown kind is
        if event.kind not in FORWARDED_KINDS:
            return
        fields = {k: v for k, v in event.__dict__.items() if k not in _BASE_FIELDS}
        fields["agent"] = session.agent
        if "task_id" in fields:
            fields["task_id"] = session.task_id
        tracer = session.tracer
        if event.span_id == session.span_id:  # on the call's own span (logs, tokens)
            span, parent = session.span_id, session.parent_span_id
        else:  # a span of its own (a tool or model call): a new one under the call's
            span, parent = tracer.ids.span_id(), session.span_id
        tracer.emit(type(event), span_id=span, parent_span_id=parent, **fields)


def _what(exc: Exception) -> str:
    """An httpx error in a few words (its text never holds a header, so never the token)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
