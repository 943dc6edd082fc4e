"""The run store keeps every run apart and true: no overwrite, no merge, reads that never
write, a dead writer's run shown as interrupted, damaged rows skipped and reported."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_cli import assert_user_error, cli, stderr_lines
from toolkit.events import Log, PlanCreated, RunFinished, RunStarted, TaskFinished, TaskStarted
from toolkit.store import RunStore, StoreError, StoreWarning, owner_alive, process_token
from toolkit.tracing import IdFactory, Tracer

ROOT = Path(__file__).parents[2]


def _record(store: RunStore, run_id: str, seed: int = 7, finish: bool = True) -> list[Any]:
    """A small run's events, as a run with ``seed`` emits them, into ``store`` (not closed)."""
    tracer = Tracer(run_id, "a" * 32, [store], IdFactory(seed))
    tracer.emit(RunStarted, name=f"seeded-{seed}", request="go", seed=seed)
    tasks = [{"id": "draft", "agent": "writer"}, {"id": "edit", "agent": "writer"}]
    tracer.emit(PlanCreated, plan={"name": "seeded", "tasks": tasks}, planner="given")
    for task in ("draft", "edit"):
        tracer.emit(TaskStarted, task_id=task, agent="writer")
        tracer.emit(TaskFinished, task_id=task, agent="writer", output=task, duration_s=0.1)
    if finish:
        tracer.emit(RunFinished, status="succeeded", output="edit", duration_s=0.2)
    return tracer.events


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- never overwrite, never merge ----------------------------------------------------


def test_two_runs_with_one_seed_stay_two_runs(tmp_path: Path) -> None:
    """Two executions with the same seed but their own run ids are two runs in the store,
    each with exactly its own events."""
    db = tmp_path / "runs.db"
    runs = {}
    for run_id in ("run-first", "run-second"):
        store = RunStore(db)
        runs[run_id] = _record(store, run_id)
        store.close()
    reader = RunStore(db)
    assert sorted(r.run_id for r in reader.runs()) == sorted(runs)
    for run_id, events in runs.items():
        assert reader.events(run_id) == events
    assert {r.run_id: r.event_count for r in reader.runs()} == {
        run_id: len(events) for run_id, events in runs.items()
    }


def test_a_reused_run_id_is_an_error_not_a_merge(tmp_path: Path) -> None:
    """A second execution with a run id already stored is refused with a StoreError that
    names the run; the first run's rows are untouched and the store holds one run."""
    db = tmp_path / "runs.db"
    first = RunStore(db)
    events = _record(first, "run-same")
    first.close()
    before = RunStore(db).events("run-same")

    second = RunStore(db)
    _record(second, "run-same", seed=8)
    with pytest.raises(StoreError, match="run 'run-same' is already in the store"):
        second.close()
    reader = RunStore(db)
    assert [r.run_id for r in reader.runs()] == ["run-same"]
    assert reader.events("run-same") == before == events
    assert reader.info("run-same").name == "seeded-7"


def test_a_stored_event_is_never_overwritten(tmp_path: Path) -> None:
    """An event whose (run_id, seq) is stored is an error, not a replacement; after the
    refusal the sink raises on every further event, so the run reports a failed sink."""
    db = tmp_path / "runs.db"
    first = RunStore(db)
    events = _record(first, "run-x")
    first.close()
    again = RunStore(db)
    forged = Log(run_id="run-x", seq=2, ts=0.0, trace_id="a" * 32, span_id="s", message="forged")
    again.emit(forged)
    again.flush()
    with pytest.raises(StoreError, match="event 2 of run 'run-x' is already stored"):
        again.emit(forged)
    with pytest.raises(StoreError, match="never overwrites"):
        again.close()
    assert RunStore(db).events("run-x") == events


# -- reading never writes ------------------------------------------------------------


