"""Events across processes: a run's events published to Redis Streams, and followed.

``RedisStreamSink`` is a sink like the JSONL recorder: ``emit`` serializes the event and
appends its line to an open chunk; a background thread seals chunks (``chunk`` events,
or whatever waited ``flush_s``) and sends them to Redis in pipelines. One stream holds
one run (``{prefix}:run:{run_id}``), one entry per chunk, so a pipeline of a few XADDs
carries thousands of events: one XADD per event (~300 µs) could not keep up with a fast
run. Each entry's id is ``{first seq}-{count}``, chosen by the sink: after a lost
connection the unacknowledged chunks are sent again, and Redis refuses an id it already
holds, so a chunk is stored exactly once. An index of runs (a sorted set,
``{prefix}:runs``, and a hash per run, ``{prefix}:run:{run_id}:info``) says which runs
exist, their names and status.

Lossless: when Redis goes away the chunks stay buffered (up to ``max_buffered`` events)
and are sent when it is back; the run is never made to wait for Redis. Whatever could
not be delivered (Redis still away when the sink closed, or events beyond the buffer)
is counted and reported when the sink closes (``RedisDeliveryError``, which the run
reports as "recording failed: ..."), never dropped silently.

``RedisSource`` follows a run's stream from its first entry (a follower that starts
late sees the run from its beginning), reconnecting when the connection is lost, until
the run's ``run_finished`` event. Every event read is validated again (another process
wrote it): a damaged entry or line is skipped, counted and reported to the view.

URLs are ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS, ``unix://``),
with an optional ``?prefix=NAME`` for the keys (default ``switchboard``). A password is
never shown: every message names the URL as ``display_url`` prints it.
"""

from __future__ import annotations

import operator
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import TypeAdapter, ValidationError

from toolkit.events import TraceEvent, dump_line, parse_event
from toolkit.extras import needs_extra
from toolkit.redact import redact, url_secrets
from toolkit.sources import EventSource, Feed, Mode, SourceError
from toolkit.text import safe_line

if TYPE_CHECKING:
    import redis

__all__ = [
    "DEFAULT_PREFIX",
    "RedisDeliveryError",
    "RedisRunInfo",
    "RedisSource",
    "RedisStreamSink",
    "RedisTarget",
    "decode_entry",
    "display_url",
    "is_redis_url",
    "list_runs",
    "open_redis",
    "prepare_validation",
]

DEFAULT_PREFIX = "switchboard"
"""The first part of every key Switchboard writes (``?prefix=`` in the URL changes it)."""

SCHEMES = ("redis", "rediss", "unix")
"""The URL schemes of Redis (plain, TLS, a Unix socket)."""


def is_redis_url(text: str) -> bool:
    """True when ``text`` is a Redis URL (``redis://``, ``rediss://``, ``unix://``)."""
    return text.partition("://")[0].lower() in SCHEMES and "://" in text


def display_url(url: str) -> str:
    """``url`` with its password (and query values that could be secrets) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if sep else f"{user}@{host}"
    query = urlencode(
        [(k, v if k in ("prefix", "channel") else "***") for k, v in parse_qsl(parts.query)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _clean(text: str, url: str) -> str:
    """An error's text with every form of the URL's credentials masked, on one safe line
    (Switchboard's own ``prefix`` and ``channel`` are names, not secrets)."""
    try:
        parts = urlsplit(url)
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _NAMES])
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    except ValueError:
        pass
    return safe_line(redact(text, *url_secrets(url), shapes=False), 300)


