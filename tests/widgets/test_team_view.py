"""A team (``toolkit.team``) in the notebook dashboard: one lane and one plan task that
expand into the team's own lanes, plan and agents when the ``team`` trait (what a click
on the lane sets) names it, without a browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.recorder import read_trace
from toolkit.state import fold
from toolkit.team import TeamAgent
from toolkit.widgets import PlanView, RunView

TEAMS = Path(__file__).parents[2] / "sample_agents" / "traces" / "teams.jsonl"
"""A team of teams: research (a sources team of web and papers, and an analyst), then an editor."""


def _lanes(view: RunView) -> set[str]:
    """Everyone the arrows shown go between."""
    return {n for a in [*view.arrows_head, *view.arrows_tail] for n in (a["from"], a["to"])}


def test_the_team_trait_shows_the_teams_own_lanes_plan_and_agents() -> None:
    """A team's lane is marked to expand; naming it in ``team`` swaps the lanes, arrows,
    plan and agents for its run's (a level deeper for its own team), while the header
    stays the run's; "" shows the run again."""
    events = read_trace(TEAMS).events
    state = fold(events)
    view = RunView(events)
    run = view.snapshot["run"]
    assert view.snapshot["expand"] == {"research": "research"}
    assert view.snapshot["team"] is None
    assert [t["id"] for t in view.snapshot["tasks"]] == ["research", "edit"]
    assert _lanes(view) == {"user", "orchestrator", "research", "editor"}

    view.team = "research"
    research = dict(state.teams())["research"]
    snap = view.snapshot
    assert snap["run"] == run  # the header is the whole run's
    assert snap["team"] == {
        "path": "research",
        "run_id": research.run_id,
        "parent_task": "research",
        "status": "succeeded",
        "error": None,
    }
    assert [t["id"] for t in snap["tasks"]] == ["search", "summary"]
    assert [m["agent"] for m in snap["metrics"]] == ["sources", "analyst"]
    assert snap["participants"] == research.participants
    assert snap["expand"] == {"sources": "research/sources"}
    assert [t["team"] for t in snap["teams"]] == ["research/sources"]
    assert _lanes(view) == {"user", "orchestrator", "sources", "analyst"}
    assert view.totals["messages"] == len(research.messages) == len(view.arrows_head)

    view.team = "research/sources"
    assert [t["id"] for t in view.snapshot["tasks"]] == ["web", "papers"]
    assert _lanes(view) == {"user", "orchestrator", "web", "papers"}
    assert view.snapshot["expand"] == {}

    view.team = ""
    assert view.snapshot["team"] is None
    assert [t["id"] for t in view.snapshot["tasks"]] == ["research", "edit"]
    assert _lanes(view) == {"user", "orchestrator", "research", "editor"}
    assert view.totals["messages"] == len(state.messages)


def test_a_team_not_started_at_the_cursor_shows_the_run_until_it_starts() -> None:
    """Stepped back to before the team's run started, the view shows the run (``team``
    None, no lane to expand); stepping on past the team's run_started shows the team."""
    events = read_trace(TEAMS).events
    first_child = next(i for i, e in enumerate(events) if e.run_id != events[0].run_id)
    view = RunView(events, team="research")
    assert view.snapshot["team"]["path"] == "research"
    view.seek(first_child)
    assert view.snapshot["team"] is None and view.snapshot["expand"] == {}
    assert [t["id"] for t in view.snapshot["tasks"]] == ["research", "edit"]
    view.step()
    assert view.snapshot["team"]["path"] == "research"
    assert view.snapshot["tasks"] == [] and view.totals["messages"] == 0  # nothing planned yet
    planned = next(i for i, e in enumerate(events) if i > first_child and e.kind == "plan_created")
    view.seek(planned + 1)
    assert [t["id"] for t in view.snapshot["tasks"]] == ["search", "summary"]


def test_a_live_run_watched_with_its_team_expanded() -> None:
    """A view fed live with its team expanded from the start ends on the team's whole
    run, the same as a view of the recorded events set to that team afterwards."""
    writer = MockAgent("writer", reply="draft")
    team = TeamAgent(
        "desk",
        Orchestrator([MockAgent("searcher", reply="hits"), writer]),
        Plan(
            tasks=[Task(id="s", agent="searcher"), Task(id="w", agent="writer", depends_on=["s"])]
        ),
    )
    orch = Orchestrator([team, MockAgent("editor")], seed=1)
    plan = Plan(tasks=[Task(id="d", agent="desk"), Task(id="e", agent="editor", depends_on=["d"])])
    live = PlanView(team="desk")
    result = orch.run_sync("go", plan, sinks=[live])
    assert result.status == "succeeded"
    after = PlanView(result.events)
    after.team = "desk"
    for view in (live, after):
        assert [t["id"] for t in view.snapshot["tasks"]] == ["s", "w"]
        assert {t["status"] for t in view.snapshot["tasks"]} == {"done"}
        assert view.snapshot["team"]["status"] == "succeeded"
    assert [a["seq"] for a in live.arrows_head + live.arrows_tail] == [
        a["seq"] for a in after.arrows_head + after.arrows_tail
    ]


def test_the_static_export_holds_the_run_and_each_team_as_a_click_shows_them() -> None:
    """``export_data`` keeps a view for "" and each team path, each the snapshot and
    arrows the live view pushes when ``team`` names it."""
    events = read_trace(TEAMS).events
    data = RunView(events).export_data()
    views: dict[str, Any] = data["team_views"]
    assert list(views) == ["", "research", "research/sources"]
    assert data["team"] == ""
    for path, exported in views.items():
        view = RunView(events, team=path)
        assert exported["snapshot"] == view.snapshot
        assert exported["arrows_head"] == [*view.arrows_head, *view.arrows_tail]
        assert exported["totals"] == view.totals


def test_a_teams_rows_name_their_run_and_select_their_own_event() -> None:
    """A team's run numbers its events from 0 too: its arrows and log rows carry its run
    id (and the log its team path), and selecting one shows that event, not the run's
    event of the same seq; the static export keys its details the same way."""
    events = read_trace(TEAMS).events
    top = events[0].run_id
    research = dict(fold(events).teams())["research"].run_id
    view = RunView(events, team="research")
    arrow = view.arrows_head[1]
    assert arrow["run"] == research
    assert any(e.run_id == top and e.seq == arrow["seq"] for e in events)  # the same seq
    detail = view.select(arrow["seq"], arrow["run"])
    assert json.loads(detail)["run_id"] == research
    assert json.loads(view.select(arrow["seq"]))["run_id"] == top
    log = {(r.get("run"), r["who"]) for r in [*view.log_head, *view.log_tail]}
    assert (research, "[research] orchestrator") in log and (None, "orchestrator") in log
    details = RunView(events).export_data()["details"]
    assert json.loads(details[f"{research}:{arrow['seq']}"])["run_id"] == research
    assert json.loads(details[str(arrow["seq"])])["run_id"] == top
