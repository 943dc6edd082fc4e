"""Events across processes through Redis Streams: a run published by ``RedisStreamSink`` is
read back whole, exactly once, by a follower; the index names the run; damaged entries
are skipped and reported; faults (a killed connection, a restarted server, Redis away)
lose no event silently."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.redis.conftest import dumps, long_pipeline, mock_orchestrator
from tests.services import Service, free_port, port_open, redis_server, wait_until
from toolkit import FunctionAgent, Orchestrator, pipeline
from toolkit.events import dump_line
from toolkit.redis_streams import (
    RedisSource,
    RedisStreamSink,
    RedisTarget,
    display_url,
    list_runs,
    open_redis,
    read_run,
)
from toolkit.session import current_session
from toolkit.sources import EventFeed, SourceError


def _follow(url: str, run_id: str | None = None) -> tuple[list[Any], list[str], EventSource_]:
    source = open_redis(url, run_id)
    feed = EventFeed()
    source.produce(feed)
    events, problems = feed.drain()
    assert feed.closed
    return events, problems, source


EventSource_ = Any


def _client(url: str) -> Any:
    return RedisTarget.parse(url).client()


def test_a_run_published_to_redis_is_read_back_whole_in_order(redis_url: str) -> None:
    """Every event of the run reaches its stream once, in seq order, identical to the
    run's own events; the index lists the run with its name, status and event count."""
    sink = RedisStreamSink(redis_url, chunk=64)
    result = mock_orchestrator().run_sync("go", long_pipeline(300), sinks=[sink])
    assert result.status == "succeeded" and result.error is None
    assert sink.delivered == len(result.events) and sink.report() is None
    events, problems, _ = _follow(redis_url)
    assert problems == []
    assert dumps(events) == dumps(result.events)
    (run,) = list_runs(redis_url)
    assert (run.run_id, run.name, run.status, run.event_count) == (
        result.run_id,
        "pipeline",
        "succeeded",
        len(result.events),
    )
    # one entry per chunk, not per event: a pipeline of a few XADDs carries the run
    assert (
        _client(redis_url).xlen(RedisTarget.parse(redis_url).stream_key(result.run_id))
        < len(result.events) / 10
    )


def test_no_entry_holds_more_events_than_the_chunk(redis_url: str) -> None:
    """An entry carries at most ``chunk`` events, also for a chunk smaller than the blocks
    the sink joins lines into; its id is its first seq and its count, which add up to
    the run's events without a gap."""
    sink = RedisStreamSink(redis_url, chunk=10, flush_s=60)  # cut by size only
    result = mock_orchestrator().run_sync("go", long_pipeline(100), sinks=[sink])
    assert result.error is None, result.error
    entries = _client(redis_url).xrange(RedisTarget.parse(redis_url).stream_key(result.run_id))
    ids = [tuple(map(int, entry_id.split(b"-"))) for entry_id, _ in entries]
    assert all(1 <= count <= 10 for _, count in ids)
    assert [first for first, _ in ids] == [0, *(f + c for f, c in ids[:-1])]
    assert sum(c for _, c in ids) == len(result.events)
    assert all(int(fields[b"n"]) == c for (_, fields), (_, c) in zip(entries, ids, strict=True))


def test_every_run_through_one_sink_ends_with_its_status_in_the_index(redis_url: str) -> None:
    """Short runs one after another through one sink whose flusher takes the queue every
    0.1 ms: whenever it takes (between a run_finished's mark and its line, say), each
    run's last entry says how the run ended, and the index shows it finished."""
    sink = RedisStreamSink(redis_url, flush_s=0.0001)
    orch = mock_orchestrator(sinks=[sink])
    results = [orch.run_sync(str(i), long_pipeline(2)) for i in range(40)]
    runs = {r.run_id: r for r in list_runs(redis_url)}
    assert len(runs) == 40
    for result in results:
        assert (runs[result.run_id].status, runs[result.run_id].event_count) == (
            "succeeded",
            len(result.events),
        )
    events, problems = read_run(RedisTarget.parse(redis_url), results[-1].run_id)
    assert problems == [] and dumps(events) == dumps(results[-1].events)