def test_reading_a_store_never_writes_to_it(tmp_path: Path) -> None:
    """Listing, reading, and reading a missing run leave the database file byte for byte
    as it was (here a rollback-journal store, which a writer would turn to WAL)."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    _record(store, "run-a")
    store.close()
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA journal_mode=DELETE")
    raw.close()
    digest = _digest(db)
    reader = RunStore(db)
    assert [r.status for r in reader.runs()] == ["succeeded"]
    assert len(reader.events("run-a")) == 7
    assert reader.snapshot("run-a") is not None
    assert reader.latest() == "run-a"
    with pytest.raises(StoreError, match="is not in"):
        reader.events("run-missing")
    reader.disconnect()
    assert cli("runs", "--store", db).returncode == 0
    assert cli("replay", "--store", db).returncode == 0
    assert _digest(db) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_reading_an_older_store_does_not_migrate_it(tmp_path: Path) -> None:
    """A store written before runs had owners is read as it is (no column added)."""
    db = tmp_path / "old.db"
    raw = sqlite3.connect(db)
    raw.executescript(
        """
        CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
            request TEXT, started_at REAL, finished_at REAL, duration_s REAL,
            event_count INTEGER NOT NULL DEFAULT 0, error TEXT);
        CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
            ts REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
        INSERT INTO runs VALUES ('run-old', 'old', 'succeeded', '', 1.0, 2.0, 1.0, 0, NULL);
        """
    )
    raw.close()
    digest = _digest(db)
    assert [(r.run_id, r.status, r.host) for r in RunStore(db).runs()] == [
        ("run-old", "succeeded", None)
    ]
    assert _digest(db) == digest


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    """A missing store is one clear error for every reader, and no file appears."""
    missing = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="no such run store"):
        RunStore(missing).runs()
    assert_user_error(cli("runs", "--store", missing), "no such run store")
    assert_user_error(cli("replay", "--store", missing), "no such run store")
    assert list(tmp_path.iterdir()) == []


# -- a dead writer's run is interrupted ----------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    import anyio
    from toolkit import FunctionAgent, Orchestrator, Plan, Task

    async def stuck(prompt: str) -> str:
        await anyio.Event().wait()  # works until killed
        return "never"

    orch = Orchestrator([FunctionAgent(stuck, name="worker")], seed=1)
    plan = Plan(name="doomed", tasks=[Task(id="work", agent="worker", prompt="go")])
    orch.run_sync("go", plan, store=sys.argv[1])
    """
)