_NAMES = ("prefix", "channel")


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis URL: how to connect, the key prefix, and how to name it safely."""

    url: str
    """The URL as redis-py takes it (without Switchboard's own ``prefix`` and ``channel``)."""
    prefix: str
    """The first part of every key."""
    shown: str
    """The URL with its password masked: the only form ever printed."""
    channel: str = "default"
    """The bus channel (``?channel=NAME``): runs on one channel share agents' names."""

    @classmethod
    def parse(cls, url: str) -> RedisTarget:
        """Parse ``url``.

        Raises:
            ValueError: when it is not a Redis URL (the message shows it masked).
        """
        shown = display_url(url)
        if not is_redis_url(url):
            raise ValueError(f"{shown}: not a Redis URL (redis://HOST:PORT/DB)")
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
        channel = next((v for k, v in query if k == "channel"), "default")
        for what, word in (("key prefix", prefix), ("channel", channel)):
            if not word or any(c in word for c in " \t\r\n{}"):
                raise ValueError(f"{shown}: the {what} must be a word")
        rest = urlencode([(k, v) for k, v in query if k not in ("prefix", "channel")])
        if parts.scheme != "unix":
            try:
                parts.port  # noqa: B018 (raises on a bad port)
            except ValueError:
                raise ValueError(f"{shown}: the port is not a number") from None
            db = parts.path.strip("/")
            if db and not db.isdigit():
                raise ValueError(f"{shown}: the database must be a number (redis://HOST:PORT/0)")
        plain = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
        return cls(plain, prefix, shown, channel)

    def client(self, *, timeout_s: float = 5.0) -> redis.Redis:
        """A redis-py client that fails fast (the callers retry in their own loops)."""
        with needs_extra("redis", "Switchboard over Redis"):
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        return redis.Redis.from_url(
            self.url,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(timeout_s, 2.0),
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )

    @property
    def index_key(self) -> str:
        """The sorted set of run ids, scored by start time."""
        return f"{self.prefix}:runs"

    def stream_key(self, run_id: str) -> str:
        """The stream of a run's events."""
        return f"{self.prefix}:run:{run_id}"

    def info_key(self, run_id: str) -> str:
        """The hash of a run's name, status and counts."""
        return f"{self.prefix}:run:{run_id}:info"


def _retryable(exc: BaseException) -> bool:
    """A lost or refused connection (worth retrying), not a refused command or login."""
    if isinstance(exc, OSError):
        return True
    from redis import exceptions

    if isinstance(exc, exceptions.AuthenticationError):
        return False
    return isinstance(
        exc, exceptions.ConnectionError | exceptions.TimeoutError | exceptions.BusyLoadingError
    )


class RedisDeliveryError(RuntimeError):
    """Events of a run that could not be delivered to Redis (the message says how many)."""


class _Chunk:
    """Consecutive events of one run, sent as one stream entry."""

    __slots__ = ("count", "data", "finished", "first", "run_id", "started")

    def __init__(self, run_id: str, first: int) -> None:
        self.run_id = run_id
        self.first = first
        self.count = 0
        self.data = b""
        self.started: tuple[str, float] | None = None
        self.finished: tuple[str, float] | None = None


class _Block:
    """Consecutive JSON lines joined (``RedisStreamSink._compact``)."""

    __slots__ = ("count", "data")

    def __init__(self, count: int, data: bytes) -> None:
        self.count = count
        self.data = data


_COMPACT = 64
"""Lines the run's thread joins into one block (see ``RedisStreamSink._compact``), or
fewer when a chunk holds fewer."""


class _Mark:
    """Queued before an event that cannot continue the previous one's chunk: the first
    of a run (or after a gap in ``seq``), a ``run_started`` or a ``run_finished``."""

    __slots__ = ("finished", "new", "run_id", "seq", "started")

    def __init__(
        self,
        run_id: str,
        seq: int,
        new: bool,
        started: tuple[str, float] | None = None,
        finished: tuple[str, float] | None = None,
    ) -> None:
        self.run_id = run_id
        self.seq = seq
        self.new = new
        """The event starts a new chunk (otherwise it continues the open one)."""
        self.started = started
        self.finished = finished


class RedisStreamSink:
    """Publishes every event of a run to Redis Streams, batched and pipelined, losslessly.

    Args:
        url: ``redis://[user:password@]host:port/db[?prefix=NAME]``.
        chunk: Events per stream entry (at most).
        flush_s: How long an event may wait before its chunk is sent.
        max_buffered: Events kept while Redis is away; events beyond are counted as
            not delivered (and reported), so a long outage costs bounded memory.
        close_timeout_s: How long ``close`` waits for Redis to take what is left.
        pipeline: Chunks per pipeline (one round trip).

    ``emit`` takes no lock: it appends the event's JSON line to a queue (an atomic
    ``deque.append``) that only the flusher thread takes from; events that cannot join
    the previous one's chunk are preceded by a ``_Mark``. Like every sink, it is called
    from the run's thread, in order (one thread at a time).

    Raises:
        ValueError: when ``url`` is not a Redis URL.
    """

    def __init__(
        self,
        url: str,
        *,
        chunk: int = 1024,
        flush_s: float = 0.02,
        max_buffered: int = 1_000_000,
        close_timeout_s: float = 30.0,
        pipeline: int = 32,
    ) -> None:
        self.target = RedisTarget.parse(url)
        self._raw_url = url
        self._chunk = max(1, chunk)
        self._flush_s = flush_s
        self._max = max_buffered
        self._close_timeout_s = close_timeout_s
        self._per_pipeline = max(1, pipeline)
        self._lock = threading.Lock()  # the queue's pops, and starting the flusher
        # the run's thread appends (lines, blocks of lines and marks), the flusher takes
        self._queue: deque[bytes | _Block | _Mark] = deque()
        # the run's thread only
        self._emitted = 0
        self._countdown = self._chunk
        self._fresh = 0  # lines queued since the last ``_compact``
        self._compact_at = min(_COMPACT, self._chunk)  # a block never exceeds a chunk
        self._run: str | None = None
        self._next_seq = -1
        # the flusher only (and ``close`` once the flusher has stopped)
        self._sealed: deque[_Chunk] = deque()
        self._acked = 0  # events out of the buffer: acknowledged or refused for good
        self._tail: _Chunk | None = None  # the last chunk made, which lines may continue
        self._wake = threading.Event()
        self._stopping = False
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None
        self.runs: list[str] = []
        """The ids of the runs this sink has seen, in order."""
        self.delivered = 0
        """Events Redis has acknowledged."""
        self.dropped = 0
        """Events not kept because the buffer was full (reported at close)."""
        self.rejected = 0
        """Events Redis refused for good (a key of the wrong type, say; reported at close)."""
        self.undelivered = 0
        """Events still buffered when ``close`` gave up waiting for Redis."""
        self.outages = 0
        """Times the connection was lost or refused (each followed by a retry)."""
        self.last_error: str | None = None
        """The last error met, credentials masked."""
        self.lost = 0
        """Events reported as not delivered by every ``close`` so far."""

    # -- the run's thread --------------------------------------------------------
    def emit(self, event: TraceEvent) -> None:
        line = dump_line(event)
        if self._emitted - self._acked >= self._max:
            self.dropped += 1
            self._run = None  # a gap: the next event kept starts a chunk of its own
            return
        seq = event.seq
        kind = event.kind
        if (
            seq != self._next_seq
            or event.run_id != self._run
            or kind == "run_started"
            or kind == "run_finished"
        ):
            self._mark(event, kind, line)  # its line stays a line of its own, after the mark
        else:
            self._queue.append(line)
            self._fresh += 1
            if self._fresh >= self._compact_at:
                self._compact()
        self._next_seq = seq + 1
        self._emitted += 1
        self._countdown -= 1
        if self._countdown <= 0:
            self._countdown = self._chunk
            self._wake.set()
        if self._thread is None:
            self._start()

    def _mark(self, event: TraceEvent, kind: str, line: bytes) -> None:
        """Queue a mark and the event's line after it, together: the flusher never takes
        one without the other (a run_finished line taken apart from its mark was sent
        in an entry of its own, and the run's end never reached the index)."""
        run_id = event.run_id
        new = event.seq != self._next_seq or run_id != self._run
        if run_id != self._run:
            self._run = run_id
            if not self.runs or self.runs[-1] != run_id:
                self.runs.append(run_id)
        mark = _Mark(run_id, event.seq, new or kind == "run_started")
        if kind == "run_started":
            mark.started = (event.name, event.ts)  # type: ignore[union-attr,assignment]
            self._countdown = 0  # in the index at once: a follower may be waiting for it
        elif kind == "run_finished":
            mark.finished = (event.status, event.ts)  # type: ignore[union-attr]
            self._countdown = 0  # send the run's end without waiting
        with self._lock:
            self._join_fresh()  # a mark never goes inside a compacted block
            self._queue.append(mark)
            self._queue.append(line)

    def _compact(self) -> None:
        """Join the newest lines into one block (``_COMPACT`` events, as the JSONL
        recorder does): hundreds of separate lines waiting for the flusher cost the run
        fresh memory for each new one."""
        with self._lock:
            self._join_fresh()

    def _join_fresh(self) -> None:
        """``_compact``'s work, the lock held. The flusher takes from the queue under the
        same lock, and only ever from the left, so the newest ``_fresh`` items (or all
        that are left, if it took some) are this thread's lines, in order."""
        queue = self._queue
        lines: list[Any] = [queue.pop() for _ in range(min(self._fresh, len(queue)))]
        self._fresh = 0
        if len(lines) > 1:
            lines.reverse()
            queue.append(_Block(len(lines), b"".join(lines)))
        elif lines:
            queue.append(lines[0])

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._flusher, name="RedisStreamSink-flush", daemon=True
            )
            self._thread.start()

    # -- the flusher thread ------------------------------------------------------
    def _take(self) -> None:
        """Cut the queued lines into sealed chunks (the flusher's thread)."""
        queue = self._queue
        with self._lock:
            items = [queue.popleft() for _ in range(len(queue))]
        if not items:
            return
        limit = self._chunk
        sealed = self._sealed
        chunk = self._tail
        lines: list[bytes] = []

        def seal() -> None:
            if chunk is not None and lines:
                chunk.data = b"".join(lines)
                sealed.append(chunk)
                lines.clear()

        marked = False  # the item before was a mark: this is its event's line, in its chunk
        for item in items:
            if type(item) is not _Mark:
                if chunk is None:  # pragma: no cover (a mark always comes first)
                    raise AssertionError("an event line without its run")
                if type(item) is bytes:
                    n, data = 1, item
                else:
                    block: _Block = item  # type: ignore[assignment]
                    n, data = block.count, block.data
                if marked:
                    marked = False
                elif (chunk.count and chunk.count + n > limit) or chunk.finished or chunk.data:
                    seal()
                    chunk = _Chunk(chunk.run_id, chunk.first + chunk.count)
                lines.append(data)
                chunk.count += n
                continue
            marked = True
            mark: _Mark = item
            if mark.new or chunk is None or chunk.run_id != mark.run_id:
                seal()
                chunk = _Chunk(mark.run_id, mark.seq)
            elif chunk.count >= limit or chunk.finished is not None or chunk.data:
                seal()
                chunk = _Chunk(chunk.run_id, chunk.first + chunk.count)
            if mark.started is not None:
                chunk.started = mark.started
            if mark.finished is not None:
                chunk.finished = mark.finished
        seal()
        self._tail = chunk

    def _flusher(self) -> None:
        client: Any = None
        backoff = 0.05
        while True:
            self._wake.wait(self._flush_s)
            self._wake.clear()
            stopping = self._stopping  # read first: every event before it is queued
            self._take()
            if not self._sealed:
                if stopping:
                    break
                continue
            try:
                if client is None:
                    client = self.target.client()
                while self._sealed:
                    self._send(client)
                backoff = 0.05
                if stopping:  # take what came since at once, and stop (no wait for a wake)
                    self._wake.set()
            except Exception as exc:  # whatever it is, keep the events and try again
                self.outages += 1
                self.last_error = _clean(f"{type(exc).__name__}: {exc}", self._raw_url)
                if client is not None:
                    client.close()
                    client = None
                if stopping and time.monotonic() >= self._deadline:
                    break
                # wait before retrying; a close still gets its deadline checked
                time.sleep(min(backoff, max(0.0, self._deadline - time.monotonic())))
                backoff = min(backoff * 2, 1.0)
                self._wake.set()
        if client is not None:
            client.close()

    def _send(self, client: Any) -> None:
        """Send the oldest sealed chunks in one pipeline; drop them once acknowledged.

        One XADD per chunk, and per run one HSET of its info (and a ZADD into the index
        when the run starts).
        """
        target = self.target
        batch = [self._sealed[i] for i in range(min(self._per_pipeline, len(self._sealed)))]
        pipe = client.pipeline(transaction=False)
        ops: list[_Chunk | None] = []
        infos: dict[str, dict[str, Any]] = {}
        for chunk in batch:
            run_id = chunk.run_id
            pipe.xadd(
                target.stream_key(run_id),
                {"n": chunk.count, "events": chunk.data},
                id=f"{chunk.first}-{chunk.count}",
            )
            ops.append(chunk)
            info = infos.setdefault(run_id, {})
            info["last_seq"] = chunk.first + chunk.count - 1
            if chunk.started is not None:
                name, ts = chunk.started
                pipe.zadd(target.index_key, {run_id: ts})
                ops.append(None)
                info.update(name=name, started_at=ts, status="running")
            if chunk.finished is not None:
                status, ts = chunk.finished
                info.update(status=status, finished_at=ts)
        for run_id, info in infos.items():
            pipe.hset(target.info_key(run_id), mapping=info)
            ops.append(None)
        results = pipe.execute(raise_on_error=False)
        refused = 0
        for op, result in zip(ops, results, strict=True):
            if isinstance(result, Exception):
                if _retryable(result):
                    raise result
                text = str(result)
                if op is not None and "equal or smaller" in text:
                    continue  # sent before the connection was lost: stored once already
                self.last_error = _clean(f"{type(result).__name__}: {text}", self._raw_url)
                if op is not None:
                    refused += op.count
        done = 0
        for chunk in batch:
            self._sealed.popleft()
            done += chunk.count
        self.rejected += refused
        self.delivered += done - refused
        self._acked += done

    # -- end ---------------------------------------------------------------------
    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every event emitted so far is acknowledged; False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self._wake.set()
        while self._emitted > self._acked:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def report(self) -> str | None:
        """One line on what was not delivered, or None when every event was."""
        missing = self.dropped + self.rejected + self.undelivered
        if not missing:
            return None
        parts = []
        if self.undelivered:
            parts.append(f"{self.undelivered} still buffered when the run ended")
        if self.dropped:
            parts.append(f"{self.dropped} beyond the buffer of {self._max}")
        if self.rejected:
            parts.append(f"{self.rejected} refused by Redis")
        runs = ", ".join(self.runs[-3:]) or "no run"
        why = f" (last error: {self.last_error})" if self.last_error else ""
        return (
            f"{missing} event(s) of {runs} not delivered to {self.target.shown}: "
            f"{'; '.join(parts)}{why}"
        )

    def close(self) -> None:
        """Send what is left (waiting up to ``close_timeout_s`` for Redis); report the rest.

        The sink may be used again afterwards (an orchestrator's sink sees every run and
        is closed at the end of each): the next event starts a new flusher.

        Raises:
            RedisDeliveryError: when some events could not be delivered (counted since
                the last ``close``; ``lost`` keeps the total).
        """
        self._deadline = time.monotonic() + self._close_timeout_s
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        # the flusher has stopped: what it left is this thread's now
        self.undelivered = sum(c.count for c in self._sealed) + sum(
            1 if isinstance(item, bytes) else item.count
            for item in self._queue
            if not isinstance(item, _Mark)
        )
        problem = self.report()
        # what is reported is given up: the next run starts with an empty buffer
        self._sealed.clear()
        self._queue.clear()
        self._acked = self._emitted
        self._tail = None
        self._run = None
        self._countdown = self._chunk
        self._fresh = 0
        self.lost += self.undelivered + self.dropped + self.rejected
        self.undelivered = self.dropped = self.rejected = 0
        self._thread = None
        self._stopping = False
        self._deadline = float("inf")
        if problem is not None:
            raise RedisDeliveryError(problem)

    def __repr__(self) -> str:
        return f"RedisStreamSink({self.target.shown!r})"


