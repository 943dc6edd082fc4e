"""Real services on free loopback ports: started, ready by probe, stopped for sure.

The tests, the benchmarks and the workshop start real servers (redis-server, the
Temporal dev server, uvicorn apps, worker processes) through ``Service``, which waits on
the service's own readiness (a probe that succeeds), never on a fixed sleep, and kills
the whole process group on exit, so nothing outlives its user. ``free_port`` asks the
kernel for a port nobody holds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["READY_WITHIN_S", "Service", "free_port", "port_open", "wait_until"]

# How long a service may take to become ready on a loaded two-core machine. This is
# a bound on a hang, not a timing assertion: readiness itself is the probe succeeding.
READY_WITHIN_S = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def wait_until(
    condition: Callable[[], bool], *, within_s: float = READY_WITHIN_S, what: str = "condition"
) -> None:
    """Poll ``condition`` until it holds; fail the test if it never does (a hang)."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {within_s:g}s")
        time.sleep(0.02)


class Service:
    """One real process, in its own process group, ready when ``probe`` says so.

    Args:
        argv: The command line.
        probe: Returns True once the service answers.
        name: For messages.
        env: Extra environment variables.
        cwd: Working directory.
        log: Where stdout and stderr go (default: a file beside nothing, discarded).
    """

    def __init__(
        self,
        argv: Sequence[str],
        probe: Callable[[], bool],
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        log: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.probe = probe
        self.name = name or Path(argv[0]).name
        self.env = env
        self.cwd = cwd
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
            cwd=self.cwd,
            start_new_session=True,
        )
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {proc.returncode} before it was ready"
                )
            return self.probe()

        try:
            wait_until(ready, what=f"{self.name} ready")
        except BaseException:  # never ready (or interrupted): it must not outlive its user
            self.kill()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (kill -9 by default) and reap it."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Ask it to end (SIGTERM), then make sure it has."""
        self.kill(signal.SIGTERM)

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
