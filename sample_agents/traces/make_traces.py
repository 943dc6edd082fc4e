"""Make the recorded traces the terminal app's snapshot tests replay.

Each trace is a run of a sample scenario with seeded mock agents at zero latency (so
the order of events is the same every time), with every wall-clock value rewritten:
event ``ts`` becomes a fixed start plus ``STEP_S`` per sequence number, and the
durations and send times derived from it (``sent_at``, ``usage.duration_s``, task
and run ``duration_s``) are recomputed from the rewritten times. Running this script
again gives byte-identical files.

    .venv/bin/python sample_agents/traces/make_traces.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from toolkit.agents import FunctionAgent, MockAgent
from toolkit.events import TraceEvent, event_adapter
from toolkit.ids import SeededIds
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.recorder import write_trace

HERE = Path(__file__).resolve().parent
START_TS = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: the first event of every trace."""
STEP_S = 0.25
"""Seconds between two consecutive events of a rewritten trace."""

HOSTILE_PAYLOADS: dict[str, str] = {
    "markup": "[bold red]not bold[/] [link=https://example.invalid]not a link[/link] [/]",
    "ansi": "\x1b[31mred?\x1b[0m \x1b]0;pwned title\x07 \x1b[2J cleared? \x9b31m",
    "controls": "bell\x07 backspace\x08 nul\x00 cr\rline feed\nvertical\x0b formfeed\x0c del\x7f",
    "bidi": "abc\u202edcba\u202c end",
    "long_line": "x" * 5000,
}
"""Payloads a view must show literally: Rich markup, terminal escapes, control characters."""


def deterministic(events: list[TraceEvent]) -> list[TraceEvent]:
    """The events with every time rewritten from their position in the trace (for a
    trace of one run, its sequence numbers; a team's child runs are interleaved)."""
    sent: dict[str, float] = {}
    started: dict[tuple[str, str], float] = {}
    begun: dict[str, float] = {}
    out: list[TraceEvent] = []
    for index, event in enumerate(events):
        data: dict[str, Any] = event.model_dump(mode="json")
        ts = START_TS + index * STEP_S
        data["ts"] = ts
        run = event.run_id
        begun.setdefault(run, ts)
        kind = data["kind"]
        if kind == "message_sent":
            env = data["envelope"]
            env["sent_at"] = ts
            if env.get("delivered_at") is not None:
                env["delivered_at"] = ts
            sent[env["message_id"]] = ts
            usage = env.get("usage")
            if usage is not None and "duration_s" in usage:
                usage["duration_s"] = round(ts - sent.get(env.get("parent_id") or "", ts), 6)
        elif kind == "task_started":
            started.setdefault((run, data["task_id"]), ts)
        elif kind in ("task_finished", "task_failed"):
            data["duration_s"] = (
                round(ts - started.get((run, data["task_id"]), ts), 6)
                if kind == "task_finished" or data.get("final")
                else 0.0
            )
        elif kind == "run_finished":
            data["duration_s"] = round(ts - begun[run], 6)
        elif kind == "llm_call":
            data["latency_s"] = 0.0
        elif kind == "tool_call":
            data["duration_s"] = 0.0
        out.append(event_adapter.validate_python(data))
    return out


def hostile_scenario() -> tuple[Orchestrator, Plan, str]:
    """A run whose agents answer with hostile payloads (markup, escapes, controls, long lines)."""
    agents: list[Any] = [
        MockAgent(name, f"answers with {name.replace('_', ' ')}", reply=payload)
        for name, payload in HOSTILE_PAYLOADS.items()
    ]

    def structured(text: str) -> dict[str, Any]:
        return {
            "nested": {"markup": HOSTILE_PAYLOADS["markup"], "escape": HOSTILE_PAYLOADS["ansi"]},
            "list": [1, 2, 3],
        }

    agents.append(
        FunctionAgent(structured, name="json_payload", description="answers with a JSON object")
    )
    tasks = [
        Task(
            id=f"say-{a.name}",
            agent=a.name,
            goal=f"say {a.name}",
            prompt="[bold]hello[/bold] \x1b[1m",
        )
        for a in agents
    ]
    plan = Plan(name="hostile [red]payloads[/]", tasks=tasks, synthesize="all")
    return (
        Orchestrator(agents, seed=1, concurrency=1),
        plan,
        "show me [blink]everything[/blink]\x1b[5m",
    )


def teams_scenario() -> tuple[Orchestrator, Plan, str]:
    """A team of teams (``toolkit.team``): research (a sources team and a writer), then
    an editor; one agent at a time, so the child runs' events interleave the same way."""
    from toolkit.team import TeamAgent

    def team(name: str, agents: list[Any], tasks: list[Task], seed: int) -> TeamAgent:
        orch = Orchestrator(agents, seed=seed, concurrency=1)
        orch.ids = lambda: SeededIds(seed)  # type: ignore[method-assign]
        return TeamAgent(name, orch, Plan(name=name, tasks=tasks))

    sources = team(
        "sources",
        [MockAgent("web", reply="web: 6 articles"), MockAgent("papers", reply="papers: 3 studies")],
        [Task(id="web", agent="web", goal="search the web"),
         Task(id="papers", agent="papers", goal="search papers")],
        2,
    )  # fmt: skip
    research = team(
        "research",
        [sources, MockAgent("analyst", reply="analyst: 5 findings")],
        [Task(id="search", agent="sources", goal="find sources"),
         Task(id="summary", agent="analyst", goal="summarise", depends_on=["search"])],
        3,
    )  # fmt: skip
    agents = [research, MockAgent("editor", reply="editor: final brief")]
    plan = Plan(
        name="team of teams",
        tasks=[
            Task(id="research", agent="research", goal="research the feature"),
            Task(id="edit", agent="editor", goal="edit the brief", depends_on=["research"]),
        ],
    )
    return Orchestrator(agents, seed=1, concurrency=1), plan, "a launch brief"


def _scenarios() -> dict[str, Callable[[], tuple[Orchestrator, Plan, str]]]:
    from sample_agents.scenarios import feature_review, research_report, scatter_gather_chunks

    return {
        "feature-review": lambda: feature_review(speed=0.0),
        "research-report": lambda: research_report(speed=0.0),
        "scatter-gather": lambda: scatter_gather_chunks(speed=0.0),
        "hostile": hostile_scenario,
        "teams": teams_scenario,
    }


def make(name: str, folder: Path = HERE) -> Path:
    """Run one scenario and write its deterministic trace to ``folder/<name>.jsonl``."""
    orchestrator, plan, request = _scenarios()[name]()
    orchestrator.ids = lambda: SeededIds(1)  # the same ids every time the trace is made
    result = anyio.run(orchestrator.prepare(request, plan).execute)
    return write_trace(folder / f"{name}.jsonl", deterministic(result.events))


def main(argv: list[str]) -> int:
    names = argv or list(_scenarios())
    for name in names:
        path = make(name)
        print(f"wrote {path.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