# -- reading ---------------------------------------------------------------------------


@cache
def _chunk_adapter() -> TypeAdapter[list[TraceEvent]]:
    return TypeAdapter(list[TraceEvent])


def prepare_validation() -> None:
    """Build the validator of the events read from Redis now (~0.1 s of CPU), rather
    than when the first entry arrives (a follower that wants to start reading at once)."""
    _chunk_adapter()


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "line"
    return f"{where}: {err.get('msg', 'invalid')}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_SLICE = 64
"""Lines validated together: one list of ~64 events validates fastest per event (a list
of thousands is ~40% slower, its input and output no longer in the CPU's caches)."""

_RUN_ID = operator.attrgetter("run_id")


def decode_entry(
    entry_id: Any, fields: dict[Any, Any], run_id: str | None = None
) -> tuple[list[TraceEvent], list[str]]:
    """The events of one stream entry, validated, and a line per thing that was not.

    The entry's lines are validated ``_SLICE`` at a time, as one JSON list each; a slice
    that fails is validated again line by line, so one damaged line costs only itself
    (blank lines are skipped). Events of another run than ``run_id`` are skipped and
    reported.
    """
    data = fields.get(b"events", fields.get("events"))
    if not isinstance(data, bytes | str) or not data:
        return [], [f"entry {safe_line(_text(entry_id), 40)}: no events in it"]
    raw = data.encode() if isinstance(data, str) else data
    lines = raw.split(b"\n")
    if not lines[-1]:
        lines.pop()
    validate = _chunk_adapter().validate_json
    events: list[TraceEvent] = []
    problems: list[str] = []
    for start in range(0, len(lines), _SLICE):
        if start:
            # let another thread take the GIL (~1 µs): a follower catching up decodes for
            # seconds, and the view in its process (the terminal app), which lets go of the
            # GIL at every wait, would wait up to the switch interval (5 ms) to get it back
            time.sleep(0)
        part = lines[start : start + _SLICE]
        try:
            events += validate(b"[" + b",".join(part) + b"]")
        except ValueError:
            where = f"entry {safe_line(_text(entry_id), 40)}"
            for number, line in enumerate(part, start + 1):
                if not line.strip():
                    continue
                try:
                    events.append(parse_event(line))
                except ValidationError as exc:
                    problems.append(safe_line(f"{where} line {number}: {_describe(exc)}", 300))
                except ValueError as exc:
                    problems.append(safe_line(f"{where} line {number}: {exc}", 300))
    if run_id is not None and set(map(_RUN_ID, events)) - {run_id}:
        strays = [e for e in events if e.run_id != run_id]
        where = f"entry {safe_line(_text(entry_id), 40)}"
        problems.append(
            safe_line(f"{where}: {len(strays)} event(s) of another run ({strays[0].run_id})", 300)
        )
        events = [e for e in events if e.run_id == run_id]
    return events, problems


