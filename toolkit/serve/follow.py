"""Following a served run over HTTP: the ``toolkit.sources`` source of ``http(s)://`` URLs.

``switchboard tui http://HOST:PORT/v1/runs/ID``, ``switchboard replay URL`` and
``RunView.follow(URL)`` all open ``open_http(url, token=...)``: an ``EventSource``
that reads the run's server-sent event stream (``/v1/runs/ID/events``) from the
beginning, then live, until the server's ``end`` message after ``run_finished``.

What comes over the network is untrusted: each message is validated as a trace event
when read; one that is not JSON, not an event, of another run, or out of order is
skipped, counted and reported (``problems``, one line each), and the rest is shown. A
dropped connection is resumed where it stopped (``Last-Event-ID``), a few times, then
reported. The token travels only in the ``Authorization`` header; it is never part of
a label, a problem or an error message.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from pydantic import ValidationError

from toolkit.events import TraceEvent, parse_event
from toolkit.redact import redact, url_secrets
from toolkit.sources import EventSource, Feed, Mode, SourceError
from toolkit.text import safe_line

__all__ = ["HttpSource", "SseDecoder", "SseMessage", "open_http", "run_url"]

RECONNECTS = 5
"""Attempts to resume a dropped stream before giving up (reset by every event read)."""
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
"""No byte in this long (the server pings every 15 s) is a dropped connection."""
MAX_LINE = 16 * 1024 * 1024
"""A line of the stream longer than this is damage (an event is far smaller)."""


@dataclass
class SseMessage:
    """One server-sent event: its ``event`` type, ``data`` and ``id`` (None when absent)."""

    event: str
    data: str
    id: str | None


class SseDecoder:
    """Server-sent events from the bytes of a stream, chunk by chunk (the WHATWG rules).

    Lines end at LF, CRLF or CR (also when a chunk splits the CRLF); comments (``:``
    lines, the server's pings) are skipped; ``data`` lines are joined with newlines; a
    blank line ends a message; a message without ``data`` is dropped.

    Raises:
        ValueError: from ``feed``, for a line longer than ``max_line`` bytes.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._pending = b""
        self._after_cr = False
        self._event = b""
        self._data: list[bytes] = []
        self._id: bytes | None = None

    def feed(self, chunk: bytes) -> list[SseMessage]:
        """The messages completed by ``chunk``."""
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._after_cr = chunk.endswith(b"\r")
        data = self._pending + chunk
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._pending = data.split(b"\n")
        if len(self._pending) > self.max_line:
            raise ValueError(f"a line of the stream is over {self.max_line} bytes")
        messages: list[SseMessage] = []
        # bytes until a message is complete: one decode per field of a message, not per line
        for line in lines:
            if not line:
                if self._data:
                    ident = self._id
                    messages.append(
                        SseMessage(
                            self._event.decode("utf-8", "replace") or "message",
                            b"\n".join(self._data).decode("utf-8", "replace"),
                            None if ident is None else ident.decode("utf-8", "replace"),
                        )
                    )
                self._event, self._data, self._id = b"", [], None
                continue
            name, colon, value = line.partition(b":")
            if not name:
                continue  # a comment (the server's pings)
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value
            elif name == b"id" and b"\0" not in value:
                self._id = value
        return messages


def run_url(url: str) -> tuple[str, str | None]:
    """The server's base URL and the run id of a run's URL.

    Accepts ``http(s)://HOST:PORT[/prefix]/v1/runs/ID`` (and its ``/events``), or the
    server alone (``http://HOST:PORT``: its newest run).

    Raises:
        SourceError: for a URL that names no server.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{_shown(url)}: expected http(s)://HOST:PORT/v1/runs/RUN_ID")
    path = parts.path.rstrip("/")
    prefix, found, rest = path.partition("/v1/runs")
    run_id = rest.strip("/").split("/")[0] if found and rest.strip("/") else None
    base = urlunsplit((parts.scheme, parts.netloc, prefix if found else path, "", ""))
    return base, run_id


def _shown(url: str) -> str:
    """A URL fit for a message: credentials in it masked, terminal-safe, bounded."""
    return safe_line(redact(url, *url_secrets(url)), 200)


class HttpSource(EventSource):
    """A served run's events, read from its event stream until the run finishes.

    ``cancel`` stops following (the run goes on on the server).
    """

    mode: Mode = "follow"
    can_cancel = False

    def __init__(self, base: str, run_id: str, *, token: str | None, label: str) -> None:
        super().__init__(label)
        self.base = base
        self.run_id = run_id
        self.url = f"{base}/v1/runs/{run_id}/events"
        self._token = token
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._lock = threading.Lock()
        self.received = 0
        """Events read and accepted."""
        self.skipped = 0
        """Messages skipped as damaged."""
        self.status: str | None = None
        """How the server says the run ended (its ``end`` message), once read."""

    def __repr__(self) -> str:
        return f"HttpSource({_shown(self.url)!r})"  # never the token

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def produce(self, feed: Feed) -> None:
        last_seq, failures = -1, 0
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        try:
            with httpx.Client(timeout=timeout, verify=_verify(self.base)) as client:
                while not self._stop.is_set():
                    why = ""
                    try:
                        last_seq, done = self._read(client, feed, last_seq)
                        if done:
                            return
                        if done is None:
                            failures = 0  # events came: a later drop gets its retries again
                        why = "the server closed the stream before the run finished"
                    except _Refused as exc:
                        self._report(feed, str(exc))
                        return
                    except (httpx.HTTPError, OSError) as exc:
                        why = f"lost the stream ({type(exc).__name__})"
                    if self._stop.is_set():
                        return
                    failures += 1
                    if failures > RECONNECTS:
                        self._report(
                            feed,
                            f"{_shown(self.url)}: {why} after seq {last_seq}; "
                            f"gave up after {RECONNECTS} retries",
                        )
                        return
                    self._stop.wait(min(0.1 * 2**failures, 5.0))
        finally:
            feed.close()

    def _read(self, client: httpx.Client, feed: Feed, last_seq: int) -> tuple[int, bool | None]:
        """Read the stream once from after ``last_seq``.

        Returns:
            The last seq read, and True when the server ended the stream (``end``), None
            when it closed the connection after sending events, False when it closed it
            having sent nothing new.
        """
        headers = self._headers()
        if last_seq >= 0:
            headers["Last-Event-ID"] = str(last_seq)
        with client.stream("GET", self.url, headers=headers) as response:
            with self._lock:
                self._response = response
            try:
                if response.status_code != 200:
                    response.read()
                    raise _Refused(_refusal(self.url, response))
                progressed = False
                decoder = SseDecoder()
                for chunk in response.iter_bytes():
                    batch: list[TraceEvent] = []
                    try:
                        messages = decoder.feed(chunk)
                    except ValueError as exc:
                        raise httpx.ReadError(str(exc)) from None
                    for message in messages:
                        if message.event == "end":
                            if batch:
                                feed.extend(batch)
                            self.status = _end_status(message.data)
                            if self.status == "interrupted":
                                self.ended = "interrupted"
                            return last_seq, True
                        if message.event != "trace":
                            continue
                        event = self._event(message, last_seq, feed)
                        if event is None:
                            continue
                        last_seq = event.seq
                        progressed = True
                        self.received += 1
                        batch.append(event)
                    if batch:  # what one read brought, handed on at once
                        feed.extend(batch)
                return last_seq, None if progressed else False
            finally:
                with self._lock:
                    self._response = None

    def _event(self, message: SseMessage, last_seq: int, feed: Feed) -> TraceEvent | None:
        """The message's event, or None when it is damaged (then reported)."""
        try:
            event = parse_event(message.data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ())) or "data"
            return self._damaged(feed, f"{_where(message)}: {loc}: {err.get('msg', 'invalid')}")
        except ValueError as exc:
            return self._damaged(feed, f"{_where(message)}: {exc}")
        if event.run_id != self.run_id:
            return self._damaged(feed, f"{_where(message)}: belongs to run {event.run_id!r}")
        if event.seq <= last_seq:
            return self._damaged(feed, f"{_where(message)}: seq {event.seq} after seq {last_seq}")
        return event

    def _damaged(self, feed: Feed, text: str) -> TraceEvent | None:
        """Count and report a damaged message; None, in its event's place."""
        self.skipped += 1
        self._report(feed, text)
        return None

    def _report(self, feed: Feed, text: str) -> None:
        line = safe_line(redact(text, self._token), 300)
        self.problems.append(line)
        feed.problem(line)

    def cancel(self) -> None:
        """Stop following: the stream is closed; the run itself goes on."""
        self._stop.set()
        with self._lock:
            response = self._response
        if response is None:
            return
        # the reader may sit in a blocking recv until the next ping: shutting the socket
        # down wakes it at once (closing the response from this thread would not)
        with contextlib.suppress(Exception):
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            response.close()