def test_the_newest_run_is_followed_by_default_and_any_run_by_id(redis_url: str) -> None:
    """open_redis with no run id follows the newest run; with an id, that run; an unknown
    run read as it is fails with one line listing the runs to pick from."""
    sink = RedisStreamSink(redis_url)
    orch = mock_orchestrator(sinks=[sink])
    first = orch.run_sync("one", long_pipeline(3))
    second = orch.run_sync("two", long_pipeline(4))
    sink.close()
    assert [r.run_id for r in list_runs(redis_url)] == [second.run_id, first.run_id]
    assert dumps(_follow(redis_url)[0]) == dumps(second.events)
    assert dumps(_follow(redis_url, first.run_id)[0]) == dumps(first.events)
    with pytest.raises(SourceError, match=f"no events of run nope.*{second.run_id}"):
        open_redis(redis_url, "nope", follow=False)
    with pytest.raises(SourceError, match=f"no run nope .newest runs: {second.run_id}"):
        open_redis(redis_url, "nope")


def test_a_follower_that_starts_first_sees_the_run_live_from_its_beginning(
    redis_url: str,
) -> None:
    """A follower reading while the run goes on (held at a gate) gets the events before the
    run ends, then the rest, exactly once, and stops at run_finished."""
    gate = threading.Event()

    def hold(text: str) -> str:
        assert gate.wait(60)
        return text + "+held"

    orch = Orchestrator(
        [*mock_orchestrator().agents.values(), FunctionAgent(hold, "hold", thread=True)]
    )
    sink = RedisStreamSink(redis_url, flush_s=0.005)
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.setdefault(
            "r", orch.run_sync("go", pipeline("a0", "a1", "hold", "a2"), sinks=[sink])
        )
    )
    runner.start()
    wait_until(lambda: bool(list_runs(redis_url)), what="the run in the index")
    source = open_redis(redis_url)
    feed = EventFeed()
    reader = threading.Thread(target=source.produce, args=(feed,))
    reader.start()
    seen: list[Any] = []

    def got_hold_started() -> bool:
        seen.extend(feed.drain()[0])
        return any(e.kind == "task_started" and e.agent == "hold" for e in seen)

    wait_until(got_hold_started, what="the follower sees the held task start")
    assert not any(e.kind == "run_finished" for e in seen)  # live: the run is not over
    gate.set()
    runner.join(60)
    reader.join(60)
    assert not reader.is_alive() and feed.closed
    seen.extend(feed.drain()[0])
    assert dumps(seen) == dumps(result["r"].events)


def test_a_run_is_in_the_index_as_soon_as_it_starts(redis_url: str) -> None:
    """The entry holding run_started is sent at once, not when flush_s has passed: a
    follower waiting for the run finds it while the run's first task is still held."""
    gate = threading.Event()

    def hold(text: str) -> str:
        assert gate.wait(60)
        return text

    sink = RedisStreamSink(redis_url, flush_s=3600)  # an hour: only a wake-up sends
    orch = Orchestrator([FunctionAgent(hold, "hold", thread=True)])
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.setdefault("r", orch.run_sync("go", pipeline("hold"), sinks=[sink]))
    )
    runner.start()
    try:
        wait_until(lambda: bool(list_runs(redis_url)), what="the held run in the index")
        (run,) = list_runs(redis_url)
        assert run.status == "running"
    finally:
        gate.set()
        runner.join(60)
    assert result["r"].error is None
    assert [r.status for r in list_runs(redis_url)] == ["succeeded"]


def test_damaged_entries_are_skipped_counted_and_reported(redis_url: str) -> None:
    """Garbage lines, an unknown kind, an entry without events and events of another run
    are each reported once; every valid event around them is still read."""
    result = mock_orchestrator().run_sync("go", long_pipeline(2))
    target = RedisTarget.parse(redis_url)
    key = target.stream_key(result.run_id)
    client = _client(redis_url)
    good = [dump_line(e) for e in result.events]
    other = result.events[0].model_copy(update={"run_id": "run-other"})
    client.xadd(key, {"n": 2, "events": b"".join(good[:2])}, id="0-2")
    client.xadd(key, {"n": 2, "events": b"{not json\n" + good[2]}, id="2-2")
    client.xadd(key, {"n": 1, "events": b'{"kind":"no_such_kind","seq":1}\n'}, id="3-1")
    client.xadd(key, {"nothing": b"here"}, id="4-1")
    client.xadd(key, {"n": 1, "events": dump_line(other)}, id="5-1")
    client.xadd(key, {"n": 9, "events": b"".join(good[3:])}, id="6-9")
    client.zadd(target.index_key, {result.run_id: 1.0})
    events, problems, source = _follow(redis_url, result.run_id)
    assert dumps(events) == dumps(result.events)
    assert len(problems) == 4 and source.problems == problems
    assert "entry 2-2 line 1" in problems[0]
    assert "entry 3-1" in problems[1] and "entry 4-1: no events" in problems[2]
    assert "another run (run-other)" in problems[3]


