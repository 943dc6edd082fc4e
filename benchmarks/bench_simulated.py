"""Simulated time: what a thousand one-second steps cost when nobody waits for them.

Workloads, each measured in this one run (mock agents, the same seed, no recording):
  - a 1,000-step pipeline of mock agents with 1 s latency each, on simulated time;
  - the same pipeline with zero latency on the real clock (the baseline: nothing to
    wait for, so only orchestration is paid);
  - the same zero-latency pipeline on simulated time (the loop's own cost).
Every contender gets one warm-up run, then ``--repeat`` rounds in which each runs once,
in turn; figures are medians in ms per run. The target is a ratio between figures of
this run: the simulated 1 s pipeline takes at most 2x the zero-latency one. It also
checks what simulated time promises: the run reports exactly 1,000 virtual seconds.
Usage: ``python benchmarks/bench_simulated.py [--repeat 5] [--steps 1000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from toolkit.agents import MockAgent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task


def pipeline(n: int) -> Plan:
    tasks = [Task(id="t0", agent="a0", prompt="{{input}}")]
    tasks += [
        Task(id=f"t{i}", agent=f"a{i % 10}", prompt="{{t" + str(i - 1) + "}}") for i in range(1, n)
    ]
    return Plan(name="pipeline", tasks=tasks)


def contender(n: int, latency: float, clock: str) -> Callable[[], float]:
    agents = [MockAgent(f"a{i}", reply="{name}", latency=latency) for i in range(10)]
    orch = Orchestrator(agents, seed=1, clock=clock)  # type: ignore[arg-type]
    plan = pipeline(n)

    def once() -> float:
        result = orch.run_sync("go", plan, keep_events=True)
        assert result.status == "succeeded", result.error
        return result.events[-1].duration_s

    return once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    n = args.steps
    contenders = {
        "simulated, 1 s per step": contender(n, 1.0, "simulated"),
        "real clock, zero latency (baseline)": contender(n, 0.0, "real"),
        "simulated, zero latency": contender(n, 0.0, "simulated"),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    virtual: dict[str, float] = {}
    for name, fn in contenders.items():  # warm-up
        virtual[name] = fn()
    for _ in range(args.repeat):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(v) * 1000 for name, v in times.items()}
    print(f"{n}-step pipeline of mock agents, median of {args.repeat} (ms per run):")
    for name, ms in med.items():
        print(f"  {name:40s} {ms:9.1f} ms   (reported run time {virtual[name]:.1f} s)")
    ratio = med["simulated, 1 s per step"] / med["real clock, zero latency (baseline)"]
    verdict = "PASS" if ratio <= 2.0 else "FAIL"
    print(f"simulated 1 s steps / zero-latency steps: {ratio:.2f}x (target <= 2x) {verdict}")
    exact = virtual["simulated, 1 s per step"] == float(n)
    print(f"virtual run time is exactly {n} s: {'PASS' if exact else 'FAIL'}")


if __name__ == "__main__":
    main()
