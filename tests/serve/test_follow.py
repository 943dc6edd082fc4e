"""Following a served run: late followers, other processes, the TUI, the notebook view."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve.conftest import SWITCHBOARD, TEAM, TOKEN_ENV, Server, start_server
from tests.services import wait_until
from toolkit.events import TraceEvent, dump_event
from toolkit.sources import EventFeed, SourceError, open_path, open_url

SLOW = Path(__file__).with_name("slow.yaml")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the fast team and the slow agent (runs the tests cancel)."""
    running = start_server(tmp_path_factory.mktemp("follow"), workflows=(str(TEAM), str(SLOW)))
    try:
        yield running
    finally:
        running.service.stop()


class Follower:
    """A source producing into a feed in its own thread, its events gathered as they come."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.feed = EventFeed()
        self.events: list[TraceEvent] = []
        self.problems: list[str] = []
        self.thread = threading.Thread(target=source.produce, args=(self.feed,), daemon=True)
        self.thread.start()

    def gather(self) -> list[TraceEvent]:
        events, problems = self.feed.drain()
        self.events += events
        self.problems += problems
        return self.events

    def finish(self) -> list[TraceEvent]:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the follower did not end"
        assert self.feed.closed
        return self.gather()


def start(server: Server, *agents: str) -> str:
    with server.client() as client:
        answer = client.post(
            "/v1/mao/start",
            json={"directives": [{"agent_id": a, "prompt": f"to {a}"} for a in agents]},
        )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


def running_task(server: Server, run_id: str, task: str) -> None:
    with server.client() as client:
        wait_until(
            lambda: any(
                t["id"] == task and t["status"] == "running"
                for t in client.get(f"/v1/runs/{run_id}").json()["tasks"]
            ),
            within_s=60,
            what=f"{task} running",
        )


def cancel(server: Server, run_id: str) -> None:
    with server.client() as client:
        assert client.post(f"/v1/runs/{run_id}/cancel").status_code == 202


def lines(events: list[TraceEvent]) -> list[bytes]:
    return [dump_event(e) for e in events]


def test_a_late_follower_reads_the_run_from_its_beginning_then_live(server: Server) -> None:
    """A follower that joins mid-run gets every event from seq 0, then the live ones, and
    its stream ends at run_finished: both followers end with the same events, which are
    the server's."""
    run_id = start(server, "researcher", "sleeper")
    url = f"{server.base}/v1/runs/{run_id}"
    early = Follower(open_url(url, token=server.token))
    wait_until(
        lambda: any(e.kind == "task_started" and e.task_id == "step-2" for e in early.gather()),
        within_s=60,
        what="the early follower seeing step-2 start",
    )
    late = Follower(open_url(url, token=server.token))  # mid-run: step-2 sleeps for an hour
    seen = len(early.gather())
    wait_until(lambda: len(late.gather()) >= seen, within_s=60, what="the late follower caught up")
    assert lines(late.events[:seen]) == lines(early.events[:seen])
    assert late.events[0].seq == 0 and late.events[0].kind == "run_started"
    assert all(e.kind != "run_finished" for e in late.events)  # the run is still going
    cancel(server, run_id)
    first, second = early.finish(), late.finish()
    assert lines(first) == lines(second)
    assert [e.seq for e in first] == list(range(len(first)))
    assert first[-1].kind == "run_finished" and first[-1].status == "cancelled"
    assert early.problems == [] and late.problems == []
    assert early.source.status == "cancelled"  # the server's end message
    again = Follower(open_url(url, token=server.token))  # after the end: the whole run
    assert lines(again.finish()) == lines(first)


def test_stopping_a_follower_ends_it_at_once_and_leaves_the_run_going(server: Server) -> None:
    """``cancel()`` on a follower blocked on a quiet stream ends it without waiting for the
    server's next ping (15 s away), and the run goes on (the app calls it when it quits)."""
    run_id = start(server, "researcher", "sleeper")
    follower = Follower(open_url(f"{server.base}/v1/runs/{run_id}", token=server.token))
    wait_until(
        lambda: any(e.kind == "task_started" and e.task_id == "step-2" for e in follower.gather()),
        within_s=60,
        what="the follower seeing step-2 start",
    )
    follower.source.cancel()
    # bounded well under the ping interval: only a woken reader can end in time
    follower.thread.join(timeout=10)
    assert not follower.thread.is_alive() and follower.feed.closed
    assert follower.problems == []
    with server.client() as client:
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "running"
    cancel(server, run_id)


