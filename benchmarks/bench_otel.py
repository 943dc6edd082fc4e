"""What the OpenTelemetry sink costs a run, beside the JSONL recorder, in µs per agent step.

Workload: the 1,000-step pipeline of zero-work agents of ``bench_orchestrator.py``.
Contenders, each run once per round in turn after one warm-up (medians of ``--repeat``):
  - no recording;
  - JSONL recording (``trace=``), the reference the recorder's target is set against;
  - ``OtelSink`` over the SDK's in-memory exporter (the run's time includes closing the
    sink: every span built and exported before the result is returned);
  - ``export_events`` of the same events after the fact (building and exporting only).
Ratios are between figures of this one run. Usage:
``python benchmarks/bench_otel.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from benchmarks.bench_orchestrator import N, orchestrator, pipeline_plan
from toolkit.otel import OtelSink, export_events


def run_once(kind: str, trace: Path) -> tuple[float, list[Any]]:
    orch, plan = orchestrator(), pipeline_plan(N)
    options: dict[str, Any] = {}
    if kind == "jsonl":
        options["trace"] = trace
    elif kind == "otel":
        options["sinks"] = [OtelSink(InMemorySpanExporter())]
    t = time.perf_counter()
    result = orch.run_sync("x", plan, **options)
    elapsed = time.perf_counter() - t
    assert result.status == "succeeded", result.error
    if kind == "otel":
        sink = options["sinks"][0]
        assert not sink.problems and sink.report.spans == 2 * N + 1, sink.report
    return elapsed, result.events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    kinds = ["none", "jsonl", "otel"]
    times: dict[str, list[float]] = {k: [] for k in [*kinds, "export"]}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "run.jsonl"
        for round_ in range(args.repeat + 1):
            for kind in kinds:
                elapsed, events = run_once(kind, trace)
                if round_:
                    times[kind].append(elapsed)
            t = time.perf_counter()
            report = export_events(events, InMemorySpanExporter())
            if round_:
                times["export"].append(time.perf_counter() - t)
            assert report.ok
    us = {k: statistics.median(v) / N * 1e6 for k, v in times.items()}
    print(f"{N}-step pipeline, µs per step (median of {args.repeat}):")
    for k, label in (
        ("none", "no recording"),
        ("jsonl", "JSONL recording"),
        ("otel", "OtelSink (in-memory exporter)"),
        ("export", "export_events after the fact"),
    ):
        print(f"  {label:<32} {us[k]:8.1f}")
    print(f"OtelSink / JSONL recording: {us['otel'] / us['jsonl']:.2f}x")
    print(f"OtelSink / no recording:    {us['otel'] / us['none']:.2f}x")


if __name__ == "__main__":
    main()