@dataclass
class RedisRunInfo:
    """A run in the Redis index (the fields ``switchboard runs`` shows)."""

    run_id: str
    name: str
    status: str
    started_at: float | None
    event_count: int | None
    duration_s: float | None


def _num(value: Any) -> float | None:
    try:
        return float(_text(value))
    except (TypeError, ValueError):
        return None


def _connect_error(target: RedisTarget, exc: Exception) -> SourceError:
    return SourceError(
        _clean(f"{target.shown}: cannot reach Redis: {type(exc).__name__}: {exc}", target.url)
    )


def list_runs(url: str | RedisTarget, limit: int = 100) -> list[RedisRunInfo]:
    """The runs in the index, newest first.

    Raises:
        SourceError: when the URL is not Redis's or Redis cannot be reached.
    """
    target = _target(url)
    client: Any = target.client()
    try:
        ids = client.zrevrange(target.index_key, 0, limit - 1)
        pipe = client.pipeline(transaction=False)
        for run_id in ids:
            pipe.hgetall(target.info_key(_text(run_id)))
        infos = pipe.execute()
    except Exception as exc:
        if type(exc).__module__.startswith("redis") or isinstance(exc, OSError):
            raise _connect_error(target, exc) from None
        raise
    finally:
        client.close()
    runs = []
    for run_id, info in zip(ids, infos, strict=True):
        info = {_text(k): _text(v) for k, v in info.items()}
        started, finished = _num(info.get("started_at")), _num(info.get("finished_at"))
        last = _num(info.get("last_seq"))
        runs.append(
            RedisRunInfo(
                _text(run_id),
                info.get("name", ""),
                info.get("status", "?"),
                started,
                None if last is None else int(last) + 1,
                None if started is None or finished is None else finished - started,
            )
        )
    return runs


