"""Cost of an HTTP worker agent per call, beside a raw httpx request to the same server.

A real worker (``switchboard serve-agent`` in its own process, a zero-work mock agent)
is called three ways, one call after another on kept-alive connections (the raw and
the agent calls alternating one by one):
  - raw: ``httpx.AsyncClient.post`` of a ready directive envelope to ``/run``, reading
    the whole answer (no parsing): the floor of HTTP on this machine;
  - agent: ``HttpAgent.run(directive)`` outside a run (build the envelope, stream and
    parse the answer, check its ids, validate the result);
  - step: one step of an N-step pipeline run on the HTTP agent, everything a run does
    included (events, tracing, the directive and result messages).
Figures are medians of ``--repeat`` rounds of ``--calls`` calls; the ratios compare
figures of this run only (target: agent ≤ 1.5× raw). Wall time includes the worker's
share, the same for all three; the caller's CPU time is what this side adds.
Usage: ``.venv/bin/python benchmarks/bench_http_agent.py [--calls 300] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import orjson

from toolkit import Directive, Orchestrator, Plan, Task
from toolkit.remote.http_agent import HttpAgent

WORKFLOW = """\
name: bench-worker
agents:
  echo: {kind: mock, reply: "{prompt}"}
steps:
  - {id: one, agent: echo}
"""
TOKEN_ENV = "SB_BENCH_TOKEN"
TOKEN = "bench-token-not-a-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_worker(port: int, folder: Path) -> subprocess.Popen[bytes]:
    path = folder / "worker.yaml"
    path.write_text(WORKFLOW)
    argv = [sys.executable, "-m", "toolkit.cli", "serve-agent", str(path), "echo"]
    argv += ["--port", str(port), "--token-env", TOKEN_ENV, "--quiet"]
    proc = subprocess.Popen(
        argv,
        env={**os.environ, TOKEN_ENV: TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the worker did not start")
        time.sleep(0.05)


async def _paired_round_us(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], calls: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Wall and caller-CPU µs per call of each, their calls alternating one by one (so a
    busy machine's swings fall on both alike)."""
    wall, cpu = [0.0, 0.0], [0.0, 0.0]
    clock, cpu_clock = time.perf_counter, time.process_time
    for i in range(calls):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            fn = first if which == 0 else second
            t0, c0 = clock(), cpu_clock()
            await fn()
            wall[which] += clock() - t0
            cpu[which] += cpu_clock() - c0
    scale = 1e6 / calls
    return (wall[0] * scale, cpu[0] * scale), (wall[1] * scale, cpu[1] * scale)


async def _bench(url: str, calls: int, repeat: int) -> dict[str, tuple[float, float]]:
    agent = HttpAgent("echo", url, token=TOKEN)
    directive = Directive(agent="echo", task_id="t", prompt="ping")
    body = orjson.dumps(agent.envelope(directive, None).__dict__)
    headers = {"authorization": f"Bearer {TOKEN}", "accept": "text/event-stream"}
    plan = Plan(tasks=[Task(id=f"t{i}", agent="echo", prompt=f"step {i}") for i in range(calls)])
    rounds: dict[str, list[tuple[float, float]]] = {"raw": [], "agent": [], "step": []}
    async with httpx.AsyncClient(base_url=url, headers=headers, trust_env=False) as raw:

        async def raw_call() -> object:
            response = await raw.post("/run", content=body)
            assert response.status_code == 200 and b"event: result" in response.content
            return response

        async def agent_call() -> object:
            return await agent.run(directive)

        for _ in range(20):  # warm: connections open, validators built
            await raw_call()
            await agent_call()
        # raw and agent calls alternate one by one; the run's rounds sit between them
        for _ in range(repeat):
            raw_round, agent_round = await _paired_round_us(raw_call, agent_call, calls)
            rounds["raw"].append(raw_round)
            rounds["agent"].append(agent_round)
            t0, c0 = time.perf_counter(), time.process_time()
            result = await Orchestrator([agent]).run("x", plan)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rounds["step"].append((wall / calls * 1e6, cpu / calls * 1e6))
            assert result.status == "succeeded", result.error
    await agent.aclose()
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in rounds.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    port = _free_port()
    proc = _start_worker(port, Path(tempfile.mkdtemp()))
    try:
        figures = anyio.run(_bench, f"http://127.0.0.1:{port}", args.calls, args.repeat)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    (raw, raw_cpu) = figures["raw"]
    print(f"HTTP worker agent, {args.calls} calls x {args.repeat} rounds, median per call")
    print(f"{'':30} {'wall µs':>9} {'ratio':>7}   {'caller CPU µs':>13} {'ratio':>7}")
    for name, label in (
        ("raw", "raw httpx POST /run"),
        ("agent", "HttpAgent.run"),
        ("step", "pipeline step on HttpAgent"),
    ):
        wall, cpu = figures[name]
        print(f"{label:30} {wall:9.0f} {wall / raw:6.2f}x   {cpu:13.0f} {cpu / raw_cpu:6.2f}x")
    print("target: HttpAgent.run ≤ 1.5x raw (wall)")


if __name__ == "__main__":
    main()
