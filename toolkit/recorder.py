"""JSONL traces: a lossless recorder, and a reader that never silently drops a line.

The recorder keeps file writes off the agents' path: ``emit`` serializes the event
(while it is fresh in the CPU's caches) and appends the line to a buffer; a background
thread writes the buffer every ``flush_s`` seconds (and ``emit`` writes inline once
``batch`` lines are waiting). Each write is whole
lines in one ``write`` call, and ``close`` writes what is left, so a run that fails
or is cancelled still leaves a complete trace.

The reader parses every line it can; a corrupt line (garbage, a truncated last line,
an unknown event kind) is skipped, counted and reported in ``TraceFile.problems``, each
reason terminal-safe and at most a few hundred characters (it may quote the bad line).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from toolkit.events import _NEWLINE, TraceEvent, _default, _dumps, dump_line, parse_event
from toolkit.text import safe_line

__all__ = [
    "BufferedSink",
    "JsonlRecorder",
    "TraceFile",
    "TraceReadError",
    "follow_trace",
    "read_trace",
    "write_trace",
]


class TraceReadError(OSError):
    """A trace file that cannot be read at all (missing, a directory, unreadable)."""


class _Flusher:
    """The one background thread that flushes every open buffered sink of the process.

    A thread of each sink's own was started when its run's first event came and joined
    when the run closed it: on a busy machine each of those handoffs waits for the OS
    scheduler, which cost a short recorded run more than its events. This thread lives
    as long as the process; a sink joins it on its first event and leaves on ``close``,
    and the thread sleeps while no sink is open. Each sink is flushed every
    ``flush_s`` seconds; a flush that raises leaves the error for ``close`` to raise.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._sinks: dict[int, BufferedSink] = {}
        self._busy: BufferedSink | None = None
        self._thread: threading.Thread | None = None

    def add(self, sink: BufferedSink) -> None:
        with self._cond:
            self._sinks[id(sink)] = sink
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="switchboard-flush", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, sink: BufferedSink) -> None:
        """Stop flushing ``sink``; returns once no flush of it is under way."""
        with self._cond:
            self._sinks.pop(id(sink), None)
            while self._busy is sink:
                self._cond.wait()

    def _run(self) -> None:
        due: dict[int, float] = {}
        cond = self._cond
        while True:
            with cond:
                while not self._sinks:
                    due.clear()
                    cond.wait()
                now = time.monotonic()
                for key in [key for key in due if key not in self._sinks]:
                    del due[key]
                for key, sink in self._sinks.items():
                    if key not in due:
                        due[key] = now + sink._flush_s
                first = min(due.values())
                if first > now:
                    cond.wait(first - now)
                    continue
                ready = [key for key, at in due.items() if at <= now]
            for key in ready:
                with cond:
                    sink_or_none = self._sinks.get(key)
                    if sink_or_none is None:
                        continue
                    self._busy = sink_or_none
                    due[key] = now + sink_or_none._flush_s
                try:
                    sink_or_none._flush_in_background()
                finally:
                    with cond:
                        self._busy = None
                        cond.notify_all()


_FLUSHER = _Flusher()
if hasattr(os, "register_at_fork"):  # a forked child starts with no flusher thread
    os.register_at_fork(after_in_child=_FLUSHER._reset)


