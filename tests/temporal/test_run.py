"""Runs on a real Temporal dev server with a worker in this process: same state as in
process, every event once and in order at every outlet, large payloads, replays."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio")

from tests.services import Service
from tests.temporal.conftest import project
from toolkit.agents import Directive, FunctionAgent
from toolkit.events import dump_event
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.recorder import read_trace
from toolkit.store import RunStore
from toolkit.temporal import TemporalExecutor, connect, make_worker
from toolkit.tracing import CallbackSink
from toolkit.workflow import load_workflow

SAMPLES = Path(__file__).resolve().parents[2] / "sample_agents" / "workflows"

pytestmark = pytest.mark.anyio


def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


def same_lines(a: list[Any], b: list[Any]) -> bool:
    return [dump_event(e) for e in a] == [dump_event(e) for e in b]


@pytest.mark.parametrize("name", ["feature-review.yaml", "scatter-gather.yaml"])
async def test_a_temporal_run_folds_to_the_state_of_the_in_process_run(
    name: str, temporal: Service, tmp_path: Path
) -> None:
    """A workflow run on Temporal (retries, fallback, review loop; a fan-out) folds to the
    same state as the in-process run of the same plan and seed, ids and times aside, and
    its trace file, its run store and its live sink each hold every event once, in seq order."""
    wf = load_workflow(SAMPLES / name)
    local = await wf.prepare().execute()
    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    seen: list[Any] = []
    async with make_worker(client, wf.build_agents(), task_queue=q):
        run = wf.prepare(
            trace=tmp_path / "run.jsonl",
            store=tmp_path / "runs.db",
            sinks=[CallbackSink(seen.append)],
            executor=TemporalExecutor(client=client, task_queue=q),
        )
        result = await run.execute()
    assert result.status == local.status
    assert project(result.state) == project(local.state)
    assert [e.seq for e in result.events] == list(range(len(result.events)))
    assert same_lines(seen, result.events)
    assert same_lines(read_trace(tmp_path / "run.jsonl").events, result.events)
    store = RunStore(tmp_path / "runs.db")
    assert same_lines(store.events(result.run_id), result.events)
    assert store.info(result.run_id).status == result.status
    assert store.snapshot(result.run_id) is not None


async def test_replayed_workflow_tasks_never_deliver_an_event_twice(
    temporal: Service, tmp_path: Path
) -> None:
    """With no workflow kept in memory, every workflow task replays the run from its
    history; the trace and the store still get each event exactly once, in order."""
    plan = Plan(
        name="replayed",
        tasks=[Task(id="t0", agent="a", prompt="{{input}}")]
        + [Task(id=f"t{i}", agent="a", prompt="{{t" + str(i - 1) + "}}") for i in range(1, 8)],
    )

    async def step(text: str) -> str:
        return text[:12] + "+a"

    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    async with make_worker(
        client, [FunctionAgent(step, "a")], task_queue=q, max_cached_workflows=0
    ):
        orch = Orchestrator(
            [FunctionAgent(step, "a")], executor=TemporalExecutor(client=client, task_queue=q)
        )
        result = await orch.run("go", plan, trace=tmp_path / "t.jsonl", store=tmp_path / "s.db")
    local = await Orchestrator([FunctionAgent(step, "a")]).run("go", plan)
    assert result.status == "succeeded"
    assert project(result.state) == project(local.state)
    assert same_lines(read_trace(tmp_path / "t.jsonl").events, result.events)
    assert same_lines(RunStore(tmp_path / "s.db").events(result.run_id), result.events)


async def test_an_output_over_the_payload_limit_travels_by_reference(
    temporal: Service, tmp_path: Path
) -> None:
    """A 3 MB answer (over Temporal's 2 MB payload limit) reaches the next task's prompt,
    the run's output and the trace whole; the history holds a reference to a file."""
    big = "x" * 3_000_000

    async def writer(text: str) -> str:
        return big

    async def counter(text: str) -> str:
        return f"{len(text)} characters"

    plan = Plan(
        name="big",
        tasks=[
            Task(id="write", agent="writer", prompt="{{input}}"),
            Task(id="count", agent="counter", prompt="{{write}}", depends_on=["write"]),
        ],
        synthesize="all",
    )
    agents = [FunctionAgent(writer, "writer"), FunctionAgent(counter, "counter")]
    blobs = tmp_path / "blobs"
    client = await connect(temporal.address, blobs=blobs)  # type: ignore[attr-defined]
    q = queue()
    async with make_worker(client, agents, task_queue=q):
        orch = Orchestrator(agents, executor=TemporalExecutor(client=client, task_queue=q))
        result = await orch.run("go", plan, trace=tmp_path / "t.jsonl")
    assert result.status == "succeeded", result.error
    assert result.results == {"write": big, "count": "3000000 characters"}
    assert any(len(p.read_bytes()) > 3_000_000 for p in blobs.rglob("*") if p.is_file())
    finished = [e for e in read_trace(tmp_path / "t.jsonl").events if e.kind == "task_finished"]
    assert [e.output for e in finished] == [big, "3000000 characters"]


async def test_what_an_agent_records_on_a_worker_joins_the_run_stream(
    temporal: Service, tmp_path: Path
) -> None:
    """Tool calls and log lines an agent records through its session on a worker are
    numbered into the run's stream, under the attempt's span, as in process."""

    async def tooled(directive: Directive) -> str:
        session = directive.session
        session.log(f"looking up {directive.prompt}")
        session.tool_call("search", {"q": directive.prompt}, ["a", "b"], duration_s=0.0)
        return "found 2"

    plan = Plan(name="tools", tasks=[Task(id="look", agent="tooled", prompt="{{input}}")])
    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    async with make_worker(client, [FunctionAgent(tooled, "tooled")], task_queue=q):
        orch = Orchestrator(
            [FunctionAgent(tooled, "tooled")],
            executor=TemporalExecutor(client=client, task_queue=q),
        )
        result = await orch.run("switchboard", plan)
    local = await Orchestrator([FunctionAgent(tooled, "tooled")]).run("switchboard", plan)
    assert project(result.state) == project(local.state)
    kinds = [e.kind for e in result.events]
    assert kinds == [e.kind for e in local.events]
    tool = next(e for e in result.events if e.kind == "tool_call")
    started = next(e for e in result.events if e.kind == "task_started")
    assert tool.parent_span_id == started.span_id
    assert len({e.span_id for e in result.events if e.kind != "run_started"}) > 1


async def test_cancelling_a_run_on_temporal_records_it_the_in_process_way(
    temporal: Service, tmp_path: Path
) -> None:
    """``Run.cancel`` on the starter reaches the workflow: the running call is cancelled,
    the task after it skipped, and the trace ends with ``run_finished`` cancelled."""
    import anyio

    working = anyio.Event()

    async def slow(text: str) -> str:
        working.set()
        await anyio.sleep(120)
        return "too late"

    plan = Plan(
        name="cancelled",
        tasks=[
            Task(id="t1", agent="slow", prompt="{{input}}"),
            Task(id="t2", agent="slow", prompt="{{t1}}"),
        ],
    )
    agents = [FunctionAgent(slow, "slow")]
    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    box: dict[str, Any] = {}
    async with make_worker(client, agents, task_queue=q):
        orch = Orchestrator(agents, executor=TemporalExecutor(client=client, task_queue=q))
        run = orch.prepare("go", plan, trace=tmp_path / "t.jsonl")

        async def execute() -> None:
            box["result"] = await run.execute()

        async with anyio.create_task_group() as tg:
            tg.start_soon(execute)
            with anyio.fail_after(120):
                await working.wait()
            run.cancel()
    result = box["result"]
    assert result.status == "cancelled"
    failed = [e for e in result.events if e.kind == "task_failed"]
    assert [(e.task_id, e.error_type) for e in failed] == [("t1", "cancelled")]
    assert [e.task_id for e in result.events if e.kind == "task_skipped"] == ["t2"]
    assert same_lines(read_trace(tmp_path / "t.jsonl").events, result.events)


async def test_a_call_to_an_agent_no_worker_of_the_queue_hosts_fails_saying_so(
    temporal: Service, tmp_path: Path
) -> None:
    """A call that reaches a worker which does not host its agent fails the attempt as
    ``unavailable`` with the worker's reason (which agents it hosts, on which queue), so
    the task's fallback answers; the run does not end on a bare ``ActivityError``."""
    hosted = [FunctionAgent(lambda text: "a: " + text, "a")]
    wanted = [*hosted, FunctionAgent(lambda text: "b: " + text, "b")]
    plan = Plan(name="misrouted", tasks=[Task(id="t", agent="b", fallback="a")])
    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    async with make_worker(client, hosted, task_queue=q):
        orch = Orchestrator(wanted, executor=TemporalExecutor(client=client, task_queue=q))
        result = await orch.run("go", plan)
    failed = [e for e in result.events if e.kind == "task_failed"]
    assert [(e.error_type, e.final) for e in failed] == [("unavailable", False)]
    assert "this worker hosts no agent 'b' (it hosts: a)" in failed[0].error
    assert repr(q) in failed[0].error
    assert result.status == "succeeded"
    assert result.results["t"] == "a: go"


def test_run_on_temporal_reports_a_missing_or_unreachable_server_in_one_line(
    tmp_path: Path,
) -> None:
    """``switchboard run --executor temporal`` without ``--temporal``, or with a server
    nobody runs, exits 2 with one line on stderr and no traceback."""
    import subprocess
    import sys

    from tests.services import free_port

    wf = str(SAMPLES / "research-report.yaml")
    base = [sys.executable, "-m", "toolkit.cli", "run", wf, "--executor", "temporal"]
    for extra, says in (
        ([], "needs --temporal HOST:PORT"),
        (["--temporal", f"127.0.0.1:{free_port()}"], "cannot reach the Temporal server"),
    ):
        out = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, out.stderr
        assert says in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


async def test_a_view_follows_a_temporal_run_live_by_its_run_id(
    temporal: Service, tmp_path: Path
) -> None:
    """``switchboard tui --temporal HOST:PORT --run ID`` opens a ``TemporalSource``; it feeds
    a view every event of the run, in order, from the workflow itself, while it runs."""
    import argparse
    import threading

    import anyio

    from toolkit.sources import EventFeed
    from tui.cli import source_from_args

    async def step(text: str) -> str:
        await anyio.sleep(0.2)
        return text[:10] + "+a"

    plan = Plan(
        name="followed",
        tasks=[Task(id="t0", agent="a", prompt="{{input}}")]
        + [Task(id=f"t{i}", agent="a", prompt="{{t" + str(i - 1) + "}}") for i in range(1, 4)],
    )
    agents = [FunctionAgent(step, "a")]
    client = await connect(temporal.address, blobs=tmp_path / "blobs")  # type: ignore[attr-defined]
    q = queue()
    started = anyio.Event()
    box: dict[str, Any] = {}
    feed = EventFeed()
    async with make_worker(client, agents, task_queue=q):
        executor = TemporalExecutor(client=client, task_queue=q, on_start=lambda _: started.set())
        run = Orchestrator(agents, executor=executor).prepare("go", plan)

        async def execute() -> None:
            box["result"] = await run.execute()

        async with anyio.create_task_group() as tg:
            tg.start_soon(execute)
            await started.wait()
            args = argparse.Namespace(
                path=None,
                store=None,
                run_id=run.run_id,
                follow=False,
                temporal=temporal.address,  # type: ignore[attr-defined]
                input=None,
                seed=None,
            )
            source = source_from_args(args)
            assert source.mode == "follow"
            follower = threading.Thread(target=source.produce, args=(feed,))
            follower.start()
            await anyio.to_thread.run_sync(follower.join, 120)
            assert not follower.is_alive()
    followed, problems = feed.drain()
    assert problems == []
    assert same_lines(followed, box["result"].events)
