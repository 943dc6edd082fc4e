"""Orchestration overhead per agent step, with JSONL recording on, beside its floors and peers.

Workloads (zero-work agents: ``x[:8] + "+a"``), each measured in this one run:
  - a 1,000-step pipeline and a 1,000-agent fan-out + join;
  - baselines: a direct ``await`` per step, one asyncio task per step (the floor);
  - LangGraph on the same graphs, when it is installed;
  - a 10,000-agent fan-out in a fresh process, for its peak RSS;
  - ``import toolkit`` in a fresh process.
Figures are medians of ``--repeat`` runs, in µs per step; ratios compare figures
from this run only. Usage: ``python benchmarks/bench_orchestrator.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, TypedDict

import anyio

from toolkit.agents import FunctionAgent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task

N = 1000


async def zero(x: str) -> str:
    # the same zero-work agent for every contender; the input is cut to 8 characters
    # so payloads stay the same size at every step and only orchestration is measured
    return x[:8] + "+a"


def pipeline_plan(n: int) -> Plan:
    tasks = [Task(id="t0", agent="a0", prompt="{{input}}")]
    tasks += [
        Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{t" + str(i - 1) + "}}") for i in range(1, n)
    ]
    return Plan(name="pipeline", tasks=tasks)


def fanout_plan(n: int) -> Plan:
    tasks = [Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{input}}") for i in range(n)]
    tasks.append(
        Task(
            id="join",
            agent="a0",
            goal="join",
            prompt="joined",
            depends_on=[f"t{i}" for i in range(n)],
        )
    )
    return Plan(name="fanout", tasks=tasks, synthesize="none")


def orchestrator() -> Orchestrator:
    return Orchestrator([FunctionAgent(zero, f"a{i}") for i in range(10)], concurrency=16)


async def switchboard(plan: Plan, trace: Path) -> float:
    orch = orchestrator()
    t = time.perf_counter()
    result = await orch.run("x", plan, trace=trace)
    elapsed = time.perf_counter() - t
    assert result.status == "succeeded", result.error
    return elapsed


async def direct_pipeline(n: int) -> float:
    t = time.perf_counter()
    x = "x"
    for _ in range(n):
        x = await zero(x)
    return time.perf_counter() - t


async def tasks_pipeline(n: int) -> float:
    t = time.perf_counter()
    x = "x"
    for _ in range(n):
        x = await asyncio.create_task(zero(x))
    return time.perf_counter() - t


async def tasks_fanout(n: int) -> float:
    t = time.perf_counter()
    results = await asyncio.gather(*(asyncio.create_task(zero("x")) for _ in range(n)))
    await zero("".join(results[:1]))
    return time.perf_counter() - t


class PipeState(TypedDict):
    x: str


class FanState(TypedDict):
    out: Annotated[list[str], operator.add]


def langgraph_available() -> bool:
    try:
        import langgraph  # noqa: F401
    except ImportError:
        return False
    return True


async def langgraph_pipeline(n: int) -> float:
    from langgraph.graph import END, START, StateGraph

    S = PipeState

    async def node(state: PipeState) -> PipeState:
        return {"x": await zero(state["x"])}

    g = StateGraph(S)
    for i in range(n):
        g.add_node(f"n{i}", node)
        g.add_edge(START if i == 0 else f"n{i - 1}", f"n{i}")
    g.add_edge(f"n{n - 1}", END)
    app = g.compile()
    t = time.perf_counter()
    await app.ainvoke({"x": "x"}, {"recursion_limit": n + 10})
    return time.perf_counter() - t


async def langgraph_fanout(n: int) -> float:
    from langgraph.graph import END, START, StateGraph

    S = FanState

    async def node(state: FanState) -> dict[str, list[str]]:
        return {"out": [await zero("x")]}

    async def join(state: FanState) -> dict[str, list[str]]:
        return {"out": ["joined"]}

    g = StateGraph(S)
    g.add_node("join", join)
    for i in range(n):
        g.add_node(f"n{i}", node)
        g.add_edge(START, f"n{i}")
    g.add_edge([f"n{i}" for i in range(n)], "join")
    g.add_edge("join", END)
    app = g.compile()
    t = time.perf_counter()
    await app.ainvoke({"out": []})
    return time.perf_counter() - t


def median_us(fn, repeat: int, steps: int) -> float:
    values = [anyio.run(fn) for _ in range(repeat)]
    return statistics.median(values) / steps * 1e6


# Peak memory is VmHWM of the measuring process itself: ru_maxrss would not do, since
# Linux carries it over fork and exec, so a child would report this (larger) process's peak.
PEAK_MB = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

PEAK_SCRIPT = (
    PEAK_MB
    + """
import sys, anyio
sys.path.insert(0, {root!r})
from benchmarks.bench_orchestrator import orchestrator, fanout_plan
n = {n}
async def main():
    orch = orchestrator()
    result = await orch.run("x", fanout_plan(n), trace={trace!r}, keep_events={keep})
    assert result.status == "succeeded", result.error
