"""Pilot test of a team in the app: one lane in the run, `t` shows its own lanes and plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit import load_workflow
from toolkit.sources import open_trace
from tui.app import SwitchboardApp
from tui.widgets.agents_view import AgentsView
from tui.widgets.message_flow import MessageFlow
from tui.widgets.plan_view import PlanView

from .conftest import screen_text, wait_until

pytestmark = pytest.mark.anyio

SAMPLE = Path(__file__).parents[2] / "sample_agents" / "workflows" / "team-of-teams.yaml"


def _lanes(app: SwitchboardApp) -> list[str]:
    flow = app.screen.query_one(MessageFlow)
    return [name for row in flow.header_names(flow.size.width) for _, name in row]


async def test_t_expands_each_team_into_its_lanes_and_plan(tmp_path: Path) -> None:
    """The run shows each team as one lane and one plan row; `t` shows the first team's
    own agents as lanes and its plan, again `t` the next team, then the run again."""
    trace = tmp_path / "t.jsonl"
    result = await load_workflow(SAMPLE).run(trace=trace)
    assert result.status == "succeeded", result.error
    app = SwitchboardApp(open_trace(trace))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.main.player.at_end and "succeeded" in screen_text(app))
        plan = app.screen.query_one(PlanView)
        assert {"research", "writing", "editor"} <= set(_lanes(app))
        assert plan.row_count == 3
        await pilot.press("t")
        await wait_until(pilot, lambda: "web" in _lanes(app))
        assert app.main.team == "research"
        assert {"web", "papers", "analyst"} <= set(_lanes(app))
        assert plan.row_count == 3 and app.screen.query_one(AgentsView).row_count == 3
        assert "team research" in screen_text(app)
        await pilot.press("t")
        await wait_until(pilot, lambda: "drafter" in _lanes(app))
        assert app.main.team == "writing" and plan.row_count == 2
        await pilot.press("t")
        await wait_until(pilot, lambda: "editor" in _lanes(app))
        assert app.main.team is None and plan.row_count == 3


async def test_enter_on_a_team_in_the_agents_expands_it_and_esc_comes_out(tmp_path: Path) -> None:
    """Enter on a team's row (▸) in the agents shows the team's own lanes, plan and
    agents; Enter on a team inside it goes a level deeper; esc comes out a level at a
    time; Enter on an agent that is no team shows its details."""
    from toolkit import MockAgent, Orchestrator, Plan, Task
    from toolkit.team import TeamAgent
    from tui.screens.details import DetailsScreen

    sources = TeamAgent(
        "sources", Orchestrator([MockAgent("web")]), Plan(tasks=[Task(id="w", agent="web")])
    )
    research = TeamAgent(
        "research",
        Orchestrator([sources, MockAgent("writer")]),
        Plan(tasks=[Task(id="s", agent="sources"), Task(id="x", agent="writer", depends_on=["s"])]),
    )
    orch = Orchestrator([research, MockAgent("editor")], seed=1)
    plan = Plan(
        tasks=[Task(id="r", agent="research"), Task(id="e", agent="editor", depends_on=["r"])]
    )
    trace = tmp_path / "t.jsonl"
    assert (await orch.run("go", plan, trace=trace)).status == "succeeded"
    app = SwitchboardApp(open_trace(trace))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: app.main.player.at_end and "succeeded" in screen_text(app))
        agents = app.screen.query_one(AgentsView)
        assert "research ▸" in screen_text(app) and "editor ▸" not in screen_text(app)
        agents.focus()
        agents.move_cursor(row=0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.team == "research")
        await wait_until(pilot, lambda: "writer" in _lanes(app))
        assert app.screen.query_one(PlanView).row_count == 2
        assert "team research (esc: out" in screen_text(app)
        agents.move_cursor(
            row=list(app.main._shown(app.main.player.state()).agents).index("sources")
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main.team == "research/sources")
        await wait_until(pilot, lambda: "web" in _lanes(app))
        assert app.screen.query_one(PlanView).row_count == 1
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.main.team == "research" and "writer" in _lanes(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.main.team is None and "editor" in _lanes(app))
        assert app.screen.query_one(PlanView).row_count == 2
        agents.move_cursor(row=list(app.main.player.state().agents).index("editor"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailsScreen))
        assert app.main.team is None
