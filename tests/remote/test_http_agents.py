"""Agents over HTTP with real worker processes: ``switchboard serve-agent`` on free
loopback ports, called by ``kind: http`` agents in real runs, killed for real."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.remote.agents import SECRET_IN_OUTPUT
from tests.services import Service, free_port, wait_until
from toolkit.events import dump_event
from toolkit.remote.http_agent import HttpAgent, WorkerError
from toolkit.tracing import CallbackSink
from toolkit.workflow import Workflow, WorkflowError, load_workflow, parse_workflow

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]
WORKERS = ROOT / "tests" / "remote" / "workers.yaml"
SAMPLES = ROOT / "sample_agents" / "workflows" / "http"
TOKEN = "test-worker-token-5b1e77"
TOKEN_ENV = "SB_TEST_WORKER_TOKEN"


@dataclass
class Worker:
    service: Service
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def health(self) -> dict[str, Any]:
        return httpx.get(self.url + "/health", timeout=5).json()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_worker(workflow: Path, agent: str, log: Path, *, token_env: str = TOKEN_ENV) -> Worker:
    port = free_port()
    argv = [sys.executable, "-m", "toolkit.cli", "serve-agent", str(workflow), agent]
    argv += ["--port", str(port), "--token-env", token_env]
    service = Service(
        argv,
        lambda: _answers(port),
        name=f"worker {agent}",
        env={token_env: TOKEN},
        cwd=ROOT,
        log=log,
    ).start()
    return Worker(service, f"http://127.0.0.1:{port}", log)


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = start_worker(WORKERS, "chatty", tmp_path_factory.mktemp("w") / "chatty.log")
    yield worker
    worker.service.stop()


@pytest.fixture(scope="module")
def stall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = start_worker(WORKERS, "stall", tmp_path_factory.mktemp("w") / "stall.log")
    yield worker
    worker.service.stop()


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def remote(url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "http", "url": url, "token_env": TOKEN_ENV, **extra}


def workflow(agents: dict[str, Any], steps: list[dict[str, Any]]) -> Workflow:
    return parse_workflow({"name": "t", "input": "hello", "agents": agents, "steps": steps})


def trace_text(events: list[Any]) -> str:
    return b"\n".join(dump_event(e) for e in events).decode()


async def test_remote_events_land_in_the_run_trace_as_if_local(
    chatty: Worker, token_env: None
) -> None:
    """The worker's log, tool call, tokens and model call are in the run's trace with the
    caller's agent and task, on the call's span or a new span under it; the usage feeds the
    task; the worker saw the traced directive's ids; no token, no raw key anywhere."""
    result = await workflow({"c": remote(chatty.url)}, [{"id": "one", "agent": "c"}]).run()
    assert result.status == "succeeded", result.error
    assert result.output == "chatty did: hello"
    events = result.events
    started = next(e for e in events if e.kind == "task_started")
    own = [e for e in events if e.kind in ("log", "tool_call", "llm_delta", "llm_call")]
    assert [e.kind for e in own] == [
        "log",
        "tool_call",
        "llm_delta",
        "llm_delta",
        "llm_delta",
        "llm_call",
    ]
    assert {(e.agent, e.task_id) for e in own} == {("c", "one")}
    assert "".join(e.text for e in own if e.kind == "llm_delta") == "hello!"
    for e in own:
        if e.kind in ("log", "llm_delta"):
            assert (e.span_id, e.parent_span_id) == (started.span_id, started.parent_span_id)
        else:
            assert e.parent_span_id == started.span_id
    spans = [e.span_id for e in own if e.kind in ("tool_call", "llm_call")]
    assert len(set(spans)) == 2 and not {*spans} & {e.span_id for e in events if e not in own}
    finished = next(e for e in events if e.kind == "task_finished")
    assert (finished.tokens_in, finished.tokens_out, finished.cost_usd) == (7, 3, 0.002)
    answer = [e.envelope for e in events if e.kind == "message_sent"][-2]
    assert answer.kind == "result" and answer.usage["model"] == "tiny-model"
    assert events[0].agents["c"]["url"] == chatty.url  # the remote address is in the trace
    directive = next(
        e.envelope for e in events if e.kind == "message_sent" and e.envelope.recipient == "c"
    )
    wait_until(lambda: "result" in chatty.output(), what="the worker's result line")
    assert f"conversation {directive.conversation_id}" in chatty.output()
    assert directive.trace_id[:12] in chatty.output()
    text = trace_text(events)
    assert SECRET_IN_OUTPUT not in text and "with key sk-***" in text
    assert TOKEN not in text and TOKEN not in chatty.output()


async def test_health_answers_and_a_dead_address_is_named(chatty: Worker) -> None:
    """``health()`` returns the worker's answer (ok, agent); a port nobody serves is a
    WorkerError naming the address."""
    async with HttpAgent("c", chatty.url) as agent:
        health = await agent.health()
    assert health["ok"] is True and health["agent"] == "chatty"
    dead = f"http://127.0.0.1:{free_port()}"
    async with HttpAgent("d", dead, connect_timeout_s=5) as agent:
        with pytest.raises(WorkerError, match=re.escape(f"worker at {dead} is unreachable")):
            await agent.health()


