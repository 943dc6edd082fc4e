"""Failures, retries, time limits and cancellation across a team's boundary, at more than
one level, and the metrics of the agents inside teams when a team ran more than once.

(``test_team.py`` has the one-level cases: a failed child fails the parent task with its
reason, cancelling the parent or its time limit cancels the child.)"""

from __future__ import annotations

from typing import Any

import anyio

from tests.core.test_team import Hang
from toolkit.agents import Agent, Directive, FailureSpec, MockAgent
from toolkit.metrics import agent_metrics, team_metrics
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.team import TeamAgent


class FirstCallFails(Agent):
    """Fails its first call, whatever the attempt number, and answers every later one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def run(self, directive: Directive) -> str:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("first call fails")
        return "hits"


def _nested(inner_agent: Agent, **inner_task: Any) -> tuple[Orchestrator, Plan]:
    """top → research (a team) → sources (a team) → ``inner_agent``; then an editor."""
    sources = TeamAgent(
        "sources",
        Orchestrator([inner_agent]),
        Plan(name="sources", tasks=[Task(id="find", agent=inner_agent.name, **inner_task)]),
    )
    research = TeamAgent(
        "research",
        Orchestrator([sources, MockAgent("writer", reply="wrote")]),
        Plan(
            name="research",
            tasks=[
                Task(id="search", agent="sources"),
                Task(id="write", agent="writer", depends_on=["search"]),
            ],
        ),
    )
    orch = Orchestrator([research, MockAgent("editor", reply="edited")], seed=1)
    plan = Plan(
        name="top",
        tasks=[
            Task(id="r", agent="research"),
            Task(id="e", agent="editor", depends_on=["r"]),
        ],
    )
    return orch, plan


def test_cancelling_the_parent_cancels_every_level_below() -> None:
    """Cancelled while an agent two teams down works: that agent's task, the sources
    run, the research team's running task and run, and the parent are all recorded
    cancelled; the editor never runs."""
    hang = Hang("web")
    orch, plan = _nested(hang)

    async def main() -> Any:
        run = orch.prepare("topic", plan)
        holder: list[Any] = []
        async with anyio.create_task_group() as tg:

            async def go() -> None:
                holder.append(await run.execute())

            tg.start_soon(go)
            await hang.called.wait()
            run.cancel()
        return holder[0]

    result = anyio.run(main)
    assert result.status == "cancelled"
    teams = dict(result.state.teams())
    research, sources = teams["research"], teams["research/sources"]
    assert sources.status == "cancelled" and sources.tasks["find"].status == "cancelled"
    assert research.status == "cancelled" and research.tasks["search"].status == "cancelled"
    assert research.tasks["write"].status != "done"
    assert result.state.tasks["e"].status != "done"
    assert result.state.agents["editor"].tasks == 0
    finished = [e for e in result.events if e.kind == "run_finished"]
    assert {e.run_id: e.status for e in finished} == {
        result.run_id: "cancelled",
        research.run_id: "cancelled",
        sources.run_id: "cancelled",
    }


def test_a_failure_two_teams_down_fails_each_task_above_with_the_reason_chained() -> None:
    """The web agent fails: the sources run fails, research's task fails naming the
    sources team, its failed task and why, and the parent's task reads down the same
    chain to the agent's own error."""
    orch, plan = _nested(MockAgent("web", failures=FailureSpec(exception=1.0)))
    result = orch.run_sync("topic", plan)
    assert result.status == "failed"
    teams = dict(result.state.teams())
    find = teams["research/sources"].tasks["find"]
    assert find.status == "failed" and find.error
    why = find.error.removeprefix("AgentError: ")  # the type of the wrapper says nothing
    inner = teams["research"].tasks["search"].error or ""
    assert inner == f"AgentError: team sources failed: 1 task(s) failed: find (find: {why})"
    outer = result.state.tasks["r"].error or ""
    assert outer.startswith("AgentError: team research failed: ")
    assert outer.endswith(f"(search: team sources failed: 1 task(s) failed: find (find: {why}))")
    assert result.state.tasks["e"].status == "skipped"


