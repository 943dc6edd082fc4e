"""The real (no-model) scenarios, run by the orchestrator: outputs, loops and traced tool calls."""

from __future__ import annotations

import json
from pathlib import Path

from sample_agents.tools import (
    Aggregator,
    ChunkSummarizer,
    CodeReviewer,
    CodeRunner,
    DataAnalyst,
    DocsWriter,
    Editor,
    FeatureDeveloper,
    Researcher,
    Writer,
    chunk_prompts,
    real_agents,
)
from toolkit import Orchestrator, Plan, ReviewSpec, Task, load_workflow, read_trace
from toolkit.patterns import scatter_gather


def _tools(result) -> list[tuple[str, str, bool]]:
    return [(e.agent, e.tool, e.ok) for e in result.events if e.kind == "tool_call"]


def test_research_write_edit_publish(tmp_path: Path) -> None:
    """researcher -> writer -> editor -> docs-writer runs for real and writes a cited report file."""
    orch = Orchestrator([Researcher(), Writer(), Editor(), DocsWriter(str(tmp_path))], seed=1)
    plan = Plan(
        name="research-report-real",
        tasks=[
            Task(id="research", agent="researcher", goal="find cited passages", prompt="{{input}}"),
            Task(
                id="write",
                agent="writer",
                goal="write the report",
                prompt="Write a report.",
                depends_on=["research"],
            ),
            Task(
                id="edit",
                agent="editor",
                goal="edit the report",
                prompt="Edit the report.",
                depends_on=["write"],
            ),
            Task(
                id="publish",
                agent="docs-writer",
                goal="save the report",
                prompt="file: research-report.md",
                depends_on=["edit"],
            ),
        ],
    )
    result = orch.run_sync(
        "How do retries and timeouts keep a run from hanging?", plan, trace=tmp_path / "t.jsonl"
    )
    assert result.status == "succeeded", result.error
    text = (tmp_path / "research-report.md").read_text()
    assert (
        "*Reading time:" in text and "## Sources" in text and "docs/retries-and-timeouts.md" in text
    )
    assert result.output["files"][0]["bytes"] == len(text.encode())
    tools = _tools(result)
    assert ("researcher", "bm25.search", True) in tools and (
        "editor",
        "markdown.edit",
        True,
    ) in tools
    assert read_trace(tmp_path / "t.jsonl").problems == []


def test_feedback_to_docs_and_blog_post(tmp_path: Path) -> None:
    """analyst -> docs-writer writes the docs page and the blog post from the real CSV."""
    orch = Orchestrator([DataAnalyst(), DocsWriter(str(tmp_path))], seed=1)
    plan = Plan(
        name="feedback-docs-real",
        tasks=[
            Task(id="analyze", agent="analyst", goal="analyse the feedback", prompt="{{input}}"),
            Task(
                id="docs",
                agent="docs-writer",
                goal="write the docs page and blog post",
                prompt="Write the docs page and a blog post draft.",
                depends_on=["analyze"],
            ),
        ],
    )
    result = orch.run_sync("What are customers asking for?", plan)
    assert result.status == "succeeded", result.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blog-post.md", "feedback-report.md"]
    assert ("analyst", "pandas.read_csv", True) in _tools(result)


def test_feature_review_loop_iterates_then_approves_and_tests_pass() -> None:
    """developer/reviewer loop: two rounds of changes requested, approval in round 3, then the tests pass."""
    orch = Orchestrator([FeatureDeveloper(), CodeReviewer(), CodeRunner(time_limit_s=30)], seed=1)
    plan = Plan(
        name="feature-review-real",
        tasks=[
            Task(
                id="implement",
                agent="developer",
                goal="implement the durations feature",
                prompt="{{input}}",
                review=ReviewSpec(reviewer="reviewer", max_rounds=4),
            ),
            Task(
                id="test",
                agent="code-runner",
                goal="run the tests",
                prompt="Run the tests.",
                depends_on=["implement"],
            ),
        ],
    )
    result = orch.run_sync("Implement sample_agents/data/feature_spec.md", plan)
    assert result.status == "succeeded", result.error
    verdicts = [e for e in result.events if e.kind == "review_verdict"]
    assert [v.approved for v in verdicts] == [False, False, True]
    assert "[risky-call]" in verdicts[0].feedback
    assert result.state.tasks["implement"].round == 3
    tested = result.results["test"]
    assert tested["passed"] and tested["tests"]["passed"] == 7


def test_scatter_gather_over_feedback_chunks() -> None:
    """Four map tasks count row ranges in parallel; the reducer's totals equal the whole-file analysis."""
    orch = Orchestrator([ChunkSummarizer(), Aggregator(), DataAnalyst()], seed=1)
    plan = scatter_gather(
        chunk_prompts(200, 50), "chunk-summarizer", "aggregator", name="scatter-gather-real"
    )
    result = orch.run_sync("Count the themes in the feedback", plan)
    assert result.status == "succeeded", result.error
    whole = orch.run_sync("whole", Plan(tasks=[Task(id="a", agent="analyst")])).output
    assert result.output["themes"] == whole["themes"]
    assert sum(1 for a, tool, _ in _tools(result) if tool == "count_chunk") == 4


def test_real_agents_have_unique_names_and_cards(tmp_path: Path) -> None:
    """real_agents() gives one of each tool agent, kind 'tool', with unique names an orchestrator accepts."""
    agents = real_agents(str(tmp_path))
    orch = Orchestrator(agents)
    assert len(orch.agents) == 10
    assert all(a.card()["kind"] == "tool" and a.description and a.skills for a in agents)
    json.dumps([a.card() for a in agents])


def test_workflow_file_builds_tool_agents_from_factories(tmp_path: Path) -> None:
    """A workflow file with kind 'tool' agents (factory + JSON options) runs the real feedback scenario."""
    out = tmp_path / "out"
    path = tmp_path / "wf.yaml"
    path.write_text(f"""
name: feedback-docs-real
input: "What are customers asking for?"
agents:
  analyst:
    kind: tool
    factory: "sample_agents.tools.analyst:DataAnalyst"
    options: {{top: 3}}
  docs-writer:
    kind: tool
    factory: "sample_agents.tools.docs_writer:DocsWriter"
    options: {{output_dir: "{out}", documents: [blog-post]}}
steps:
  - {{id: analyze, agent: analyst, goal: analyse the feedback}}
  - {{id: docs, agent: docs-writer, goal: write a blog post, prompt: "Write a blog post.", depends_on: [analyze]}}
""")
    import anyio

    result = anyio.run(load_workflow(path).run)
    assert result.status == "succeeded", result.error
    assert [f["name"] for f in result.output["files"]] == ["blog-post.md"]
    assert len(result.results["analyze"]["top_requests"]) == 3