def test_a_killed_connection_mid_run_loses_and_duplicates_no_event(redis_url: str) -> None:
    """CLIENT KILL of the sink's connection, three times in the middle of a run: the sink
    gets a new connection each time (events keep arriving after each kill), resends what
    was not acknowledged, and the stream holds each event exactly once."""
    killer = _client(redis_url)
    me = killer.client_id()
    sink = RedisStreamSink(redis_url, chunk=16, flush_s=0.001)
    killed: list[int] = []
    marks = [0]

    def reconnected() -> bool:
        # events delivered since the last kill, and the sink's connection is there (a
        # pipeline answered just before a kill counts as delivered, its connection dead)
        return sink.delivered > marks[-1] and any(
            int(c["id"]) != me for c in killer.client_list(_type="normal")
        )

    def kill(text: str) -> str:
        wait_until(reconnected, what="events delivered on a new connection since the last kill")
        marks.append(sink.delivered)
        killed.append(killer.client_kill_filter(_type="normal", skipme=True))
        return text + "+k"

    agents = [*mock_orchestrator().agents.values(), FunctionAgent(kill, "kill", thread=True)]
    steps = [f"a{i % 3}" for i in range(50)]
    plan = pipeline(*steps, "kill", *steps, "kill", *steps, "kill", *steps)
    result = Orchestrator(agents).run_sync("go", plan, sinks=[sink])
    assert result.status == "succeeded" and result.error is None, result.error
    assert len(killed) == 3 and all(n >= 1 for n in killed)  # each kill hit a connection
    assert marks == sorted(set(marks))
    events, problems = read_run(RedisTarget.parse(redis_url), result.run_id)
    assert problems == [] and dumps(events) == dumps(result.events)


def test_redis_restarted_mid_run_loses_no_event(tmp_path: Path) -> None:
    """Redis killed (-9) in the middle of a run and started again on the same port: the run
    goes on meanwhile, the sink buffers, and after the restart every event is there once."""
    port = free_port()
    durable = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)]
    url = f"redis://127.0.0.1:{port}/0"
    services: list[Service] = []
    with redis_server(port, extra=durable) as (first, _):
        sink = RedisStreamSink(url, chunk=16, flush_s=0.001)

        def restart(text: str) -> str:
            wait_until(lambda: sink.delivered > 0, what="some events delivered")
            first.kill()
            session = current_session()
            assert session is not None

            def outage_met() -> bool:
                session.log("while Redis is away")  # events the sink must keep meanwhile
                return sink.outages > 0

            wait_until(outage_met, what="the sink meets the outage")
            again = Service(first.argv, lambda: port_open(port), name="redis-server again")
            services.append(again.start())
            return text + "+r"

        orch = Orchestrator(
            [*mock_orchestrator().agents.values(), FunctionAgent(restart, "restart", thread=True)]
        )
        steps = [f"a{i % 3}" for i in range(120)]
        result = orch.run_sync("go", pipeline(*steps[:60], "restart", *steps[60:]), sinks=[sink])
        try:
            assert result.status == "succeeded" and result.error is None, result.error
            events, problems = read_run(RedisTarget.parse(url), result.run_id)
            assert problems == [] and dumps(events) == dumps(result.events)
            assert [r.status for r in list_runs(url)] == ["succeeded"]
        finally:
            for service in services:
                service.stop()


