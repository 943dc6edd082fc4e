"""The SQLite run store: durable history of runs, their events and snapshots.

The embedded default store (stdlib ``sqlite3``, WAL mode), one file per project. As a
sink it writes events in batches from a background thread; when the run ends it
writes the run's row and a snapshot of its final state. Any number of runs share one
file; ``runs()`` lists them and ``events(run_id)`` replays one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.events import RunFinished, RunStarted, TraceEvent, dump_event, parse_event
from toolkit.recorder import BufferedSink
from toolkit.state import RunState

__all__ = ["RunInfo", "RunStore", "StoreError"]

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
    error TEXT
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ts REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""


class StoreError(LookupError):
    """A store that cannot be opened, or a run that is not in it."""


@dataclass(frozen=True)
class RunInfo:
    """One row of ``RunStore.runs()``."""

    run_id: str
    name: str
    status: str
    started_at: float | None
    duration_s: float | None
    event_count: int
    error: str | None


class RunStore(BufferedSink):
    """Runs, events and snapshots in one SQLite file.

    Args:
        path: The database file (created if missing), or ``":memory:"``.
    """

    def __init__(self, path: str | Path, *, flush_s: float = 0.1, batch: int = 4096) -> None:
        super().__init__(flush_s, batch)
        self.path = Path(path) if str(path) != ":memory:" else path
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable run store ({exc})") from None
        self._state: RunState | None = None

    # -- as a sink -------------------------------------------------------------
    def _write(self, batch: list[TraceEvent]) -> None:
        db = self._db
        rows = [(e.run_id, e.seq, e.kind, e.ts, dump_event(e).decode()) for e in batch]
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?)", rows)
            for e in batch:
                if isinstance(e, RunStarted):
                    self._state = RunState()
                    db.execute(
                        "INSERT OR REPLACE INTO runs (run_id, name, status, request, started_at) VALUES (?, ?, 'running', ?, ?)",
                        (e.run_id, e.name, e.request, e.ts),
                    )
                if self._state is not None:
                    self._state.apply(e)
                if isinstance(e, RunFinished):
                    db.execute(
                        "UPDATE runs SET status=?, finished_at=?, duration_s=?, error=?, event_count=? WHERE run_id=?",
                        (e.status, e.ts, e.duration_s, e.error, e.seq + 1, e.run_id),
                    )
                    if self._state is not None:
                        db.execute(
                            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)",
                            (e.run_id, e.seq, json.dumps(summary(self._state), default=str)),
                        )
            last = batch[-1]
            db.execute(
                "UPDATE runs SET event_count=MAX(event_count, ?) WHERE run_id=?",
                (last.seq + 1, last.run_id),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        super().close()

    def _release(self) -> None:
        # the store stays readable after a run: reads reopen nothing
        pass

    # -- reading ---------------------------------------------------------------
    def runs(self) -> list[RunInfo]:
        """Every stored run, newest first."""
        rows = self._db.execute(
            "SELECT run_id, name, status, started_at, duration_s, event_count, error FROM runs ORDER BY started_at DESC"
        ).fetchall()
        return [RunInfo(*row) for row in rows]

    def events(self, run_id: str) -> list[TraceEvent]:
        """Every event of one run, in order.

        Raises:
            StoreError: when the run is not in the store.
        """
        self.flush()
        rows = self._db.execute(
            "SELECT data FROM events WHERE run_id=? ORDER BY seq", (run_id,)
        ).fetchall()
        if not rows:
            known = [r.run_id for r in self.runs()[:5]]
            hint = f" (recent: {', '.join(known)})" if known else " (the store has no runs)"
            raise StoreError(f"run {run_id!r} is not in {self.path}{hint}")
        return [parse_event(row[0]) for row in rows]

    def snapshot(self, run_id: str) -> dict[str, Any] | None:
        """The last stored snapshot of a run's state, if any."""
        row = self._db.execute(
            "SELECT state FROM snapshots WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def latest(self) -> str:
        """The id of the newest run.

        Raises:
            StoreError: when the store has no runs.
        """
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.path} has no runs")
        return runs[0].run_id

    def disconnect(self) -> None:
        """Close the database connection (after ``close`` if used as a sink)."""
        self._db.close()


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
