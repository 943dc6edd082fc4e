"""Agent-to-agent messages across processes over a Redis bus: send, broadcast and publish
reach agents hosted by another bus (another process), every delivery is one traced
message (sender, recipient) in each process's trace, names are hosted once, damaged
messages are skipped and reported; and for real: a run whose editor asks a reviewer
hosted by ``switchboard bus-worker`` in another process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.services import Service, wait_until
from toolkit.events import Envelope
from toolkit.ids import IdFactory
from toolkit.redis_bus import RedisBus
from toolkit.redis_streams import RedisTarget
from toolkit.tracing import CallbackSink, Tracer

ROOT = Path(__file__).resolve().parents[2]
BUS_TEAM = ROOT / "sample_agents" / "bus" / "bus-team.yaml"


def _tracer(n: int) -> tuple[Tracer, list[Any]]:
    events: list[Any] = []
    return Tracer(f"run-{n}", f"{n:032x}", [CallbackSink(events.append)], IdFactory(n)), events


def _messages(events: list[Any]) -> list[tuple[str, str, str]]:
    return [
        (e.envelope.message_id, e.envelope.sender, e.envelope.recipient)
        for e in events
        if e.kind == "message_sent"
    ]


def test_send_broadcast_and_publish_between_two_buses(redis_url: str) -> None:
    """Two buses (as two processes would have) host alice+orchestrator and bob+carol: a send
    reaches bob's mailbox; a broadcast from bob reaches alice, orchestrator and carol; a
    publish reaches the other bus's topic subscriber. Each message is traced exactly once
    in each trace it touches, with the same message id, sender and recipient."""
    tracer_a, events_a = _tracer(1)
    tracer_b, events_b = _tracer(2)
    news: list[Envelope] = []

    async def go() -> dict[str, Any]:
        async with (
            RedisBus(tracer_a, ["orchestrator", "alice"], redis_url) as a,
            RedisBus(tracer_b, ["bob", "carol", "alice"], redis_url) as b,
        ):
            assert a.local == ["orchestrator", "alice"]
            assert b.local == ["bob", "carol"]  # alice is hosted by the other process
            a.subscribe("topic:news", news.append)
            sent = await a.send("alice", "bob", {"hi": "bob"}, task_id="t1")
            got = await b.receive("bob", timeout_s=30)
            told = await b.broadcast("bob", "standup in 5")
            heard = [await a.receive("alice", 30), await a.receive("orchestrator", 30)]
            carol = await b.receive("carol", 30)
            published = await b.publish("carol", "news", "v2 shipped")
            with anyio.fail_after(30):
                while not news:
                    await anyio.sleep(0.01)
            with pytest.raises(KeyError, match=r"unknown recipient 'dave'.*alice.*bob"):
                await a.send("alice", "dave", "?")
            return {
                "sent": sent,
                "got": got,
                "told": told,
                "heard": heard,
                "carol": carol,
                "published": published,
            }

    r = anyio.run(go)
    assert r["got"].message_id == r["sent"].message_id and r["got"].payload == {"hi": "bob"}
    assert all(e.message_id == r["told"].message_id for e in [*r["heard"], r["carol"]])
    assert news[0].message_id == r["published"].message_id and news[0].payload == "v2 shipped"
    sent, told, published = r["sent"], r["told"], r["published"]
    assert _messages(events_a) == [
        (sent.message_id, "alice", "bob"),
        (told.message_id, "bob", "*"),
        (published.message_id, "carol", "topic:news"),
    ]
    assert _messages(events_b) == [
        (sent.message_id, "alice", "bob"),
        (told.message_id, "bob", "*"),
        (published.message_id, "carol", "topic:news"),
    ]
    arrived = next(e for e in events_b if e.kind == "message_sent").envelope
    assert arrived.delivered_at is not None and arrived.trace_id == sent.trace_id


def test_a_damaged_message_is_skipped_and_reported(redis_url: str) -> None:
    """A garbage entry in an inbox becomes a warning log event and a problem; the message
    after it is still delivered."""
    tracer_a, events_a = _tracer(3)
    tracer_b, _ = _tracer(4)
    target = RedisTarget.parse(redis_url)

    async def go() -> Envelope:
        async with RedisBus(tracer_a, ["alice"], redis_url) as a:
            inbox = f"{target.prefix}:bus:default:inbox:alice"
            target.client().xadd(inbox, {"origin": "x", "envelope": b'{"sender": 1}'})
            async with RedisBus(tracer_b, ["bob"], redis_url) as b:
                await b.send("bob", "alice", "after the damage")
                return await a.receive("alice", 30)

    got = anyio.run(go)
    assert got.payload == "after the damage"
    logs = [e for e in events_a if e.kind == "log"]
    assert len(logs) == 1 and logs[0].level == "warning" and "damaged message" in logs[0].message


def _worker(url: str, trace: Path, *agents: str) -> Service:
    target = RedisTarget.parse(url)
    members = f"{target.prefix}:bus:default:members"

    def hosting() -> bool:
        return all(target.client().hexists(members, a) for a in agents)

    return Service(
        [
            sys.executable,
            "-m",
            "toolkit.cli",
            "bus-worker",
            str(BUS_TEAM),
            *agents,
            "--bus",
            url,
            "--trace",
            str(trace),
        ],
        hosting,
        name="switchboard bus-worker",
        cwd=ROOT,
        log=trace.with_suffix(".log"),
    )


def test_a_run_asks_an_agent_hosted_by_a_bus_worker_in_another_process(
    redis_url: str, tmp_path: Path
) -> None:
    """``switchboard run bus-team.yaml --bus URL`` in one process; its editor asks the
    reviewer that ``switchboard bus-worker ... reviewer`` hosts in another. The answer comes
    back (the run succeeds with the review in its result); the question and the answer are
    each one traced message in the run's trace and in the worker's, with the same ids; a
    second worker for the same name is refused with one line."""
    worker_trace = tmp_path / "worker.jsonl"
    run_trace = tmp_path / "run.jsonl"
    with _worker(redis_url, worker_trace, "reviewer") as worker:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "toolkit.cli",
                "bus-worker",
                str(BUS_TEAM),
                "reviewer",
                "--bus",
                redis_url,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert "reviewer: already hosted by another process" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "toolkit.cli",
                "run",
                str(BUS_TEAM),
                "--bus",
                redis_url,
                "--events",
                redis_url,
                "--trace",
                str(run_trace),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "review: approved, ship it" in done.stdout
        worker.kill(signal.SIGTERM)
        assert worker.proc is not None and worker.proc.returncode == 0
    run_events = [json.loads(line) for line in run_trace.read_text().splitlines()]
    worker_events = [json.loads(line) for line in worker_trace.read_text().splitlines()]

    def bus_messages(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
        return [
            (
                e["envelope"]["sender"],
                e["envelope"]["recipient"],
                e["envelope"]["kind"],
                e["envelope"]["parent_id"],
            )
            for e in events
            if e["kind"] == "message_sent"
            and "reviewer" in (e["envelope"]["sender"], e["envelope"]["recipient"])
        ]

    in_run = bus_messages(run_events)
    assert [(s, r, k) for s, r, k, _ in in_run] == [
        ("editor", "reviewer", "a2a"),
        ("reviewer", "editor", "a2a"),
    ]
    assert in_run == bus_messages(worker_events)
    question = next(
        e["envelope"]
        for e in run_events
        if e["kind"] == "message_sent" and e["envelope"]["recipient"] == "reviewer"
    )
    assert in_run[1][3] == question["message_id"]  # the answer names its question
    assert worker_events[0]["kind"] == "run_started" and worker_events[-1]["kind"] == "run_finished"
    assert worker_events[-1]["output"] == "1 message(s) answered"
    target = RedisTarget.parse(redis_url)
    wait_until(
        lambda: not target.client().hexists(f"{target.prefix}:bus:default:members", "reviewer"),
        what="the worker frees its name",
    )
