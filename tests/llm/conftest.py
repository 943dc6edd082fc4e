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


_IDS = {
    "run_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "message_id",
    "conversation_id",
    "parent_id",
}


def comparable(events: list[TraceEvent]) -> list[dict[str, Any]]:
    """Events without what differs between a live run and its replay (times, latency,
    and the ids every execution draws anew, which are numbered by first appearance so
    the links between events still have to match)."""
    numbers: dict[str, str] = {}

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (numbers.setdefault(v, f"id{len(numbers)}") if k in _IDS and v else strip(v))
                for k, v in value.items()
                if k not in _VOLATILE
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(e.model_dump(mode="json")) for e in events]


def of_kind(events: list[TraceEvent], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]