async def test_wrong_or_missing_token_is_refused_and_never_shown(chatty: Worker) -> None:
    """A wrong token fails the task with the worker's 401 reason; no token at all says it
    is missing; neither token appears in the error or the trace."""
    wrong = "wrong-token-9f3a1c"
    for token, reason in ((wrong, "invalid bearer token"), (None, "missing bearer token")):
        agent = HttpAgent("c", chatty.url, token=token)
        from toolkit import Orchestrator

        result = await Orchestrator([agent]).run("hello")
        await agent.aclose()
        assert result.status == "failed"
        failed = next(e for e in result.events if e.kind == "task_failed")
        assert f"worker at {chatty.url} refused the call: 401 {reason}" in failed.error
        text = trace_text(result.events) + (result.error or "")
        assert wrong not in text and TOKEN not in text


async def test_a_slow_worker_hits_the_timeout_and_stops_working(
    stall: Worker, token_env: None
) -> None:
    """A call past the agent's ``timeout_s`` fails with a reason naming the worker and that
    limit (not the task's), and the worker cancels the abandoned call (none in progress)."""
    step = {"id": "slow", "agent": "s", "timeout_s": 600}  # the task's own limit is longer
    wf = workflow({"s": remote(stall.url, timeout_s=1)}, [step])
    result = await wf.run()
    assert result.status == "failed"
    failed = next(e for e in result.events if e.kind == "task_failed")
    assert f"worker at {stall.url} did not answer within 1s" in failed.error
    wait_until(lambda: stall.health()["calls_in_progress"] == 0, what="the call cancelled")


async def test_a_worker_killed_mid_task_is_retried_then_handed_to_the_backup(
    tmp_path: Path, token_env: None
) -> None:
    """kill -9 of the worker while it works fails the attempt as stopped mid-task; the
    configured retry finds it unreachable; the backup then answers and the run succeeds."""
    worker = start_worker(WORKERS, "stall", tmp_path / "stall.log")
    try:
        started = anyio.Event()

        def watch(event: Any) -> None:
            if event.kind == "log" and event.agent == "r" and "started job" in event.message:
                started.set()

        wf = workflow(
            {"r": remote(worker.url), "backup": {"kind": "mock", "reply": "backup: {prompt}"}},
            [{"id": "job", "agent": "r", "retries": 1, "fallback": "backup"}],
        )
        run = wf.prepare(sinks=[CallbackSink(watch)])
        async with anyio.create_task_group() as tg:

            async def kill_when_started() -> None:
                await started.wait()
                await anyio.to_thread.run_sync(worker.service.kill)

            tg.start_soon(kill_when_started)
            result = await run.execute()
    finally:
        worker.service.kill()
    assert result.status == "succeeded", result.error
    assert result.output == "backup: hello"
    failures = [e for e in result.events if e.kind == "task_failed"]
    assert [(f.attempt, f.final) for f in failures] == [(1, False), (2, False)]
    assert f"worker at {worker.url} closed the connection before answering" in failures[0].error
    assert "mid-task" in failures[0].error
    # the retry meets a dead worker: refused, or accepted by a listener still closing
    assert re.search(
        re.escape(f"worker at {worker.url} ") + "(is unreachable|closed the connection)",
        failures[1].error,
    )
    retried = [(e.agent, e.fallback) for e in result.events if e.kind == "task_retried"]
    assert retried == [("r", False), ("backup", True)]
    assert next(e for e in result.events if e.kind == "task_finished").agent == "backup"


async def test_the_remote_agents_own_failure_comes_back_and_is_retried(
    tmp_path: Path, token_env: None
) -> None:
    """An agent that raises in the worker answers with an error envelope: the attempt
    fails with the worker's address and the agent's reason, and the retry succeeds."""
    worker = start_worker(WORKERS, "flaky", tmp_path / "flaky.log")
    try:
        wf = workflow({"f": remote(worker.url)}, [{"id": "job", "agent": "f", "retries": 1}])
        result = await wf.run()
    finally:
        worker.service.stop()
    assert result.status == "succeeded", result.error
    assert result.output == "flaky: hello"
    failed = next(e for e in result.events if e.kind == "task_failed")
    assert (
        f"worker at {worker.url}: AgentError: injected failure (flaky, attempt 1)" in failed.error
    )