def _verify(base: str) -> bool:
    """Check certificates on https; plain http has none (and loading the CA bundle for
    nothing costs ~80 ms per client)."""
    return base.startswith("https://")


def _where(message: SseMessage) -> str:
    return f"event {safe_line(message.id or '?', 24)}"


class _Refused(Exception):
    """The server answered the stream with an error: following cannot go on."""


def _end_status(data: str) -> str | None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    status = value.get("status") if isinstance(value, dict) else None
    return status if isinstance(status, str) else None


def _refusal(url: str, response: httpx.Response) -> str:
    """One line for an error answer: the status and the server's reason."""
    reason = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            reason = body["error"]
    except ValueError:
        reason = response.text[:200]
    hint = ""
    if response.status_code == 401:
        hint = " (give the server's token with --token-env VAR, default SWITCHBOARD_TOKEN)"
    return f"{_shown(url)}: {response.status_code} {safe_line(reason, 200)}{hint}"


def open_http(url: str, *, token: str | None = None) -> HttpSource:
    """A served run to follow: ``http(s)://HOST:PORT/v1/runs/ID`` (or the server: its newest run).

    The run's status is read first, so a wrong token, a server that is not there or an
    unknown run is a ``SourceError`` before any view opens.

    Args:
        url: The run's URL (what ``POST /v1/mao/start`` answers as ``status_url``).
        token: The server's bearer token.

    Raises:
        SourceError: with a one-line message (never the token).
    """
    base, run_id = run_url(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        timeout = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT_S)
        with httpx.Client(timeout=timeout, verify=_verify(base)) as client:
            if run_id is None:
                listing = client.get(f"{base}/v1/runs", headers=headers)
                if listing.status_code != 200:
                    raise SourceError(_refusal(url, listing))
                runs = _json(listing).get("runs") or []
                if not runs or not isinstance(runs[0], dict) or "run_id" not in runs[0]:
                    raise SourceError(f"{_shown(url)}: the server has no runs yet")
                run_id = str(runs[0]["run_id"])
            answer = client.get(f"{base}/v1/runs/{run_id}", headers=headers)
    except httpx.HTTPError as exc:
        raise SourceError(
            f"{_shown(url)}: cannot reach the server ({type(exc).__name__}: "
            f"{safe_line(redact(str(exc), token), 120)})"
        ) from None
    if answer.status_code != 200:
        raise SourceError(_refusal(url, answer))
    status = _json(answer)
    name = status.get("name") if isinstance(status.get("name"), str) else run_id
    host = urlsplit(base).netloc.rpartition("@")[2]
    source = HttpSource(base, run_id, token=token, label=safe_line(f"{name} @ {host}", 120))
    if status.get("status") == "interrupted":
        source.notices.append(
            f"run {safe_line(run_id, 60)} was interrupted: the process running it died"
        )
    return source


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
