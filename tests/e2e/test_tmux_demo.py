"""`switchboard demo` in a real terminal (tmux): the lanes appear, `?` shows the keys, `q` quits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SWITCHBOARD = Path(sys.executable).parent / "switchboard"
"""The console script of the interpreter running the tests (``.venv`` in a fresh clone)."""

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (make test installs it)"
    ),
]


class Tmux:
    """One detached tmux session on a private server socket."""

    def __init__(self, name: str, width: int, height: int) -> None:
        self.socket = f"switchboard-e2e-{os.getpid()}"
        self.name = name
        self.width, self.height = width, height

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )

    def start(self, command: str) -> None:
        # COLUMNS/LINES from the test runner would override the real terminal size
        env = "env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor"
        self.run(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            f"cd {ROOT} && {env} {command}",
        )

    def screen(self) -> str:
        """The visible screen, or "" once the session has ended (the app quit)."""
        done = self.run("capture-pane", "-p", "-t", self.name, check=False)
        return done.stdout if done.returncode == 0 else ""

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.name, check=False).returncode == 0

    def kill(self) -> None:
        self.run("kill-server", check=False)

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout_s: float = 60.0) -> str:
        """Poll the screen until ``condition`` holds (a bounded loop of short polls; the bound
        only turns a hang into a failure, it is not a speed requirement)."""
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")


@pytest.fixture
def tmux() -> Tmux:
    session = Tmux("demo", 100, 30)
    yield session
    session.kill()


def test_demo_runs_in_a_real_terminal(tmux: Tmux) -> None:
    """The demo shows its lanes and runs to the end; ? lists the keys; q quits cleanly."""
    assert SWITCHBOARD.exists(), "the switchboard console script is not installed in .venv"
    # --speed 4: the demo at four times its newcomer pace, so the test is short
    tmux.start(f"{SWITCHBOARD} demo --speed 4")
    # every check waits on what is drawn: one capture may hold a half-drawn frame
    lanes = ("user", "orchestrator", "developer", "reviewer", "message")
    frame = ("Message flow", "Plan", "Agents")
    tmux.wait_for(lambda s: all(word in s for word in (*lanes, *frame)), "the lanes and the panels")
    tmux.wait_for(
        lambda s: "succeeded" in s and "retry" in s and "error" in s,
        "the demo run to finish, its failing developer in view",
        timeout_s=120,
    )
    tmux.keys("?")
    tmux.wait_for(
        lambda s: "Play/pause" in s and "Cancel run" in s and "esc closes" in s, "the key help"
    )
    tmux.keys("Escape")
    tmux.wait_for(lambda s: "esc closes" not in s and "Message flow" in s, "the help to close")
    tmux.keys("q")
    tmux.wait_for(lambda s: not tmux.alive(), "the app to quit", timeout_s=15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "gone"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_app_ends_when_its_terminal_is_closed(tmux: Tmux, tmp_path: Path) -> None:
    """Closing the terminal under `make demo` ends the app (make, the session leader, gets
    the hang-up and waits; the app sees the dead terminal and exits, not spinning on)."""
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"demo:\n\t{SWITCHBOARD} demo --speed 4\n")
    tmux.start(f"make -s -f {makefile} demo")
    tmux.wait_for(lambda s: "Message flow" in s and "orchestrator" in s, "the app to draw")
    panes = tmux.run("list-panes", "-t", tmux.name, "-F", "#{pane_pid}").stdout.split()
    (make_pid,) = (int(p) for p in panes)
    children = Path(f"/proc/{make_pid}/task/{make_pid}/children").read_text().split()
    (app_pid,) = (int(c) for c in children)
    assert "switchboard" in Path(f"/proc/{app_pid}/cmdline").read_text()
    tmux.kill()  # the terminal goes away, as when its window is closed
    deadline = time.monotonic() + 60  # bounds a hang only; the app looks once a second
    while _alive(app_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    outlived = _alive(app_pid)
    if outlived:  # leave nothing running behind a failed test
        os.kill(app_pid, signal.SIGKILL)
    assert not outlived, "the app outlived its terminal"
