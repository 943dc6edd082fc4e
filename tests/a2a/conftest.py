"""Real A2A servers for the tests: ``switchboard serve-a2a`` and a server written with the
SDK alone, each a process of its own on a free loopback port, killed afterwards."""

from __future__ import annotations

import contextlib
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.services import Service, free_port, port_open

pytest.importorskip("a2a")

ROOT = Path(__file__).resolve().parents[2]
SWITCHBOARD = Path(sys.executable).parent / "switchboard"
"""The console script (``python -m toolkit.cli`` would load the CLI module twice)."""

Server = Callable[..., contextlib.AbstractContextManager[tuple[Service, str]]]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/.well-known/agent-card.json", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def serve_a2a(
    workflow: Path, agent: str, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[tuple[Service, str]]:
    """``switchboard serve-a2a WORKFLOW AGENT`` on a free port; yields it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(SWITCHBOARD), "serve-a2a", str(workflow), agent]
    argv += ["--port", str(port), *args]
    with Service(argv, lambda: _answers(url), name="serve-a2a", env=env, cwd=ROOT) as service:
        yield service, url


@contextlib.contextmanager
def sdk_server() -> Iterator[tuple[Service, str]]:
    """The SDK-only server of ``toolkit.a2a_protocol.testing`` on a free port."""
    port = free_port()
    argv = [sys.executable, "-m", "toolkit.a2a_protocol.testing", str(port)]
    with Service(argv, lambda: port_open(port), name="sdk-server", cwd=ROOT) as service:
        yield service, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def shouter() -> Iterator[str]:
    """One SDK-only server shared by a module's tests (its URL)."""
    with sdk_server() as (_, url):
        yield url


WRITERS = """\
name: writers
agents:
  writer: {kind: mock, description: Writes short drafts, skills: [write, draft], reply: "draft of {prompt}"}
  failing: {kind: mock, description: Always fails, failures: {exception: 1.0, message: "out of ink"}}
  slow: {kind: mock, description: Takes its time, latency: 3600}
steps:
  - {id: s, agent: writer}
"""


@pytest.fixture(scope="module")
def writers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("a2a") / "writers.yaml"
    path.write_text(WRITERS)
    return path


@pytest.fixture(scope="module")
def writer(writers_file: Path) -> Iterator[str]:
    """``serve-a2a`` serving the mock ``writer`` (module-wide; its URL)."""
    with serve_a2a(writers_file, "writer") as (_, url):
        yield url