anyio.run(main)
print(peak_mb())
"""
)


def peak_rss_mb(n: int, keep: bool) -> float:
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        script = PEAK_SCRIPT.format(root=root, n=n, trace=str(Path(tmp) / "t.jsonl"), keep=keep)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
    return float(out.stdout.strip().splitlines()[-1])


def baseline_rss_mb() -> float:
    script = PEAK_MB + "import anyio, pydantic, toolkit.orchestrator\nprint(peak_mb())"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def import_ms(statement: str, repeat: int) -> float:
    values = []
    for _ in range(repeat):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        values.append(float(out.stdout))
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = args.repeat
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "run.jsonl"
        pipe, fan = pipeline_plan(N), fanout_plan(N)
        figures["pipeline.switchboard_us"] = median_us(lambda: switchboard(pipe, trace), r, N)
        figures["fanout.switchboard_us"] = median_us(lambda: switchboard(fan, trace), r, N + 1)
        lines = len(trace.read_bytes().splitlines())
    figures["pipeline.direct_await_us"] = median_us(lambda: direct_pipeline(N), r, N)
    figures["pipeline.asyncio_task_us"] = median_us(lambda: tasks_pipeline(N), r, N)
    figures["fanout.asyncio_task_us"] = median_us(lambda: tasks_fanout(N), r, N + 1)
    if langgraph_available():
        figures["pipeline.langgraph_us"] = median_us(
            lambda: langgraph_pipeline(N), max(1, r // 2), N
        )
        figures["fanout.langgraph_us"] = median_us(
            lambda: langgraph_fanout(N), max(1, r // 2), N + 1
        )
    figures["fanout10k.peak_rss_mb"] = peak_rss_mb(10_000, keep=True)
    figures["fanout10k.peak_rss_mb_events_not_kept"] = peak_rss_mb(10_000, keep=False)
    figures["interpreter_with_toolkit.rss_mb"] = baseline_rss_mb()
    figures["import_toolkit_ms"] = import_ms("import toolkit", r)
    figures["import_toolkit_orchestrator_ms"] = import_ms(
        "import toolkit; from toolkit import Orchestrator, MockAgent", r
    )

    print(
        f"Switchboard orchestration overhead (zero-work agents, JSONL recording on; median of {r}; µs per step)"
    )
    print(f"  events recorded in the fan-out trace: {lines:,}")
    print(
        f"{'workload':<28}{'switchboard':>12}{'asyncio task':>14}{'direct await':>14}{'langgraph':>12}{'vs langgraph':>14}"
    )
    for w in ("pipeline", "fanout"):
        sb = figures[f"{w}.switchboard_us"]
        lg = figures.get(f"{w}.langgraph_us")
        da = figures.get(f"{w}.direct_await_us")
        label = "1,000-step pipeline" if w == "pipeline" else "1,000-agent fan-out + join"
        print(
            f"{label:<28}{sb:>12.1f}{figures[f'{w}.asyncio_task_us']:>14.1f}"
            f"{(f'{da:.2f}' if da else '-'):>14}{(f'{lg:.0f}' if lg else 'n/a'):>12}{(f'{lg / sb:.1f}x less' if lg else '-'):>14}"
        )
    print(
        f"10,000-agent fan-out peak RSS: {figures['fanout10k.peak_rss_mb']:.0f} MB with events kept in memory, "
        f"{figures['fanout10k.peak_rss_mb_events_not_kept']:.0f} MB without (interpreter + toolkit alone: "
        f"{figures['interpreter_with_toolkit.rss_mb']:.0f} MB; target < 300 MB)"
    )
    print(
        f"import toolkit: {figures['import_toolkit_ms']:.0f} ms; with Orchestrator and MockAgent: "
        f"{figures['import_toolkit_orchestrator_ms']:.0f} ms (target < 150 ms)"
    )
    targets = {
        "pipeline <= 25 us/step": figures["pipeline.switchboard_us"] <= 25,
        "fan-out <= 25 us/step": figures["fanout.switchboard_us"] <= 25,
        "10k fan-out < 300 MB": figures["fanout10k.peak_rss_mb"] < 300,
        "import < 150 ms": figures["import_toolkit_orchestrator_ms"] < 150,
    }
    if "pipeline.langgraph_us" in figures:
        targets[">= 10x less than LangGraph (pipeline)"] = (
            figures["pipeline.langgraph_us"] / figures["pipeline.switchboard_us"] >= 10
        )
        targets[">= 10x less than LangGraph (fan-out)"] = (
            figures["fanout.langgraph_us"] / figures["fanout.switchboard_us"] >= 10
        )
    for name, ok in targets.items():
        print(f"  [{'met' if ok else 'MISSED'}] {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
