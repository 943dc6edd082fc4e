"""A breaker's state in the views: the terminal app's Agents table gains a breaker column
(only once some agent has a breaker) and the notebook dashboard's snapshot carries each
breaker's state and reason; both read the same fold of a recorded trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.agents import FailureSpec
from toolkit.breaker import CircuitBreaker
from toolkit.sources import open_trace
from toolkit.state import fold
from toolkit.widgets.projection import run_snapshot

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _breaker_trace(path: Path) -> Path:
    remote = CircuitBreaker(
        MockAgent("remote", failures=FailureSpec(exception=1.0, message="server down")),
        failures=1,
        cooldown_s=60,
    )
    orch = Orchestrator([remote, MockAgent("backup")])
    plan = Plan(
        name="views",
        tasks=[
            Task(id="a", agent="remote", fallback="backup"),
            Task(id="b", agent="remote", fallback="backup", depends_on=["a"]),
        ],
    )
    orch.run_sync("go", plan, trace=path)
    return path


def test_the_dashboard_snapshot_carries_each_breaker(tmp_path: Path) -> None:
    """run_snapshot has the breaker of every agent that has one (state, label, reason)."""
    from toolkit.recorder import read_trace

    events = read_trace(_breaker_trace(tmp_path / "run.jsonl")).events
    snap = run_snapshot(fold(events))
    assert set(snap["breakers"]) == {"remote"}
    assert snap["breakers"]["remote"]["state"] == "open"
    assert snap["breakers"]["remote"]["label"] == "○ open"
    assert "server down" in snap["breakers"]["remote"]["reason"]


async def test_the_agents_table_shows_the_breaker_column(tmp_path: Path) -> None:
    """Replaying a run with a breaker, the Agents table has a breaker column whose cell
    for the guarded agent reads "○ open", and is empty for the agent without one."""
    pytest.importorskip("textual")
    from tests.tui.conftest import wait_until
    from tui.app import SwitchboardApp
    from tui.widgets.agents_view import AgentsView

    app = SwitchboardApp(open_trace(_breaker_trace(tmp_path / "run.jsonl")))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(AgentsView)
        await wait_until(pilot, lambda: table.row_count == 2 and "breaker" in table.columns)
        assert str(table.get_cell("remote", "breaker")) == "○ open"
        assert str(table.get_cell("backup", "breaker")) == ""


async def test_no_breaker_no_column(tmp_path: Path) -> None:
    """A run without breakers keeps the Agents table as it was (no breaker column)."""
    pytest.importorskip("textual")
    from tests.tui.conftest import wait_until
    from tui.app import SwitchboardApp
    from tui.widgets.agents_view import AgentsView

    orch = Orchestrator([MockAgent("a")])
    orch.run_sync(
        "go", Plan(name="plain", tasks=[Task(id="t", agent="a")]), trace=tmp_path / "p.jsonl"
    )
    app = SwitchboardApp(open_trace(tmp_path / "p.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(AgentsView)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert "breaker" not in table.columns


def test_a2a_updates_are_worded_once_for_every_view() -> None:
    """describe words an A2A status update and an artifact (with its name) on one line."""
    from toolkit.describe import event_summary
    from toolkit.events import A2AUpdate
    from toolkit.tracing import IdFactory, Tracer

    tracer = Tracer("run-x", "0" * 32, ids=IdFactory(1))
    status = tracer.emit(A2AUpdate, agent="w", update="status", state="working", text="reading")
    artifact = tracer.emit(A2AUpdate, agent="w", update="artifact", name="shout", text="HI")
    assert event_summary(status) == "w a2a status working: reading"
    assert event_summary(artifact) == "w a2a artifact shout: HI"
