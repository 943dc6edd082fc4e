"""The SQLite run store: durable history of runs, their events and snapshots.

The embedded default store (stdlib ``sqlite3``, WAL mode), one file per project. As a
sink it writes events in batches from a background thread; when the run ends it
writes the run's row and a snapshot of its final state. Any number of runs share one
file; ``runs()`` lists them and ``read_run(run_id)`` replays one.

Three rules keep what it holds true:

- **Never overwrite, never merge.** Events go in with a plain insert under the
  ``(run_id, seq)`` key and a run's row under its run id: a second execution with a
  run id already stored is a ``StoreError`` naming the run (and the sink stops
  writing), never a silent replacement of the first run's rows.
- **Reading never writes.** Reading opens the file read-only (SQLite ``mode=ro``):
  no schema is created, nothing is migrated or checkpointed, and a missing file is a
  ``StoreError``, not a new empty store. (SQLite may create its ``-wal``/``-shm``
  index files beside a WAL database; the database itself is untouched.)
- **A run whose process died is ``interrupted``, never ``running``.** The writer
  records the run's owner (host, pid and a process start token, so a reused pid is
  not mistaken for the owner) and a lease it renews with every batch and on a timer.
  A reader reports ``interrupted`` for a run still marked running whose owner is on
  this host and gone, or whose lease has expired (the only test across hosts).

A damaged event row is skipped, counted and reported (``StoredRun.problems``), like
a corrupt line of a JSONL trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from toolkit.events import (
    RunFinished,
    RunStarted,
    TraceEvent,
    _default,
    dump_event,
    parse_event,
)
from toolkit.recorder import BufferedSink, _describe
from toolkit.state import RunState
from toolkit.text import safe_line

__all__ = [
    "LEASE_S",
    "RunInfo",
    "RunStore",
    "StoreError",
    "StoreWarning",
    "StoredResult",
    "StoredRun",
    "owner_alive",
    "process_token",
]

LEASE_S = 30.0
"""How long a run's lease lasts without renewal; the writer renews it every third of it."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT,
    started_at REAL,
    finished_at REAL,
    duration_s REAL,
    event_count INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_token TEXT,
    heartbeat_at REAL,
    lease_s REAL
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ts REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    agent TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    output TEXT NOT NULL,
    approved INTEGER,
    feedback TEXT,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""
# columns added after the first release: a writer adds them to an older store
# (the owner and lease; a re-run's origin and how often a run was resumed)
_ADDED_COLUMNS = {
    "owner_host": "TEXT",
    "owner_pid": "INTEGER",
    "owner_token": "TEXT",
    "heartbeat_at": "REAL",
    "lease_s": "REAL",
    "forked_from": "TEXT",
    "from_task": "TEXT",
    "resumes": "INTEGER",
}
_RUN_COLUMNS = ("run_id", "name", "status", "started_at", "duration_s", "event_count", "error")


class StoreError(LookupError):
    """A store that cannot be opened or written, or a run that is not in it."""


class StoreWarning(UserWarning):
    """Rows of a stored run that could not be read (``RunStore.events`` skipped them)."""


# -- who owns a run ----------------------------------------------------------------


@cache
def _host() -> str:
    return socket.gethostname()


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    return fields[0].decode(), fields[19].decode()


def process_token(pid: int | None = None) -> str | None:
    """What tells this process apart from a later one given the same pid.

    The boot id and the process's start time (Linux ``/proc``); None where the
    system does not say, and then only the pid and the lease decide.
    """
    stat = _proc_stat(os.getpid() if pid is None else pid)
    if stat is None:
        return None
    return f"{_boot_id()}:{stat[1]}"


def owner_alive(pid: int, token: str | None) -> bool:
    """Whether the process ``pid`` of this host, started as ``token``, still runs."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc: the pid exists, which is all we can tell
    if stat[0] in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    return token is None or token == f"{_boot_id()}:{stat[1]}"


# -- what a reader gets ------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """One row of ``RunStore.runs()``."""

    run_id: str
    name: str
    status: str
    """running, succeeded, failed, cancelled, or interrupted (its process died)."""
    started_at: float | None
    duration_s: float | None
    event_count: int
    error: str | None
    host: str | None = None
    """The host of the process that wrote the run."""
    pid: int | None = None
    """That process's id."""
    heartbeat_at: float | None = None
    """When the writer last renewed the run's lease (Unix epoch seconds)."""
    forked_from: str | None = None
    """The run this one re-runs from ``from_task`` on (``switchboard rerun``), if any."""
    from_task: str | None = None
    """The task the re-run started executing from."""
    resumes: int = 0
    """How many times the run was resumed after its process died."""


