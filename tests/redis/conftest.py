"""Shared pieces of the Redis tests: one real redis-server per module, a key prefix per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import redis_server
from toolkit import MockAgent, Orchestrator, pipeline


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A real redis-server on a free loopback port for the module's tests."""
    with redis_server() as (_service, port):
        yield port


@pytest.fixture
def redis_url(redis_port: int, request: pytest.FixtureRequest) -> str:
    """The module's server, with a key prefix of this test's own (tests share no keys)."""
    prefix = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60]
    return f"redis://127.0.0.1:{redis_port}/0?prefix={prefix}"


def mock_orchestrator(agents: int = 3, **options: Any) -> Orchestrator:
    """Zero-latency mock agents a0, a1, ... (seeded, deterministic)."""
    return Orchestrator([MockAgent(f"a{i}", latency=0) for i in range(agents)], seed=7, **options)


def long_pipeline(steps: int, agents: int = 3) -> Any:
    """A pipeline of ``steps`` tasks over the mock agents."""
    return pipeline(*[f"a{i % agents}" for i in range(steps)])


def dumps(events: Any) -> list[dict[str, Any]]:
    """Events as plain data, for comparing what was sent with what was read."""
    return [e.model_dump(mode="json") for e in events]
