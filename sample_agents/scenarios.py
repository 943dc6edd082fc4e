"""The classic scenarios in Python, with mock agents: the same runs as the workflow files.

Each builder returns ``(orchestrator, plan, request)``; run it with
``await orch.run(request, plan)``. ``tests/core/test_scenarios.py`` checks that each
builder gives the same plan and outcome as its workflow file in ``workflows/``.
"""

from __future__ import annotations

from typing import Any

from toolkit.agents import FailureSpec, LatencySpec, MockAgent
from toolkit.orchestrator import Orchestrator
from toolkit.patterns import conflict, parallel, pipeline, scatter_gather
from toolkit.plan import Plan, ReviewSpec, Task

__all__ = [
    "SCENARIOS",
    "conflict_vote",
    "feature_review",
    "feedback_docs",
    "research_report",
    "scatter_gather_chunks",
    "team_of_teams",
    "two_workers",
]

Scenario = tuple[Orchestrator, Plan, str]


def research_report(seed: int = 7, speed: float = 1.0) -> Scenario:
    """Research → write → edit, a pipeline of three specialists."""
    agents = [
        MockAgent(
            "researcher",
            "Finds facts and sources on a topic",
            ["research", "sources", "facts"],
            latency=LatencySpec(dist="uniform", mean=0.3 * speed, spread=0.1 * speed),
            price_per_1k_tokens=0.002,
            reply='Findings on "{prompt}":\n1. Orchestrators split a request into tasks and route each to a specialist [1].\n'
            "2. Shared message buses carry results between agents [2].\n3. Review loops catch errors before results are merged [3].\n",
        ),
        MockAgent(
            "writer",
            "Writes clear prose from notes",
            ["write", "draft", "report"],
            latency=LatencySpec(dist="uniform", mean=0.5 * speed, spread=0.1 * speed),
            price_per_1k_tokens=0.004,
            reply="# How multi-agent systems coordinate\nAn orchestrator turns a request into a plan of tasks and hands each to the agent best\n"
            "suited to it. Results travel on a message bus, and a reviewer checks work before it is\ncombined into the answer.\n",
        ),
        MockAgent(
            "editor",
            "Edits drafts for clarity and correctness",
            ["edit", "proofread"],
            latency=0.2 * speed,
            price_per_1k_tokens=0.002,
            reply="# How multi-agent systems coordinate (edited)\nAn orchestrator turns each request into a plan and routes every task to the specialist\n"
            "best suited to it. Results travel on a message bus; a reviewer checks the work before\nthe orchestrator combines it into one answer.\n",
        ),
    ]
    plan = pipeline(
        {"id": "research", "agent": "researcher", "goal": "gather facts", "prompt": "{{input}}"},
        {
            "id": "write",
            "agent": "writer",
            "goal": "draft the report",
            "prompt": "Write a short report from these notes:\n{{research}}",
        },
        {
            "id": "edit",
            "agent": "editor",
            "goal": "edit the draft",
            "prompt": "Edit for clarity:\n{{write}}",
        },
        name="research-report",
    )
    return Orchestrator(agents, seed=seed), plan, "How do multi-agent systems coordinate work?"


def feedback_docs(seed: int = 11, speed: float = 1.0) -> Scenario:
    """Analyse feedback, then update the docs and draft a blog post in parallel."""
    agents = [
        MockAgent(
            "analyst",
            "Analyses customer feedback data",
            ["analyse", "data", "feedback"],
            latency=0.4 * speed,
            price_per_1k_tokens=0.003,
            reply='Top themes: export (38 mentions, avg rating 2.9), dark mode (21, 3.4), speed (17, 2.1).\nTop request: "please add CSV export".\n',
        ),
        MockAgent(
            "docs",
            "Updates product documentation",
            ["docs", "documentation"],
            latency=LatencySpec(dist="uniform", mean=0.5 * speed, spread=0.2 * speed),
            price_per_1k_tokens=0.003,
            reply='docs/export.md updated: added a "Exporting your data" section and an FAQ entry on CSV export.\n',
        ),
        MockAgent(
            "blogger",
            "Drafts blog posts",
            ["blog", "post", "marketing"],
            latency=LatencySpec(dist="uniform", mean=0.6 * speed, spread=0.2 * speed),
            price_per_1k_tokens=0.005,
            reply='Draft: "You asked, we listened: CSV export is coming" - 420 words, three customer quotes.\n',
        ),
    ]
    plan = Plan(
        name="feedback-docs",
        synthesize="all",
        tasks=[
            Task(id="analyse", agent="analyst", goal="find the top themes", prompt="{{input}}"),
            Task(
                id="update-docs",
                agent="docs",
                goal="update the docs",
                prompt="Update the docs for:\n{{analyse}}",
            ),
            Task(
                id="blog-post",
                agent="blogger",
                goal="draft a blog post",
                prompt="Draft a blog post about:\n{{analyse}}",
            ),
        ],
    )
    return Orchestrator(agents, seed=seed), plan, "What are customers asking for this month?"


