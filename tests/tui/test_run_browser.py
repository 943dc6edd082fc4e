"""The run browser: a store's runs listed to pick from, each opened in the main screen."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from toolkit import FailureSpec, MockAgent, Orchestrator, pipeline
from toolkit.sources import RecordedSource, SourceError, open_catalog
from toolkit.store import RunStore
from tui.app import SwitchboardApp
from tui.cli import source_from_args
from tui.screens.main import MainScreen
from tui.screens.runs import RunsScreen, RunsTable

from .conftest import screen_text, wait_until

pytestmark = pytest.mark.anyio

SIZE = (120, 30)


def make_store(path: Path, names: list[str]) -> list[str]:
    """One run per name (a name starting with "fail" fails), oldest first; their ids."""
    ids = []
    for name in names:
        failing = name.startswith("fail")
        agent = MockAgent("a", failures=FailureSpec(exception=1.0) if failing else None)
        store = RunStore(path)
        result = Orchestrator([agent], seed=1).run_sync("go", pipeline("a"), name=name, store=store)
        store.disconnect()
        ids.append(result.run_id)
    return ids


def test_catalog_lists_runs_newest_first_with_cost(tmp_path: Path) -> None:
    """The catalog has each run's name, status, duration and cost; newest first."""
    path = tmp_path / "runs.db"
    ids = make_store(path, ["first", "fail-second", "third"])
    entries = open_catalog(path).runs()
    assert [e.run_id for e in entries] == ids[::-1]
    assert [(e.name, e.status) for e in entries] == [
        ("third", "succeeded"),
        ("fail-second", "failed"),
        ("first", "succeeded"),
    ]
    assert all(e.cost_usd == 0.0 and e.duration_s is not None for e in entries)
    with pytest.raises(SourceError, match="no such run store"):
        open_catalog(tmp_path / "missing.db")