@dataclass(frozen=True)
class StoredResult:
    """A result the store holds: a task's accepted output, or one review round's draft."""

    task_id: str
    seq: int
    """The event that recorded it (``task_finished`` or ``review_verdict``)."""
    agent: str
    attempt: int
    output: Any
    round: int = 0
    """0 for the task's output; the round number for a review round's draft."""
    approved: bool | None = None
    """The reviewer's verdict on a round's draft (None for a task's output)."""
    feedback: str | None = None


@dataclass
class StoredRun:
    """The events read from one stored run, and the rows that could not be read."""

    path: str
    run_id: str
    events: list[TraceEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """One line per skipped row: ``row seq N: reason``."""

    @property
    def skipped(self) -> int:
        """Rows skipped."""
        return len(self.problems)

    def report(self) -> str | None:
        """A one-line, terminal-safe summary of skipped rows, or None when all were read."""
        if not self.problems:
            return None
        first = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        where = safe_line(f"{self.path}: run {self.run_id}", 120)
        return f"{where}: skipped {self.skipped} corrupt row(s): {first}{more}"


def _json(value: Any) -> str:
    """A result as JSON text (what JSON cannot hold is written as in the event rows)."""
    try:
        return orjson.dumps(value, default=_default).decode()
    except TypeError:
        return json.dumps(value, default=_default, ensure_ascii=False, skipkeys=True)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- the store ---------------------------------------------------------------------


class RunStore(BufferedSink):
    """Runs, events and snapshots in one SQLite file.

    Making a ``RunStore`` writes nothing. Used as a sink, it opens the file for
    writing on the first event (creating it and its folders); every read goes through
    a separate read-only connection.

    Args:
        path: The database file, or ``":memory:"`` (one connection, for tests).
        lease_s: How long a run stays ``running`` for readers without a renewal.

    Raises:
        StoreError: when ``path`` exists and is not a run store (or is a folder).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        flush_s: float = 0.1,
        batch: int = 4096,
        lease_s: float = LEASE_S,
    ) -> None:
        super().__init__(flush_s, batch)
        self._memory = str(path) == ":memory:"
        self.path: Path | str = path if self._memory else Path(path)
        self.lease_s = lease_s
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._states: dict[str, RunState] = {}
        self._owned: set[str] = set()
        """Runs this writer started (or resumed) and has not seen finish."""
        self._drafts: dict[tuple[str, str, str], tuple[Any, int]] = {}
        """(run, task, agent) -> the agent's latest accepted output and attempt (a draft)."""
        self._primed: dict[str, RunState] = {}
        self._renewed = 0.0
        self._failure: StoreError | None = None
        self._reported = False
        if self._memory:
            self._writer = self._reader = self._open_writer()
        elif isinstance(self.path, Path) and self.path.is_dir():
            raise StoreError(f"{path}: is a directory, not a run store")
        elif isinstance(self.path, Path) and self.path.exists():
            self._connection()  # refuse a file that is not a run store now, not mid-run
            self._close_reader()
        self.emit = self._first_emit  # type: ignore[method-assign]

    # -- as a sink -------------------------------------------------------------
    def _first_emit(self, event: TraceEvent) -> None:
        if self._writer is None:
            self._writer = self._open_writer()
        del self.emit  # from now on the plain buffered emit
        self.emit(event)

    def _emit_failed(self, event: TraceEvent) -> None:
        assert self._failure is not None
        raise self._failure

    def _open_writer(self) -> sqlite3.Connection:
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout=10000")  # other processes may write runs too
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    with contextlib.suppress(sqlite3.OperationalError):  # added meanwhile
                        db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{self.path}: not a usable run store ({exc})") from None
        return db

    def _write(self, batch: list[TraceEvent]) -> None:
        if self._failure is not None:
            return  # the store refused an earlier batch: the error is reported, not repeated
        try:
            self._write_batch(batch)
        except StoreError as exc:
            self._fail(exc)
        except sqlite3.Error as exc:
            self._fail(StoreError(f"{self.path}: cannot write events: {exc}"))

    def _fail(self, error: StoreError) -> None:
        # raised from the next emit (the run reports a failed sink) and from close
        self._failure = error
        self.emit = self._emit_failed  # type: ignore[method-assign]

    def _write_batch(self, batch: list[TraceEvent]) -> None:
        db = self._writer
        assert db is not None
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            started = [e for e in batch if isinstance(e, RunStarted)]
            for begun in started:
                try:
                    db.execute(
                        "INSERT INTO runs (run_id, name, status, request, started_at, owner_host,"
                        " owner_pid, owner_token, heartbeat_at, lease_s)"
                        " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                        (
                            begun.run_id,
                            begun.name,
                            begun.request,
                            begun.ts,
                            _host(),
                            os.getpid(),
                            process_token(),
                            now,
                            self.lease_s,
                        ),
                    )
                except sqlite3.IntegrityError:
                    raise StoreError(
                        f"{self.path}: run {begun.run_id!r} is already in the store; a store never"
                        " merges two runs (was the run id reused?)"
                    ) from None
            rows = [(e.run_id, e.seq, e.kind, e.ts, dump_event(e).decode()) for e in batch]
            try:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError:
                raise _Duplicate() from None
            # what resuming needs goes in with the events that say it happened
            results = self._results(batch)
            if results:
                db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
            for e in batch:
                if e.kind == "run_resumed":
                    self._reown(db, e.run_id, now)
                elif e.kind == "run_forked":
                    db.execute(
                        "UPDATE runs SET forked_from=?, from_task=? WHERE run_id=?",
                        (e.forked_from, e.from_task, e.run_id),
                    )
            for begun in started:
                self._owned.add(begun.run_id)
                self._states[begun.run_id] = RunState()
            counts: dict[str, int] = {}
            for e in batch:
                counts[e.run_id] = max(counts.get(e.run_id, 0), e.seq + 1)
                state = self._states.get(e.run_id)
                if state is not None:
                    state.apply(e)
                if isinstance(e, RunFinished):
                    db.execute(
                        "UPDATE runs SET status=?, finished_at=?, duration_s=?, error=?,"
                        " event_count=? WHERE run_id=?",
                        (e.status, e.ts, e.duration_s, e.error, e.seq + 1, e.run_id),
                    )
                    if state is not None:
                        db.execute(
                            "INSERT INTO snapshots VALUES (?, ?, ?)",
                            (e.run_id, e.seq, json.dumps(summary(state), default=str)),
                        )
            for run_id, count in counts.items():
                if run_id in self._owned:
                    db.execute(
                        "UPDATE runs SET event_count=MAX(event_count, ?), heartbeat_at=?"
                        " WHERE run_id=?",
                        (count, now, run_id),
                    )
                else:
                    db.execute(
                        "UPDATE runs SET event_count=MAX(event_count, ?) WHERE run_id=?",
                        (count, run_id),
                    )
            db.execute("COMMIT")
        except BaseException as exc:
            db.execute("ROLLBACK")
            for e in batch:
                if isinstance(e, RunStarted) or e.kind == "run_resumed":
                    self._owned.discard(e.run_id)
                    self._states.pop(e.run_id, None)
            if isinstance(exc, _Duplicate):
                raise StoreError(self._duplicate(batch)) from None
            raise
        for e in batch:
            if isinstance(e, RunFinished):
                self._owned.discard(e.run_id)
                self._states.pop(e.run_id, None)
        self._renewed = now

    def _results(self, batch: list[TraceEvent]) -> list[tuple[Any, ...]]:
        """Rows of the ``results`` table for a batch: each task's accepted output
        (``round`` 0, from ``task_finished``) and each review round's draft and verdict."""
        rows: list[tuple[Any, ...]] = []
        drafts = self._drafts
        e: Any
        for e in batch:
            kind = e.kind
            if kind == "task_finished":
                rows.append(
                    (e.run_id, e.seq, e.task_id, 0, e.agent, e.attempt, _json(e.output), None, None)
                )
                for key in [k for k in drafts if k[0] == e.run_id and k[1] == e.task_id]:
                    del drafts[key]
            elif kind == "run_finished":
                for key in [k for k in drafts if k[0] == e.run_id]:
                    del drafts[key]
            elif kind == "message_sent":
                env = e.envelope
                if env.kind == "result" and env.task_id is not None:
                    drafts[(e.run_id, env.task_id, env.sender)] = (env.payload, env.attempt)
            elif kind == "review_verdict":
                draft, attempt = drafts.get((e.run_id, e.task_id, e.worker), (None, 1))
                rows.append(
                    (
                        e.run_id,
                        e.seq,
                        e.task_id,
                        e.round,
                        e.worker,
                        attempt,
                        _json(draft),
                        int(e.approved),
                        e.feedback,
                    )
                )
        return rows

    def _reown(self, db: sqlite3.Connection, run_id: str, now: float) -> None:
        """A resumed run is this writer's now: running again, under its owner and lease."""
        db.execute(
            "UPDATE runs SET status='running', finished_at=NULL, duration_s=NULL, error=NULL,"
            " owner_host=?, owner_pid=?, owner_token=?, heartbeat_at=?, lease_s=?,"
            " resumes=COALESCE(resumes, 0) + 1 WHERE run_id=?",
            (_host(), os.getpid(), process_token(), now, self.lease_s, run_id),
        )
        self._owned.add(run_id)
        state = self._primed.pop(run_id, None)
        if state is None:
            state = RunState()
            for row in db.execute("SELECT data FROM events WHERE run_id=? ORDER BY seq", (run_id,)):
                with contextlib.suppress(ValueError):
                    state.apply(parse_event(row[0]))
        self._states[run_id] = state

    def prime(self, run_id: str, state: RunState) -> None:
        """The state of a stored run this writer is about to resume (its events folded), so
        the final snapshot need not read them again. Optional: without it the writer
        folds the stored events when the ``run_resumed`` event arrives."""
        self._primed[run_id] = state

    def _duplicate(self, batch: list[TraceEvent]) -> str:
        assert self._writer is not None
        for e in batch:
            if self._writer.execute(
                "SELECT 1 FROM events WHERE run_id=? AND seq=?", (e.run_id, e.seq)
            ).fetchone():
                return (
                    f"{self.path}: event {e.seq} of run {e.run_id!r} is already stored; a store"
                    " never overwrites (is another execution writing the same run id?)"
                )
        return f"{self.path}: a batch repeats an event of its own (run {batch[0].run_id!r})"

    def flush(self) -> None:
        """Write every event emitted so far; renew the lease of running runs when due."""
        super().flush()
        if self._owned and time.time() - self._renewed >= self.lease_s / 3:
            with self._lock:
                self._renew()

    def _renew(self) -> None:
        db, owned = self._writer, list(self._owned)
        if db is None or not owned or self._failure is not None:
            return
        now = time.time()
        try:
            db.executemany(
                "UPDATE runs SET heartbeat_at=? WHERE run_id=? AND status='running'",
                [(now, run_id) for run_id in owned],
            )
        except sqlite3.Error:
            return  # a busy store: the next tick tries again, well within the lease
        self._renewed = now

    def close(self) -> None:
        """Write what is left, mark runs that never finished as interrupted, release.

        Raises:
            StoreError: when the store refused a batch (a duplicate run id or event).
        """
        super().close()
        if self._failure is not None and not self._reported:
            self._reported = True
            raise self._failure

    def _release(self) -> None:
        db = self._writer
        if db is None:
            return
        if self._owned and self._failure is None:
            # closed before its run_finished: no process carries this run on
            with contextlib.suppress(sqlite3.Error):
                db.executemany(
                    "UPDATE runs SET status='interrupted' WHERE run_id=? AND status='running'",
                    [(run_id,) for run_id in self._owned],
                )
        self._owned.clear()
        if not self._memory:
            db.close()  # readers use their own connection; the WAL is checkpointed here
            self._writer = None
            self._close_reader()

    # -- for durable engines ------------------------------------------------------
    def deliver(self, events: Sequence[TraceEvent], owner: str) -> int:
        """Write a batch of one run that a durable engine carries on, each event once.

        For an engine that may hand the same events over again (Temporal delivers from
        activities, and a worker can die after writing a batch but before the engine
        recorded it): events up to the highest ``seq`` stored for the run are skipped,
        the rest inserted, in one transaction. Batches come in ``seq`` order. The run's
        row names ``owner`` as its host and holds no pid and no lease, so no reader
        takes it as interrupted while the engine carries it on; ``run_finished`` ends
        it (and stores the snapshot of its state). Not for use beside ``emit``.

        Returns:
            How many events were new.

        Raises:
            StoreError: when the run id is already stored for another run (or the
                file is not a run store).
        """
        if not events:
            return 0
        run_id = events[0].run_id
        with self._lock:
            if self._writer is None:
                self._writer = self._open_writer()
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                (last,) = db.execute(
                    "SELECT MAX(seq) FROM events WHERE run_id=?", (run_id,)
                ).fetchone()
                fresh = [e for e in events if last is None or e.seq > last]
                if last is not None and events[0].seq <= last:
                    # held already: the same event again, or another run under this id
                    row = db.execute(
                        "SELECT data FROM events WHERE run_id=? AND seq=?",
                        (run_id, events[0].seq),
                    ).fetchone()
                    if row is None or row[0] != dump_event(events[0]).decode():
                        raise StoreError(
                            f"{self.path}: run {run_id!r} holds another run's event"
                            f" {events[0].seq}; a store never merges two runs"
                        )
                for e in fresh:
                    if isinstance(e, RunStarted):
                        try:
                            db.execute(
                                "INSERT INTO runs (run_id, name, status, request, started_at,"
                                " owner_host) VALUES (?, ?, 'running', ?, ?, ?)",
                                (run_id, e.name, e.request, e.ts, owner),
                            )
                        except sqlite3.IntegrityError:
                            raise StoreError(
                                f"{self.path}: run {run_id!r} is already in the store; a store"
                                " never merges two runs (was the run id reused?)"
                            ) from None
                db.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                    [(e.run_id, e.seq, e.kind, e.ts, dump_event(e).decode()) for e in fresh],
                )
                if fresh:
                    db.execute(
                        "UPDATE runs SET event_count=MAX(event_count, ?) WHERE run_id=?",
                        (fresh[-1].seq + 1, run_id),
                    )
                for e in fresh:
                    if isinstance(e, RunFinished):
                        state = RunState()
                        for (data,) in db.execute(
                            "SELECT data FROM events WHERE run_id=? ORDER BY seq", (run_id,)
                        ):
                            state.apply(parse_event(data))
                        db.execute(
                            "UPDATE runs SET status=?, finished_at=?, duration_s=?, error=?"
                            " WHERE run_id=?",
                            (e.status, e.ts, e.duration_s, e.error, run_id),
                        )
                        db.execute(
                            "INSERT INTO snapshots VALUES (?, ?, ?)",
                            (run_id, e.seq, json.dumps(summary(state), default=str)),
                        )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(fresh)

    # -- reading ---------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """The read-only connection (opened on first use)."""
        if self._reader is not None:
            return self._reader
        assert isinstance(self.path, Path)
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such run store")
        try:
            db = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
            )
            db.execute("PRAGMA query_only=ON")
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable run store ({exc})") from None
        if tables and not {"runs", "events"} <= tables:
            db.close()
            raise StoreError(f"{self.path}: not a usable run store (no runs and events tables)")
        self._reader = db
        return db

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._read_lock:
            db = self._connection()
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []  # an empty database: no run written yet
                raise StoreError(f"{self.path}: cannot read the store ({exc})") from None
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: cannot read the store ({exc})") from None

    def _run_rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[RunInfo]:
        have = {row[1] for row in self._query("PRAGMA table_info(runs)")}
        lease = [c if c in have else "NULL" for c in _ADDED_COLUMNS]
        rows = self._query(
            f"SELECT {', '.join(_RUN_COLUMNS)}, {', '.join(lease)} FROM runs {where}"
            " ORDER BY started_at DESC, rowid DESC",
            args,
        )
        now = time.time()
        return [self._info(row, now) for row in rows]

    def _info(self, row: tuple[Any, ...], now: float) -> RunInfo:
        run_id, name, status, started, duration, count, error = row[:7]
        host, pid, token, heartbeat, lease, forked_from, from_task, resumes = row[7:]
        status = _text(status)
        pid = pid if isinstance(pid, int) else None
        heartbeat, lease = _number(heartbeat), _number(lease)
        if status == "running":
            dead = (
                host == _host() and pid is not None and not owner_alive(pid, _text(token) or None)
            )
            expired = heartbeat is not None and now > heartbeat + (lease or LEASE_S)
            if dead or expired:
                status = "interrupted"
        return RunInfo(
            _text(run_id),
            _text(name),
            status,
            _number(started),
            _number(duration),
            _count(count),
            None if error is None else _text(error),
            None if host is None else _text(host),
            pid,
            heartbeat,
            None if forked_from is None else _text(forked_from),
            None if from_task is None else _text(from_task),
            _count(resumes),
        )

    def runs(self) -> list[RunInfo]:
        """Every stored run, newest first (a run whose writer died is ``interrupted``).

        Raises:
            StoreError: when the file is missing or is not a run store.
        """
        return self._run_rows()

    def parents(self) -> dict[str, tuple[str, str | None, str | None]]:
        """Each child run's (parent run, parent task, team), by run id: the runs of teams
        (``toolkit.team``), as their ``run_started`` names them."""
        rows = self._query(
            "SELECT run_id, data FROM events WHERE seq=0 AND kind='run_started'"
            " AND instr(data, 'parent_run') > 0"
        )
        out: dict[str, tuple[str, str | None, str | None]] = {}
        for run_id, data in rows:  # a damaged row is skipped here (read_run reports it)
            try:
                meta = json.loads(data).get("meta")
            except (TypeError, ValueError, AttributeError):
                continue
            parent = meta.get("parent_run") if isinstance(meta, dict) else None
            if not isinstance(parent, str):
                continue
            task, team = meta.get("parent_task"), meta.get("team")
            out[_text(run_id)] = (
                parent,
                task if isinstance(task, str) else None,
                team if isinstance(team, str) else None,
            )
        return out

    def info(self, run_id: str) -> RunInfo:
        """One run's row.

        Raises:
            StoreError: when the run is not in the store.
        """
        rows = self._run_rows("WHERE run_id=?", (run_id,))
        if not rows:
            raise StoreError(self._not_found(run_id))
        return rows[0]

    def _not_found(self, run_id: str) -> str:
        known = [r.run_id for r in self.runs()[:5]]
        hint = f" (recent: {', '.join(known)})" if known else " (the store has no runs)"
        return f"run {safe_line(run_id, 60)!r} is not in {self.path}{hint}"

    def read_run(self, run_id: str) -> StoredRun:
        """Every readable event of one run, in order, and a report of the rows skipped.

        A row that is not a valid event (garbage, an unknown kind, a missing field, an
        event of another run or seq) is skipped and reported as ``row seq N: reason``.

        Raises:
            StoreError: when the run is not in the store.
        """
        self.flush()
        rows = self._query("SELECT seq, data FROM events WHERE run_id=? ORDER BY seq", (run_id,))
        if not rows:
            raise StoreError(self._not_found(run_id))
        stored = StoredRun(str(self.path), run_id)
        for seq, data in rows:
            where = f"row seq {safe_line(seq, 20)}"
            if not isinstance(data, str | bytes):
                stored.problems.append(f"{where}: not event text")
                continue
            try:
                event = parse_event(data)
            except ValidationError as exc:
                stored.problems.append(safe_line(f"{where}: {_describe(exc)}", 200))
                continue
            except ValueError as exc:
                stored.problems.append(safe_line(f"{where}: {exc}", 200))
                continue
            if event.run_id != run_id or event.seq != seq:
                stored.problems.append(
                    safe_line(f"{where}: holds event {event.seq} of run {event.run_id!r}", 200)
                )
                continue
            stored.events.append(event)
        return stored

    def results(self, run_id: str) -> dict[str, StoredResult]:
        """Each finished task's stored output, by task id (what a resume keeps).

        Written in the same transaction as the task's ``task_finished`` event, so a
        task the store holds a result for is done, and one it holds none for is not.
        A row that cannot be read is left out (the task then runs again).
        """
        return {r.task_id: r for r in self._result_rows(run_id, "round = 0")}

    def rounds(self, run_id: str) -> list[StoredResult]:
        """Every stored review round (draft and verdict) of a run, in order."""
        return self._result_rows(run_id, "round > 0")

    def _result_rows(self, run_id: str, where: str) -> list[StoredResult]:
        self.flush()
        rows = self._query(
            "SELECT task_id, seq, agent, attempt, output, round, approved, feedback FROM results"
            f" WHERE run_id=? AND {where} ORDER BY seq",
            (run_id,),
        )
        out = []
        for task_id, seq, agent, attempt, output, round_, approved, feedback in rows:
            try:
                value = json.loads(output)
            except (TypeError, ValueError):
                continue
            out.append(
                StoredResult(
                    _text(task_id),
                    _count(seq),
                    _text(agent),
                    _count(attempt) or 1,
                    value,
                    _count(round_),
                    None if approved is None else bool(approved),
                    None if feedback is None else _text(feedback),
                )
            )
        return out

    def last_seq(self, run_id: str) -> int:
        """The highest seq stored for a run (-1 when it has no events)."""
        self.flush()
        rows = self._query("SELECT MAX(seq) FROM events WHERE run_id=?", (run_id,))
        value = rows[0][0] if rows else None
        return value if isinstance(value, int) else -1

    def events(self, run_id: str) -> list[TraceEvent]:
        """Every readable event of one run, in order (``read_run`` also says what was skipped).

        Skipped rows are reported as a ``StoreWarning``.

        Raises:
            StoreError: when the run is not in the store.
        """
        stored = self.read_run(run_id)
        report = stored.report()
        if report:
            warnings.warn(report, StoreWarning, stacklevel=2)
        return stored.events

    def family_events(self, run_id: str) -> list[TraceEvent]:
        """One run's events with those of its teams' child runs at any depth
        (``toolkit.team``), merged in time order as they were emitted: what the fold
        needs to show the run with ``RunState.children``.

        Raises:
            StoreError: when the run is not in the store.
        """
        import heapq

        kids: dict[str, list[str]] = {}
        for child, (parent, _, _) in self.parents().items():
            kids.setdefault(parent, []).append(child)
        streams, todo = [], [run_id]
        while todo:
            current = todo.pop(0)
            streams.append(self.events(current))
            todo.extend(kids.get(current, ()))
        # ties keep the parent's event first (a child starts after its parent's attempt)
        return list(heapq.merge(*streams, key=lambda e: e.ts))

    def snapshot(self, run_id: str) -> dict[str, Any] | None:
        """The last stored snapshot of a run's state, if any (None when it cannot be read)."""
        rows = self._query(
            "SELECT state FROM snapshots WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
        )
        if not rows:
            return None
        try:
            state = json.loads(rows[0][0])
        except (TypeError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def latest(self) -> str:
        """The id of the newest run that is not a team's child run (``toolkit.team``).

        Raises:
            StoreError: when the store has no runs (or is missing).
        """
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.path} has no runs")
        known = {r.run_id for r in runs}
        parents = self.parents()
        top = [r for r in runs if parents.get(r.run_id, ("",))[0] not in known]
        return (top or runs)[0].run_id

    def _close_reader(self) -> None:
        with self._read_lock:
            if self._reader is not None and not self._memory:
                self._reader.close()
                self._reader = None

    def disconnect(self) -> None:
        """Close the database connections (after ``close`` if used as a sink)."""
        self._close_reader()
        if self._writer is not None and self._closed:
            self._writer.close()
            self._writer = None


class _Duplicate(Exception):
    """An event insert hit a stored (run_id, seq)."""


def summary(state: RunState) -> dict[str, Any]:
    """A JSON-able digest of a run's state: status, totals, tasks and agents."""
    return {
        "run_id": state.run_id,
        "name": state.name,
        "status": state.status,
        "events": state.event_count,
        "elapsed_s": state.elapsed_s,
        "tokens_in": state.tokens_in,
        "tokens_out": state.tokens_out,
        "cost_usd": state.cost_usd,
        "tasks": {
            t.id: {
                "agent": t.agent,
                "status": t.status,
                "attempt": t.attempt,
                "duration_s": t.duration_s,
            }
            for t in state.tasks.values()
        },
        "agents": {
            a.name: {
                "state": a.state,
                "tasks": a.tasks,
                "succeeded": a.succeeded,
                "failed": a.failed,
                "retries": a.retries,
            }
            for a in state.agents.values()
        },
    }
