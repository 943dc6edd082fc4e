"""Faults against the real dev server: a worker killed mid-call, the starter killed, the
server restarted on its database, and durable backoff timers under time skipping.

In every case the run completes, no agent call that had finished runs again (each
call appends a line to a side-effect file), and the trace and the store hold each
event once, in seq order.
"""

from __future__ import annotations

import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("temporalio")

from tests.services import Service, temporal_server, wait_until
from toolkit.events import dump_event
from toolkit.recorder import read_trace
from toolkit.sources import EventFeed, open_trace
from toolkit.store import RunStore
from toolkit.temporal import TemporalExecutor, connect
from toolkit.workflow import load_workflow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = """\
name: durable
input: start
pattern: pipeline
agents:
  worker:
    kind: function
    function: tests.temporal.fault_agents:step
steps:
  - {id: s1, agent: worker, meta: {sleep: 0.1}}
  - {id: s2, agent: worker, meta: {sleep: 4}}
  - {id: s3, agent: worker, meta: {sleep: 0.1}}
"""

pytestmark = pytest.mark.anyio


class Scene:
    """A workflow file, a side-effect file and the processes of one fault test."""

    def __init__(self, tmp: Path, address: str) -> None:
        self.tmp, self.address = tmp, address
        self.workflow = tmp / "durable.yaml"
        self.workflow.write_text(WORKFLOW)
        self.effects = tmp / "effects.txt"
        self.effects.touch()
        self.queue = f"q-{uuid.uuid4().hex[:8]}"
        self.trace, self.store, self.blobs = tmp / "run.jsonl", tmp / "runs.db", tmp / "blobs"
        self.services: list[Service] = []

    def calls(self) -> list[tuple[str, int]]:
        """(task id, worker pid) of every agent call started so far."""
        return [
            (task, int(pid))
            for task, pid in (line.split() for line in self.effects.read_text().splitlines())
        ]

    def started(self, task: str) -> bool:
        return any(t == task for t, _ in self.calls())

    def process(self, argv: list[str], ready: str, name: str) -> Service:
        log = self.tmp / f"{name}.log"
        log.touch()
        service = Service(
            [sys.executable, "-m", "toolkit.cli", *argv],
            lambda: ready in log.read_text(),
            name=name,
            env={"SWITCHBOARD_SIDE_EFFECTS": str(self.effects), "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            log=log,
        )
        self.services.append(service)
        return service.start()

    def worker(self, name: str) -> Service:
        return self.process(
            [
                "worker",
                str(self.workflow),
                "--temporal",
                self.address,
                "--task-queue",
                self.queue,
                "--blobs",
                str(self.blobs),
            ],
            "worker ready",
            name,
        )

    def executor(self, client: Any) -> TemporalExecutor:
        return TemporalExecutor(client=client, task_queue=self.queue, heartbeat_s=1.0)

    def stop(self) -> None:
        for service in self.services:
            service.kill()

    def check_outlets(self, run_id: str, events: list[Any] | None = None) -> list[Any]:
        """The trace and the store hold the same events, each once, seq 0, 1, 2, …"""
        traced = read_trace(self.trace).events
        assert [e.seq for e in traced] == list(range(len(traced)))
        stored = RunStore(self.store).events(run_id)
        assert [dump_event(e) for e in stored] == [dump_event(e) for e in traced]
        if events is not None:
            assert [dump_event(e) for e in events] == [dump_event(e) for e in traced]
        return traced


async def until(condition: Any) -> None:
    """Wait for a state (bounded, so a hang fails instead of blocking the suite)."""
    with anyio.fail_after(120):
        while not condition():
            await anyio.sleep(0.05)


async def run_in_background(run: Any, box: dict[str, Any]) -> None:
    box["result"] = await run.execute()


async def test_a_worker_killed_mid_call_leaves_the_run_to_the_other_worker(
    temporal: Service, tmp_path: Path
) -> None:
    """kill -9 of the worker running an agent call: the other worker runs the call again
    and finishes the run; the calls that had finished never run again."""
    scene = Scene(tmp_path, temporal.address)  # type: ignore[attr-defined]
    try:
        first, second = scene.worker("w1"), scene.worker("w2")
        client = await connect(scene.address, blobs=scene.blobs)
        run = load_workflow(scene.workflow).prepare(
            trace=scene.trace, store=scene.store, executor=scene.executor(client)
        )
        box: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_in_background, run, box)
            await until(lambda: scene.started("s2"))
            victim_pid = dict(scene.calls())["s2"]
            victim, survivor = (first, second) if first.pid == victim_pid else (second, first)
            victim.kill()
        result = box["result"]
    finally:
        scene.stop()
    assert result.status == "succeeded", result.error
    calls = scene.calls()
    assert [t for t, _ in calls] == ["s1", "s2", "s2", "s3"]
    assert calls[2][1] == survivor.pid and calls[3][1] == survivor.pid
    scene.check_outlets(result.run_id, result.events)


