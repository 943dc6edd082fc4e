"""Remote agents failing for real: a worker killed in the middle of a task, servers that
are down, tokens missing. Each failure has a reason that says what happened, and the
task is retried or handed to its backup as the plan says; a breaker stops calling a dead
server. The servers are real processes on loopback ports, killed with SIGKILL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import anyio
import yaml

from tests.a2a.conftest import ROOT, SWITCHBOARD, serve_a2a
from tests.services import free_port
from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.a2a_protocol import A2AAgent
from toolkit.events import dump_event
from toolkit.workflow import parse_workflow


def test_a_worker_killed_mid_task_fails_the_attempt_then_retry_then_backup(
    writers_file: Path,
) -> None:
    """The server is killed (SIGKILL) while its task is working: the attempt fails saying
    the server went away mid-task, the retry finds it gone, and the backup finishes."""
    with serve_a2a(writers_file, "slow") as (service, url):
        remote = A2AAgent("slow", url)
        orch = Orchestrator([remote, MockAgent("backup", reply="backup: {prompt}")])
        plan = Plan(
            name="kill",
            tasks=[Task(id="t", agent="slow", prompt="work", retries=1, fallback="backup")],
        )
        working = anyio.Event()

        def watch(event: Any) -> None:
            if event.kind == "a2a_update" and event.state == "working":
                working.set()

        async def main() -> Any:
            async with anyio.create_task_group() as tg:
                box: dict[str, Any] = {}

                async def run() -> None:
                    box["result"] = await orch.run("go", plan, on_event=watch)

                tg.start_soon(run)
                await working.wait()  # the remote task is working: now kill its worker
                await anyio.to_thread.run_sync(service.kill)
            await remote.aclose()
            return box["result"]

        result = anyio.run(main)
    assert result.status == "succeeded"
    assert result.output == "backup: work"
    failures = [e for e in result.events if e.kind == "task_failed"]
    assert [(e.attempt, e.final) for e in failures] == [(1, False), (2, False)]
    first, second = failures[0].error, failures[1].error
    assert "went away in the middle of task" in first or "closed the stream" in first, first
    assert "(it was working" in first or "still working" in first, first
    assert "cannot reach A2A agent 'slow'" in second or "lost the connection" in second, second
    retried = [(e.attempt, e.fallback, e.agent) for e in result.events if e.kind == "task_retried"]
    assert retried == [(2, False, "slow"), (3, True, "backup")]


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nobody listens there


def test_a_breaker_stops_calling_a_dead_server_and_the_backup_takes_over() -> None:
    """`kind: a2a` with `breaker:` in a workflow file: after two refused connections the
    circuit opens and the third step goes to the backup without touching the network."""
    wf = parse_workflow(
        {
            "name": "dead",
            "agents": {
                "remote": {
                    "kind": "a2a",
                    "url": _dead_url(),
                    "breaker": {"failures": 2, "cooldown_s": 600},
                },
                "backup": {"kind": "mock", "reply": "backup did {task_id}"},
            },
            "steps": [
                {
                    "id": f"s{i}",
                    "agent": "remote",
                    "fallback": "backup",
                    **({"depends_on": [f"s{i - 1}"]} if i else {}),
                }
                for i in range(3)
            ],
        }
    )
    result = anyio.run(wf.run)
    assert result.status == "succeeded"
    errors = {e.task_id: e for e in result.events if e.kind == "task_failed"}
    assert "cannot reach A2A agent 'remote'" in errors["s0"].error
    assert errors["s2"].error_type == "unavailable"
    assert "circuit open for agent 'remote'" in errors["s2"].error
    assert [e.state for e in result.events if e.kind == "breaker_changed"] == ["open"]
    assert result.state.agents["remote"].breaker == "open"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [str(SWITCHBOARD), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_health_names_the_remote_agents_that_are_down(writer: str, tmp_path: Path) -> None:
    """`switchboard health` checks every remote agent: exit 0 when all answer, 1 (and
    DOWN with the reason) when one does not; mocks have no health check."""
    agents: dict[str, Any] = {
        "live": {"kind": "a2a", "url": writer},
        "local": {"kind": "mock"},
    }
    path = tmp_path / "health.yaml"
    path.write_text(yaml.safe_dump({"agents": agents, "steps": [{"id": "s", "agent": "live"}]}))
    ok = _cli("health", str(path))
    assert ok.returncode == 0, ok.stderr
    assert "live" in ok.stdout and "ok" in ok.stdout and "serves agent 'writer'" in ok.stdout
    assert "local" not in ok.stdout
    agents["dead"] = {"kind": "a2a", "url": _dead_url(), "breaker": {"failures": 1}}
    path.write_text(yaml.safe_dump({"agents": agents, "steps": [{"id": "s", "agent": "live"}]}))
    down = _cli("health", str(path))
    assert down.returncode == 1
    line = next(x for x in down.stdout.splitlines() if x.startswith("dead"))
    assert "DOWN" in line and "cannot reach" in line


def test_a_token_guards_the_calls_and_never_reaches_the_trace(
    writers_file: Path, tmp_path: Path
) -> None:
    """With --token-env the card stays open but calls without the token fail with a
    401 reason; with `token_env` the calls succeed, and the token is in no event."""
    secret = "tok-9f8e7d6c5b4a"
    env = {"SB_A2A_TEST_TOKEN": secret}
    with serve_a2a(writers_file, "writer", env=env, args=("--token-env", "SB_A2A_TEST_TOKEN")) as (
        _,
        url,
    ):
        no_token = parse_workflow(
            {
                "agents": {"w": {"kind": "a2a", "url": url}},
                "steps": [{"id": "s", "agent": "w", "prompt": "x"}],
            }
        )
        refused = anyio.run(no_token.run)
        error = next(e.error for e in refused.events if e.kind == "task_failed")
        assert "needs a bearer token (HTTP 401; this agent sent no token)" in error
        import os

        os.environ["SB_A2A_TEST_TOKEN"] = secret
        try:
            with_token = parse_workflow(
                {
                    "agents": {"w": {"kind": "a2a", "url": url, "token_env": "SB_A2A_TEST_TOKEN"}},
                    "steps": [{"id": "s", "agent": "w", "prompt": "a note"}],
                }
            )
            done = anyio.run(with_token.run)
        finally:
            del os.environ["SB_A2A_TEST_TOKEN"]
    assert done.status == "succeeded", done.error
    assert done.output == "draft of a note"
    trace = b"".join(dump_event(e) for e in [*refused.events, *done.events])
    assert secret.encode() not in trace


def test_serve_a2a_user_errors_are_one_line(writers_file: Path) -> None:
    """An unknown agent or an unset token variable: one line on stderr, exit code 2."""
    unknown = _cli("serve-a2a", str(writers_file), "nobody", "--port", str(free_port()))
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0
    assert "no agent named 'nobody' (known: failing, slow, writer)" in unknown.stderr
    unset = _cli("serve-a2a", str(writers_file), "writer", "--token-env", "SB_UNSET_VARIABLE_X")
    assert unset.returncode == 2
    assert "SB_UNSET_VARIABLE_X is not set or empty" in unset.stderr
