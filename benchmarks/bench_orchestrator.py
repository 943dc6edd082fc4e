"""Orchestration overhead per agent step, with JSONL recording on, beside its floors and peers.

Workloads (zero-work agents: ``x[:8] + "+a"``), each measured in this one run:
  - a 1,000-step pipeline and a 1,000-agent fan-out + join, recorded and unrecorded;
  - baselines: a direct ``await`` per step, one asyncio task per step (the floor);
  - LangGraph on the same graphs, when it is installed (compiled once, like our plans);
  - a 10,000-agent fan-out in a fresh process, for its peak RSS;
  - ``from toolkit import Orchestrator, MockAgent`` in a fresh process, beside
    ``import anyio, pydantic, yaml, orjson`` (the core dependencies).
Every contender gets the same policy: one warm-up run, then ``--repeat`` rounds in which
each runs once, in turn; figures are medians, in µs per step. Each recorded run writes
a fresh trace file (see ``Traces``). The targets are ratios
between figures of this run, so they hold on a slower or busier machine too; each is
printed as PASS or FAIL. Usage: ``python benchmarks/bench_orchestrator.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import operator
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

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


class Traces:
    """A fresh trace file for each recorded run, as each run of the product records its own.

    Writing over the previous round's file instead would time the disk, not the run: on
    ext4, truncating a file that was just written waits for its pages to be written
    back (~60-110 ms here), which would land on whichever run opened it.
    """

    def __init__(self, folder: Path, stem: str) -> None:
        self.folder, self.stem, self.count = folder, stem, 0
        self.last: Path | None = None

    def __call__(self) -> Path:
        self.count += 1
        if self.last is not None:
            self.last.unlink(missing_ok=True)  # outside the timed part of the run
        self.last = self.folder / f"{self.stem}-{self.count}.jsonl"
        return self.last


async def switchboard(
    orch: Orchestrator, plan: Plan, trace: Callable[[], Path] | Path | None
) -> float:
    path = trace() if callable(trace) else trace
    t = time.perf_counter()
    result = await orch.run("x", plan, trace=path)
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


def langgraph_pipeline(n: int) -> Any:
    """The compiled pipeline graph (compiled once, as Switchboard's plan is built once)."""
    from langgraph.graph import END, START, StateGraph

    S = PipeState

    async def node(state: PipeState) -> PipeState:
        return {"x": await zero(state["x"])}

    g = StateGraph(S)
    for i in range(n):
        g.add_node(f"n{i}", node)
        g.add_edge(START if i == 0 else f"n{i - 1}", f"n{i}")
    g.add_edge(f"n{n - 1}", END)
    return g.compile()


def langgraph_fanout(n: int) -> Any:
    """The compiled fan-out + join graph."""
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
    return g.compile()


async def langgraph_run(app: Any, state: dict[str, Any], config: dict[str, Any]) -> float:
    t = time.perf_counter()
    await app.ainvoke(state, config)
    return time.perf_counter() - t


def measure(
    contenders: dict[str, tuple[Callable[[], Awaitable[float]], int]], repeat: int
) -> dict[str, float]:
    """Median µs per step of each contender, all under one policy.

    Each contender (a coroutine function timing one run, and its number of steps) first
    runs once unmeasured, as a warm-up (LangGraph's first invocation, caches, the
    recorder's first file); then ``repeat`` rounds follow in which every contender runs
    once, in turn, so a busy spell of the shared machine falls on all of them alike.
    Each run gets a fresh event loop and starts after a full garbage collection: the
    heap holds every contender's graphs and plans, and without it a full collection
    (~50 ms here) falls on whichever run happens to cross the threshold.
    """
    for fn, _ in contenders.values():
        gc.collect()
        anyio.run(fn)
    samples: dict[str, list[float]] = {key: [] for key in contenders}
    for _ in range(repeat):
        for key, (fn, steps) in contenders.items():
            gc.collect()
            samples[key].append(anyio.run(fn) / steps * 1e6)
    return {key: statistics.median(values) for key, values in samples.items()}


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


def import_ms(statements: dict[str, str], repeat: int) -> dict[str, float]:
    """Median ms of each import statement in a fresh interpreter: ``bench_import``'s policy
    (a warm-up each, interleaved rounds, bytecode cached as in an installed package)."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # run as a script: ``benchmarks`` is not importable yet
        sys.path.insert(0, root)
    from benchmarks.bench_import import import_ms as measure_imports

    return measure_imports(statements, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    r = args.repeat
    pipe, fan = pipeline_plan(N), fanout_plan(N)
    with tempfile.TemporaryDirectory() as tmp:
        pipe_trace, fan_trace = Traces(Path(tmp), "pipeline"), Traces(Path(tmp), "fanout")
        orch = orchestrator()
        contenders: dict[str, tuple[Callable[[], Awaitable[float]], int]] = {
            "pipeline.switchboard_us": (lambda: switchboard(orch, pipe, pipe_trace), N),
            "pipeline.switchboard_unrecorded_us": (lambda: switchboard(orch, pipe, None), N),
            "pipeline.direct_await_us": (lambda: direct_pipeline(N), N),
            "pipeline.asyncio_task_us": (lambda: tasks_pipeline(N), N),
            "fanout.switchboard_us": (lambda: switchboard(orch, fan, fan_trace), N + 1),
            "fanout.switchboard_unrecorded_us": (lambda: switchboard(orch, fan, None), N + 1),
            "fanout.asyncio_task_us": (lambda: tasks_fanout(N), N + 1),
        }
        if langgraph_available():
            lg_pipe, lg_fan = langgraph_pipeline(N), langgraph_fanout(N)
            pipe_config = {"recursion_limit": N + 10}
            contenders["pipeline.langgraph_us"] = (
                lambda: langgraph_run(lg_pipe, {"x": "x"}, pipe_config),
                N,
            )
            contenders["fanout.langgraph_us"] = (
                lambda: langgraph_run(lg_fan, {"out": []}, {}),
                N + 1,
            )
        figures = measure(contenders, r)
        assert fan_trace.last is not None
        lines = len(fan_trace.last.read_bytes().splitlines())
    figures["fanout10k.peak_rss_mb"] = peak_rss_mb(10_000, keep=True)
    figures["fanout10k.peak_rss_mb_events_not_kept"] = peak_rss_mb(10_000, keep=False)
    figures["interpreter_with_toolkit.rss_mb"] = baseline_rss_mb()
    imports = import_ms(
        {
            "import_core_deps_ms": "import anyio, pydantic, yaml, orjson",
            "import_toolkit_ms": "import toolkit",
            "import_toolkit_orchestrator_ms": "from toolkit import Orchestrator, MockAgent",
        },
        r,
    )
    figures.update(imports)

    print(
        "Switchboard orchestration overhead (zero-work agents; every contender warmed up once, "
        f"then median of {r} interleaved rounds; µs per step)"
    )
    print(f"  events recorded in the fan-out trace: {lines:,}")
    print(
        f"{'workload':<28}{'recorded':>10}{'unrecorded':>12}{'asyncio task':>14}{'direct await':>14}"
        f"{'langgraph':>11}{'x floor':>9}{'vs langgraph':>14}"
    )
    for w in ("pipeline", "fanout"):
        sb = figures[f"{w}.switchboard_us"]
        lg = figures.get(f"{w}.langgraph_us")
        da = figures.get(f"{w}.direct_await_us")
        label = "1,000-step pipeline" if w == "pipeline" else "1,000-agent fan-out + join"
        print(
            f"{label:<28}{sb:>10.1f}{figures[f'{w}.switchboard_unrecorded_us']:>12.1f}"
            f"{figures[f'{w}.asyncio_task_us']:>14.1f}{(f'{da:.2f}' if da else '-'):>14}"
            f"{(f'{lg:.0f}' if lg else 'n/a'):>11}{sb / figures[f'{w}.asyncio_task_us']:>8.1f}x"
            f"{(f'{lg / sb:.1f}x less' if lg else '-'):>14}"
        )
    print(
        f"10,000-agent fan-out peak RSS: {figures['fanout10k.peak_rss_mb']:.0f} MB with events kept in memory, "
        f"{figures['fanout10k.peak_rss_mb_events_not_kept']:.0f} MB without (interpreter + toolkit alone: "
        f"{figures['interpreter_with_toolkit.rss_mb']:.0f} MB)"
    )
    import_ratio = figures["import_toolkit_orchestrator_ms"] / figures["import_core_deps_ms"]
    print(
        f"import toolkit: {figures['import_toolkit_ms']:.0f} ms; with Orchestrator and MockAgent: "
        f"{figures['import_toolkit_orchestrator_ms']:.0f} ms; anyio, pydantic, yaml, orjson: "
        f"{figures['import_core_deps_ms']:.0f} ms ({import_ratio:.2f}x)"
    )
    targets = {
        "import Orchestrator, MockAgent <= 1.5x import of the core dependencies": import_ratio
        <= 1.5,
        "10k fan-out < 300 MB": figures["fanout10k.peak_rss_mb"] < 300,
    }
    for w, label in (("pipeline", "pipeline"), ("fanout", "fan-out")):
        ratio = figures[f"{w}.switchboard_us"] / figures[f"{w}.asyncio_task_us"]
        targets[f"{label} with recording <= 3x one asyncio task per step"] = ratio <= 3
    if "pipeline.langgraph_us" in figures:
        for w, label in (("pipeline", "pipeline"), ("fanout", "fan-out")):
            ratio = figures[f"{w}.langgraph_us"] / figures[f"{w}.switchboard_us"]
            targets[f">= 15x less than LangGraph ({label})"] = ratio >= 15
    for name, ok in targets.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
