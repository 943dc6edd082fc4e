"""A real ``switchboard serve`` on a free loopback port, shared by the start-API tests."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services import Service, free_port

HERE = Path(__file__).parent
TEAM = HERE / "team.yaml"
SWITCHBOARD = str(Path(sys.executable).with_name("switchboard"))
TOKEN_ENV = "SB_SERVE_TEST_TOKEN"


@dataclass
class Server:
    """A running server: where it is, its token, its log and its store."""

    base: str
    token: str
    log: Path
    store: Path | None
    service: Service

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.auth, timeout=30)


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(
    tmp: Path,
    *args: str,
    workflows: tuple[str, ...] = (str(TEAM),),
    store: Path | None = None,
    token: str | None = None,
) -> Server:
    """Start ``switchboard serve`` for real; ready when /health answers."""
    token = token or secrets.token_urlsafe(24)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / f"serve-{port}.log"
    argv = [SWITCHBOARD, "serve", *workflows, "--port", str(port), "--token-env", TOKEN_ENV]
    if store is not None:
        argv += ["--store", str(store)]
    service = Service(
        [*argv, *args],
        lambda: healthy(base),
        name="switchboard serve",
        env={TOKEN_ENV: token},
        log=log,
    ).start()
    return Server(base, token, log, store, service)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, recording to a store, stopped afterwards."""
    tmp = tmp_path_factory.mktemp("serve")
    running = start_server(tmp, store=tmp / "runs.db")
    try:
        yield running
    finally:
        running.service.stop()
