"""The sample workflows: every file validates and runs, and each matches its Python
builder in ``sample_agents.scenarios`` (same tasks, agents, dependencies and outcome).

A workflow whose agents live in other processes (``ACROSS_PROCESSES``) runs here with
its stand-ins (``--mock``); ``tests/e2e/test_across_processes.py`` runs it for real."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import anyio
import pytest

from sample_agents.scenarios import SCENARIOS
from toolkit import load_workflow

WORKFLOWS = Path(__file__).parents[2] / "sample_agents" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yaml"))
ACROSS_PROCESSES = {"across-processes"}
"""Workflows whose agents are served by other processes: alone, nobody answers them."""


@pytest.fixture(scope="module")
def file_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every sample workflow run as `switchboard run` does, all at once (real latencies),
    in a scratch folder since the ``-real`` workflows write their documents to ``output/``."""
    results: dict[str, Any] = {}

    async def run_all() -> None:
        async with anyio.create_task_group() as tg:
            for path in FILES:

                async def one(path: Path = path) -> None:
                    mock = path.stem in ACROSS_PROCESSES
                    results[path.stem] = await load_workflow(path).run(mock=mock)

                tg.start_soon(one)

    with contextlib.chdir(tmp_path_factory.mktemp("workflows")):
        anyio.run(run_all)
    return results


def _outcomes(result: Any) -> dict[str, list[tuple[str, str, int]]]:
    per_task: dict[str, list[tuple[str, str, int]]] = {}
    for e in result.events:
        if e.kind.startswith("task_"):
            per_task.setdefault(e.task_id, []).append((e.kind, e.agent, getattr(e, "attempt", 0)))
    return per_task


def test_there_is_a_builder_for_every_mock_workflow() -> None:
    """Each mock workflow file has a Python builder of the same name (the planner demo,
    the ``-real`` variants with tool agents and the workflows across processes have none)."""
    mock_files = {p.stem for p in FILES if not p.stem.endswith("-real")} - {
        "planner-demo",
        *ACROSS_PROCESSES,
    }
    assert mock_files == set(SCENARIOS)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_sample_workflow_validates_and_succeeds(
    path: Path, file_runs: dict[str, Any]
) -> None:
    """The file loads without problems and its run succeeds with every task done."""
    result = file_runs[path.stem]
    assert result.status == "succeeded", result.error
    assert result.name == load_workflow(path).name == path.stem
    assert {t.status for t in result.state.tasks.values()} == {"done"}
    assert result.events[-1].kind == "run_finished"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_workflow_file_matches_its_python_builder(name: str, file_runs: dict[str, Any]) -> None:
    """Same plan (ids, agents, dependencies, synthesis), same agents, same seed, and the same
    per-task outcomes (retries and fallbacks included) and answer."""
    workflow = load_workflow(WORKFLOWS / f"{name}.yaml")
    orch, plan, request = SCENARIOS[name](speed=0.01)
    file_plan = workflow.plan()
    assert file_plan is not None
    shape = [(t.id, t.agent, t.all_dependencies(), t.retries, t.fallback) for t in plan.tasks]
    assert [
        (t.id, t.agent, t.all_dependencies(), t.retries, t.fallback) for t in file_plan.tasks
    ] == shape
    assert file_plan.synthesize == plan.synthesize
    assert [(t.review and t.review.model_dump()) for t in file_plan.tasks] == [
        (t.review and t.review.model_dump()) for t in plan.tasks
    ]
    assert workflow.input == request and workflow.seed == orch.seed
    builder_run = orch.run_sync(request, plan)
    file_run = file_runs[name]
    assert builder_run.events[0].agents == file_run.events[0].agents
    assert builder_run.status == file_run.status
    assert _outcomes(builder_run) == _outcomes(file_run)
    assert builder_run.output == file_run.output


def test_planner_demo_plans_in_the_order_the_request_asks(file_runs: dict[str, Any]) -> None:
    """The rule-based planner turns 'research, write a summary and edit' into that pipeline."""
    result = file_runs["planner-demo"]
    (created,) = [e for e in result.events if e.kind == "plan_created"]
    assert created.planner == "rule-based"
    assert [t["agent"] for t in created.plan["tasks"]] == ["researcher", "writer", "editor"]
