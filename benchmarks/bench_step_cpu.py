"""CPU time of one orchestrated step, beside one asyncio task per step, on the run's thread.

``bench_orchestrator.py`` times wall-clock medians, which a shared machine stretches by
whatever else runs (load 5 on 2 cores triples them). This script measures what the run's
own thread spends (``time.thread_time``): a 1,000-step pipeline and a 1,000-agent fan-out
+ join, recorded to a fresh JSONL trace per run and unrecorded, beside their floors (one
asyncio task per step, awaited in turn or gathered); every contender warmed up once,
then ``--repeat`` interleaved rounds, each after a full garbage collection; the minimum
and the median in µs per step, and the recorded runs' ratios to their floors.

Run it from the root of any checkout to compare two versions of the code under the same
harness: ``python benchmarks/bench_step_cpu.py [--repeat 9]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

sys.path.insert(0, str(Path.cwd()))  # the checkout it is run from, not this file's

from toolkit.agents import FunctionAgent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task

N = 1000


async def zero(x: str) -> str:
    return x[:8] + "+a"  # as in bench_orchestrator.py: payloads stay the same size


def pipeline_plan(n: int) -> Plan:
    tasks = [Task(id="t0", agent="a0", prompt="{{input}}")]
    tasks += [
        Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{t" + str(i - 1) + "}}") for i in range(1, n)
    ]
    return Plan(name="pipeline", tasks=tasks)


def fanout_plan(n: int) -> Plan:
    tasks = [Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{input}}") for i in range(n)]
    join = Task(id="join", agent="a0", prompt="joined", depends_on=[t.id for t in tasks])
    return Plan(name="fanout", tasks=[*tasks, join], synthesize="none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    orch = Orchestrator([FunctionAgent(zero, f"a{i}") for i in range(10)], concurrency=16)
    pipe, fan = pipeline_plan(N), fanout_plan(N)
    folder = Path(tempfile.mkdtemp())
    count = [0]

    def switchboard(plan: Plan, recorded: bool) -> Callable[[], float]:
        def once() -> float:
            count[0] += 1
            path = folder / f"{count[0]}.jsonl" if recorded else None

            async def go() -> float:
                t = time.thread_time()
                result = await orch.run("x", plan, trace=path)
                spent = time.thread_time() - t
                assert result.status == "succeeded", result.error
                return spent

            spent = anyio.run(go)
            if path is not None:
                path.unlink()  # outside the timed part
            return spent

        return once

    async def tasks_pipeline() -> float:
        t, x = time.thread_time(), "x"
        for _ in range(N):
            x = await asyncio.create_task(zero(x))
        return time.thread_time() - t

    async def tasks_fanout() -> float:
        t = time.thread_time()
        results = await asyncio.gather(*(asyncio.create_task(zero("x")) for _ in range(N)))
        await zero(results[0])
        return time.thread_time() - t

    contenders: dict[str, tuple[Callable[[], float], int]] = {
        "pipeline recorded": (switchboard(pipe, True), N),
        "pipeline unrecorded": (switchboard(pipe, False), N),
        "pipeline floor": (lambda: anyio.run(tasks_pipeline), N),
        "fan-out recorded": (switchboard(fan, True), N + 1),
        "fan-out unrecorded": (switchboard(fan, False), N + 1),
        "fan-out floor": (lambda: anyio.run(tasks_fanout), N + 1),
    }
    for fn, _ in contenders.values():
        gc.collect()
        fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, (fn, steps) in contenders.items():
            gc.collect()
            samples[name].append(fn() / steps * 1e6)
    print(f"CPU time of the run's thread, µs per step (min and median of {args.repeat} rounds)")
    for name, values in samples.items():
        print(f"  {name:<22}{min(values):>8.1f}{statistics.median(values):>8.1f}")
    for w in ("pipeline", "fan-out"):
        rec, floor = samples[f"{w} recorded"], samples[f"{w} floor"]
        print(f"  {w} recorded / floor: {min(rec) / min(floor):.2f}x (min), "
              f"{statistics.median(rec) / statistics.median(floor):.2f}x (median)")  # fmt: skip


if __name__ == "__main__":
    main()