def _wait_for(predicate: Any, what: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll until ``predicate()`` holds; fails if the process ends first (bounded by the suite timeout)."""
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the writer exited ({proc.returncode}) before {what}")
        time.sleep(0.02)


def test_a_killed_run_is_interrupted_not_running(tmp_path: Path) -> None:
    """A run whose process is SIGKILLed mid-run is listed as interrupted by the store and
    by `switchboard runs`, never as running."""
    db = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], env=env, cwd=tmp_path)
    try:

        def shows_the_run() -> bool:
            try:
                runs = RunStore(db).runs()
            except StoreError:
                return False  # not created yet
            return bool(runs) and runs[0].event_count >= 3

        _wait_for(shows_the_run, "the store showed the run", proc)
        (run,) = RunStore(db).runs()
        assert run.status == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (run,) = RunStore(db).runs()
    assert run.status == "interrupted"
    assert run.pid == proc.pid
    listing = cli("runs", "--store", db)
    assert listing.returncode == 0, listing.stderr
    (row,) = [line for line in listing.stdout.splitlines() if line.startswith(run.run_id)]
    assert "interrupted" in row and "running" not in row


def test_owner_identity_guards_against_pid_reuse(tmp_path: Path) -> None:
    """The owner is alive only with its own start token: the same pid with another token
    (a reused pid) is dead, and so are a reaped process and an unreaped (zombie) one."""
    me = os.getpid()
    token = process_token()
    assert owner_alive(me, token)
    if token is not None:
        assert not owner_alive(me, token + "0")
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert not owner_alive(done.pid, None)
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        os.kill(zombie.pid, signal.SIGKILL)
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # dead, still unreaped
        assert not owner_alive(zombie.pid, process_token(zombie.pid))
    finally:
        zombie.wait()


def _set_owner(db: Path, run_id: str, **columns: Any) -> None:
    raw = sqlite3.connect(db)
    sets = ", ".join(f"{k}=?" for k in columns)
    raw.execute(f"UPDATE runs SET {sets} WHERE run_id=?", (*columns.values(), run_id))
    raw.commit()
    raw.close()


def test_a_run_on_another_host_is_interrupted_when_its_lease_expires(tmp_path: Path) -> None:
    """Across hosts the lease decides: a run whose writer elsewhere renewed its lease is
    running; one whose lease ran out long ago is interrupted."""
    db = tmp_path / "runs.db"
    store = RunStore(db, lease_s=1e6)  # its own timer leaves the rows as set below
    _record(store, "run-fresh", finish=False)
    _record(store, "run-stale", seed=8, finish=False)
    store.flush()
    _set_owner(db, "run-fresh", owner_host="elsewhere", owner_pid=1, lease_s=1e9)
    _set_owner(db, "run-stale", owner_host="elsewhere", owner_pid=1, heartbeat_at=1000.0)
    statuses = {r.run_id: r.status for r in RunStore(db).runs()}
    assert statuses == {"run-fresh": "running", "run-stale": "interrupted"}
    store.close()


def test_the_writer_renews_its_lease_while_the_run_is_quiet(tmp_path: Path) -> None:
    """With no event for a while, the writer's timer renews the run's lease."""
    db = tmp_path / "runs.db"
    store = RunStore(db, flush_s=0.01, lease_s=0.3)
    _record(store, "run-quiet", finish=False)
    store.flush()
    first = RunStore(db).info("run-quiet").heartbeat_at
    assert first is not None

    def renewed() -> bool:
        return (RunStore(db).info("run-quiet").heartbeat_at or 0.0) > first

    while not renewed():
        time.sleep(0.01)
    store.close()


def test_a_store_closed_before_the_run_finished_marks_it_interrupted(tmp_path: Path) -> None:
    """A writer closed before its run's run_finished leaves the run interrupted."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    _record(store, "run-cut", finish=False)
    store.close()
    assert RunStore(db).info("run-cut").status == "interrupted"


# -- damaged rows --------------------------------------------------------------------


def _damage(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("UPDATE events SET data='not json at all' WHERE seq=2")
    raw.execute("UPDATE events SET data=replace(data, 'task_finished', 'teleport') WHERE seq=3")
    raw.execute("UPDATE events SET data=(SELECT data FROM events WHERE seq=5) WHERE seq=4")
    raw.commit()
    raw.close()


def test_damaged_rows_are_skipped_counted_and_reported(tmp_path: Path) -> None:
    """Garbage, an unknown kind and an event filed under the wrong seq are each skipped and
    reported with their seq; every good row is kept; events() warns with the report."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    events = _record(store, "run-d")
    store.close()
    _damage(db)
    stored = RunStore(db).read_run("run-d")
    assert stored.events == [*events[:2], *events[5:]]
    assert [p.split(":")[0] for p in stored.problems] == ["row seq 2", "row seq 3", "row seq 4"]
    report = stored.report()
    assert report is not None and "skipped 3 corrupt row(s)" in report
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert RunStore(db).events("run-d") == stored.events
    assert [w.category for w in caught] == [StoreWarning]


@pytest.mark.parametrize("command", ["replay", "metrics"])
def test_cli_reads_a_damaged_store_with_one_warning(tmp_path: Path, command: str) -> None:
    """replay/metrics --store on a run with bad rows: exit 0, the good events shown, one
    warning line naming the skipped rows, no traceback; a run with no good row: exit 2."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    _record(store, "run-d")
    store.close()
    _damage(db)
    proc = cli(command, "--store", db)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (warning,) = stderr_lines(proc)
    assert warning.startswith("switchboard: warning: ") and "skipped 3 corrupt row(s)" in warning
    raw = sqlite3.connect(db)
    raw.execute("UPDATE events SET data='{'")
    raw.commit()
    raw.close()
    assert_user_error(cli(command, "--store", db), "skipped 7 corrupt row(s)")


def test_a_damaged_runs_row_is_listed_without_a_traceback(tmp_path: Path) -> None:
    """A runs row with values of the wrong type is still listed by `switchboard runs`."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    _record(store, "run-r")
    store.close()
    _set_owner(db, "run-r", event_count="many", started_at="yesterday", duration_s="long")
    proc = cli("runs", "--store", db)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "run-r" in proc.stdout


def _open_store() -> Any:
    from toolkit.sources import open_store

    return open_store


def test_store_source_reports_damaged_rows_and_an_interrupted_run(tmp_path: Path) -> None:
    """The views' store source (tui --store) shows the good events of a damaged run with a
    notice of the skipped rows, and says when the run was interrupted."""
    db = tmp_path / "runs.db"
    store = RunStore(db)
    events = _record(store, "run-d", finish=False)
    store.close()
    _damage(db)
    source = _open_store()(db, "run-d")
    assert source.preload() == [*events[:2], *events[5:]]
    assert any("skipped 3 corrupt row(s)" in n for n in source.notices)
    assert any("run-d was interrupted" in n for n in source.notices)


def test_a_notebook_view_of_a_damaged_store_lists_its_skipped_rows(tmp_path: Path) -> None:
    """RunView.from_store keeps the skipped rows in ``problems``, as from_trace keeps the
    corrupt lines: the store source hands them over like a trace source does."""
    pytest.importorskip("anywidget")
    from toolkit.widgets import RunView

    db = tmp_path / "runs.db"
    store = RunStore(db)
    _record(store, "run-d")
    store.close()
    _damage(db)
    view = RunView.from_store(db, "run-d")
    assert [p.split(":")[0] for p in view.problems] == ["row seq 2", "row seq 3", "row seq 4"]
