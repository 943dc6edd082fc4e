"""Teams as agents: a team's run is a child run in the parent's trace and store, kept
apart by the fold, and failures, time limits and cancellation cross the boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from toolkit import read_trace
from toolkit.agents import Agent, Directive, FailureSpec, MockAgent
from toolkit.metrics import agent_metrics, team_metrics
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.sources import open_store
from toolkit.state import fold
from toolkit.store import RunStore
from toolkit.team import TeamAgent
from toolkit.workflow import WorkflowError, load_workflow

SAMPLE = Path(__file__).parents[2] / "sample_agents" / "workflows" / "team-of-teams.yaml"


class Hang(Agent):
    """Never answers; says when it has been called."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.called = anyio.Event()

    async def run(self, directive: Directive) -> str:
        self.called.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


def _team(name: str = "research", *agents: Agent, plan: Plan | None = None) -> TeamAgent:
    agents = agents or (MockAgent("searcher", reply="found 3"), MockAgent("writer", reply="wrote"))
    plan = plan or Plan(
        name=name,
        tasks=[
            Task(id="search", agent=agents[0].name),
            *(
                [Task(id="write", agent=agents[1].name, depends_on=["search"])]
                if len(agents) > 1
                else []
            ),
        ],
    )
    return TeamAgent(name, Orchestrator(list(agents)), plan)


def _parent(team: Agent, **task: Any) -> tuple[Orchestrator, Plan]:
    orch = Orchestrator([team, MockAgent("editor", reply="edited")])
    plan = Plan(
        name="top",
        tasks=[
            Task(id="r", agent=team.name, **task),
            Task(id="e", agent="editor", depends_on=["r"]),
        ],
    )
    return orch, plan


def test_child_run_is_recorded_in_the_parent_trace_under_the_parent_task(tmp_path: Path) -> None:
    """The child has its own run id and seq from 0, names the parent run, task and team,
    shares the trace id, and its run span hangs under the parent attempt's span; the
    fold of the whole trace keeps the child's tasks and agents out of the parent's."""
    orch, plan = _parent(_team())
    result = orch.run_sync("topic", plan, trace=tmp_path / "t.jsonl")
    assert result.status == "succeeded", result.error
    parent_id = result.run_id
    child_events = [e for e in result.events if e.run_id != parent_id]
    assert child_events and [e.seq for e in child_events] == list(range(len(child_events)))
    started = child_events[0]
    assert started.kind == "run_started"
    assert started.meta["parent_run"] == parent_id
    assert started.meta["parent_task"] == "r" and started.meta["team"] == "research"
    assert {e.trace_id for e in result.events} == {result.events[0].trace_id}
    (attempt,) = [e for e in result.events if e.run_id == parent_id and e.kind == "task_started"][
        :1
    ]
    assert started.parent_span_id == attempt.span_id
    for state in (result.state, fold(read_trace(tmp_path / "t.jsonl").events)):
        assert list(state.tasks) == ["r", "e"]
        assert set(state.agents) == {"research", "editor"}
        (child,) = state.children.values()
        assert child.parent_run == parent_id and child.parent_task == "r"
        assert child.status == "succeeded" and list(child.tasks) == ["search", "write"]
        assert set(child.agents) == {"searcher", "writer"}
    assert result.results["r"] == "wrote"


def test_teams_nest_and_metrics_read_per_team_or_flattened() -> None:
    """A team inside a team folds two levels down; agent_metrics shows the team as one
    agent, flatten=True shows the agents inside by team path; team_metrics one row a team."""
    inner = _team("sources", MockAgent("web", reply="web hits"))
    outer = _team("research", inner, MockAgent("writer", reply="wrote"))
    orch, plan = _parent(outer)
    result = orch.run_sync("topic", plan)
    assert result.status == "succeeded", result.error
    paths = [p for p, _ in result.state.teams()]
    assert paths == ["research", "research/sources"]
    assert list(agent_metrics(result.events)["agent"]) == ["research", "editor"]
    assert sorted(agent_metrics(result.events, flatten=True)["agent"]) == [
        "editor",
        "research/sources/web",
        "research/writer",
    ]
    teams = team_metrics(result.events)
    assert list(teams["team"]) == paths and set(teams["status"]) == {"succeeded"}
    assert list(teams["parent_task"]) == ["r", "search"]


