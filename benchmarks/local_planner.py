"""How often the local model's first plan is valid, with and without the JSON schema.

Runs the LLM planner (one attempt, no fallback) on a few requests against the cached
llama-server with SmolLM2-135M (``make local-model`` builds it), once with no
``response_format`` and once with the plan's JSON schema, and prints, per mode, how many
plans were valid and the kinds of problem found. Figures, not a test: a small model's
plans vary with the build and the prompt.

    .venv/bin/python benchmarks/local_planner.py
"""

from __future__ import annotations

import re
from collections import Counter

import anyio

from toolkit import MockAgent
from toolkit.llm import LLMPlanner, PlanningFailed
from toolkit.llm.local import MODEL_NAME, LocalModelServer

REQUESTS = (
    "Research why teams put a message queue between services, write a short briefing, then edit it.",
    "Find the facts about electric bikes and write a paragraph for commuters.",
    "Write a release note for version 2 and have it edited.",
    "Research the history of the bicycle and write a summary.",
    "Draft a blog post on code review, then polish it.",
    "List the key facts about solar panels, write an article, and edit the article.",
)

AGENTS = [
    MockAgent("researcher", "Finds the key facts on a topic", ["research", "facts"]),
    MockAgent("writer", "Writes clear prose from notes", ["write", "draft"]),
    MockAgent("editor", "Edits text for clarity", ["edit", "polish"]),
]


def kind_of(problem: str) -> str:
    """A problem line without its particulars (names, positions)."""
    return re.sub(r"'[^']*'|\d+|\(known:[^)]*\)", "…", problem)[:70]


async def measure(base_url: str, json_mode: str) -> tuple[int, Counter[str]]:
    valid, problems = 0, Counter[str]()
    for request in REQUESTS:
        planner = LLMPlanner(
            MODEL_NAME, base_url=base_url, json_mode=json_mode, max_attempts=1, max_tokens=384
        )  # type: ignore[arg-type]
        try:
            await planner.plan(request, AGENTS)
            valid += 1
        except PlanningFailed as exc:
            for _, errors in exc.attempts:
                problems.update(kind_of(e) for e in errors)
    return valid, problems


def main() -> None:
    with LocalModelServer(threads=2) as server:
        for mode in ("off", "schema"):
            valid, problems = anyio.run(measure, server.base_url, mode)
            print(f"json_mode={mode}: {valid} of {len(REQUESTS)} first plans valid")
            for problem, n in problems.most_common(6):
                print(f"  {n} x {problem}")


if __name__ == "__main__":
    main()
