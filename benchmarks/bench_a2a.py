"""Per-call cost of an A2A agent, beside a raw ``a2a-sdk`` call to the same server.

One real server process (``switchboard serve-a2a`` serving a zero-work mock agent, or
``--server sdk``: the SDK-only server of ``toolkit.a2a_protocol.testing``) on a loopback port.
Three ways of making the same call, interleaved round by round, each round after a
garbage collection:
  - raw: the SDK's own client (card read once, one shared ``httpx.AsyncClient``),
    ``send_message`` and the response stream read to its end: the baseline;
  - agent: ``A2AAgent.run(directive)`` (the card read once, one client per loop):
    what ``kind: a2a`` adds per call (the directive in the message's metadata, the
    updates parsed, the answer read from the artifacts);
  - in a run: the same agent as a one-step pipeline of a run, with its events (the
    a2a_update events included) kept in memory, per step.
Both streaming (``message/stream``) and not (``message/send``). Figures are medians of
``--rounds`` rounds of ``--calls`` calls, in ms per call; ratios compare figures of this
run only. Target: agent ≤ 1.5× raw.

Usage: ``.venv/bin/python benchmarks/bench_a2a.py [--calls 100] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers import new_text_part
from a2a.types import Message, Role, SendMessageRequest

from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.a2a_protocol import A2AAgent
from toolkit.agents import Directive

ROOT = Path(__file__).resolve().parents[1]

WORKFLOW = """\
name: bench
agents:
  echo: {kind: mock, description: Echoes, skills: [echo], reply: "{prompt}"}
steps:
  - {id: s, agent: echo}
"""


async def raw_calls(url: str, n: int, streaming: bool) -> float:
    async with httpx.AsyncClient(timeout=60) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        client = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http)).create(card)
        t0 = time.perf_counter()
        for i in range(n):
            message = Message(
                role=Role.ROLE_USER, message_id=f"m{i}", parts=[new_text_part(f"call {i}")]
            )
            async for _ in client.send_message(SendMessageRequest(message=message)):
                pass
        return (time.perf_counter() - t0) / n


async def agent_calls(url: str, n: int, streaming: bool, echoes: bool = True) -> float:
    agent = A2AAgent("echo", url, streaming=streaming, timeout_s=60)
    await agent.fetch_card()
    t0 = time.perf_counter()
    for i in range(n):
        out = await agent.run(Directive(agent="echo", task_id=f"t{i}", prompt=f"call {i}"))
        if echoes:  # the mock echoes; the SDK-only server shouts its answer
            assert out.output == f"call {i}", out
    elapsed = (time.perf_counter() - t0) / n
    await agent.aclose()
    return elapsed


async def run_calls(url: str, n: int, streaming: bool) -> float:
    agent = A2AAgent("echo", url, streaming=streaming, timeout_s=60)
    await agent.fetch_card()
    orch = Orchestrator([agent, MockAgent("unused")])
    plan = Plan(
        name="bench",
        tasks=[
            Task(
                id=f"t{i}", agent="echo", prompt=f"call {i}", depends_on=[f"t{i - 1}"] if i else []
            )
            for i in range(n)
        ],
    )
    t0 = time.perf_counter()
    result = await orch.run("x", plan)
    elapsed = (time.perf_counter() - t0) / n
    assert result.status == "succeeded", result.error
    await agent.aclose()
    return elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(kind: str, workdir: Path) -> Iterator[str]:
    """The server process on a free loopback port (its URL), killed afterwards."""
    port = _free_port()
    if kind == "sdk":
        argv = [sys.executable, "-m", "toolkit.a2a_protocol.testing", str(port)]
    else:
        path = workdir / "bench.yaml"
        path.write_text(WORKFLOW)
        switchboard = Path(sys.executable).parent / "switchboard"
        argv = [str(switchboard), "serve-a2a", str(path), "echo", "--port", str(port)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the {kind} A2A server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per round (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--server", choices=["switchboard", "sdk"], default="switchboard", help="which server"
    )
    args = parser.parse_args()
    print(f"server: {args.server}; {args.calls} calls x {args.rounds} rounds; ms per call")
    with tempfile.TemporaryDirectory() as tmp, _server(args.server, Path(tmp)) as url:
        rows: list[tuple[str, float, float, float]] = []
        for streaming in (True, False):
            ways: dict[str, Any] = {
                "raw": raw_calls,
                "agent": partial(agent_calls, echoes=args.server == "switchboard"),
            }
            if args.server == "switchboard":
                ways["run"] = run_calls
            figures: dict[str, list[float]] = {k: [] for k in ways}
            for way in ways.values():  # warm-up
                asyncio.run(way(url, max(5, args.calls // 10), streaming))
            for _ in range(args.rounds):
                for name, way in ways.items():
                    gc.collect()
                    figures[name].append(asyncio.run(way(url, args.calls, streaming)))
            med = {k: statistics.median(v) * 1000 for k, v in figures.items()}
            rows.append(
                (
                    "streaming" if streaming else "message/send",
                    med["raw"],
                    med["agent"],
                    med.get("run", float("nan")),
                )
            )
    print(
        f"{'mode':<14} {'raw SDK':>9} {'A2AAgent':>9} {'in a run':>9} {'agent/raw':>10}  target ≤ 1.5×"
    )
    verdicts = []
    for mode, raw, agent, run in rows:
        ratio = agent / raw
        verdict = "PASS" if ratio <= 1.5 else "FAIL"
        verdicts.append(verdict)
        print(f"{mode:<14} {raw:>9.2f} {agent:>9.2f} {run:>9.2f} {ratio:>9.2f}×  {verdict}")
    print("overall:", "PASS" if all(v == "PASS" for v in verdicts) else "FAIL")


if __name__ == "__main__":
    main()