async def test_the_run_goes_on_when_the_process_that_started_it_is_killed(
    temporal: Service, tmp_path: Path
) -> None:
    """kill -9 of ``switchboard run --executor temporal``: the run goes on, its store row
    never reads as interrupted, and a follower of its trace (as ``switchboard tui
    --follow``) sees it to the end."""
    scene = Scene(tmp_path, temporal.address)  # type: ignore[attr-defined]
    try:
        scene.worker("w1")
        starter = scene.process(
            [
                "run",
                str(scene.workflow),
                "--executor",
                "temporal",
                "--temporal",
                scene.address,
                "--task-queue",
                scene.queue,
                "--trace",
                str(scene.trace),
                "--store",
                str(scene.store),
                "--blobs",
                str(scene.blobs),
            ],
            "started on Temporal",
            "starter",
        )
        match = re.search(r"run (run-[0-9a-f]+) started", (tmp_path / "starter.log").read_text())
        assert match is not None
        run_id = match.group(1)
        wait_until(lambda: scene.started("s2"), what="s2 started")
        starter.kill()
        assert RunStore(scene.store).info(run_id).status in ("running", "succeeded")
        feed = EventFeed()
        follower = threading.Thread(
            target=open_trace(scene.trace, follow=True).produce, args=(feed,)
        )
        follower.start()
        follower.join(timeout=120)
        assert not follower.is_alive(), "the follower never saw the run finish"
        followed, problems = feed.drain()
    finally:
        scene.stop()
    assert problems == []
    assert followed[-1].kind == "run_finished" and followed[-1].status == "succeeded"
    assert [t for t, _ in scene.calls()] == ["s1", "s2", "s3"]
    scene.check_outlets(run_id, followed)
    assert RunStore(scene.store).info(run_id).status == "succeeded"


async def test_a_run_completes_across_a_restart_of_the_server(tmp_path: Path) -> None:
    """Stop the dev server mid-run and start it again on the same database: the run
    completes, and the call that had finished before the stop never runs again."""
    db = tmp_path / "own.db"
    server = temporal_server(db, log=tmp_path / "server.log").start()
    scene = Scene(tmp_path, server.address)  # type: ignore[attr-defined]
    try:
        scene.worker("w1")
        client = await connect(scene.address, blobs=scene.blobs)
        run = load_workflow(scene.workflow).prepare(
            trace=scene.trace, store=scene.store, executor=scene.executor(client)
        )
        box: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_in_background, run, box)
            await until(lambda: scene.started("s2"))
            server.stop()
            server = temporal_server(db, server.port, log=tmp_path / "server.log").start()  # type: ignore[attr-defined]
        result = box["result"]
    finally:
        scene.stop()
        server.stop()
    assert result.status == "succeeded", result.error
    ran = [t for t, _ in scene.calls()]
    assert ran.count("s1") == 1 and ran.count("s3") == 1
    assert ran.count("s2") in (1, 2)  # in flight at the stop: it may run again, never s1
    scene.check_outlets(result.run_id, result.events)


async def test_backoff_waits_on_durable_timers_that_time_skipping_jumps(tmp_path: Path) -> None:
    """Retry backoff is a workflow timer: hours of backoff pass in test time, and the
    trace's times are the workflow's (the run spans the skipped hours)."""
    from temporalio.testing import WorkflowEnvironment

    from toolkit.agents import FailureSpec, MockAgent
    from toolkit.orchestrator import Orchestrator
    from toolkit.plan import Plan, Task
    from toolkit.temporal import make_worker, temporal_binary
    from toolkit.temporal.storage import data_converter

    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.WorkflowTimeSkippingEnabled=true",
        ],
        data_converter=data_converter(tmp_path / "blobs"),
    )
    agents = [MockAgent("flaky", failures=FailureSpec(fail_attempts=[1, 2]))]
    plan = Plan(name="backoff", tasks=[Task(id="t", agent="flaky", retries=2, backoff_s=3600)])
    async with env, make_worker(env.client, agents, task_queue="skip"):
        orch = Orchestrator(agents, executor=TemporalExecutor(client=env.client, task_queue="skip"))
        result = await orch.run("go", plan)
    assert result.status == "succeeded", result.error
    assert [e.delay_s for e in result.events if e.kind == "task_retried"] == [3600, 7200]
    assert result.events[-1].ts - result.events[0].ts >= 3 * 3600
