"""Per-step overhead of a Switchboard pipeline on Temporal beside a hand-written workflow.

Both contenders run N zero-work activities (``x[:8] + "+a"``) one after another on the
same Temporal dev server (started here, offline, on free loopback ports), each with
one worker in this process:

  - ``hand-written``: a ``@workflow.defn`` whose run awaits N ``execute_activity`` calls;
  - ``switchboard``: an N-step pipeline plan run by ``Orchestrator(executor=TemporalExecutor)``
    (the whole ``Run`` inside the workflow, each agent call one activity), the starter
    following the events through the workflow's query, nothing recorded;
  - ``switchboard+rec``: the same, the workers writing a JSONL trace and a SQLite run
    store (one local-activity delivery of events per workflow task).

One warm-up run each, then ``--repeat`` rounds in which each runs once, in turn;
figures are medians in ms per step, from start to result. The target is the ratio
switchboard / hand-written ≤ 1.25 (PERFORMANCE.md), printed as PASS or FAIL.
Usage: ``python benchmarks/bench_temporal.py [--steps 100] [--repeat 3] [--db]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from toolkit.agents import FunctionAgent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.temporal import DevServer, TemporalExecutor, connect, make_worker


async def zero(x: str) -> str:
    return x[:8] + "+a"


@activity.defn(name="bench.step")
async def step(x: str) -> str:
    return await zero(x)


@workflow.defn(name="bench.pipeline")
class HandWritten:
    @workflow.run
    async def run(self, n: int) -> str:
        x = "hello"
        for _ in range(n):
            x = await workflow.execute_activity(
                "bench.step", x, start_to_close_timeout=timedelta(seconds=60)
            )
        return x


def pipeline(n: int) -> Plan:
    tasks = [Task(id="t0", agent="a", prompt="{{input}}")]
    tasks += [Task(id=f"t{i}", agent="a", prompt="{{t" + str(i - 1) + "}}") for i in range(1, n)]
    return Plan(name="pipeline", tasks=tasks)


async def main(steps: int, repeat: int, db: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-temporal-"))
    server = DevServer(db=tmp / "temporal.db" if db else None).start()
    try:
        client = await connect(server.address, blobs=tmp / "blobs")
        plan = pipeline(steps)
        runs = iter(range(10_000))
        ours = make_worker(client, [FunctionAgent(zero, "a")], task_queue="bench-sb")
        theirs = Worker(
            client,
            task_queue="bench-hw",
            workflows=[HandWritten],
            activities=[step],
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules("toolkit")
            ),
        )
        orch = Orchestrator(
            [FunctionAgent(zero, "a")],
            executor=TemporalExecutor(task_queue="bench-sb", client=client),
        )

        async def hand_written() -> None:
            await client.execute_workflow(
                HandWritten.run, steps, id=f"hw-{next(runs)}", task_queue="bench-hw"
            )

        async def switchboard() -> None:
            result = await orch.run("hello", plan)
            assert result.status == "succeeded", result.error

        async def recorded() -> None:
            n = next(runs)
            result = await orch.run(
                "hello", plan, trace=tmp / f"run{n}.jsonl", store=tmp / "runs.db"
            )
            assert result.status == "succeeded", result.error

        contenders = {
            "hand-written": hand_written,
            "switchboard": switchboard,
            "switchboard+rec": recorded,
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        async with ours, theirs:
            for fn in contenders.values():  # warm-up: imports, sandbox, caches
                await fn()
            for _ in range(repeat):
                for name, fn in contenders.items():
                    t0 = time.perf_counter()
                    await fn()
                    times[name].append((time.perf_counter() - t0) / steps * 1000)
    finally:
        server.stop()
    store = "SQLite" if db else "in memory"
    print(
        f"{steps}-step pipeline on the Temporal dev server ({store}), ms per step, median of {repeat}:"
    )
    base = statistics.median(times["hand-written"])
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"  {name:<16} {med:8.2f} ms   {med / base:5.2f}×   (runs: {', '.join(f'{v:.2f}' for v in values)})"
        )
    ratio = statistics.median(times["switchboard"]) / base
    print(
        f"target: switchboard ≤ 1.25× hand-written: {ratio:.2f}× {'PASS' if ratio <= 1.25 else 'FAIL'}"
    )
    rec = statistics.median(times["switchboard+rec"]) / base
    print(f"        switchboard+rec (JSONL + store written by the worker): {rec:.2f}×")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--db", action="store_true", help="the server on SQLite (default: in memory)"
    )
    ns = parser.parse_args()
    asyncio.run(main(ns.steps, ns.repeat, ns.db))
