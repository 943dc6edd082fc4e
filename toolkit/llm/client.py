"""One model call over the OpenAI-compatible chat completions API, traced and recorded.

Agents, the planner and the synthesizer all call models through ``ModelClient``. It
resolves the endpoint (``base_url`` or ``OPENAI_BASE_URL``, the key from the named
environment variable, no key needed on localhost), calls the server with the
``openai`` client (its own retries off: retries happen here, so each one is traced
and recorded), streams chunks as ``llm_delta`` events, and ends every call with one
``llm_call`` event: model, tokens, latency, cost, status, attempts.

With a cassette it records each exchange or answers from it without any network; the
same events come out either way, so a replayed run has the same trace.

Secrets: the key is handed to the HTTP client and nowhere else. The endpoint's
credentials (the key, and any ``user:password@`` or query values in ``base_url``, in
every form a server may echo them) are masked in everything this module produces:
error messages, retry notes, streamed text, replies, cassette entries, reprs. Text
shaped like a well-known key (``toolkit.redact.KEY_SHAPES``), whoever typed it, is
masked too in what is traced and recorded, unless ``redact_secrets=False``.

The options every caller (``LLMAgent``, ``LLMPlanner``, ``LLMSynthesizer``) passes
through to the client are declared once, in ``ClientOptions``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote, urlsplit, urlunsplit

import anyio

from toolkit.events import LLMCall, LLMDelta, Log
from toolkit.llm.cassette import Cassette, Exchange, Step, active_cassette, request_key
from toolkit.llm.pricing import PriceOverride, cost_usd
from toolkit.redact import StreamRedactor, redact, redact_value, url_secrets

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = [
    "DEFAULT_BASE_URL",
    "ClientOptions",
    "Endpoint",
    "LLMConfigError",
    "LLMError",
    "ModelClient",
    "Reporter",
    "redact",
    "resolve_endpoint",
    "safe_url",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_KEY = "not-needed"
"""Sent to local servers that want no key (the client insists on one); never recorded."""
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class LLMConfigError(ValueError):
    """No endpoint or no key is configured; the message names what to set."""


class LLMError(RuntimeError):
    """A model call failed for good (after its retries). The message holds no secrets."""

    def __init__(self, message: str, *, error_type: str = "error", attempts: int = 1) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.attempts = attempts


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment (where credentials may hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in _LOCAL_HOSTS


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, and the key they carry; ``repr`` shows neither the key nor URL credentials."""

    base_url: str = field(repr=False)
    api_key: str = field(repr=False)
    key_env: str = "OPENAI_API_KEY"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential of this endpoint, in the forms a server may echo them."""
        key = () if self.api_key == LOCAL_KEY else (self.api_key,)
        return (*key, *url_secrets(self.base_url))

    def __repr__(self) -> str:
        return f"Endpoint(base_url={safe_url(self.base_url)!r}, key_env={self.key_env!r})"


class ClientOptions(TypedDict, total=False):
    """How ``LLMAgent``, ``LLMPlanner`` and ``LLMSynthesizer`` configure their ``ModelClient``.

    Each of them takes these as keyword arguments and hands them on unchanged, so an
    option exists for all three or for none. Defaults and meanings: ``ModelClient``.
    """

    base_url: str | None
    api_key_env: str
    timeout_s: float
    max_retries: int
    backoff_s: float
    max_backoff_s: float
    prices: PriceOverride | None
    stream_usage: bool
    redact_secrets: bool


def resolve_endpoint(base_url: str | None, api_key_env: str = "OPENAI_API_KEY") -> Endpoint:
    """The endpoint to call: ``base_url``, else ``OPENAI_BASE_URL``, else OpenAI's.

    The key comes from the environment variable ``api_key_env``. A server on
    localhost needs none.

    Raises:
        LLMConfigError: no key is set for a remote endpoint; the message names the
            variable to set.
    """
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    key = os.environ.get(api_key_env) or None
    if key:
        return Endpoint(url or DEFAULT_BASE_URL, key, api_key_env)
    if url and _is_local(url):
        return Endpoint(url, LOCAL_KEY, api_key_env)
    if url:
        raise LLMConfigError(
            f"no API key for {safe_url(url)}: set {api_key_env} (a server on localhost needs none)"
        )
    raise LLMConfigError(
        f"no API key: set {api_key_env} (or give base_url of a local server, "
        "e.g. http://localhost:11434/v1 for Ollama)"
    )


class Reporter:
    """Turns one call's progress into trace events on behalf of ``agent``.

    Streamed chunks are coalesced into ``llm_delta`` events of at least
    ``delta_chars`` characters (or up to a newline), so a fast stream does not flood
    the trace; the rule depends only on the chunks, so replay gives the same events.
    With no session it reports nothing.
    """

    def __init__(
        self, session: AgentSession | None, agent: str, purpose: str, delta_chars: int = 24
    ) -> None:
        self.session = session
        self.agent = agent
        self.purpose = purpose
        self.delta_chars = delta_chars
        self._buffer: list[str] = []
        self._size = 0

    def chunk(self, text: str) -> None:
        if self.session is None or not text:
            return
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= self.delta_chars or "\n" in text:
            self.flush()

    def flush(self) -> None:
        if not self._buffer or self.session is None:
            return
        s = self.session
        text = "".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        s.tracer.emit(
            LLMDelta,
            span_id=s.span_id,
            parent_span_id=getattr(s, "parent_span_id", None),
            agent=self.agent,
            task_id=s.task_id,
            text=text,
        )

    def retry(self, note: str) -> None:
        self.flush()
        if self.session is not None:
            s = self.session
            s.tracer.emit(
                Log,
                span_id=s.span_id,
                parent_span_id=getattr(s, "parent_span_id", None),
                level="warning",
                message=f"{self.purpose} model call: {note}",
                agent=self.agent,
                task_id=s.task_id,
            )

    def finished(self, model: str, exchange: Exchange, cost: float) -> None:
        self.flush()
        if self.session is None:
            return
        s = self.session
        s.tracer.emit(
            LLMCall,
            span_id=s.tracer.ids.span_id(),
            parent_span_id=s.span_id,
            agent=self.agent,
            model=model,
            task_id=s.task_id,
            purpose=self.purpose,
            prompt_tokens=exchange.prompt_tokens,
            completion_tokens=exchange.completion_tokens,
            latency_s=exchange.latency_s,
            cost_usd=cost,
            status=exchange.status,
            error=exchange.error,
            attempts=exchange.attempts,
        )


class _IncompleteStream(Exception):
    """The stream ended before the server said the reply was finished."""

    def __init__(self, chunks: int) -> None:
        super().__init__(f"the stream ended after {chunks} chunk(s), before the reply was complete")


@dataclass
class _Attempt:
    text: str = ""
    model: str | None = None
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None


def _estimate_tokens(text: str) -> int:
    # about four characters per token for English text: used only when the server reports no usage
    return max(1, round(len(text) / 4)) if text else 0


class ModelClient:
    """Calls one model on an OpenAI-compatible endpoint, with retries, tracing and cassettes.

    Args:
        model: The model name the server knows (``gpt-4o-mini``, ``llama3.2``, …).
        base_url: The endpoint (``http://localhost:11434/v1``); default ``OPENAI_BASE_URL`` or OpenAI.
        api_key_env: The environment variable holding the key.
        timeout_s: Limit for connecting and for each wait for data from the server.
        max_retries: Retries after a 429, a 5xx, a timeout or a lost connection.
        backoff_s: Delay before the first retry; doubles each time. A ``Retry-After``
            header from the server takes precedence.
        max_backoff_s: Longest delay between attempts.
        prices: Price override (``{"in": USD per 1M, "out": USD per 1M}``).
        cassette: Record exchanges to it or replay them from it; default: the active
            one (``use_cassette`` or ``SWITCHBOARD_CASSETTE``), if any.
        stream_usage: Ask for usage in streamed responses (``stream_options``); turn
            off for servers that reject it (tokens are then estimated).
        redact_secrets: Mask text shaped like a well-known key (``sk-…``, ``AKIA…``,
            ``ghp_…``, JWTs, bearer tokens, …) in streamed text, replies, retry notes
            and cassette entries. The endpoint's own credentials are masked either way.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 20.0,
        prices: PriceOverride | None = None,
        cassette: Cassette | None = None,
        stream_usage: bool = True,
        redact_secrets: bool = True,
    ) -> None:
        if not model:
            raise LLMConfigError(
                "no model given: name the model the server serves (for example gpt-4o-mini or llama3.2)"
            )
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.prices = prices
        self.cassette = cassette
        self.stream_usage = stream_usage
        self.redact_secrets = redact_secrets

    def __repr__(self) -> str:
        return f"ModelClient({self.model!r}, base_url={self.public_url()!r})"

    def endpoint(self) -> Endpoint:
        """Resolve the endpoint now (raises ``LLMConfigError`` when none is configured)."""
        return resolve_endpoint(self.base_url, self.api_key_env)

    def public_url(self) -> str | None:
        """The endpoint URL as it may be shown (no credentials), or None if unset."""
        url = self.base_url or os.environ.get("OPENAI_BASE_URL")
        return safe_url(url) if url else None

    def body(
        self,
        messages: list[dict[str, Any]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = True,
        response_format: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A chat completions request body (what is hashed and recorded)."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": stream}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if response_format is not None:
            body["response_format"] = dict(response_format)
        return body

    async def complete(self, body: dict[str, Any], reporter: Reporter) -> Exchange:
        """Make one call (or replay it) and trace it; return the exchange.

        Raises:
            LLMError: the call failed for good (its ``llm_call`` event is emitted first).
            LLMConfigError: no endpoint or key, and no cassette recording to use.
            CassetteMiss: a replay-only cassette has no recording of this request.
        """
        key = request_key(body)
        cassette = self.cassette if self.cassette is not None else active_cassette()
        exchange: Exchange | None = None
        if cassette is not None:
            occurrence = cassette.next_occurrence(key)
            exchange = cassette.find(key, occurrence)
            if exchange is not None:
                exchange = self._scrubbed(exchange)
                await _replay(exchange, reporter, cassette.pace)
            elif not cassette.can_record():
                raise cassette.miss(body, key, occurrence)
        if exchange is None:
            endpoint = self.endpoint()
            exchange = await self._call(body, endpoint, reporter)
            # the key hashes what was asked; what is kept has its secrets masked
            exchange.request = redact_value(body, *endpoint.secrets, shapes=self.redact_secrets)
            exchange.key = key
            exchange.purpose = reporter.purpose
            exchange.agent = reporter.agent
            if cassette is not None:
                exchange.occurrence = occurrence
                cassette.add(exchange)
        cost = cost_usd(self.model, exchange.prompt_tokens, exchange.completion_tokens, self.prices)
        reporter.finished(self.model, exchange, cost)
        if exchange.status == "error":
            raise LLMError(
                exchange.error or "model call failed",
                error_type=exchange.error_type or "error",
                attempts=exchange.attempts,
            )
        return exchange

    def _scrubbed(self, exchange: Exchange) -> Exchange:
        """A recorded exchange as it may be reported now (a cassette may predate redaction)."""
        shapes = self.redact_secrets
        return exchange.model_copy(
            update={
                "text": redact(exchange.text, shapes=shapes),
                "error": redact(exchange.error) if exchange.error is not None else None,
                "steps": [
                    Step(
                        chunk=redact(st.chunk, shapes=shapes) if st.chunk is not None else None,
                        retry=redact(st.retry) if st.retry is not None else None,
                    )
                    for st in exchange.steps
                ],
            }
        )

    # -- the network -------------------------------------------------------------
    async def _call(self, body: dict[str, Any], endpoint: Endpoint, reporter: Reporter) -> Exchange:
        import openai

        t0 = time.perf_counter()
        steps: list[Step] = []
        attempts = 0
        # user info in the URL becomes Basic auth of the HTTP client (as the URL would), so
        # the URL the HTTP libraries log and put in their errors carries no credentials
        url, auth = _split_credentials(endpoint.base_url)
        client = openai.AsyncOpenAI(
            api_key=endpoint.api_key,
            base_url=url,
            max_retries=0,
            timeout=self.timeout_s,
            http_client=openai.DefaultAsyncHttpxClient(
                verify=_ssl_context(), timeout=self.timeout_s, auth=auth
            ),
        )
        try:
            while True:
                attempts += 1
                try:
                    got = await self._attempt(client, body, steps, reporter, endpoint)
                    break
                except Exception as exc:
                    failure = self._classify(exc, endpoint)
                    if failure is None:
                        raise
                    message, error_type, retryable, hint = failure
                    if retryable and attempts <= self.max_retries:
                        delay = min(
                            self.max_backoff_s,
                            hint if hint is not None else self.backoff_s * 2 ** (attempts - 1),
                        )
                        note = f"{message}; retry {attempts} of {self.max_retries} in {delay:.2f}s"
                        steps.append(Step(retry=note))
                        reporter.retry(note)
                        await anyio.sleep(delay)
                        continue
                    return Exchange(
                        key="",
                        request=body,
                        status="error",
                        text="".join(s.chunk for s in steps if s.chunk),
                        steps=steps,
                        attempts=attempts,
                        latency_s=time.perf_counter() - t0,
                        error=f"{message} (model {self.model!r}, {attempts} attempt(s))",
                        error_type=error_type,
                    )
        finally:
            # close the connection even when the task is cancelled
            with anyio.CancelScope(shield=True):
                await client.close()
        estimated = got.usage is None
        if got.usage is None:
            prompt_text = "".join(str(m.get("content", "")) for m in body.get("messages", []))
            usage = (_estimate_tokens(prompt_text), _estimate_tokens(got.text))
        else:
            usage = got.usage
        return Exchange(
            key="",
            request=body,
            text=got.text,
            steps=steps,
            response_model=got.model,
            finish_reason=got.finish_reason,
            prompt_tokens=usage[0],
            completion_tokens=usage[1],
            usage_estimated=estimated,
            attempts=attempts,
            latency_s=time.perf_counter() - t0,
        )

    async def _attempt(
        self,
        client: Any,
        body: dict[str, Any],
        steps: list[Step],
        reporter: Reporter,
        endpoint: Endpoint,
    ) -> _Attempt:
        got = _Attempt()
        if not body.get("stream"):
            response = await client.chat.completions.create(**body)
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content or "") if choice is not None else ""
            got.text = redact(text, *endpoint.secrets, shapes=self.redact_secrets)
            got.finish_reason = choice.finish_reason if choice is not None else None
            got.model = response.model
            if response.usage is not None:
                got.usage = (
                    response.usage.prompt_tokens or 0,
                    response.usage.completion_tokens or 0,
                )
            return got
        extra = {"stream_options": {"include_usage": True}} if self.stream_usage else {}
        stream = await client.chat.completions.create(**body, **extra)
        parts: list[str] = []
        # a key may arrive split over chunks: text is let out (reported, recorded) only
        # once what it holds is known to be safe, so live and replay report the same pieces
        redactor = StreamRedactor(*endpoint.secrets, shapes=self.redact_secrets)

        def let_out(piece: str) -> None:
            if piece:
                parts.append(piece)
                steps.append(Step(chunk=piece))
                reporter.chunk(piece)

        try:
            async for chunk in stream:
                got.model = chunk.model or got.model
                if chunk.usage is not None:
                    got.usage = (chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices[:1]:
                    text = choice.delta.content if choice.delta is not None else None
                    if text:
                        let_out(redactor.feed(text))
                    if choice.finish_reason:
                        got.finish_reason = choice.finish_reason
        finally:
            let_out(redactor.close())
        if got.finish_reason is None:
            # the server closed the stream mid-reply (no finish_reason ever came): retry it
            raise _IncompleteStream(len(parts))
        got.text = "".join(parts)
        return got

    def _classify(
        self, exc: Exception, endpoint: Endpoint
    ) -> tuple[str, str, bool, float | None] | None:
        """(message, error type, retryable, server's retry delay) of a failed attempt; None if not a model error."""
        import httpx2
        import openai

        where = safe_url(endpoint.base_url)
        if isinstance(exc, _IncompleteStream):
            return f"{exc} (from {where})", "connection", True, None
        if isinstance(exc, openai.APITimeoutError):
            return f"timed out after {self.timeout_s:g}s waiting for {where}", "timeout", True, None
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot connect to {where}", "connection", True, None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = _server_message(exc, endpoint.secrets)
            if status == 401:
                return (
                    f"authentication failed (401) at {where}: check the key in {endpoint.key_env}",
                    "auth",
                    False,
                    None,
                )
            if status == 429:
                return (
                    f"rate limited (429) by {where}{detail}",
                    "rate_limit",
                    True,
                    _retry_after(exc),
                )
            if status >= 500 or status in (408, 409):
                return (
                    f"server error ({status}) from {where}{detail}",
                    "server",
                    True,
                    _retry_after(exc),
                )
            return f"request rejected ({status}) by {where}{detail}", "rejected", False, None
        if isinstance(exc, openai.APIError | httpx2.HTTPError):
            return (
                f"connection to {where} failed: {_clip(redact(str(exc), *endpoint.secrets))}",
                "connection",
                True,
                None,
            )
        return None


def _split_credentials(url: str) -> tuple[str, Any]:
    """``url`` without its user info, and that user info as the HTTP client's Basic auth (or None)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    import httpx2

    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, httpx2.BasicAuth(unquote(user), unquote(password))


_SSL: list[Any] = []


def _ssl_context() -> Any:
    """One TLS context for the process: building one loads the CA bundle (~20 ms), once per
    call otherwise, since each call makes its own HTTP client (event loops come and go)."""
    if not _SSL:
        import httpx2

        _SSL.append(httpx2.create_ssl_context())
    return _SSL[0]


async def _replay(exchange: Exchange, reporter: Reporter, pace: float) -> None:
    """Report a recorded exchange's steps; with ``pace`` > 0, spread its recorded latency over them."""
    delay = exchange.latency_s * pace / max(1, len(exchange.steps)) if pace > 0 else 0.0
    for step in exchange.steps:
        if delay:
            await anyio.sleep(delay)
        if step.chunk is not None:
            reporter.chunk(step.chunk)
        if step.retry is not None:
            reporter.retry(step.retry)
    if delay and not exchange.steps:
        await anyio.sleep(exchange.latency_s * pace)


def _clip(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _server_message(exc: Any, secrets: tuple[str, ...]) -> str:
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
    if not message:
        message = getattr(exc, "message", "") or ""
    # masked before it is clipped, so a secret cut in two at the edge cannot survive
    text = _clip(redact(str(message), *secrets))
    return f": {text}" if text else ""


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def parse_json_text(text: str) -> Any:
    """JSON from a model's reply, tolerating a ```json fence or prose around one object."""
    stripped = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    if fence:
        stripped = fence.group(1).strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            return json.loads(stripped[start : end + 1])
        raise