def _target(url: str | RedisTarget) -> RedisTarget:
    if isinstance(url, RedisTarget):
        return url
    try:
        return RedisTarget.parse(url)
    except ValueError as exc:
        raise SourceError(str(exc)) from None


class RedisSource(EventSource):
    """A run's events read from its Redis stream, from the beginning, live.

    Args:
        target: The Redis URL, parsed.
        run_id: The run to follow.
        block_ms: How long one read waits for new entries.
        count: Entries per read at most (each up to the sink's ``chunk`` events): a
            follower that is behind catches up in bounded steps.
        idle_timeout_s: Stop after this long without a new entry (None: wait for
            ``run_finished``).
    """

    mode: Mode = "follow"
    can_cancel = False

    def __init__(
        self,
        target: RedisTarget,
        run_id: str,
        *,
        block_ms: int = 500,
        count: int = 16,
        idle_timeout_s: float | None = None,
    ) -> None:
        super().__init__(f"{target.shown} {run_id}")
        self.target = target
        self.run_id = run_id
        self.block_ms = block_ms
        self.count = count
        self.idle_timeout_s = idle_timeout_s
        self.reconnects = 0
        """Times the connection was lost and made again while following."""
        self.events_read = 0
        self._stop = threading.Event()

    def produce(self, feed: Feed) -> None:
        key = self.target.stream_key(self.run_id)
        last: Any = b"0-0"
        client: Any = None
        backoff = 0.05
        last_data = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    if client is None:
                        client = self.target.client(timeout_s=self.block_ms / 1000 + 5)
                    reply = client.xread({key: last}, count=self.count, block=self.block_ms)
                    backoff = 0.05
                except Exception as exc:
                    if not _retryable(exc):
                        feed.problem(_clean(f"{self.target.shown}: {exc}", self.target.url))
                        return
                    self.reconnects += 1
                    if client is not None:
                        client.close()
                        client = None
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 1.0)
                    continue
                if not reply:
                    if (
                        self.idle_timeout_s is not None
                        and time.monotonic() - last_data > self.idle_timeout_s
                    ):
                        return
                    continue
                last_data = time.monotonic()
                finished = False
                for _stream, entries in reply:
                    for entry_id, fields in entries:
                        last = entry_id
                        events, problems = decode_entry(entry_id, fields, self.run_id)
                        for problem in problems:
                            self.problems.append(problem)
                            feed.problem(problem)
                        if events:
                            self.events_read += len(events)
                            feed.extend(events)
                            finished = finished or events[-1].kind == "run_finished"
                if finished:
                    return
        finally:
            if client is not None:
                client.close()
            feed.close()

    def cancel(self) -> None:
        self._stop.set()


