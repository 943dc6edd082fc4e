"""How much a live notebook dashboard costs a fast run, and what it sends the browser.

A 10,000-event run of zero-latency mock agents (a fan-out of 2,499 tasks), measured
in the same process without a view (the baseline) and with a ``RunView`` attached as
a sink, pushing at most 10 times a second. Also: the cost of ``emit`` alone, the
pushes and bytes the view sent, a replay seek, and the static HTML export.

Outside a kernel the widget's comm is a no-op, so the figures are the Python side's
cost (fold, rows, snapshot, JSON of every changed trait); the bytes are what a kernel
would send. Run: ``.venv/bin/python benchmarks/bench_widgets.py``
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from toolkit import MockAgent, Orchestrator, parallel
from toolkit.widgets import RunView

TASKS = 2499  # about 4 events per task: 10,000 events
REPEAT = 5


def orchestrator() -> tuple[Orchestrator, Any]:
    orch = Orchestrator([MockAgent("a"), MockAgent("b")], seed=1)
    return orch, parallel(*["a" if i % 2 else "b" for i in range(TASKS)])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()  # each run starts with the same garbage: the runs keep 10,000 events alive
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def main() -> None:
    orch, plan = orchestrator()
    orch.run_sync("warm-up", plan)

    views: list[RunView] = []

    def with_view() -> Any:
        view = RunView(rate_hz=10)
        views.append(view)
        return orch.run_sync("x", plan, sinks=[view])

    base_times, view_times = [], []
    result = None
    for _ in range(REPEAT):  # interleaved, so drift hits both sides alike
        elapsed, result = timed(lambda: orch.run_sync("x", plan))
        base_times.append(elapsed)
        view_times.append(timed(with_view)[0])
        del views[:-1]
    base_s, view_s = statistics.median(base_times), statistics.median(view_times)
    view = views[-1]
    events = result.events
    n = len(events)

    def emit_only() -> RunView:
        v = RunView(rate_hz=10)
        for event in events:
            v.emit(event)
        v.close()
        return v

    emit_times = []
    for _ in range(REPEAT):
        elapsed, emitted = timed(emit_only)
        emit_times.append(elapsed)
    emit_s = statistics.median(emit_times)
    emitted.seek(n // 2)  # builds the replay checkpoints once

    seek_times = []
    for k in (n // 7, n // 3, n // 2 + 11, 2 * n // 3, n - 5):
        t0 = time.perf_counter()
        emitted.seek(k)
        seek_times.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    page = RunView(events).to_html()
    export_s = time.perf_counter() - t0

    print(f"run: {n:,} events, {TASKS:,} tasks, zero-latency mock agents (median of {REPEAT})")
    print(f"  without a view        {base_s * 1000:8.1f} ms   ({base_s / n * 1e6:5.1f} µs/event)")
    print(f"  with RunView attached {view_s * 1000:8.1f} ms   ({view_s / n * 1e6:5.1f} µs/event)")
    print(
        f"  overhead ratio        {view_s / base_s:8.2f} x   (+{(view_s - base_s) / n * 1e6:.1f} µs/event)"
    )
    print(
        f"  emit() alone          {emit_s * 1000:8.1f} ms   ({emit_s / n * 1e6:5.1f} µs/event, pushes included)"
    )
    stats = view.stats
    print(
        f"pushes to the browser (last run with the view): {stats['pushes']} in {view_s:.2f} s (limit 10/s)"
    )
    print(
        f"  bytes sent            {stats['bytes_sent']:,} ({stats['bytes_sent'] / max(1, stats['pushes']):,.0f} per push)"
    )
    print(
        f"  rows in the browser   {len(view.arrows_head) + len(view.arrows_tail)} arrows, {len(view.log_head) + len(view.log_tail)} log rows (of {view.totals['messages']:,} / {view.totals['log']:,})"
    )
    print(
        f"replay seek (and push)  {statistics.median(seek_times) * 1000:8.1f} ms median, {max(seek_times) * 1000:.1f} ms max"
    )
    print(f"static HTML export      {export_s * 1000:8.1f} ms, {len(page.encode()):,} bytes")


if __name__ == "__main__":
    main()