def test_replay_in_another_process_follows_a_live_run_to_its_end(
    server: Server, tmp_path: Path
) -> None:
    """``switchboard replay URL --token-env VAR``, started while the run goes on, waits for
    the end and prints the whole message flow; the token is not printed."""
    run_id = start(server, "researcher", "sleeper")
    running_task(server, run_id, "step-2")
    replay = subprocess.Popen(
        [SWITCHBOARD, "replay", f"{server.base}/v1/runs/{run_id}", "--token-env", TOKEN_ENV],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**_env(), TOKEN_ENV: server.token},
    )
    try:
        wait_until(
            lambda: f"GET /v1/runs/{run_id}/events" in server.log.read_text(),
            within_s=60,
            what="the replay process following the stream",
        )
        assert replay.poll() is None  # it waits for the run's end
        cancel(server, run_id)
        out, err = replay.communicate(timeout=120)
    finally:
        replay.kill()
    assert replay.returncode == 0, err
    assert "user → orchestrator" in out and "orchestrator → researcher" in out
    assert "orchestrator → sleeper" in out
    assert server.token not in out + err


def test_metrics_of_a_served_run_from_the_command_line(server: Server) -> None:
    """``switchboard metrics URL`` prints the per-agent table of a served run."""
    run_id = start(server, "researcher", "writer")
    done = subprocess.run(
        [SWITCHBOARD, "metrics", f"{server.base}/v1/runs/{run_id}", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_env(), "SWITCHBOARD_TOKEN": server.token},  # the default variable
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("agent,tasks,succeeded")
    assert {line.split(",")[0] for line in done.stdout.splitlines()[1:]} == {
        "researcher",
        "writer",
    }


def test_a_wrong_or_missing_token_is_one_clear_line(server: Server) -> None:
    """A follower without the token, or with a wrong one, gets a one-line error naming the
    401 and the way to give the token, never the token; the CLI exits 2."""
    run_id = start(server, "writer")
    url = f"{server.base}/v1/runs/{run_id}"
    with pytest.raises(SourceError) as missing:
        open_url(url)
    assert "401 missing bearer token" in str(missing.value) and "--token-env" in str(missing.value)
    with pytest.raises(SourceError) as wrong:
        open_url(url, token="not-" + server.token)
    assert "401 invalid bearer token" in str(wrong.value)
    assert server.token not in str(wrong.value)
    done = subprocess.run(
        [SWITCHBOARD, "tui", url, "--token-env", "SB_NO_SUCH_VAR"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "switchboard: error: environment variable SB_NO_SUCH_VAR is not set or empty: "
        "it must hold the token"
    )
    done = subprocess.run(
        [SWITCHBOARD, "replay", url, "--token-env", TOKEN_ENV],
        capture_output=True,
        text=True,
        timeout=120,
        env={**_env(), TOKEN_ENV: "wrong-token"},
    )
    assert done.returncode == 2 and "401 invalid bearer token" in done.stderr
    assert "wrong-token" not in done.stderr
    with pytest.raises(SourceError, match="no run 'run-none'"):
        open_url(f"{server.base}/v1/runs/run-none", token=server.token)


def test_the_server_url_alone_follows_its_newest_run(server: Server) -> None:
    """``http://HOST:PORT`` names the server's newest run; the label names run and host."""
    run_id = start(server, "editor")
    source = open_path(server.base, token=server.token)
    assert getattr(source, "run_id", None) == run_id
    assert source.label == f"directives @ {server.base.removeprefix('http://')}"
    assert server.token not in repr(source)


@pytest.mark.anyio
async def test_the_terminal_app_follows_a_served_run(server: Server) -> None:
    """``switchboard tui http://...``'s source in the app: the run's events fill the views
    and the header shows how it ended."""
    pytest.importorskip("textual")
    from tests.tui.conftest import wait_run_done
    from tui.app import SwitchboardApp

    run_id = start(server, "researcher", "writer")
    source = open_path(f"{server.base}/v1/runs/{run_id}", token=server.token)
    app = SwitchboardApp(source)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_run_done(pilot)
        state = screen.timeline.latest
        assert state.status == "succeeded"
        assert [t.status for t in state.tasks.values()] == ["done", "done"]
        assert state.problems == []


def test_runview_follow_reads_a_served_run(server: Server) -> None:
    """``RunView.follow(URL, token_env=...)`` shows the served run whole once it ends."""
    pytest.importorskip("anywidget")
    import os

    from toolkit.widgets import RunView

    run_id = start(server, "researcher", "writer", "editor")
    os.environ[TOKEN_ENV] = server.token
    try:
        view = RunView.follow(f"{server.base}/v1/runs/{run_id}", token_env=TOKEN_ENV)
    finally:
        del os.environ[TOKEN_ENV]
    wait_until(lambda: view.state.status == "succeeded", within_s=60, what="the view done")
    view.reader.join(timeout=60)
    with httpx.Client(base_url=server.base, headers=server.auth) as client:
        events = client.get(f"/v1/runs/{run_id}").json()["events"]
    assert len(view.events) == events
    assert [t.status for t in view.state.tasks.values()] == ["done"] * 3
    assert view.following is True  # the view's own trait (cursor at the newest event)


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, "SWITCHBOARD_TOKEN")}
