"""Cost of the LLM layer per model call, beside a mock agent measured in the same run.

Workloads: an N-step pipeline of one LLM agent whose replies are 24-word streamed
answers (coalesced into llm_delta events), run three ways:
  - live over loopback HTTP against the scripted fake server, recording a cassette
    (bounded by the fake server: Python's ``http.server`` writing one SSE event per word);
  - replayed from that cassette (no network): the LLM layer's own overhead;
  - the same pipeline with a ``MockAgent`` returning the same text: the baseline.
Figures are medians of ``--repeat`` runs; ratios compare figures from this run only.
Usage: ``PYTHONPATH=. python benchmarks/bench_llm.py [--steps 200] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.llm import Cassette, LLMAgent
from toolkit.llm.testing import FakeOpenAI

TEXT = "A queue decouples producers from consumers and absorbs bursts of traffic. " * 2


def _median_s(make: Callable[[], Orchestrator], plan: Plan, repeat: int) -> tuple[float, int]:
    times, events = [], 0
    for _ in range(repeat):
        orch = make()
        t0 = time.perf_counter()
        result = orch.run_sync("x", plan)
        times.append(time.perf_counter() - t0)
        assert result.status == "succeeded", result.error
        events = len(result.events)
    return statistics.median(times), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.steps
    plan = Plan(
        tasks=[Task(id=f"t{i}", agent="a", prompt=f"step {i}: {{{{input}}}}") for i in range(n)]
    )
    path = Path(tempfile.mkdtemp()) / "bench.json"
    with FakeOpenAI(responder=lambda body: TEXT) as fake:
        live_s, live_events = _median_s(
            lambda: Orchestrator(
                [
                    LLMAgent(
                        "a",
                        model="gpt-4o-mini",
                        base_url=fake.base_url,
                        cassette=Cassette(path, "record"),
                    )
                ],
                seed=1,
            ),
            plan,
            1,
        )
    replay_s, replay_events = _median_s(
        lambda: Orchestrator([LLMAgent("a", model="gpt-4o-mini", cassette=Cassette(path))], seed=1),
        plan,
        args.repeat,
    )
    mock_s, mock_events = _median_s(
        lambda: Orchestrator([MockAgent("a", reply=TEXT)], seed=1), plan, args.repeat
    )
    print(
        f"{n}-step pipeline, one streamed 24-word reply per step (medians of {args.repeat}; live: 1 run)"
    )
    print(
        f"  live over loopback + recording  {live_s * 1e3 / n:8.2f} ms/call   {live_events} events"
    )
    print(
        f"  replay from the cassette        {replay_s * 1e6 / n:8.0f} µs/call   {replay_events} events"
    )
    print(
        f"  mock agent (baseline)           {mock_s * 1e6 / n:8.0f} µs/call   {mock_events} events"
    )
    print(f"  replay / mock: {replay_s / mock_s:.1f}x   live / replay: {live_s / replay_s:.0f}x")


if __name__ == "__main__":
    main()