async def test_pick_a_run_open_it_and_come_back(tmp_path: Path) -> None:
    """Enter opens the run under the cursor; b goes back to the list; another can be opened."""
    path = tmp_path / "runs.db"
    make_store(path, ["first", "fail-second", "third"])
    app = SwitchboardApp(open_catalog(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        text = screen_text(app)
        assert "3 run(s)" in text and "fail-second" in text and "✖ failed" in text
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.player.state().name == "third"  # the newest, under the cursor
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        state = app.screen.player.state()
        assert state.name == "fail-second" and state.status == "failed"


async def test_hostile_run_names_are_listed_literally(tmp_path: Path) -> None:
    """A run's name from the store cannot carry markup or escapes into the list."""
    path = tmp_path / "runs.db"
    make_store(path, ["[b]bold[/b]\x1b[31m", "plain"])
    app = SwitchboardApp(open_catalog(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.pause()
        rows = app.screen.query_one(RunsTable).row_count
        assert rows == 2
        assert "[b]bold[/b]" in screen_text(app)
        assert "\x1b[31m" not in app.export_screenshot()


def _args(store: Path) -> argparse.Namespace:
    return argparse.Namespace(
        path=None,
        store=str(store),
        run_id=None,
        follow=False,
        input=None,
        seed=None,
        mock=False,
        simulate=False,
        cassette=None,
    )


def test_cli_opens_a_lone_run_directly_and_browses_several(tmp_path: Path) -> None:
    """``tui --store`` with one run opens it; with several it lists them."""
    one = tmp_path / "one.db"
    make_store(one, ["only"])
    assert isinstance(source_from_args(_args(one)), RecordedSource)
    many = tmp_path / "many.db"
    make_store(many, ["a", "b"])
    assert len(source_from_args(_args(many)).runs()) == 2


async def test_compare_a_run_with_its_rerun(tmp_path: Path) -> None:
    """Space marks a run, d on another shows the two task by task: reused, changed, same."""
    from toolkit import Orchestrator, pipeline
    from tui.screens.compare import CompareScreen, CompareTable

    path = tmp_path / "runs.db"
    agents = [MockAgent("a", reply="{prompt}!"), MockAgent("b", reply="b saw {prompt}")]
    orch = Orchestrator(agents, seed=1)
    first = orch.run_sync("go", pipeline("a", "b"), name="first", store=path)
    orch.run_sync("go", pipeline("a", "b"), name="first", store=path)
    rerun = await orch.rerun(first.run_id, "2-b", store=path, edits={"2-b.prompt": "new words"})
    assert rerun.status == "succeeded"
    app = SwitchboardApp(open_catalog(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        table = app.screen.query_one(RunsTable)
        rows = [e.run_id for e in app.screen.entries]
        table.move_cursor(row=rows.index(first.run_id))
        await pilot.press("space")
        table.move_cursor(row=rows.index(rerun.run_id))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        changes = {r["task"]: r for r in app.screen.rows}
        assert changes["1-a"]["reused"] and not changes["1-a"]["output_changed"]
        assert changes["2-b"]["output_changed"] and not changes["2-b"]["reused"]
        assert app.screen.query_one(CompareTable).row_count == 2
        text = screen_text(app)
        assert "1 of 2 output(s) changed, 1 reused" in text and "≠ changed" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))


def make_team_store(path: Path, *, plain: bool = True) -> tuple[str, str, str]:
    """A plain run, then a run whose team ``research`` has a team ``sources`` (a child and
    a grandchild run); the ids of the team run, its child and its grandchild."""
    from toolkit import Plan, Task
    from toolkit.team import TeamAgent

    if plain:
        make_store(path, ["plain"])
    web = MockAgent("web", reply="hits")
    sources = TeamAgent("sources", Orchestrator([web]), Plan(tasks=[Task(id="w", agent="web")]))
    research = TeamAgent(
        "research",
        Orchestrator([sources, MockAgent("writer")]),
        Plan(tasks=[Task(id="s", agent="sources"), Task(id="x", agent="writer", depends_on=["s"])]),
    )
    orch = Orchestrator([research, MockAgent("editor")], seed=1)
    plan = Plan(
        tasks=[Task(id="r", agent="research"), Task(id="e", agent="editor", depends_on=["r"])]
    )
    store = RunStore(path)
    result = orch.run_sync("go", plan, name="brief", store=store)
    store.disconnect()
    assert result.status == "succeeded", result.error
    return result.run_id, research.runs[0].run_id, sources.runs[0].run_id


def top_of(path: Path) -> str:
    store = RunStore(path)
    try:
        return store.latest()
    finally:
        store.disconnect()


def test_catalog_nests_child_runs_under_their_parent(tmp_path: Path) -> None:
    """A team's run follows its parent, its team's run follows it, each a level deeper
    and naming its team and the parent's task; a lone run with its teams opens directly."""
    path = tmp_path / "runs.db"
    top, child, grandchild = make_team_store(path)
    entries = open_catalog(path).runs()
    assert [(e.run_id, e.depth) for e in entries[:3]] == [(top, 0), (child, 1), (grandchild, 2)]
    assert (entries[1].parent_run, entries[1].team, entries[1].parent_task) == (
        top,
        "research",
        "r",
    )
    assert (entries[2].parent_run, entries[2].team, entries[2].parent_task) == (
        child,
        "sources",
        "s",
    )
    assert entries[3].name == "plain" and entries[3].depth == 0 and len(entries) == 4
    assert len(source_from_args(_args(path)).runs()) == 4  # two runs of their own: browse
    alone = tmp_path / "alone.db"
    make_team_store(alone, plain=False)
    opened = source_from_args(_args(alone))  # one run of its own, with its teams: open it
    assert isinstance(opened, RecordedSource) and opened.label.endswith(top_of(alone))


async def test_browser_shows_child_runs_indented_and_opens_one(tmp_path: Path) -> None:
    """The browser draws each child run indented under its parent (└), with its team and
    task; Enter on the child opens the team's own run."""
    path = tmp_path / "runs.db"
    top, child, grandchild = make_team_store(path)
    app = SwitchboardApp(open_catalog(path))
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "4 run(s)" in text
        assert "└ " in text and "team research of task r" in text
        assert "team sources of task s" in text
        table = app.screen.query_one(RunsTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == [
            "brief",
            "└ run",
            "  └ run",
        ]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        state = app.screen.player.state()
        assert state.run_id == child and state.parent_run == top
        assert list(state.tasks) == ["s", "x"]
        assert [s.run_id for _, s in state.teams()] == [grandchild]


def test_cli_runs_lists_a_teams_team_two_levels_down(tmp_path: Path) -> None:
    """`switchboard runs` (a subprocess) indents the grandchild run under the child."""
    import subprocess
    import sys

    path = tmp_path / "runs.db"
    top, child, grandchild = make_team_store(path)
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli", "runs", "--store", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()[1:]
    assert lines[0].startswith(top)
    assert lines[1].startswith(f"  └ {child}") and "(team research of task r)" in lines[1]
    assert lines[2].startswith(f"    └ {grandchild}") and "(team sources of task s)" in lines[2]
    assert len(lines) == 4 and "plain" in lines[3]
