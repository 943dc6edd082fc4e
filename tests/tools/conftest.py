"""Shared helpers for the tool-agent tests: call an agent directly, outside a run."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from toolkit.agents import Agent, Directive


def call(
    agent: Agent,
    prompt: str = "",
    *,
    context: dict[str, Any] | None = None,
    task_id: str = "t",
    round: int = 1,
) -> Any:
    """Run ``agent`` on one directive with no session (as a user calling it directly)."""
    directive = Directive(
        agent=agent.name, task_id=task_id, prompt=prompt, context=context or {}, round=round
    )
    return anyio.run(agent.run, directive)


@pytest.fixture
def call_agent():
    """The ``call`` helper as a fixture."""
    return call