def test_retries_inside_a_team_stay_inside_it() -> None:
    """A flaky agent retried by the team's own plan: the team's run succeeds, so the
    parent's task succeeds at its first attempt with no retry and one child run; the
    retry is counted on the agent inside (flattened metrics) and on the team's row."""
    flaky = MockAgent("web", reply="hits", failures=FailureSpec(fail_attempts=[1]))
    orch, plan = _nested(flaky, retries=1)
    result = orch.run_sync("topic", plan)
    assert result.status == "succeeded", result.error
    top = result.state.tasks["r"]
    assert top.status == "done" and top.attempts == 1 and top.retries == 0
    assert len(result.state.children) == 1
    teams = dict(result.state.teams())
    assert teams["research/sources"].tasks["find"].attempts == 2
    per_agent = agent_metrics(result.events).set_index("agent")
    assert per_agent.loc["research", "retries"] == 0
    flat = agent_metrics(result.events, flatten=True).set_index("agent")
    assert flat.loc["research/sources/web", "retries"] == 1
    assert flat.loc["research/sources/web", "failed"] == 1
    assert flat.loc["research/sources/web", "succeeded"] == 1
    rows = team_metrics(result.events).set_index("team")
    assert rows.loc["research/sources", "retries"] == 1
    assert rows.loc["research", "retries"] == 0


def test_a_time_limit_inside_a_team_fails_the_parent_task_with_its_reason() -> None:
    """A task of the team with its own time limit times out: the team's run fails, and
    the parent's task fails naming the team and the timed-out task."""
    orch, plan = _nested(Hang("web"), timeout_s=0.2)
    result = orch.run_sync("topic", plan)
    assert result.status == "failed"
    teams = dict(result.state.teams())
    find = teams["research/sources"].tasks["find"]
    assert find.status == "failed" and "timed out" in (find.error or "")
    assert teams["research/sources"].status == "failed"
    reason = result.state.tasks["r"].error or ""
    assert reason.startswith("AgentError: team research failed")
    assert reason.endswith(f"(find: {find.error}))")


def test_a_failed_team_hands_its_task_to_the_parents_fallback() -> None:
    """The parent's fallback agent gets the task once the team failed (after the
    parent's retry, a second child run): the run succeeds with the fallback's answer."""
    orch, plan = _nested(MockAgent("web", failures=FailureSpec(exception=1.0)))
    orch = Orchestrator([*orch.agents.values(), MockAgent("backup", reply="from backup")], seed=1)
    plan.tasks[0] = plan.tasks[0].model_copy(update={"retries": 1, "fallback": "backup"})
    result = orch.run_sync("topic", plan)
    assert result.status == "succeeded", result.error
    task = result.state.tasks["r"]
    assert task.fallback_used and result.results["r"] == "from backup"
    assert [c.status for c in result.state.children.values()] == ["failed", "failed"]


def test_flattened_metrics_add_up_a_team_that_ran_more_than_once() -> None:
    """A team retried by its parent runs twice (two child runs, one path): flattened, each
    agent inside is one row whose counts are the sum of both runs; team_metrics keeps
    one row per run, each with the parent's attempt it served."""
    orch, plan = _nested(FirstCallFails("web"))
    plan.tasks[0] = plan.tasks[0].model_copy(update={"retries": 1})
    result = orch.run_sync("topic", plan)
    assert result.status == "succeeded", result.error
    assert result.state.tasks["r"].attempts == 2
    flat = agent_metrics(result.events, flatten=True)
    assert sorted(flat["agent"]) == ["editor", "research/sources/web", "research/writer"]
    web = flat.set_index("agent").loc["research/sources/web"]
    assert (web["tasks"], web["succeeded"], web["failed"]) == (2, 1, 1)
    writer = flat.set_index("agent").loc["research/writer"]
    assert (writer["tasks"], writer["succeeded"]) == (1, 1)
    rows = team_metrics(result.events)
    assert list(rows["team"]) == ["research", "research/sources", "research", "research/sources"]
    assert list(rows["status"]) == ["failed", "failed", "succeeded", "succeeded"]
    assert list(rows["attempt"]) == [1, 1, 2, 1]
