"""Fixtures of the LLM tests: a fake OpenAI-compatible server on loopback and a clean environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from toolkit import Plan, Task
from toolkit.events import TraceEvent
from toolkit.llm.testing import FakeOpenAI

_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SWITCHBOARD_CASSETTE",
    "SWITCHBOARD_CASSETTE_MODE",
    "MY_LLM_KEY",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key, no endpoint and no cassette leak in from the machine."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def one_task(agent: str = "writer", prompt: str = "{{input}}") -> Plan:
    return Plan(name="one", tasks=[Task(id="t", agent=agent, prompt=prompt)])


_VOLATILE = {"ts", "latency_s", "duration_s", "sent_at", "delivered_at"}


def comparable(events: list[TraceEvent]) -> list[dict[str, Any]]:
    """Events without what differs between a live run and its replay (times, latency)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _VOLATILE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(e.model_dump(mode="json")) for e in events]


def of_kind(events: list[TraceEvent], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]
