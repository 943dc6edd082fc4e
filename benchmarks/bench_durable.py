"""Durable runs: what recording resumable state costs per step, and what resuming costs.

Sections, each measured in this one run (figures are medians of ``--repeat`` rounds in
which every contender runs once, in turn, after one warm-up):

  - **recording**: a 1,000-step pipeline of zero-work agents (in process), with no
    store, with a run store that keeps only the events (the store as it was before
    results were kept), and with the run store as it is (events plus each task's
    result in the same transaction); µs per step, the run's close (every write done)
    included. The figure is the extra cost of resumable state per step.
  - **resume**: a 1,000-task pipeline interrupted with 999 tasks done, resumed (read the
    store, check the plan, seed the scheduler, run the last task, record, close) beside
    opening its trace (``open_store`` + fold: what a view does to show it). Target:
    resume ≤ 2× opening.

  - **temporal**: a 100-step pipeline on the Temporal dev server beside a hand-written
    Temporal workflow running the same 100 activities on the same server (the code is
    ``bench_temporal.py``). Target: at most 1.25×.

Usage: ``python benchmarks/bench_durable.py [--repeat 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from toolkit.agents import FunctionAgent
from toolkit.events import TraceEvent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.sources import open_store
from toolkit.state import fold
from toolkit.store import RunStore

N = 1000


async def zero(x: str) -> str:
    return x[:8] + "+a"


def pipeline_plan(n: int) -> Plan:
    tasks = [Task(id="t0", agent="a0", prompt="{{input}}")]
    tasks += [
        Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{t" + str(i - 1) + "}}") for i in range(1, n)
    ]
    return Plan(name="pipeline", tasks=tasks)


def orchestrator() -> Orchestrator:
    return Orchestrator([FunctionAgent(zero, f"a{i}") for i in range(10)], concurrency=16)


class EventsOnlyStore(RunStore):
    """The run store without its results table rows: what recording cost before resuming."""

    def _results(self, batch: list[TraceEvent]) -> list[tuple[Any, ...]]:
        return []


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- sections ---------------------------------------------------------------------------------


def recording(args: argparse.Namespace, work: Path, figures: dict[str, Any]) -> None:
    plan = pipeline_plan(N)
    orch = orchestrator()
    counter = iter(range(10**9))

    def run(kind: str) -> None:
        store: RunStore | None = None
        if kind == "events only":
            store = EventsOnlyStore(work / f"rec-{next(counter)}.db")
        elif kind == "events + results":
            store = RunStore(work / f"rec-{next(counter)}.db")
        result = orch.run_sync("x", plan, store=store)
        assert result.status == "succeeded", result.error

    kinds = ["no store", "events only", "events + results"]
    for kind in kinds:  # warm-up
        run(kind)
    samples: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.repeat):
        for kind in kinds:
            samples[kind].append(_timed(lambda kind=kind: run(kind)) / N * 1e6)  # type: ignore[misc]
    per_step = {k: _median(v) for k, v in samples.items()}
    print(
        f"recording resumable state, {N:,}-step pipeline run end to end (store created,"
        f" written, closed), µs per step (median of {args.repeat}):"
    )
    for kind in kinds:
        print(f"  {kind:<18} {per_step[kind]:8.1f}")

    # the store's own work for the same run, without the run around it and without the
    # file's creation and final sync (fixed costs): every event after the first written
    # in batches and committed (what the flusher thread spends per step)
    events = orch.run_sync("x", plan).events

    def write(cls: type[RunStore]) -> float:
        store = cls(work / f"write-{next(counter)}.db", flush_s=3600)
        store.emit(events[0])
        store.flush()  # the file and its tables exist now
        t = time.perf_counter()
        for e in events[1:]:
            store.emit(e)
        store.flush()
        elapsed = time.perf_counter() - t
        store.close()
        store.disconnect()
        return elapsed

    stores: dict[str, type[RunStore]] = {
        "events only": EventsOnlyStore,
        "events + results": RunStore,
    }
    for cls in stores.values():
        write(cls)
    writes: dict[str, list[float]] = {k: [] for k in stores}
    for _ in range(args.repeat):
        for kind, cls in stores.items():
            gc.collect()
            writes[kind].append(write(cls) / N * 1e6)
    write_step = {k: _median(v) for k, v in writes.items()}
    print(f"the store's writing alone ({len(events):,} events, committed), µs per step:")
    for kind in stores:
        print(f"  {kind:<18} {write_step[kind]:8.1f}")
    extra = write_step["events + results"] - write_step["events only"]
    print(
        f"  resumable state (each result beside its event): {extra:+.1f} µs per step"
        f" ({write_step['events + results'] / write_step['events only']:.2f}× the events-only"
        " store's writing)"
    )
    figures["run_us_per_step"] = per_step
    figures["store_write_us_per_step"] = write_step
    figures["resumable_state_us_per_step"] = extra


def resume(args: argparse.Namespace, work: Path, figures: dict[str, Any]) -> None:
    plan = pipeline_plan(N)
    full_db = work / "full.db"
    full = orchestrator().run_sync("x", plan, store=full_db)
    assert full.status == "succeeded"
    # what a process killed while running the last task leaves: 999 tasks done
    cut = next(
        i
        for i, e in enumerate(full.events)
        if e.kind == "task_started" and e.task_id == f"t{N - 1}"
    )
    master = work / "interrupted.db"
    store = RunStore(master)
    for e in full.events[: cut + 1]:
        store.emit(e)
    store.close()
    store.disconnect()
    run_id = full.run_id
    copies = iter(range(10**9))

    def fresh() -> Path:
        path = work / f"resume-{next(copies)}.db"
        shutil.copy(master, path)
        return path

    def open_trace(path: Path) -> None:
        source = open_store(path, run_id)
        state = fold(source.preload())
        assert len(state.tasks) == N

    def resume_run(path: Path) -> None:
        result = anyio.run(lambda: orchestrator().resume(run_id, store=path))
        assert result.status == "succeeded", result.error
        resumed = result.events[cut + 1]
        assert resumed.kind == "run_resumed" and len(resumed.kept) == N - 1

    for contender in (open_trace, resume_run):  # warm-up
        contender(fresh())
    opened: list[float] = []
    resumed: list[float] = []
    for _ in range(args.repeat):
        path = fresh()
        opened.append(_timed(lambda: open_trace(path)))  # noqa: B023
        path = fresh()
        resumed.append(_timed(lambda: resume_run(path)))  # noqa: B023
    t_open, t_resume = _median(opened) * 1e3, _median(resumed) * 1e3
    ratio = t_resume / t_open
    verdict = "PASS" if ratio <= 2.0 else "FAIL"
    print(
        f"\nresume a {N:,}-task run with {N - 1:,} done, ms (median of {args.repeat}),"
        f" {len(full.events[: cut + 1]):,} stored events:"
    )
    print(f"  open its trace (open_store + fold) {t_open:8.1f}")
    print(f"  resume it to the end               {t_resume:8.1f}")
    print(f"  resume / open = {ratio:.2f}× (target ≤ 2×) {verdict}")
    figures["open_trace_ms"] = t_open
    figures["resume_ms"] = t_resume
    figures["resume_over_open"] = ratio


def temporal(args: argparse.Namespace, work: Path, figures: dict[str, Any]) -> None:
    """A 100-step pipeline on the Temporal dev server beside a hand-written workflow
    awaiting the same 100 activities on the same server (``bench_temporal.py``; target
    ≤ 1.25×). Skipped, with one line, without the ``temporal`` extra or ``--no-temporal``."""
    import asyncio
    import importlib.util

    if args.no_temporal or importlib.util.find_spec("temporalio") is None:
        print("\ntemporal: skipped (--no-temporal, or the 'temporal' extra is not installed)")
        return
    spec = importlib.util.spec_from_file_location(
        "bench_temporal", Path(__file__).with_name("bench_temporal.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print()
    asyncio.run(module.main(100, max(1, min(args.repeat, 3)), False))


SECTIONS: list[Callable[[argparse.Namespace, Path, dict[str, Any]], None]] = [
    recording,
    resume,
    temporal,
]
"""Each section prints its figures (and adds them to the JSON)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--no-temporal", action="store_true", help="skip the Temporal section")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-durable-") as tmp:
        for section in SECTIONS:
            section(args, Path(tmp), figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
