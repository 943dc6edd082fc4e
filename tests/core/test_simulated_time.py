"""Simulated time: latencies, time limits, backoff and hangs advance a virtual clock.

Every assertion here is exact: on simulated time a run's timestamps depend only on
the plan and the seed, never on how fast or busy the machine is.
"""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest

from toolkit import FunctionAgent, MockAgent, Orchestrator
from toolkit.agents import FailureSpec, LatencySpec
from toolkit.clock import REAL_CLOCK, clock_named, is_simulated
from toolkit.orchestrator import SimulationError
from toolkit.patterns import parallel, pipeline
from toolkit.plan import Plan, Task
from toolkit.simtime import SIMULATED_EPOCH, SimulatedClock, VirtualTimeLoop, run_in_virtual_time
from toolkit.workflow import load_workflow

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def _task_durations(result) -> dict[str, float]:
    return {
        e.task_id: e.duration_s
        for e in result.events
        if e.kind == "task_finished" or (e.kind == "task_failed" and e.final)
    }


def test_clock_names() -> None:
    """``clock=`` takes a Clock, "real" or "simulated"; anything else is refused by name."""
    assert clock_named(None) is REAL_CLOCK and clock_named("real") is REAL_CLOCK
    assert is_simulated(clock_named("simulated"))
    assert not is_simulated(REAL_CLOCK)
    with pytest.raises(ValueError, match="unknown clock 'virtual'"):
        clock_named("virtual")  # type: ignore[arg-type]


def test_the_loop_jumps_to_the_next_timer() -> None:
    """An hour's sleep, a 30 s time limit and overlapping sleeps cost virtual time only."""
    clock = SimulatedClock()

    async def main() -> tuple[float, float, float]:
        t0 = clock.now()
        await anyio.sleep(3600)
        t1 = clock.now()
        with pytest.raises(TimeoutError), anyio.fail_after(30):
            await anyio.sleep_forever()
        t2 = clock.now()
        async with anyio.create_task_group() as tg:
            for delay in (1.0, 2.0, 0.5):
                tg.start_soon(anyio.sleep, delay)
        return t1 - t0, t2 - t1, clock.now() - t2

    assert run_in_virtual_time(main) == (3600.0, 30.0, 2.0)


def test_pipeline_timings_are_exact() -> None:
    """Each step's duration is its latency, to the bit; the run starts at the simulated epoch."""
    agents = [MockAgent(f"a{i}", latency=lat) for i, lat in enumerate((1.5, 120.0, 0.25))]
    orch = Orchestrator(agents, clock="simulated", seed=1)
    result = orch.run_sync("go", pipeline("a0", "a1", "a2"))
    assert result.status == "succeeded"
    assert list(_task_durations(result).values()) == [1.5, 120.0, 0.25]
    started, finished = result.events[0], result.events[-1]
    assert started.ts == SIMULATED_EPOCH
    assert finished.duration_s == 121.75
    assert result.state.simulated is True


def test_parallel_branches_overlap_in_virtual_time() -> None:
    """Three branches of 10, 20 and 30 virtual seconds end together after 30 seconds."""
    agents = [MockAgent(name, latency=lat) for name, lat in (("a", 10), ("b", 20), ("c", 30))]
    result = Orchestrator(agents, clock="simulated").run_sync("go", parallel("a", "b", "c"))
    assert result.status == "succeeded"
    assert result.events[-1].duration_s == 30.0


def test_ten_minute_reviewer_finishes_at_once() -> None:
    """A reviewer that takes ten minutes a round: the run reports exactly the virtual time."""
    from toolkit.patterns import review_loop

    worker = MockAgent("developer", latency=60.0)
    reviewer = MockAgent("reviewer", reply=["changes: add tests", "APPROVED"], latency=600.0)
    orch = Orchestrator([worker, reviewer], clock="simulated", seed=2)
    result = orch.run_sync("build it", review_loop("developer", "reviewer", max_rounds=3))
    assert result.status == "succeeded"
    assert result.events[-1].duration_s == 2 * 60.0 + 2 * 600.0


def test_hang_ends_at_the_time_limit_and_backoff_waits_virtually() -> None:
    """A hung attempt times out at exactly its limit; the retry starts after its backoff."""
    agent = MockAgent("slow", latency=1.0, failures=FailureSpec(hang=1.0))
    backup = MockAgent("backup", latency=2.0)
    plan = Plan(
        name="t",
        tasks=[
            Task(id="t", agent="slow", timeout_s=30.0, retries=1, backoff_s=5.0, fallback="backup")
        ],
    )
    result = Orchestrator([agent, backup], clock="simulated").run_sync("x", plan)
    assert result.status == "succeeded"
    starts = [e.ts - SIMULATED_EPOCH for e in result.events if e.kind == "task_started"]
    # attempt 1 at 0, times out at 30; backoff 5 -> attempt 2 at 35, times out at 65;
    # the fallback starts at once at 65 and takes 2
    assert starts == [0.0, 35.0, 65.0]
    assert _task_durations(result) == {"t": 67.0}
    failures = [e.error for e in result.events if e.kind == "task_failed"]
    assert failures == ["timed out after 30s", "timed out after 30s"]