def feature_review(seed: int = 3, speed: float = 1.0) -> Scenario:
    """A developer/reviewer loop; the failing developer is retried, then replaced by a backup.

    The seed decides how the run goes, so ``switchboard demo --seed N`` shows another
    run: how many attempts the developer fails (2 with the default seed 3: retried,
    then replaced by the backup; 1: the retry succeeds; 0: no failure), whether the
    reviewer asks for changes before approving, and the tester's count.
    """
    fails = (seed + 2) % 3
    rounds = 2 if seed >= 3 else 1
    reviews = [
        "Changes requested: add type hints and a docstring to export().",
        "APPROVED: clear, typed and documented.",
    ][2 - rounds :]
    agents = [
        MockAgent(
            "developer",
            "Writes code for a feature",
            ["code", "implement", "feature"],
            latency=0.4 * speed,
            price_per_1k_tokens=0.006,
            failures=FailureSpec(
                fail_attempts=list(range(1, fails + 1)),
                message="developer crashed: context window exceeded",
            ),
        ),
        MockAgent(
            "backup-dev",
            "Backup developer",
            ["code"],
            latency=LatencySpec(dist="uniform", mean=0.5 * speed, spread=0.1 * speed),
            price_per_1k_tokens=0.004,
            reply=[
                'def export(rows, as_json=False):\n    if as_json:\n        return json.dumps(rows)\n    return "\\n".join(",".join(map(str, r)) for r in rows)\n',
                'def export(rows: list[list[object]], as_json: bool = False) -> str:\n    """Export rows as CSV, or as JSON with --json."""\n'
                '    if as_json:\n        return json.dumps(rows)\n    return "\\n".join(",".join(map(str, r)) for r in rows)\n',
            ],
        ),
        MockAgent(
            "reviewer",
            "Reviews code and approves it or asks for changes",
            ["review"],
            latency=0.3 * speed,
            price_per_1k_tokens=0.006,
            reply=reviews,
        ),
        MockAgent(
            "tester",
            "Runs the test suite",
            ["test", "qa"],
            latency=0.3 * speed,
            reply=f"{10 + (seed + 6) % 7} passed, 0 failed",
        ),
    ]
    plan = Plan(
        name="feature-review",
        synthesize="all",
        tasks=[
            Task(
                id="implement",
                agent="developer",
                goal="implement the feature",
                prompt="{{input}}",
                retries=1,
                fallback="backup-dev",
                review=ReviewSpec(reviewer="reviewer", max_rounds=3),
            ),
            Task(
                id="test",
                agent="tester",
                goal="run the tests",
                prompt="Run the tests for:\n{{implement}}",
            ),
        ],
    )
    return Orchestrator(agents, seed=seed), plan, "Add a --json flag to the export command"


def scatter_gather_chunks(seed: int = 5, speed: float = 1.0) -> Scenario:
    """One mapper over four data chunks in parallel, then a reducer."""
    agents = [
        MockAgent(
            "counter",
            "Counts themes in a chunk of rows",
            ["count", "map"],
            latency=LatencySpec(dist="lognormal", mean=0.2 * speed, spread=0.5),
            failures=FailureSpec(exception=0.2),
            price_per_1k_tokens=0.001,
            reply="{prompt}: export 9, speed 4, dark mode 5",
        ),
        MockAgent(
            "merger",
            "Merges partial counts",
            ["merge", "reduce"],
            latency=0.1 * speed,
            reply="All chunks: export 36, dark mode 20, speed 16",
        ),
    ]
    plan = scatter_gather(
        ["rows 1-50", "rows 51-100", "rows 101-150", "rows 151-200"],
        "counter",
        "merger",
        goal="count themes in a chunk",
        reduce_goal="merge the counts",
        name="scatter-gather",
        retries=1,
    )
    return Orchestrator(agents, seed=seed), plan, "Count the themes in this month's feedback"


