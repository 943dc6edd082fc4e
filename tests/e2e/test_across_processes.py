"""End to end across processes, as a user does it (README: "End to end across processes").

Five real processes on free loopback ports: ``redis-server``; the drafter served over HTTP
(``switchboard serve-agent``); the reviewer hosted on the Redis bus (``switchboard
bus-worker``); the start API (``switchboard serve --token-env VAR --bus redis://...``);
and the terminal app (``switchboard tui http://HOST:PORT/v1/runs/ID``) in a real tmux.
A run of ``sample_agents/workflows/across-processes.yaml`` is started over HTTP with a
bearer token (a wrong one is a 401 with its reason); its drafter is called over HTTP,
its editor asks the reviewer over Redis, and the app follows it live to its end.

The drafter is paused (SIGSTOP) while the run is started, so the app is seen on the run
while it is still running, then resumed (SIGCONT): every step waits on what the screen
or the server says, never on a time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_tmux_demo import ROOT, SWITCHBOARD, Tmux
from tests.services import Service, free_port, port_open, redis_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

WORKFLOWS = ROOT / "sample_agents" / "workflows"
WORKFLOW = WORKFLOWS / "across-processes.yaml"
WORKERS = WORKFLOWS / "across-processes" / "workers.yaml"
SAMPLE_DRAFTER_URL = "http://127.0.0.1:8002"
"""Where the sample expects the drafter (the README's port); the test aims a copy at a free one."""
TOKEN_ENV = "SB_E2E_TOKEN"
WORKER_TOKEN_ENV = "SWITCHBOARD_WORKER_TOKEN"  # the variable the sample workflow names


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def paused(service: Service) -> Iterator[None]:
    """The service's processes stopped (SIGSTOP) inside, continued on leaving, always."""
    os.killpg(service.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(service.pid, signal.SIGCONT)


def aimed_copy(tmp: Path, drafter_url: str) -> Path:
    """The sample workflow with its drafter at ``drafter_url`` (same file name: same name)."""
    text = WORKFLOW.read_text("utf-8")
    assert text.count(SAMPLE_DRAFTER_URL) == 1
    copy = tmp / WORKFLOW.name
    copy.write_text(text.replace(SAMPLE_DRAFTER_URL, drafter_url), "utf-8")
    return copy


def test_a_run_started_over_http_on_agents_of_other_processes_followed_live_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """401 with its reason for a wrong or missing token; a run started with the right one
    is followed live by the app to its end, its drafter answering over HTTP and its
    reviewer over Redis; no token shown or logged; every process stopped, every port free."""
    token, worker_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    # the terminal's shell gets the token from its environment, never from a command line
    monkeypatch.setenv(TOKEN_ENV, token)
    logs = {name: tmp_path / f"{name}.log" for name in ("drafter", "reviewer", "serve")}
    ports: list[int] = []
    tmux = Tmux("across-processes", 120, 34)
    tmux.kill()  # a fresh tmux server, started with this environment
    with contextlib.ExitStack() as stack:  # stopped last in, first out: the app first
        _redis, redis_port = stack.enter_context(redis_server())
        bus = f"redis://127.0.0.1:{redis_port}/0"
        drafter_port, serve_port = free_port(), free_port()
        ports += [redis_port, drafter_port, serve_port]
        drafter_url = f"http://127.0.0.1:{drafter_port}"
        drafter = stack.enter_context(
            Service(
                [
                    *(SWITCHBOARD, "serve-agent", str(WORKERS), "drafter"),
                    *("--port", str(drafter_port), "--token-env", WORKER_TOKEN_ENV),
                ],
                lambda: healthy(drafter_url),
                name="serve-agent drafter",
                env={WORKER_TOKEN_ENV: worker_token},
                cwd=ROOT,
                log=logs["drafter"],
            )
        )
        stack.enter_context(
            Service(
                [SWITCHBOARD, "bus-worker", str(WORKERS), "reviewer", "--bus", bus],
                lambda: "hosting reviewer on" in logs["reviewer"].read_text("utf-8"),
                name="bus-worker reviewer",
                cwd=ROOT,
                log=logs["reviewer"],
            )
        )
        base = f"http://127.0.0.1:{serve_port}"
        workflow = aimed_copy(tmp_path, drafter_url)
        stack.enter_context(
            Service(
                [
                    *(SWITCHBOARD, "serve", str(workflow), "--port", str(serve_port)),
                    *("--token-env", TOKEN_ENV, "--bus", bus),
                ],
                lambda: healthy(base),
                name="switchboard serve",
                env={TOKEN_ENV: token, WORKER_TOKEN_ENV: worker_token},
                cwd=ROOT,
                log=logs["serve"],
            )
        )
        stack.callback(tmux.kill)
        auth = {"Authorization": f"Bearer {token}"}
        start = {"workflow": "across-processes"}
        with httpx.Client(base_url=base, timeout=30) as http:
            # a wrong token, and none: 401 with the reason in the body, and no run started
            wrong = http.post("/v1/mao/start", json=start, headers={"Authorization": "Bearer x"})
            assert wrong.status_code == 401
            assert wrong.json()["error"] == "invalid bearer token"
            missing = http.post("/v1/mao/start", json=start)
            assert (missing.status_code, missing.json()["error"]) == (401, "missing bearer token")
            assert http.get("/v1/runs", headers=auth).json()["runs"] == []

            with paused(drafter):
                started = http.post("/v1/mao/start", json=start, headers=auth)
                assert started.status_code == 201, started.text
                run = started.json()
                run_id = run["run_id"]
                assert run["status_url"] == f"{base}/v1/runs/{run_id}"
                tmux.start(f"{SWITCHBOARD} tui {run['status_url']} --token-env {TOKEN_ENV}")
                lanes = ("user", "orchestrator", "drafter", "editor")
                tmux.wait_for(
                    lambda s: all(w in s for w in lanes) and "running" in s and "0/2 done" in s,
                    "the app on the live run, the drafter working",
                    timeout_s=45,  # below the drafter's timeout_s (60): it is paused meanwhile
                )
                assert http.get(f"/v1/runs/{run_id}", headers=auth).json()["status"] == "running"
            screen = tmux.wait_for(
                lambda s: "succeeded" in s and "2/2 done" in s and "approved, ship it" in s,
                "the run followed to its end, the reviewer's answer in the message flow",
            )
            assert "reviewer" in screen  # a lane of its own: it answered from another process
            assert token not in screen and worker_token not in screen
            tmux.keys("q")
            tmux.wait_for(lambda s: not tmux.alive(), "the app to quit", timeout_s=15)

            result = http.get(f"/v1/runs/{run_id}/result", headers=auth).json()
            assert result["finished"] and result["error"] is None
            assert result["output"] == (
                "drafter echoes: draft the text\n\nthe release notes of 2.0\n"
                "review: approved, ship it"
            )
            with http.stream("GET", f"/v1/runs/{run_id}/events", headers=auth) as stream:
                lines = list(stream.iter_lines())
        # server-sent events: each "event: trace" line is followed by its "data: {...}"
        trace = [
            json.loads(data.removeprefix("data: "))
            for kind, data in itertools.pairwise(lines)
            if kind == "event: trace"
        ]
        messages = [
            (e["envelope"]["sender"], e["envelope"]["recipient"], e["envelope"]["kind"])
            for e in trace
            if e["kind"] == "message_sent"
        ]
        # the editor's question went over Redis to the bus worker, its answer came back
        assert ("editor", "reviewer", "a2a") in messages
        assert ("reviewer", "editor", "a2a") in messages
        # the HTTP worker's own events are in the run's trace, as a local agent's would be
        tools = [(e["agent"], e["tool"]) for e in trace if e["kind"] == "tool_call"]
        assert tools == [("drafter", "echo")]
        assert trace[-1]["kind"] == "run_finished" and trace[-1]["status"] == "succeeded"
        assert "task draft attempt 1 conversation" in logs["drafter"].read_text("utf-8")
    # every process stopped, every port free again; no token in any log
    for port in ports:
        assert not port_open(port), f"port {port} still answers"
    for log in logs.values():
        text = log.read_text("utf-8")
        assert token not in text and worker_token not in text
    assert "1 message(s) answered" in logs["reviewer"].read_text("utf-8")
    assert not tmux.alive()
