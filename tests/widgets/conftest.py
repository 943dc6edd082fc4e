"""A small, deterministic run with every kind of message and a hostile payload."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit import FailureSpec, FunctionAgent, MockAgent, Orchestrator, Plan, ReviewSpec, Task
from toolkit.events import TraceEvent

HOSTILE = '<script>window.__pwned = 1; alert("xss")</script><img src=x onerror="alert(1)"> &amp; &lt;b&gt;bold&lt;/b&gt;'
"""A payload that would run code or render markup if the view interpreted it."""


async def writer(directive: Any) -> str:
    session = directive.session
    await session.send("editor", "draft coming, " + HOSTILE)
    await session.broadcast("heads up: writing")
    return f"draft of {directive.task_id} (round {directive.round})"


def demo_orchestrator(seed: int = 3) -> tuple[Orchestrator, Plan]:
    """researcher → writer (reviewed by editor, 2 rounds) and a flaky checker that retries once."""
    orch = Orchestrator(
        [
            MockAgent("researcher", reply=HOSTILE, price_per_1k_tokens=0.5),
            FunctionAgent(writer, name="writer"),
            MockAgent("editor", reply=["needs work", "APPROVED"]),
            MockAgent("checker", failures=FailureSpec(fail_attempts=[1])),
        ],
        seed=seed,
    )
    plan = Plan(
        name="demo",
        tasks=[
            Task(id="research", agent="researcher", prompt="{{input}}"),
            Task(
                id="write",
                agent="writer",
                prompt="{{research}}",
                review=ReviewSpec(reviewer="editor", max_rounds=2),
            ),
            Task(id="check", agent="checker", prompt="{{research}}", retries=1),
        ],
    )
    return orch, plan


def demo_events(seed: int = 3) -> list[TraceEvent]:
    orch, plan = demo_orchestrator(seed)
    return orch.run_sync("write about <b>agents</b>", plan).events


@pytest.fixture
def events() -> list[TraceEvent]:
    return demo_events()