def test_redis_away_is_reported_never_silent_and_never_shows_the_password() -> None:
    """With nothing listening, the run still finishes (it never waits on Redis beyond the
    close timeout); the run's error says how many events were not delivered, and the
    password of the URL appears nowhere."""
    url = f"redis://alice:s3cretpass@127.0.0.1:{free_port()}/0"
    sink = RedisStreamSink(url, close_timeout_s=0.2)
    result = mock_orchestrator().run_sync("go", long_pipeline(5), sinks=[sink])
    assert result.status == "succeeded"
    assert result.error is not None
    assert f"{len(result.events)} event(s) of {result.run_id} not delivered" in result.error
    assert "alice:***@127.0.0.1" in result.error and "s3cretpass" not in result.error
    assert sink.delivered == 0 and sink.lost == len(result.events)
    assert "s3cretpass" not in repr(sink) and "s3cretpass" not in display_url(url)


def test_events_beyond_the_buffer_are_counted_and_reported() -> None:
    """A full buffer does not block the run: the events that did not fit are counted and
    named in the report."""
    sink = RedisStreamSink(f"redis://127.0.0.1:{free_port()}/0", max_buffered=10, close_timeout_s=0)
    result = mock_orchestrator().run_sync("go", long_pipeline(5), sinks=[sink])
    dropped = len(result.events) - 10
    assert result.error is not None and f"{dropped} beyond the buffer of 10" in result.error
    assert "10 still buffered when the run ended" in result.error
    assert sink.lost == len(result.events)


def test_acl_user_with_password(tmp_path: Path) -> None:
    """An ACL user with a password publishes and follows; a wrong password is one clear
    line that does not show the password."""
    acl = [
        "--user",
        "default",
        "off",
        "--user",
        "bob",
        "on",
        ">hunter2pw",
        "~switchboard:*",
        "+@all",
    ]
    with redis_server(extra=acl) as (_service, port):
        url = f"redis://bob:hunter2pw@127.0.0.1:{port}/0"
        sink = RedisStreamSink(url)
        result = mock_orchestrator().run_sync("go", long_pipeline(4), sinks=[sink])
        assert result.error is None, result.error
        assert dumps(_follow(url)[0]) == dumps(result.events)
        wrong = f"redis://bob:wrongpass@127.0.0.1:{port}/0"
        with pytest.raises(SourceError) as caught:
            open_redis(wrong)
        message = str(caught.value)
        assert "bob:***@" in message and "wrongpass" not in message and "\n" not in message


def test_bad_urls_are_one_line_errors() -> None:
    """A URL that is not Redis's, a bad port or database is refused before anything starts."""
    for url, reason in (
        ("http://x/0", "not a Redis URL"),
        ("redis://h:port/0", "port"),
        ("redis://h:1/zero", "database must be a number"),
    ):
        with pytest.raises(ValueError, match=reason):
            RedisStreamSink(url)


def test_the_follower_reconnects_after_its_connection_is_killed(redis_url: str) -> None:
    """A follower whose connection is killed while it waits for new entries reconnects and
    continues from the last entry it read: nothing is missed, nothing is read twice."""
    gate = threading.Event()

    def hold(text: str) -> str:
        assert gate.wait(60)
        return text

    orch = Orchestrator(
        [*mock_orchestrator().agents.values(), FunctionAgent(hold, "hold", thread=True)]
    )
    sink = RedisStreamSink(redis_url, flush_s=0.005)
    out: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: out.setdefault(
            "r", orch.run_sync("go", pipeline("a0", "hold", "a1"), sinks=[sink])
        )
    )
    runner.start()
    wait_until(lambda: bool(list_runs(redis_url)), what="the run in the index")
    source = open_redis(redis_url)
    assert isinstance(source, RedisSource)
    feed = EventFeed()
    reader = threading.Thread(target=source.produce, args=(feed,))
    reader.start()
    wait_until(lambda: source.events_read > 0, what="the follower reads")
    killer = _client(redis_url)
    wait_until(
        lambda: (
            killer.client_kill_filter(_type="normal", skipme=True) > 0 and source.reconnects > 0
        ),
        what="the follower reconnects",
    )
    gate.set()
    runner.join(60)
    reader.join(60)
    events, problems = feed.drain()
    assert problems == [] and dumps(events) == dumps(out["r"].events)
