"""``switchboard tui http://HOST:PORT/v1/runs/ID`` in a real terminal (tmux), in its own
process: it follows a live run to its end, and quitting it leaves the run alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_tmux_demo import Tmux
from tests.serve.conftest import SWITCHBOARD, TEAM, TOKEN_ENV, Server, start_server
from tests.serve.test_follow import SLOW, cancel, running_task, start

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def tmux(monkeypatch: pytest.MonkeyPatch, server: Server) -> Iterator[Tmux]:
    # the terminal's shell gets the token from its environment, never from a command line
    monkeypatch.setenv(TOKEN_ENV, server.token)
    session = Tmux("serve-follow", 110, 32)
    session.kill()  # a fresh tmux server, started with this environment
    yield session
    session.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path, workflows=(str(TEAM), str(SLOW)))
    try:
        yield running
    finally:
        running.service.stop()


def test_the_app_follows_a_live_served_run_in_another_process(tmux: Tmux, server: Server) -> None:
    """The app opens on a running run (its lanes drawn from the events so far); quitting
    it leaves the run running; opened again, it shows the run cancelled when the server
    cancels it. The token is never shown."""
    run_id = start(server, "researcher", "sleeper")
    running_task(server, run_id, "step-2")
    command = f"{SWITCHBOARD} tui {server.base}/v1/runs/{run_id} --token-env {TOKEN_ENV}"
    tmux.start(command)
    tmux.wait_for(
        lambda s: all(w in s for w in ("user", "orchestrator", "researcher", "sleeper", "running")),
        "the live run's lanes",
    )
    tmux.keys("q")
    tmux.wait_for(lambda s: not tmux.alive(), "the app to quit", timeout_s=15)
    with server.client() as client:
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "running"
    tmux.start(command)
    tmux.wait_for(lambda s: "sleeper" in s and "running" in s, "the run again, still live")
    cancel(server, run_id)
    screen = tmux.wait_for(lambda s: "cancelled" in s, "the run shown cancelled")
    assert server.token not in screen
    tmux.keys("q")
    tmux.wait_for(lambda s: not tmux.alive(), "the app to quit", timeout_s=15)
