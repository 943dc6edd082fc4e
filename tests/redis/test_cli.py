"""The command line over Redis, as a person uses it, in real processes: ``switchboard run
--events`` publishes, ``runs``/``replay``/``metrics`` read a run from Redis exactly as from
its trace file, and a follower in another process shows a run live while it goes on."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tests.core.terminal import error_lines, run_cli
from tests.services import free_port, wait_until
from toolkit.redis_streams import RedisTarget, list_runs

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "sample_agents" / "workflows" / "two-workers-sequential.yaml"


def _switchboard(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_with_events_then_runs_replay_and_metrics_read_it_back(
    redis_url: str, tmp_path: Path
) -> None:
    """A workflow run in its own process with --events URL (and --trace) is listed by
    ``switchboard runs --store URL``; ``replay`` and ``metrics`` of the URL print exactly
    what they print for the trace file."""
    trace = tmp_path / "run.jsonl"
    done = _switchboard("run", WORKFLOW, "--events", redis_url, "--trace", trace)
    assert done.returncode == 0, done.stderr
    (run,) = list_runs(redis_url)
    assert f"events: {RedisTarget.parse(redis_url).shown} (run {run.run_id})" in done.stdout
    code, out, _ = run_cli("runs", "--store", redis_url)
    assert code == 0 and run.run_id in out and "succeeded" in out and "two-workers" in out
    for command in (["replay", "--all"], ["metrics", "--format", "csv"]):
        from_redis = run_cli(*command, redis_url)
        from_trace = run_cli(*command, trace)
        assert from_redis[0] == 0 and from_redis[1] == from_trace[1] and from_redis[1]
        assert error_lines(from_redis[2]) == []
    by_id = run_cli("replay", redis_url, "--run", run.run_id)
    assert by_id[1] == run_cli("replay", trace)[1]


def test_a_follower_in_another_process_shows_the_run_live(redis_url: str, tmp_path: Path) -> None:
    """``switchboard replay URL`` started while another process's run is held at a gate prints
    the run's first messages before the run ends, then the rest, and ends with the run:
    its whole output equals the replay of the run's local trace."""
    trace = tmp_path / "run.jsonl"
    publisher = subprocess.Popen(
        [sys.executable, "-m", "tests.redis.publisher", redis_url, str(trace)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    follower = None
    try:
        wait_until(lambda: bool(list_runs(redis_url)), what="the run in the index")
        follower = subprocess.Popen(
            [sys.executable, "-m", "toolkit.cli", "replay", redis_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")))  # type: ignore[union-attr]
        reader.start()
        wait_until(
            lambda: any("→ gate" in line for line in lines),
            what="the follower shows the gate's directive",
        )
        assert publisher.poll() is None  # the run is still going: this was live
        assert not any("→ user" in line for line in lines)
        target = RedisTarget.parse(redis_url)
        target.client().set(f"{target.prefix}:test-gate", 1)
        assert publisher.wait(120) == 0, publisher.stderr.read() if publisher.stderr else ""
        assert follower.wait(120) == 0
        reader.join(60)
        assert "".join(lines) == run_cli("replay", trace)[1]
    finally:
        for proc in (publisher, follower):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_cli_errors_are_one_line_and_never_show_the_password() -> None:
    """Redis unreachable, a bad --events URL, and --run without a store or URL: one line on
    stderr, exit code 2, no password."""
    url = f"redis://carol:pw-secret-1@127.0.0.1:{free_port()}/0"
    for args in (["replay", url], ["runs", "--store", url], ["metrics", url]):
        code, out, err = run_cli(*args)
        lines = error_lines(err)
        assert code == 2 and len(lines) == 1 and "cannot reach Redis" in lines[0]
        assert "pw-secret-1" not in err + out and "carol:***@" in lines[0]
    code, _, err = run_cli("run", WORKFLOW, "--events", "redis://h:port/0")
    assert code == 2 and "--events" in err and "port" in err
    code, _, err = run_cli("replay", "x.jsonl", "--run", "r1")
    assert code == 2 and "--run needs --store DB or a redis:// URL" in err
