"""What the start API costs, beside baselines measured against the same server in the same run.

A real ``switchboard serve`` (uvicorn, loopback) serving a zero-latency mock agent:
  - starting a one-step run (``POST /v1/mao/start``) against a bare round trip to the
    same server (``GET /health``), medians over ``--starts`` requests on one connection;
  - following a finished ``--steps``-step run's event stream with ``HttpSource`` (every
    message parsed and validated as a trace event), against reading the same stream's
    bytes with httpx and parsing nothing (the transport's floor), and against reading
    the same events from a JSONL trace file (``read_trace``: the parse floor).
Figures move with the machine's load; compare the ratios of one run.
Usage: ``.venv/bin/python benchmarks/bench_serve.py [--steps 1000] [--starts 50] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from toolkit.recorder import read_trace, write_trace
from toolkit.serve.follow import open_http
from toolkit.sources import EventFeed

WORKFLOW = """
name: bench
agents:
  fast: {kind: mock, reply: "ok {task_id}"}
steps:
  - {id: s, agent: fast}
"""


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wf = Path(tmp) / "bench.yaml"
        wf.write_text(WORKFLOW)
        token = secrets.token_urlsafe(16)
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        exe = str(Path(sys.executable).with_name("switchboard"))
        server = subprocess.Popen(
            [
                exe,
                "serve",
                str(wf),
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--token-env",
                "BENCH_TOKEN",
                "--max-running",
                "1000",
            ],
            env={**os.environ, "BENCH_TOKEN": token},
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start")
                    time.sleep(0.05)
                one = {"directives": [{"agent_id": "fast", "prompt": "x"}]}
                health, start = [], []
                for _ in range(args.starts):
                    t0 = time.perf_counter()
                    client.get("/health")
                    health.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    answer = client.post("/v1/mao/start", json=one)
                    start.append(time.perf_counter() - t0)
                    assert answer.status_code == 201, answer.text

                many = {"directives": [{"agent_id": "fast"} for _ in range(args.steps)]}
                run_id = client.post("/v1/mao/start", json=many).json()["run_id"]
                while client.get(f"/v1/runs/{run_id}").json()["status"] == "running":
                    time.sleep(0.05)
                url = f"{base}/v1/runs/{run_id}"

                raw, follow, trace = [], [], []
                events: list = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    size = 0
                    with client.stream("GET", f"/v1/runs/{run_id}/events") as stream:
                        for chunk in stream.iter_bytes():
                            size += len(chunk)
                    raw.append(time.perf_counter() - t0)

                    t0 = time.perf_counter()
                    source = open_http(url, token=token)
                    feed = EventFeed()
                    source.produce(feed)
                    events, problems = feed.drain()
                    follow.append(time.perf_counter() - t0)
                    assert not problems and events[-1].kind == "run_finished"

                    path = write_trace(Path(tmp) / "run.jsonl", events)
                    t0 = time.perf_counter()
                    assert len(read_trace(path).events) == len(events)
                    trace.append(time.perf_counter() - t0)
        finally:
            server.terminate()
            server.wait(timeout=30)

    n = len(events)
    print(
        f"start a one-step run: {_median(start) * 1e3:.2f} ms median "
        f"(GET /health on the same connection: {_median(health) * 1e3:.2f} ms; "
        f"{_median(start) / _median(health):.1f}x)"
    )
    print(f"follow a finished {args.steps}-step run ({n} events, {size / 1e6:.1f} MB of stream):")
    for label, times in (
        ("HttpSource (parse + validate)", follow),
        ("raw httpx bytes, no parsing", raw),
        ("read_trace of the same events", trace),
    ):
        print(f"  {label:32} {_median(times) * 1e3:8.1f} ms  {n / _median(times):>9,.0f} events/s")
    print(
        f"  HttpSource / raw bytes: {_median(follow) / _median(raw):.1f}x; "
        f"HttpSource / read_trace: {_median(follow) / _median(trace):.1f}x"
    )


if __name__ == "__main__":
    main()
