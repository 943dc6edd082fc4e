"""Live and replay are one code path: a recorded run replays to exactly the state it showed live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from sample_agents.scenarios import feature_review
from toolkit.sources import LiveRunSource, open_store, open_trace
from tui.app import SwitchboardApp
from tui.widgets.agents_view import AgentsView
from tui.widgets.event_list import EventList
from tui.widgets.message_flow import MessageFlow
from tui.widgets.metrics_table import MetricsTable
from tui.widgets.plan_view import PlanView
from tui.widgets.run_header import RunHeader

from .conftest import wait_run_done

pytestmark = pytest.mark.anyio

SIZE = (120, 40)


def _rows(table: Any) -> list[list[str]]:
    if hasattr(table, "row_plain"):
        return [table.row_plain(i) for i in range(table.row_count)]
    return [
        [getattr(c, "plain", str(c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


async def _views(app: SwitchboardApp, pilot: Any) -> dict[str, Any]:
    """Everything the views show, as plain data."""
    screen = app.main
    screen.render_frame()
    await pilot.pause()
    flow = app.screen.query_one(MessageFlow)
    views: dict[str, Any] = {
        "state": asdict(screen.player.state()),
        "header": app.screen.query_one(RunHeader).render().plain,
        "flow": [flow.render_line(y).text for y in range(flow.size.height)],
        "plan": _rows(app.screen.query_one(PlanView)),
        "agents": _rows(app.screen.query_one(AgentsView)),
    }
    await pilot.press("2")
    views["metrics"] = _rows(app.screen.query_one(MetricsTable))
    await pilot.press("3")
    views["events"] = app.screen.query_one(EventList).row_count
    return views


def _live(trace: Path | None = None, store: Path | None = None) -> LiveRunSource:
    def factory(sinks: Sequence[Any]) -> Any:
        orch, plan, request = feature_review(speed=0.0)
        return orch.prepare(request, plan, sinks=sinks, trace=trace, store=store)

    return LiveRunSource("feature-review", factory)


async def test_replaying_a_trace_shows_the_same_final_state_as_the_live_run(tmp_path: Path) -> None:
    """Header, flow, plan, agents, metrics and event log are identical live and from the trace."""
    trace = tmp_path / "run.jsonl"
    live_app = SwitchboardApp(_live(trace=trace))
    async with live_app.run_test(size=SIZE) as pilot:
        await wait_run_done(pilot)
        assert live_app.main.timeline.latest.status == "succeeded"
        live = await _views(live_app, pilot)
    replay = SwitchboardApp(open_trace(trace))
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        replayed = await _views(replay, pilot)
    assert replayed == live


async def test_replaying_from_the_run_store_shows_the_same_final_state(tmp_path: Path) -> None:
    """A run recorded to a SQLite store replays (--store, latest run) to the live run's views."""
    store = tmp_path / "runs.db"
    live_app = SwitchboardApp(_live(store=store))
    async with live_app.run_test(size=SIZE) as pilot:
        await wait_run_done(pilot)
        live = await _views(live_app, pilot)
    replay = SwitchboardApp(open_store(store))
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        replayed = await _views(replay, pilot)
    assert replayed == live
