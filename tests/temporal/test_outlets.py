"""The outlets workers write a Temporal run's events to: each event once, in seq order,
whatever batches arrive again or half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.agents import MockAgent
from toolkit.events import TraceEvent, dump_event
from toolkit.orchestrator import Orchestrator
from toolkit.patterns import pipeline
from toolkit.recorder import read_trace
from toolkit.store import RunStore
from toolkit.temporal.outlets import OutletRefused, deliver, outlet_url


def events_of_a_run() -> list[TraceEvent]:
    orch = Orchestrator([MockAgent("a"), MockAgent("b")])
    return orch.run_sync("go", pipeline("a", "b")).events


def send(url: str, events: list[TraceEvent]) -> int:
    return deliver(url, events, [dump_event(e) for e in events], "temporal:test")


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_a_batch_delivered_again_is_not_written_again(kind: str, tmp_path: Path) -> None:
    """Redelivered and overlapping batches (a replay, a worker that died after writing)
    leave each event once, in seq order."""
    events = events_of_a_run()
    url = outlet_url(kind, tmp_path / ("t.jsonl" if kind == "jsonl" else "s.db"))
    half = len(events) // 2
    assert send(url, events[:half]) == half
    assert send(url, events[:half]) == 0
    assert send(url, events[half - 2 :]) == len(events) - half
    assert send(url, events) == 0
    if kind == "jsonl":
        got = read_trace(tmp_path / "t.jsonl").events
    else:
        store = RunStore(tmp_path / "s.db")
        got = store.events(events[0].run_id)
        assert store.info(events[0].run_id).status == "succeeded"
    assert [dump_event(e) for e in got] == [dump_event(e) for e in events]


def test_a_line_cut_off_by_a_killed_writer_is_written_again_whole(tmp_path: Path) -> None:
    """A trace whose last line was cut mid-write gets that event again, whole, and the
    partial line is gone."""
    events = events_of_a_run()
    path = tmp_path / "t.jsonl"
    send(outlet_url("jsonl", path), events[:3])
    with path.open("ab") as f:
        f.write(dump_event(events[3])[:25])  # the writer died here
    send(outlet_url("jsonl", path), events[3:])
    trace = read_trace(path)
    assert trace.problems == []
    assert [e.seq for e in trace.events] == list(range(len(events)))


def test_a_run_store_refuses_a_run_id_another_run_holds(tmp_path: Path) -> None:
    """A store never merges two runs: events of another run under a stored run id are an
    outlet refusal (reported, not retried), and the stored run is left as it was."""
    events = events_of_a_run()
    run_id = events[0].run_id
    url = outlet_url("sqlite", tmp_path / "s.db")
    send(url, events)
    other = [e.model_copy(update={"run_id": run_id}) for e in events_of_a_run()]
    with pytest.raises(OutletRefused, match="another run"):
        send(url, other)
    stored = RunStore(tmp_path / "s.db").events(run_id)
    assert [dump_event(e) for e in stored] == [dump_event(e) for e in events]