def test_a_failed_child_fails_the_parent_task_with_its_reason() -> None:
    """The team's run fails, so the parent's attempt fails naming the child's reason, and
    the parent's retry makes a second child run."""
    broken = MockAgent("searcher", failures=FailureSpec(exception=1.0))
    team = _team("research", broken)
    orch, plan = _parent(team, retries=1)
    result = orch.run_sync("topic", plan)
    assert result.status == "failed"
    task = result.state.tasks["r"]
    assert task.status == "failed" and task.attempts == 2
    assert "team research failed" in (task.error or "")
    assert "search" in (task.error or "")
    children = list(result.state.children.values())
    assert [c.status for c in children] == ["failed", "failed"]
    assert [r.meta["attempt"] for r in team.runs] == [1, 2]


def test_cancelling_the_parent_cancels_the_child() -> None:
    """Cancelling the parent while the team's agent works records the child cancelled
    and its running task cancelled, and the parent cancelled."""
    hang = Hang("searcher")
    orch, plan = _parent(_team("research", hang))

    async def main() -> Any:
        run = orch.prepare("topic", plan)
        async with anyio.create_task_group() as tg:
            holder: list[Any] = []

            async def go() -> None:
                holder.append(await run.execute())

            tg.start_soon(go)
            await hang.called.wait()
            run.cancel()
        return holder[0]

    result = anyio.run(main)
    assert result.status == "cancelled"
    (child,) = result.state.children.values()
    assert child.status == "cancelled"
    assert child.tasks["search"].status == "cancelled"
    assert result.events[-1].kind == "run_finished" and result.events[-1].run_id == result.run_id


def test_a_time_limit_on_the_parent_task_cancels_the_child() -> None:
    """The parent's time limit ends the team's call: the parent task times out, the
    child run is recorded cancelled."""
    orch, plan = _parent(_team("research", Hang("searcher")), timeout_s=0.2)
    result = orch.run_sync("topic", plan)
    task = result.state.tasks["r"]
    assert task.status == "failed" and "timed out" in (task.error or "")
    (child,) = result.state.children.values()
    assert child.status == "cancelled"


def test_workflow_file_team_runs_into_one_store_with_children_listed(tmp_path: Path) -> None:
    """`kind: team` runs the named workflow file (relative to the parent file) as a child
    run; the store holds both runs and `switchboard runs` lists each child under its
    parent."""
    store = tmp_path / "runs.db"
    result = load_workflow(SAMPLE).prepare(store=store)
    result = anyio.run(result.execute)
    assert result.status == "succeeded", result.error
    teams = {s.team: s for s in result.state.children.values()}
    assert set(teams) == {"research", "writing"}
    assert list(teams["research"].tasks) == ["web", "papers", "summary"]
    assert RunStore(store).latest() == result.run_id  # the newest run that is no team's
    stored = fold(open_store(store).preload())  # the views read the run with its teams
    assert stored == result.state
    parents = RunStore(store).parents()
    assert {p[0] for p in parents.values()} == {result.run_id}
    assert {p[2] for p in parents.values()} == {"research", "writing"}
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli", "runs", "--store", str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()[1:]
    assert lines[0].startswith(result.run_id)
    assert all(line.startswith("  └ run-") for line in lines[1:]) and len(lines) == 3
    assert "(team research of task research)" in proc.stdout


def test_a_team_that_includes_itself_is_refused_with_its_location(tmp_path: Path) -> None:
    """a.yaml → b.yaml → a.yaml is a cycle: loading reports where and the chain."""
    (tmp_path / "a.yaml").write_text(
        "name: a\nagents:\n  b: {kind: team, workflow: sub/b.yaml}\nsteps:\n  - {id: s, agent: b}\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(
        "name: b\nagents:\n  a: {kind: team, workflow: ../a.yaml}\nsteps:\n  - {id: s, agent: a}\n"
    )
    with pytest.raises(WorkflowError) as caught:
        load_workflow(tmp_path / "a.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith("agents.b.workflow:")
    assert "a team cannot include itself (a.yaml -> b.yaml -> a.yaml)" in problem


def test_cli_runs_the_sample_and_replays_and_flattens_it(tmp_path: Path) -> None:
    """`switchboard run` of the sample succeeds; `replay` names each team's lines; `metrics
    --flatten` lists the agents inside the teams."""

    def cli(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    trace = str(tmp_path / "t.jsonl")
    assert "succeeded" in cli("run", str(SAMPLE), "--trace", trace)
    replay = cli("replay", trace)
    assert "[research] orchestrator → web" in replay and "[writing] drafter →" in replay
    flat = cli("metrics", trace, "--flatten")
    assert "research/analyst" in flat and "writing/stylist" in flat
    assert "\nresearch " not in flat
