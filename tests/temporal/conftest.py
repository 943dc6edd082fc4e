"""One real Temporal dev server for the Temporal tests (SQLite in a temp dir, free ports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import Service, temporal_server


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The dev server every Temporal test shares (``.address`` is HOST:PORT)."""
    root = tmp_path_factory.mktemp("temporal")
    with temporal_server(root / "temporal.db", log=root / "server.log") as server:
        yield server


def project(state: Any) -> dict[str, Any]:
    """What a run's state says, without ids, times and durations (which differ run to run)
    and the order in which parallel tasks' messages came."""
    tasks = {
        t.id: (
            t.agent, t.status, t.attempt, t.attempts, t.round, t.output, t.error,
            t.retries, t.fallback_used, t.last_agent, t.verdicts,
        )
        for t in state.tasks.values()
    }
    agents = {
        a.name: (
            a.kind, a.state, a.tasks, a.succeeded, a.failed, a.retries, a.reviews, a.calls,
            a.messages_in, a.messages_out, a.tokens_in, a.tokens_out, round(a.cost_usd, 9),
            a.llm_calls, a.tool_calls,
        )
        for a in state.agents.values()
    }
    # parallel tasks finish in an order their latencies decide, in process too
    messages = sorted(
        (repr((m.sender, m.recipient, m.kind, m.payload, m.task_id, m.attempt)) for m in state.messages)
    )
    return {
        "status": state.status,
        "output": state.output,
        "error": state.error,
        "seed": state.seed,
        "planner": state.planner,
        "tasks": tasks,
        "agents": agents,
        "messages": messages,
        "counts": state.counts,
        "event_count": state.event_count,
        "logs": sorted((level, text) for _, level, text in state.logs),
    }
