"""Recording and state: the JSONL recorder is lossless, the reader skips and reports
what it cannot read, follow_trace tails a growing file, the SQLite store keeps runs,
and folding a recorded trace gives exactly the live state."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sample_agents.scenarios import SCENARIOS, feature_review, research_report
from toolkit import JsonlRecorder, RunState, RunStore, fold, follow_trace, read_trace
from toolkit.events import Log, dump_event
from toolkit.recorder import TraceReadError, write_trace
from toolkit.store import StoreError
from toolkit.tracing import IdFactory, Tracer


def _events(n: int) -> list[Any]:
    tracer = Tracer("run-log", "a" * 32, ids=IdFactory(3))
    return [tracer.emit(Log, message=f"event {i} ✓ \x1b[31m") for i in range(n)]


@pytest.mark.parametrize("batch", [1, 7, 4096])
def test_jsonl_recorder_is_lossless(tmp_path: Path, batch: int) -> None:
    """N events in gives N lines out, in order, identical after parsing, whatever the batch."""
    events = _events(500)
    recorder = JsonlRecorder(tmp_path / "sub" / "t.jsonl", batch=batch, flush_s=0.001)
    for e in events:
        recorder.emit(e)
    recorder.close()
    lines = (tmp_path / "sub" / "t.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == 500
    assert read_trace(tmp_path / "sub" / "t.jsonl").events == events
    assert recorder.written == 500
    with pytest.raises(RuntimeError, match="closed"):
        recorder.emit(events[0])


def test_reader_skips_and_reports_corrupt_lines(tmp_path: Path) -> None:
    """Garbage, an unknown kind, a line missing fields and a truncated last line are
    skipped and each reported with its line number; every good line is kept."""
    events = _events(5)
    good = [dump_event(e) for e in events]
    unknown = good[0].replace(b'"kind":"log"', b'"kind":"teleport"')
    lines = [good[0], b"not json at all", good[1], unknown, b"", good[2], b'{"kind": "log"}']
    lines += [good[3], good[4][:25]]  # the writer was cut off mid-line
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines))
    trace = read_trace(path)
    assert trace.events == events[:4]
    assert trace.skipped == 4
    assert [p.split(":")[0] for p in trace.problems] == ["line 2", "line 4", "line 7", "line 9"]
    report = trace.report()
    assert report is not None and "skipped 4 corrupt line(s)" in report and "(and 1 more)" in report


def test_reader_flags_a_file_with_no_valid_event(tmp_path: Path) -> None:
    """A file of garbage gives no events and says it may not be a trace at all."""
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    trace = read_trace(path)
    assert trace.events == []
    assert trace.problems[0].startswith("no valid event in the file")
    assert len(trace.problems) == 3 and trace.skipped == 2  # the note is not a line


def test_reader_errors_for_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing path or a directory is a TraceReadError naming the path."""
    with pytest.raises(TraceReadError, match="no such trace file"):
        read_trace(tmp_path / "missing.jsonl")
    with pytest.raises(TraceReadError, match="is a directory"):
        read_trace(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert read_trace(empty).events == [] and read_trace(empty).problems == []


def test_follow_trace_picks_up_appended_lines_and_holds_back_a_partial_line(
    tmp_path: Path,
) -> None:
    """follow_trace yields the complete lines written so far, waits for a partial line to
    be completed, reports a corrupt line as a str, and stops after run_finished."""
    orch, plan, request = research_report(speed=0.001)
    events = orch.run_sync(request, plan).events
    raw = [dump_event(e) + b"\n" for e in events]
    path = tmp_path / "live.jsonl"
    follow = follow_trace(path, poll_s=0.001)
    with path.open("wb") as fh:
        fh.write(b"".join(raw[:3]) + raw[3][:10])
        fh.flush()
        assert next(follow) == events[:3]
        fh.write(raw[3][10:] + b"garbage\n" + b"".join(raw[4:6]))
        fh.flush()
        problem = next(follow)
        assert isinstance(problem, str) and problem.startswith("line 5:")
        assert "Invalid JSON" in problem
        assert next(follow) == events[3:6]
        fh.write(b"".join(raw[6:]))
        fh.flush()
        assert next(follow) == events[6:]
    assert list(follow) == []  # ended by run_finished


def test_follow_trace_stops_when_idle_or_asked(tmp_path: Path) -> None:
    """With no new data, follow_trace ends after idle_timeout_s, or at once when stop is set."""
    import threading

    path = tmp_path / "quiet.jsonl"
    events = _events(2)
    write_trace(path, events)
    assert list(follow_trace(path, poll_s=0.001, idle_timeout_s=0.01)) == [events]
    stop = threading.Event()
    stop.set()
    assert list(follow_trace(path, stop=stop)) == []


def test_run_store_keeps_runs_events_and_snapshots(tmp_path: Path) -> None:
    """Two runs in one store: both listed (newest first), events round trip equal, each
    has a final snapshot; an unknown run is a StoreError with a hint."""
    db = tmp_path / "runs.db"
    results = []
    for build in (research_report, feature_review):
        orch, plan, request = build(speed=0.001)
        results.append(orch.run_sync(request, plan, store=db))
    store = RunStore(db)
    runs = store.runs()
    assert [r.run_id for r in runs] == [results[1].run_id, results[0].run_id]
    assert [(r.name, r.status) for r in runs] == [
        ("feature-review", "succeeded"),
        ("research-report", "succeeded"),
    ]
    for r, result in zip(reversed(runs), results, strict=True):
        assert r.event_count == len(result.events)
        assert store.events(result.run_id) == result.events
        snap = store.snapshot(result.run_id)
        assert snap is not None and snap["status"] == "succeeded"
        assert snap["events"] == len(result.events)
        assert set(snap["tasks"]) == set(result.state.tasks)
    assert store.latest() == results[1].run_id
    with pytest.raises(StoreError, match=rf"'run-nope' is not in .*\(recent: {results[1].run_id}"):
        store.events("run-nope")
    store.disconnect()


def test_run_store_errors(tmp_path: Path) -> None:
    """Reading a missing store is a StoreError that creates nothing; an empty store has no
    latest run; a file that is not SQLite is a StoreError."""
    missing = RunStore(tmp_path / "missing.db")
    with pytest.raises(StoreError, match=r"missing\.db: no such run store"):
        missing.latest()
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")  # an empty file is an empty SQLite database
    empty = RunStore(tmp_path / "empty.db")
    with pytest.raises(StoreError, match="has no runs"):
        empty.latest()
    with pytest.raises(StoreError, match="the store has no runs"):
        empty.events("run-x")
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable run store"):
        RunStore(bogus)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fold_of_recorded_trace_equals_live_state(tmp_path: Path, name: str) -> None:
    """The state folded live (event by event, as a view sees it), the result's state,
    and the fold of the recorded JSONL and of the stored run are all equal."""
    orch, plan, request = SCENARIOS[name](speed=0.001)
    live = RunState()
    result = orch.run_sync(
        request, plan, trace=tmp_path / "t.jsonl", store=tmp_path / "r.db", on_event=live.apply
    )
    recorded = read_trace(tmp_path / "t.jsonl")
    assert recorded.problems == []
    assert fold(recorded.events) == result.state
    assert live == result.state
    # a run with teams: the store holds each child run under its own id
    assert fold(RunStore(tmp_path / "r.db").family_events(result.run_id)) == result.state
    assert result.state.status == result.status
    # the run's own events (a team's child run counts its own)
    assert result.state.event_count == sum(e.run_id == result.run_id for e in result.events)


def test_recorder_loses_nothing_while_the_flusher_races_the_run(tmp_path):
    """Every emitted event is written once, in order, even with the flusher thread
    taking batches as fast as it can while events keep arriving."""
    from toolkit.events import Log
    from toolkit.recorder import JsonlRecorder, read_trace

    path = tmp_path / "race.jsonl"
    recorder = JsonlRecorder(path, flush_s=0.00001, batch=10**9)
    n = 50_000
    for i in range(n):
        recorder.emit(Log(run_id="r", seq=i, ts=0.0, trace_id="t", span_id="s", message="m"))
    recorder.close()
    trace = read_trace(path)
    assert not trace.problems
    assert [e.seq for e in trace.events] == list(range(n))


def test_flush_writes_every_line_including_an_unfinished_chunk(tmp_path: Path) -> None:
    """The recorder joins fresh lines into chunks, but ``flush`` still writes every event
    emitted so far (a live follower never waits for a chunk to fill), and ``written``
    counts events, not chunks."""
    events = _events(70)  # one full chunk of 64 and six lines more
    path = tmp_path / "t.jsonl"
    recorder = JsonlRecorder(path, flush_s=3600)
    for e in events:
        recorder.emit(e)
    recorder.flush()
    assert read_trace(path).events == events
    assert recorder.written == 70
    recorder.close()


def test_open_recorders_share_one_flusher_thread_that_writes_without_the_run(
    tmp_path: Path,
) -> None:
    """Recorders do not start a thread each (a run would start and join it): one
    process-wide flusher writes every open recorder's events while the run emits
    nothing more, so a live follower sees them; closing one leaves the others flushed."""
    import threading

    events = _events(3)
    recorders = [JsonlRecorder(tmp_path / f"r{i}.jsonl", flush_s=0.001) for i in range(3)]
    for recorder in recorders:
        for e in events:
            recorder.emit(e)
    flushers = [t for t in threading.enumerate() if t.name == "switchboard-flush"]
    assert len(flushers) == 1
    recorders[0].close()
    recorders[1].emit(events[0])
    for recorder in recorders[1:]:
        while recorder.written < len(events):  # the flusher's work, not the caller's
            flushers[0].join(0.01)
            assert flushers[0].is_alive()
    assert read_trace(tmp_path / "r2.jsonl").events == events
    for recorder in recorders[1:]:
        recorder.close()
    assert read_trace(tmp_path / "r1.jsonl").events == [*events, events[0]]


def test_a_write_that_fails_in_the_background_is_raised_by_close(tmp_path: Path) -> None:
    """A flush of the background thread that raises (a full disk) is not lost in that
    thread: ``close`` writes what it can and raises it, so the run reports it."""

    class Full(JsonlRecorder):
        fail = True

        def _write(self, batch: list[Any]) -> None:
            if self.fail:
                raise OSError(28, "No space left on device")
            super()._write(batch)

    recorder = Full(tmp_path / "full.jsonl", flush_s=0.001)
    recorder.emit(_events(1)[0])
    while recorder._flush_error is None:  # the flusher's attempt, on its thread
        time.sleep(0.001)
    recorder.fail = False
    later = _events(2)[1]
    recorder.emit(later)
    with pytest.raises(OSError, match="No space left"):
        recorder.close()
    assert read_trace(tmp_path / "full.jsonl").events == [later]
