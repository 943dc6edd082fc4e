"""One real Temporal dev server for the Temporal tests (SQLite in a temp dir, free ports)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.services import Service, free_port, port_open


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The dev server every Temporal test shares, started as a user would:
    ``switchboard temporal dev --port P --db F.db`` (``.address`` is HOST:PORT)."""
    pytest.importorskip("temporalio")
    from toolkit.temporal.dev import DevServer

    root = tmp_path_factory.mktemp("temporal")
    port = free_port()
    probe = DevServer(port)
    with Service(
        [
            sys.executable,
            "-m",
            "toolkit.cli",
            "temporal",
            "dev",
            "--port",
            str(port),
            "--db",
            str(root / "temporal.db"),
        ],
        lambda: port_open(port) and probe.ready(),
        name="switchboard temporal dev",
        log=root / "server.log",
    ) as server:
        server.address = probe.address  # type: ignore[attr-defined]
        yield server


def project(state: Any) -> dict[str, Any]:
    """What a run's state says, without ids, times and durations (which differ run to run)
    and the order in which parallel tasks' messages came."""
    tasks = {
        t.id: (
            t.agent,
            t.status,
            t.attempt,
            t.attempts,
            t.round,
            t.output,
            t.error,
            t.retries,
            t.fallback_used,
            t.last_agent,
            t.verdicts,
        )
        for t in state.tasks.values()
    }
    agents = {
        a.name: (
            a.kind,
            a.state,
            a.tasks,
            a.succeeded,
            a.failed,
            a.retries,
            a.reviews,
            a.calls,
            a.messages_in,
            a.messages_out,
            a.tokens_in,
            a.tokens_out,
            round(a.cost_usd, 9),
            a.llm_calls,
            a.tool_calls,
        )
        for a in state.agents.values()
    }
    # parallel tasks finish in an order their latencies decide, in process too
    messages = sorted(
        repr((m.sender, m.recipient, m.kind, m.payload, m.task_id, m.attempt))
        for m in state.messages
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