def read_run(target: RedisTarget, run_id: str) -> tuple[list[TraceEvent], list[str]]:
    """Every event of a run stored so far, and the problems of its entries.

    Raises:
        SourceError: when Redis cannot be reached.
    """
    client: Any = target.client()
    events: list[TraceEvent] = []
    problems: list[str] = []
    try:
        start: Any = "-"
        while True:
            entries = client.xrange(target.stream_key(run_id), min=start, count=1000)
            for entry_id, fields in entries:
                got, bad = decode_entry(entry_id, fields, run_id)
                events.extend(got)
                problems.extend(bad)
            if len(entries) < 1000:
                break
            start = b"(" + entries[-1][0]
    except Exception as exc:
        if type(exc).__module__.startswith("redis") or isinstance(exc, OSError):
            raise _connect_error(target, exc) from None
        raise
    finally:
        client.close()
    return events, problems


def _stored(target: RedisTarget, run_id: str) -> bool:
    """Whether Redis holds the run (in the index or as a stream)."""
    client: Any = target.client()
    try:
        return bool(
            client.zscore(target.index_key, run_id) is not None
            or client.exists(target.stream_key(run_id))
        )
    except Exception as exc:
        raise _connect_error(target, exc) from None
    finally:
        client.close()


def open_redis(
    url: str,
    run_id: str | None = None,
    *,
    follow: bool = True,
    idle_timeout_s: float | None = None,
) -> EventSource:
    """A run in Redis: followed live from its first event (or read as it is, ``follow=False``).

    Args:
        url: ``redis://[user:password@]host:port/db[?prefix=NAME]``.
        run_id: Which run (default: the newest in the index).
        follow: Follow the run until it finishes; otherwise read what is stored now.
        idle_timeout_s: Stop following after this long without a new entry.

    Raises:
        SourceError: for a bad URL, Redis unreachable, no runs, or an unknown run
            (the message lists the newest runs to pick from).
    """
    from toolkit.sources import RecordedSource

    target = _target(url)
    runs = list_runs(target, limit=10)
    if run_id is None:
        if not runs:
            raise SourceError(f"{target.shown}: no runs yet (under the prefix {target.prefix})")
        run_id = runs[0].run_id
    if follow:
        if run_id not in {r.run_id for r in runs} and not _stored(target, run_id):
            known = ", ".join(r.run_id for r in runs) or "none"
            raise SourceError(
                f"{target.shown}: no run {safe_line(run_id, 80)} (newest runs: {known}; "
                f"switchboard runs --store URL lists them)"
            )
        return RedisSource(target, run_id, idle_timeout_s=idle_timeout_s)
    events, problems = read_run(target, run_id)
    if not events:
        known = ", ".join(r.run_id for r in runs) or "none"
        raise SourceError(
            f"{target.shown}: no events of run {safe_line(run_id, 80)} (newest runs: {known})"
        )
    notices = (
        [f"{target.shown}: skipped {len(problems)} damaged entr(ies): {problems[0]}"]
        if problems
        else []
    )
    return RecordedSource(f"{target.shown} {run_id}", events, notices, problems)


def sinks_for(urls: Sequence[str]) -> list[RedisStreamSink]:
    """A sink per URL (``switchboard run --events URL``)."""
    return [RedisStreamSink(url) for url in urls]
