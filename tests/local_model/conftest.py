"""The real local model for the tests: the cached ``llama-server`` serving SmolLM2 on a free port.

The server is built once per machine by ``make local-model`` (it takes minutes, so the
test run never builds it); when it is not there every test here is skipped with the one
reason below, and the end of the pytest run says so (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import Service, free_port
from toolkit.llm import local

SKIP_REASON = (
    "llama-server is not built on this machine: `make local-model` builds it once (~15-30 min)"
)

PRICES = {"in": 1.0, "out": 2.0}
"""Made-up USD per 1M tokens: a local model costs nothing, but cost must follow usage."""


def missing() -> str | None:
    """Why the real-model tests cannot run here, or None when they can."""
    if local.server_binary() is None:
        return SKIP_REASON
    if local.model_path() is None:
        return "the SmolLM2 model is not fetched on this machine: `make local-model` fetches it"
    return None


@dataclass
class LocalModel:
    """A running server: where to call it and which model it serves."""

    base_url: str
    model: str
    service: Service
    log: Path


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModel]:
    """One llama-server for the session (one thread, one slot, replies capped at 256 tokens).

    One thread, not two: ggml's threads wait for each other spinning, so on a loaded
    machine (the suite's own processes, or CI's neighbours) two threads sharing two busy
    cores fell to 1.3-1.7 tokens/s, where one thread kept 21 (measured beside two
    ``yes`` hogs; 72 and ~45 on a quiet machine).
    """
    reason = missing()
    if reason:
        pytest.skip(reason)
    binary, model = local.server_binary(), local.model_path()
    assert binary is not None and model is not None
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("llama") / "llama-server.log"
    argv = local.server_argv(binary, model, port, threads=1, context=4096, max_tokens=256)
    with Service(argv, lambda: local.healthy(root), name="llama-server", log=log) as service:
        yield LocalModel(f"{root}/v1", local.MODEL_NAME, service, log)


@pytest.fixture(autouse=True)
def no_stray_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test names its endpoint: nothing from the machine's environment leaks in."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SWITCHBOARD_CASSETTE"):
        monkeypatch.delenv(name, raising=False)