def two_workers(parallel_: bool = False, seed: int = 1, speed: float = 1.0) -> Scenario:
    """Two workers, one after the other or at the same time."""
    if parallel_:
        agents = [
            MockAgent(
                "alice", "First worker", latency=0.3 * speed, reply="alice: release notes written"
            ),
            MockAgent("bob", "Second worker", latency=0.3 * speed, reply="bob: changelog updated"),
        ]
        plan = parallel(
            ("alice", "write the release notes"),
            ("bob", "update the changelog"),
            name="two-workers-parallel",
        )
        plan.tasks[0].id, plan.tasks[1].id = "notes", "changelog"
        return Orchestrator(agents, seed=seed), plan, "prepare the release"
    agents = [
        MockAgent("alice", "First worker", latency=0.3 * speed, reply="alice: listed 14 changes"),
        MockAgent(
            "bob",
            "Second worker",
            latency=0.3 * speed,
            reply="bob: grouped the changes into 3 sections",
        ),
    ]
    plan = pipeline(
        {"id": "first", "agent": "alice", "goal": "list the changes"},
        {"id": "second", "agent": "bob", "goal": "group the changes", "prompt": "{{first}}"},
        name="two-workers-sequential",
    )
    return Orchestrator(agents, seed=seed), plan, "prepare the release notes"


def team_of_teams(seed: int = 4, speed: float = 1.0) -> Scenario:
    """Two teams (each an orchestrator with its own plan, ``TeamAgent``) and an editor."""
    from toolkit.team import TeamAgent

    def step(id_: str, agent: str, goal: str, **more: Any) -> Task:
        return Task(id=id_, agent=agent, goal=goal, prompt=f"{goal}\n\n{{{{input}}}}", **more)

    research = Orchestrator(
        [
            MockAgent(
                "web", "Web searcher", latency=0.2 * speed, reply="web: 6 articles on search"
            ),
            MockAgent("papers", "Paper searcher", latency=0.3 * speed, reply="papers: 3 studies"),
            MockAgent("analyst", "Analyst", latency=0.1 * speed, reply="analyst: 5 findings"),
        ],
        seed=seed,
    )
    research_plan = Plan(
        name="research",
        tasks=[
            step("web", "web", "search the web"),
            step("papers", "papers", "search papers"),
            step("summary", "analyst", "summarise", depends_on=["web", "papers"]),
        ],
    )
    writing = Orchestrator(
        [
            MockAgent("drafter", "Drafter", latency=0.2 * speed, reply="drafter: a first draft"),
            MockAgent(
                "stylist", "Stylist", latency=0.1 * speed, reply="stylist: the draft, polished"
            ),
        ],
        seed=seed,
    )
    writing_plan = pipeline(
        {"id": "draft", "agent": "drafter", "goal": "draft the brief"},
        {"id": "polish", "agent": "stylist", "goal": "polish the draft", "prompt": "{{draft}}"},
        name="writing",
    )
    agents = [
        TeamAgent("research", research, research_plan, description="Research team"),
        TeamAgent("writing", writing, writing_plan, description="Writing team"),
        MockAgent("editor", "Editor", latency=0.1 * speed, reply="editor: final brief, 2 pages"),
    ]
    plan = pipeline(
        {"id": "research", "agent": "research", "goal": "research the feature"},
        {"id": "write", "agent": "writing", "goal": "write the brief", "prompt": "{{research}}"},
        {"id": "edit", "agent": "editor", "goal": "edit the brief", "prompt": "{{write}}"},
        name="team-of-teams",
    )
    return Orchestrator(agents, seed=seed), plan, "a launch brief for the new search feature"


def conflict_vote(seed: int = 5, speed: float = 1.0) -> Scenario:
    """Three agents disagree on a design question; the majority decides (ties: the architect)."""
    from toolkit.resolution import Resolver

    agents = [
        MockAgent(
            "architect",
            "thinks about the long run",
            reply="ANSWER: rewrite it\nCONFIDENCE: 0.7\nRATIONALE: the grammar outgrew it",
            latency=0.05 * speed,
        ),
        MockAgent(
            "maintainer",
            "keeps things running",
            reply="ANSWER: patch it\nCONFIDENCE: 0.9\nRATIONALE: a rewrite risks the release",
            latency=0.04 * speed,
        ),
        MockAgent(
            "tester",
            "knows where the bugs are",
            reply="ANSWER: Rewrite it\nCONFIDENCE: 0.6\nRATIONALE: most bugs are in the parser",
            latency=0.06 * speed,
        ),
    ]
    resolver = Resolver("resolver", strategy="vote", tie_breaker="architect")
    plan = conflict(
        ["architect", "maintainer", "tester"],
        goal="decide whether to rewrite the parser",
        name="conflict-vote",
    )
    return Orchestrator([*agents, resolver], seed=seed), plan, "Should we rewrite the parser?"


SCENARIOS = {
    "conflict-vote": conflict_vote,
    "research-report": research_report,
    "feedback-docs": feedback_docs,
    "feature-review": feature_review,
    "scatter-gather": scatter_gather_chunks,
    "two-workers-sequential": lambda seed=1, speed=1.0: two_workers(False, seed, speed),
    "two-workers-parallel": lambda seed=1, speed=1.0: two_workers(True, seed, speed),
    "team-of-teams": team_of_teams,
}
"""Each scenario's builder, by the name of its workflow file."""
