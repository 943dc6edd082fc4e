"""How the terminal app keeps up: ingest rate vs the raw run, frame rate, memory, big traces, input latency.

Prints, all measured in this run on this machine (compare the ratios, not absolute times):

1. A zero-latency mock run (4 interleaved chains of tasks, >= 10,000 events/s raw):
   events/s of the run alone (no UI) vs events/s the app ingests *and* renders
   while showing it live (headless Textual, 120x40), their ratio, the frames per
   second the app drew, and the peak RSS.
2. Input latency under load: time from a key press (a tab switch) to the frame
   that shows its effect, while an agent streams LLM-style chunks into the app at
   over 10,000 events/s.
3. A recorded trace of ~100,000 events: time to read it and show its first frame,
   then to jump to the start, step, step back, jump to the end, seek to the middle,
   and filter the event log by kind.

    .venv/bin/python benchmarks/bench_tui.py [--tasks 25000] [--deltas 100000] [--trace-tasks 25000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from textual import events

from toolkit.agents import Directive, FunctionAgent, MockAgent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.recorder import JsonlRecorder
from toolkit.sources import LiveRunSource, open_trace
from tui.app import SwitchboardApp
from tui.screens.main import FOLD_BUDGET_S

SIZE = (120, 40)
CHAINS = 4


def scenario(
    tasks: int, chains: int = CHAINS, latency_s: float = 0.0
) -> tuple[Orchestrator, Plan, str]:
    """Mock agents (zero latency by default) over ``chains`` interleaved chains of ``tasks`` tasks."""
    agents = [
        MockAgent(f"agent-{i}", reply="{name}: done {task_id}", latency=latency_s)
        for i in range(chains)
    ]
    plan = Plan(
        name="zero-latency",
        tasks=[
            Task(
                id=f"t{i}",
                agent=f"agent-{i % CHAINS}",
                goal="step",
                depends_on=[f"t{i - CHAINS}"] if i >= CHAINS else [],
            )
            for i in range(tasks)
        ],
    )
    return Orchestrator(agents, seed=1, concurrency=chains), plan, "go"


class Counter:
    """A sink that only counts."""

    def __init__(self) -> None:
        self.n = 0

    def emit(self, event: Any) -> None:
        self.n += 1

    def close(self) -> None:
        pass


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_rate(tasks: int, repeats: int = 3) -> tuple[float, int]:
    """Median events/s of the run without any UI, and its event count."""
    rates, count = [], 0
    for _ in range(repeats):
        orch, plan, request = scenario(tasks)
        counter = Counter()
        run = orch.prepare(request, plan, sinks=[counter], keep_events=False)
        t0 = time.perf_counter()
        anyio.run(run.execute)
        rates.append(counter.n / (time.perf_counter() - t0))
        count = counter.n
    return statistics.median(rates), count


def streaming_scenario(
    deltas: int, per_burst: int = 100, pause_s: float = 0.005
) -> tuple[Orchestrator, Plan, str]:
    """One agent streaming ``deltas`` LLM-style chunks, ``per_burst`` every ``pause_s`` (<= 20k events/s)."""

    async def stream(directive: Directive) -> str:
        for i in range(deltas):
            directive.session.llm_delta(f"token{i} ")
            if i % per_burst == per_burst - 1:
                await anyio.sleep(pause_s)
        return "streamed"

    agent = FunctionAgent(stream, name="streamer", description="streams tokens")
    plan = Plan(name="streaming", tasks=[Task(id="stream", agent="streamer", goal="stream")])
    return Orchestrator([agent], seed=1), plan, "go"


def streaming_source(deltas: int) -> LiveRunSource:
    def factory(sinks: Sequence[Any]) -> Any:
        orch, plan, request = streaming_scenario(deltas)
        return orch.prepare(request, plan, sinks=sinks, keep_events=False)

    return LiveRunSource("streaming", factory)


def live_source(tasks: int, chains: int = CHAINS, latency_s: float = 0.0) -> LiveRunSource:
    def factory(sinks: Sequence[Any]) -> Any:
        orch, plan, request = scenario(tasks, chains, latency_s)
        return orch.prepare(request, plan, sinks=sinks, keep_events=False)

    return LiveRunSource("zero-latency", factory)


async def _wait(pilot: Any, condition: Any, timeout_s: float = 300.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.01)


async def app_rate(tasks: int, expected: int) -> dict[str, float]:
    """Events/s the app ingests and renders while showing the run live."""
    app = SwitchboardApp(live_source(tasks))
    async with app.run_test(size=SIZE) as pilot:
        t0 = time.perf_counter()
        screen = app.main
        frames0 = 0
        await _wait(
            pilot,
            lambda: (
                not screen.running
                and screen.feed.closed
                and screen.caught_up
                and screen.player.cursor >= expected
                and not screen._dirty
            ),
        )
        elapsed = time.perf_counter() - t0
        frames = screen.frames - frames0
        assert screen.timeline.latest.status == "succeeded", screen.timeline.latest.status
        return {
            "events": len(screen.timeline),
            "seconds": elapsed,
            "rate": len(screen.timeline) / elapsed,
            "fps": frames / elapsed,
        }


async def input_latency(deltas: int, presses: int = 40) -> dict[str, float]:
    """Key press -> the frame showing its effect, while a run streams into the app.

    The load: an agent streaming LLM-style chunks at up to 20,000 events/s for
    several seconds (the rate reached is measured and printed).
    """
    app = SwitchboardApp(streaming_source(deltas))
    latencies: list[float] = []
    during = 0
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await _wait(pilot, lambda: len(screen.timeline) > 100)
        assert screen.running
        t_start, n_start = time.perf_counter(), len(screen.timeline)
        for i in range(presses):
            key = ("2", "1", "3", "1")[i % 4]  # tab switches: each one re-renders a view
            frames = screen.frames
            if screen.running:
                during += 1
            t0 = time.perf_counter()
            app.post_message(events.Key(key, key))
            while screen.frames == frames:  # the frame that shows the new tab
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)
        load = (len(screen.timeline) - n_start) / (time.perf_counter() - t_start)
        screen.source.cancel()
        await _wait(pilot, lambda: not screen.running)
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000,
        "max_ms": latencies[-1] * 1000,
        "under_load": during,
        "presses": presses,
        "load_events_per_s": load,
    }


def record_trace(tasks: int, path: Path) -> int:
    orch, plan, request = scenario(tasks)
    recorder = JsonlRecorder(path)
    anyio.run(orch.prepare(request, plan, sinks=[recorder], keep_events=False).execute)
    return recorder.written


async def big_trace(path: Path) -> dict[str, float]:
    """Open a big trace and move around in it."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    source = open_trace(path)
    timings["read_s"] = time.perf_counter() - t0
    app = SwitchboardApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        timings["open_s"] = time.perf_counter() - t0
        screen = app.main
        timings["events"] = len(screen.timeline)

        async def timed(name: str, *keys: str) -> None:
            t = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            timings[name] = (time.perf_counter() - t) * 1000

        timings["checkpoints_at_open"] = screen.timeline.checkpoints
        await timed("jump_start_ms", "g")
        await timed("step_ms", "full_stop")
        await timed("jump_end_ms", "G")
        await timed("step_back_ms", "comma")
        t = time.perf_counter()
        screen.player.seek_fraction(0.5)
        screen.render_frame()
        await pilot.pause()
        timings["seek_middle_ms"] = (time.perf_counter() - t) * 1000
        await timed("step_from_middle_ms", "full_stop")
        await timed("events_tab_ms", "3")
        t = time.perf_counter()
        from textual.widgets import Select

        app.screen.query_one("#event-kind", Select).value = "task_finished"
        await pilot.pause()
        timings["filter_kind_ms"] = (time.perf_counter() - t) * 1000
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tasks", type=int, default=25000, help="tasks of the live run (~4 events each)"
    )
    parser.add_argument(
        "--deltas", type=int, default=100_000, help="chunks streamed during the latency test"
    )
    parser.add_argument(
        "--trace-tasks", type=int, default=25000, help="tasks of the big trace (~4 events each)"
    )
    args = parser.parse_args()

    print("== 1. live zero-latency run: the app vs the run alone ==")
    raw, expected = raw_rate(args.tasks)
    print(f"raw run (no UI):        {expected:,} events, {raw:,.0f} events/s (median of 3)")
    rss_raw = rss_mb()
    live = asyncio.run(app_rate(args.tasks, expected))
    print(
        f"app ingest + render:    {live['events']:,} events in {live['seconds']:.2f}s = {live['rate']:,.0f} events/s"
    )
    print(f"ratio app / raw:        {live['rate'] / raw:.2f}")
    print(f"frames drawn:           {live['fps']:.1f} per second (bounded at 15)")
    print(
        f"peak RSS:               {rss_raw:.0f} MB after the raw runs, {rss_mb():.0f} MB after the live app run"
    )
    print(
        f"frame budget:           folding <= {FOLD_BUDGET_S * 1000:.0f} ms per frame; a burst folds over the next frames"
    )

    print("\n== 2. input latency under load (tab switch -> frame drawn) ==")
    lat = asyncio.run(input_latency(args.deltas))
    print(
        f"median {lat['median_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, max {lat['max_ms']:.1f} ms "
        f"({lat['under_load']:.0f} of {lat['presses']:.0f} presses while the run streamed "
        f"{lat['load_events_per_s']:,.0f} events/s into the app)"
    )

    print("\n== 3. a recorded trace of ~100,000 events ==")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jsonl"
        t = time.perf_counter()
        n = record_trace(args.trace_tasks, path)
        print(
            f"recorded {n:,} events ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f}s"
        )
        big = asyncio.run(big_trace(path))
    print(f"read the trace:         {big['read_s']:.2f}s")
    print(f"opened, first frame:    {big['open_s']:.2f}s (target < 3 s)")
    for key in (
        "jump_start_ms",
        "step_ms",
        "jump_end_ms",
        "step_back_ms",
        "seek_middle_ms",
        "step_from_middle_ms",
        "events_tab_ms",
        "filter_kind_ms",
    ):
        print(f"{key.replace('_ms', '').replace('_', ' '):<24}{big[key]:.1f} ms")
    print(
        f"checkpoints:            {big['checkpoints_at_open']:.0f} at open (they are left by seeks)"
    )
    print(f"peak RSS overall:       {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