async def test_the_tutorial_two_echo_workers_in_sequence_in_parallel_and_one_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's tutorial on free ports: a's output feeds b; both at once; every call of
    a run carries its trace id to the worker; with b down its task goes to the backup."""
    monkeypatch.setenv("SWITCHBOARD_WORKER_TOKEN", TOKEN)
    workers = {
        name: start_worker(
            SAMPLES / "workers.yaml",
            name,
            tmp_path / f"{name}.log",
            token_env="SWITCHBOARD_WORKER_TOKEN",
        )
        for name in ("a", "b")
    }
    try:

        def aimed(path: Path) -> Workflow:
            wf = load_workflow(path)
            for name, worker in workers.items():
                wf.agents[name] = wf.agents[name].model_copy(update={"url": worker.url})
            return wf

        seq = await aimed(SAMPLES / "sequential.yaml").run()
        assert seq.status == "succeeded", seq.error
        assert seq.output == "b echoes: a echoes: hello from the orchestrator"
        trace_id = seq.events[0].trace_id
        for worker in workers.values():
            wait_until(lambda w=worker: "result" in w.output(), what="the worker's result line")
            lines = [line for line in worker.output().splitlines() if "trace " in line]
            assert lines and all(trace_id[:12] in line for line in lines)
        tools = [e for e in seq.events if e.kind == "tool_call"]
        assert [(e.agent, e.tool) for e in tools] == [("a", "echo"), ("b", "echo")]

        par = await aimed(SAMPLES / "parallel.yaml").run()
        assert par.status == "succeeded", par.error
        assert par.results == {
            "left": "a echoes: hello from the orchestrator",
            "right": "b echoes: hello from the orchestrator",
        }

        workers["b"].service.kill()
        down = await aimed(SAMPLES / "sequential.yaml").run()
        assert down.status == "succeeded", down.error
        assert down.output == "backup: a echoes: hello from the orchestrator"
        errors = [e.error for e in down.events if e.kind == "task_failed"]
        assert len(errors) == 2 and all("is unreachable" in e for e in errors)
    finally:
        for worker in workers.values():
            worker.service.kill()


def test_workflow_http_kind_checks_and_mock_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad addresses and token fields are problems at their place; an unset token variable
    is named when the agent is built; ``--mock`` needs no worker at all."""
    with pytest.raises(WorkflowError) as bad:
        workflow(
            {
                "a": {"kind": "http", "url": "ftp://host:1"},
                "b": {"kind": "http", "url": "http://me:pw@host:1"},
                "c": {"kind": "http", "url": "http://host:1", "token_env": "sk-abcdef123"},
            },
            [{"id": "x", "agent": "a"}],
        )
    text = str(bad.value)
    assert "agents.a.url" in text and "agents.b.url" in text and "agents.c.token_env" in text
    assert "pw" not in text.replace("pw@", "")  # the refusal does not repeat the password
    monkeypatch.delenv("SB_UNSET_TOKEN", raising=False)
    wf = workflow(
        {"a": {"kind": "http", "url": "http://127.0.0.1:9", "token_env": "SB_UNSET_TOKEN"}},
        [{"id": "x", "agent": "a"}],
    )
    with pytest.raises(WorkflowError, match="SB_UNSET_TOKEN is not set"):
        wf.build_agents()
    result = anyio.run(lambda: wf.run(mock=True))
    assert result.status == "succeeded"


def test_serve_agent_user_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown agent, a public address without a token, an unset token variable and a
    port in use are each one error line and exit code 2, before anything is served."""
    from toolkit.cli import main

    os.environ.pop("SB_UNSET_TOKEN", None)
    cases = [
        ([str(WORKERS), "nobody"], "no agent 'nobody' (known: chatty, echo, flaky, stall)"),
        ([str(WORKERS), "echo", "--host", "0.0.0.0"], "give --token-env VAR"),
        ([str(WORKERS), "echo", "--token-env", "SB_UNSET_TOKEN"], "SB_UNSET_TOKEN is not set"),
    ]
    held = socket.create_server(("127.0.0.1", 0))
    port = str(held.getsockname()[1])
    cases.append(([str(WORKERS), "echo", "--port", port], f"cannot listen on 127.0.0.1:{port}"))
    for args, message in cases:
        assert main(["serve-agent", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    held.close()


def test_without_the_remote_extra_each_command_names_it(tmp_path: Path) -> None:
    """Without starlette, uvicorn, sse-starlette and httpx: serve-agent and a run of a
    workflow with an http agent say in one line to install 'remote'; validating needs none."""
    from tests.test_extras import cli as cli_without

    blocked = ["httpx", "uvicorn", "starlette", "sse_starlette"]
    line = "needs the 'remote' extra: pip install 'switchboard[remote]'"
    serve = cli_without(tmp_path, blocked, "serve-agent", str(WORKERS), "echo")
    assert (serve.returncode, serve.stderr) == (2, f"switchboard serve-agent {line}\n")
    sequential = str(SAMPLES / "sequential.yaml")
    assert cli_without(tmp_path, blocked, "validate", sequential).returncode == 0
    run = cli_without(tmp_path, blocked, "run", sequential)
    assert run.returncode == 2 and line in run.stderr and len(run.stderr.splitlines()) == 1
