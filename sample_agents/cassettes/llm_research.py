"""A research → write → edit team of LLM agents, planned and synthesized by a model.

The workshop replays it from ``llm-research.json`` with no key and no network::

    from sample_agents.cassettes.llm_research import build, CASSETTE
    from toolkit.llm import Cassette
    orch, request = build(cassette=Cassette(CASSETTE))
    result = orch.run_sync(request)

The cassette was recorded against a scripted local OpenAI-compatible server (the test
suite's fake server, ``python -m tests.llm.record_sample``), not against OpenAI: the
texts are plausible, hand-written replies, and the token counts are the fake server's
word counts. The model name and prices are gpt-4o-mini's so the cost columns show
realistic figures. With ``OPENAI_API_KEY`` set and no cassette, the same team runs
against the real model.

The run shows: the planner's first plan rejected (it names an agent that does not
exist) and corrected, a 429 rate limit retried, streamed tokens, and per-agent
tokens and cost. ``llm-research.yaml`` is the same team as a workflow file.
"""

from __future__ import annotations

from pathlib import Path

from toolkit import Orchestrator
from toolkit.llm import Cassette, LLMAgent, LLMPlanner, LLMSynthesizer

__all__ = ["CASSETTE", "MODEL", "REQUEST", "WORKFLOW", "build"]

HERE = Path(__file__).parent
CASSETTE = HERE / "llm-research.json"
WORKFLOW = HERE / "llm-research.yaml"
MODEL = "gpt-4o-mini"
REQUEST = "Write a short briefing for engineers on why teams put a message queue between services."
SEED = 7

AGENTS = (
    (
        "researcher",
        "Finds the key facts on a topic and lists them as notes",
        ("research", "facts"),
        "You are a careful researcher. Answer with short bullet-point notes of facts, no prose.",
    ),
    (
        "writer",
        "Writes clear prose from notes",
        ("write", "draft"),
        "You are a technical writer. Write plain, concrete prose for engineers.",
    ),
    (
        "editor",
        "Edits text for clarity and concision",
        ("edit", "polish"),
        "You are an editor. Tighten the text, keep its facts, return only the edited text.",
    ),
)


def build(
    cassette: Cassette | None = None, *, base_url: str | None = None, llm_synthesizer: bool = True
) -> tuple[Orchestrator, str]:
    """The team, its LLM planner and (optionally) its LLM synthesizer, and the request.

    Args:
        cassette: Record to or replay from this cassette (None: call the model).
        base_url: The endpoint (default ``OPENAI_BASE_URL``, else OpenAI).
        llm_synthesizer: Let a model write the final answer (else: the editor's text).
    """
    common = {"base_url": base_url, "cassette": cassette}
    agents = [
        LLMAgent(
            name,
            model=MODEL,
            description=description,
            skills=skills,
            system=system,
            temperature=0.3,
            **common,
        )  # type: ignore[arg-type]
        for name, description, skills, system in AGENTS
    ]
    orch = Orchestrator(
        agents,
        planner=LLMPlanner(MODEL, **common),  # type: ignore[arg-type]
        synthesizer=LLMSynthesizer(MODEL, **common) if llm_synthesizer else None,  # type: ignore[arg-type]
        seed=SEED,
    )
    return orch, REQUEST