class BufferedSink:
    """Base of sinks that write events in batches from a background thread.

    ``emit`` appends to a deque (atomic, so it needs no lock and cannot race the
    flusher); the process's flusher thread (shared by every open sink) takes exactly
    the events it counted, in order, and hands them to ``_write``. Subclasses implement
    ``_write(batch)``; it runs with the sink's lock held, on the flusher thread, or on
    the run's thread when ``batch`` events are waiting or the sink is closed. A
    subclass may queue what it made of each event instead (``JsonlRecorder`` queues
    its JSON line).
    """

    def __init__(self, flush_s: float = 0.1, batch: int = 2048) -> None:
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._batch = batch
        self._flush_s = flush_s
        self._closed = False
        self._joined = False
        """Whether the flusher thread flushes this sink (from its first event to ``close``)."""
        self._flush_error: Exception | None = None
        self.written = 0
        """Events written so far."""

    def emit(self, event: TraceEvent) -> None:
        queue = self._queue
        queue.append(event)
        if len(queue) >= self._batch or not self._joined:
            self._kick()

    def _kick(self) -> None:
        if not self._joined:
            self._joined = True
            _FLUSHER.add(self)
        if len(self._queue) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Write every event emitted so far."""
        with self._lock:
            queue = self._queue
            batch = [queue.popleft() for _ in range(len(queue))]
            if batch:
                self._write(batch)
                self.written += self._count(batch)

    def _count(self, batch: list[Any]) -> int:
        """How many events a batch taken from the queue holds (one per item here)."""
        return len(batch)

    def _flush_in_background(self) -> None:
        """The flusher thread's flush: an error is kept for ``close``, and ends the
        background flushing of this sink (the run's own flushes go on)."""
        if self._closed or self._flush_error is not None:
            return
        try:
            self.flush()
        except Exception as exc:
            self._flush_error = exc
            with _FLUSHER._cond:
                _FLUSHER._sinks.pop(id(self), None)

    def close(self) -> None:
        """Write what is left, release the file; later emits raise (so does a write
        that failed in the background, once the rest is written)."""
        if self._closed:
            return
        if self._joined:
            _FLUSHER.remove(self)
        self.flush()
        self._closed = True
        self.emit = self._emit_closed  # type: ignore[method-assign]
        self._release()
        if self._flush_error is not None:
            error, self._flush_error = self._flush_error, None
            raise error

    def _emit_closed(self, event: TraceEvent) -> None:
        raise RuntimeError(f"{type(self).__name__} is closed")

    def _write(self, batch: list[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _release(self) -> None:
        pass


_CHUNK = 64
"""The recorder joins this many fresh lines into one chunk (see ``JsonlRecorder._compact``)."""


class JsonlRecorder(BufferedSink):
    """Records every event of a run as one JSON line.

    Args:
        path: The trace file; its parent folders are created.
        append: Append to an existing file instead of replacing it.
    """

    def __init__(
        self, path: str | Path, *, append: bool = False, flush_s: float = 0.1, batch: int = 2048
    ) -> None:
        super().__init__(flush_s, batch)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(self.path, "ab" if append else "wb")  # noqa: SIM115 (held for the run)
        self._fresh = 0  # lines queued since the last ``_compact``

    def emit(self, event: TraceEvent) -> None:
        # the line is made here, not by the flusher: an event just built is still in
        # the CPU's caches, and the flusher would hold the GIL to do it anyway; the line
        # also records the payload as it was when sent, even if the agent changes it later
        queue = self._queue
        try:  # ``dump_line``, inline: one call fewer on every event
            queue.append(_dumps(event.__dict__, default=_default, option=_NEWLINE))
        except TypeError:
            queue.append(dump_line(event))
        self._fresh += 1
        if self._fresh >= _CHUNK:
            self._compact()
        if len(queue) >= self._batch or not self._joined:
            self._kick()

    def _compact(self) -> None:
        """Join the newest lines into one chunk, so orjson's buffers are freed at once.

        Thousands of separate lines waiting for the flusher cost each new line fresh
        memory: a recorded step cost ~11 µs more than an unrecorded one, ~3.5 µs with
        the lines joined every ``_CHUNK`` (measured beside each other in one process).
        The flusher takes a prefix of the queue under the same lock, so the newest
        ``_fresh`` items (or all of them, if it took some) are lines, in order.
        """
        with self._lock:
            queue = self._queue
            lines = [queue.pop() for _ in range(min(self._fresh, len(queue)))]
            self._fresh = 0
            if lines:
                lines.reverse()
                queue.append((len(lines), b"".join(lines)))

    def _count(self, batch: list[bytes | tuple[int, bytes]]) -> int:
        return sum(item[0] if isinstance(item, tuple) else 1 for item in batch)

    def _write(self, batch: list[bytes | tuple[int, bytes]]) -> None:
        self._file.write(
            b"".join([item if type(item) is bytes else item[1] for item in batch])  # type: ignore[misc]
        )
        self._file.flush()

    def _release(self) -> None:
        self._file.close()


def write_trace(path: str | Path, events: Iterable[TraceEvent]) -> Path:
    """Write events to a JSONL file at once."""
    recorder = JsonlRecorder(path)
    recorder._queue.extend(map(dump_line, events))
    recorder.close()
    return recorder.path


@dataclass
class TraceFile:
    """The events read from a trace, and what could not be read."""

    path: Path
    events: list[TraceEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per skipped line: ``line N: reason``."""

    @property
    def skipped(self) -> int:
        """Lines skipped (the "no valid event in the file" note is not a line)."""
        return sum(1 for p in self.problems if p.startswith("line "))

    def report(self) -> str | None:
        """A one-line summary of skipped lines, or None when all were read."""
        if not self.problems:
            return None
        first = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        return f"{self.path}: skipped {self.skipped} corrupt line(s): {first}{more}"


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "line"
    return f"{where}: {err.get('msg', 'invalid')}"


def _parse_lines(lines: Iterable[tuple[int, bytes]], trace: TraceFile) -> None:
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            trace.events.append(parse_event(raw))
        except ValidationError as exc:
            # the reason quotes the line (a bad kind, say): shown safe and short anywhere
            trace.problems.append(safe_line(f"line {number}: {_describe(exc)}", 300))
        except ValueError as exc:
            trace.problems.append(safe_line(f"line {number}: {exc}", 300))


def read_trace(path: str | Path) -> TraceFile:
    """Read a JSONL trace, skipping (and reporting) corrupt lines.

    Raises:
        TraceReadError: when the file is missing or cannot be read.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TraceReadError(f"{path}: no such trace file") from None
    except IsADirectoryError:
        raise TraceReadError(f"{path}: is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceReadError(f"{path}: cannot read: {exc.strerror}") from None
    trace = TraceFile(path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines and data:
        # no newline at the end: the writer was cut off mid-line, if the line is broken
        pass
    _parse_lines(enumerate(lines, 1), trace)
    if (
        data
        and not trace.events
        and trace.problems
        and len(trace.problems) == len([ln for ln in lines if ln.strip()])
    ):
        trace.problems.insert(0, "no valid event in the file: is it a Switchboard trace?")
    return trace


def follow_trace(
    path: str | Path,
    *,
    poll_s: float = 0.1,
    stop: threading.Event | None = None,
    idle_timeout_s: float | None = None,
) -> Iterator[list[TraceEvent] | str]:
    """Tail a trace another process is writing; yields batches of new events.

    A corrupt line is yielded as a ``str`` problem report (``line N: reason``). A line
    without its newline yet is held back until it is complete. Stops after the
    ``run_finished`` event, when ``stop`` is set, or after ``idle_timeout_s`` with no
    new data.
    """
    path = Path(path)
    position, number, pending = 0, 0, b""
    last_data = time.monotonic()
    while stop is None or not stop.is_set():
        try:
            with open(path, "rb") as fh:
                fh.seek(position)
                chunk = fh.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            last_data = time.monotonic()
            position += len(chunk)
            data = pending + chunk
            *complete, pending = data.split(b"\n")
            trace = TraceFile(path)
            _parse_lines(((number + i + 1, line) for i, line in enumerate(complete)), trace)
            number += len(complete)
            yield from trace.problems
            if trace.events:
                yield trace.events
                if trace.events[-1].kind == "run_finished":
                    return
        elif idle_timeout_s is not None and time.monotonic() - last_data > idle_timeout_s:
            return
        else:
            time.sleep(poll_s)