def test_same_seed_same_timestamps() -> None:
    """Two runs with random latencies and the same seed record the same timestamps."""

    def once() -> list[float]:
        agents = [
            MockAgent(n, latency=LatencySpec(dist="lognormal", mean=3.0, spread=0.8))
            for n in ("a", "b", "c", "d")
        ]
        plan = Plan(
            name="p",
            tasks=[
                Task(id="a", agent="a"),
                Task(id="b", agent="b", depends_on=["a"]),
                Task(id="c", agent="c", depends_on=["a"]),
                Task(id="d", agent="d", depends_on=["b", "c"]),
            ],
        )
        result = Orchestrator(agents, clock="simulated", seed=7).run_sync("go", plan)
        return [e.ts for e in result.events]

    first, second = once(), once()
    assert first == second
    assert first[-1] > first[0]  # time did pass, virtually


async def test_awaited_from_an_ordinary_loop() -> None:
    """``await orch.run`` on simulated time works from a normal loop (a notebook cell)."""
    orch = Orchestrator([MockAgent("a", latency=3600.0)], clock="simulated")
    result = await orch.run("go", pipeline("a"))
    assert result.status == "succeeded"
    assert result.events[-1].duration_s == 3600.0


def test_run_sync_inside_a_running_loop() -> None:
    """``run_sync`` from code whose loop is running (Jupyter) still goes on virtual time."""

    async def cell() -> float:
        orch = Orchestrator([MockAgent("a", latency=90.0)], clock="simulated")
        return orch.run_sync("go", pipeline("a")).events[-1].duration_s

    assert anyio.run(cell) == 90.0


def test_cancel_from_another_thread_stops_a_hang_with_no_time_limit() -> None:
    """With no timer left the loop waits for real, so a cancel from a thread still lands."""
    agent = MockAgent("stuck", failures=FailureSpec(hang=1.0))
    orch = Orchestrator([agent], clock="simulated")
    run = orch.prepare("go", pipeline("stuck"))
    box: dict[str, object] = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", run_in_virtual_time(run.execute)))
    thread.start()
    # wait on state: the agent is running (its directive was sent)
    while not any(e.kind == "task_started" for e in list(run.tracer.events)):
        thread.join(0.01)
    run.cancel()
    thread.join()
    result = box["r"]
    assert result.status == "cancelled"  # type: ignore[attr-defined]


def test_function_agents_run_real_agents_are_refused() -> None:
    """Function agents may run on simulated time; an agent doing real work is refused by name."""

    async def double(text: str) -> str:
        await anyio.sleep(45)
        return text * 2

    ok = Orchestrator([FunctionAgent(double, "double")], clock="simulated")
    result = ok.run_sync("ab", pipeline("double"))
    assert result.output == "abab" and result.events[-1].duration_s == 45.0

    class Remote:
        name, description, skills, kind = "remote", "", (), "http"

        async def run(self, directive):  # pragma: no cover - never called
            return "x"

        def card(self):
            return {"kind": "http"}

    with pytest.raises(SimulationError, match=r"remote \(Remote\)"):
        Orchestrator([Remote()], clock="simulated").prepare("go", pipeline("remote"))


def test_workflow_file_clock_and_cli_flag(tmp_path) -> None:
    """``clock: simulated`` in a workflow file runs virtually; a real agent gets one clear line."""
    path = tmp_path / "w.yaml"
    path.write_text(
        "name: slow\nclock: simulated\n"
        "agents:\n  a: {kind: mock, latency: 300}\n  b: {kind: mock, latency: 200}\n"
        "pattern: pipeline\nsteps:\n  - {id: one, agent: a}\n  - {id: two, agent: b}\n"
    )
    workflow = load_workflow(path)
    result = anyio.run(workflow.prepare().execute)
    assert result.status == "succeeded" and result.events[-1].duration_s == 500.0


def test_virtual_loop_still_serves_threads() -> None:
    """A callback handed over from another thread wakes the loop at once, in virtual time 0."""
    import asyncio

    loop = VirtualTimeLoop()
    try:

        async def main() -> float:
            done = asyncio.Event()
            threading.Thread(target=lambda: loop.call_soon_threadsafe(done.set)).start()
            await done.wait()
            return loop.time()

        assert loop.run_until_complete(main()) == 0.0
        loop.run_until_complete(asyncio.sleep(5))
        assert loop.time() == 5.0
    finally:
        loop.close()


def test_cli_simulate_flag(tmp_path) -> None:
    """``run --simulate`` goes on virtual time; with a real agent it is one line and exit 2."""
    import subprocess
    import sys

    trace = tmp_path / "t.jsonl"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.cli",
            "run",
            str(ROOT / "sample_agents/workflows/feature-review.yaml"),
            "--simulate",
            "--seed",
            "3",
            "--trace",
            str(trace),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    from toolkit.recorder import read_trace

    events = read_trace(trace).events
    assert events[0].ts == SIMULATED_EPOCH and events[0].meta == {"clock": "simulated"}
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.cli",
            "run",
            str(ROOT / "sample_agents/workflows/research-report-real.yaml"),
            "--simulate",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "simulated time runs only mock and function agents" in lines[0]
    assert "Traceback" not in bad.stderr
