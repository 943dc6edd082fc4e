"""A research → write → edit team of LLM agents, planned and synthesized by a model.

The workshop replays it from ``llm-research.json`` with no key and no network::

    from sample_agents.cassettes.llm_research import build, CASSETTE
    from toolkit.llm import Cassette
    orch, request = build(cassette=Cassette(CASSETTE))
    result = orch.run_sync(request)

The cassette was recorded from a real model: SmolLM2-135M-Instruct served by llama.cpp's
``llama-server`` on this machine (``python -m tests.llm.record_sample``; the cassette's
note and ``README.md`` say which build and when). A 135M model plans badly, so the run
shows the planner's repair loop for real: each refused plan is a ``plan_rejected``
event with the model's plan and its problems, and when the model never gets it right
the rule-based planner makes the plan (``fallback``). Every call is capped by
``max_tokens``; tokens are the server's usage; cost is 0 (a local model is free).

With ``switchboard local-model`` running and ``OPENAI_BASE_URL`` pointing at it, the
same team runs live; with ``base_url`` and ``MODEL`` changed it runs on any
OpenAI-compatible server. ``llm-research.yaml`` is the same team as a workflow file.
"""

from __future__ import annotations

from pathlib import Path

from toolkit import Orchestrator
from toolkit.llm import Cassette, LLMAgent, LLMPlanner, LLMSynthesizer
from toolkit.llm.local import MODEL_NAME
from toolkit.planning import RuleBasedPlanner

__all__ = [
    "AGENT_MAX_TOKENS",
    "CASSETTE",
    "MODEL",
    "PLANNER_MAX_TOKENS",
    "REQUEST",
    "SYNTHESIZER_MAX_TOKENS",
    "WORKFLOW",
    "build",
]

HERE = Path(__file__).parent
CASSETTE = HERE / "llm-research.json"
WORKFLOW = HERE / "llm-research.yaml"
MODEL = MODEL_NAME
PLANNER_MAX_TOKENS = 384
AGENT_MAX_TOKENS = 160
SYNTHESIZER_MAX_TOKENS = 200
REQUEST = "Research why teams put a message queue between services, write a short briefing for engineers, then edit it."
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
        base_url: The endpoint (default ``OPENAI_BASE_URL``, e.g. the one
            ``switchboard local-model`` prints).
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
            max_tokens=AGENT_MAX_TOKENS,
            **common,
        )  # type: ignore[arg-type]
        for name, description, skills, system in AGENTS
    ]
    orch = Orchestrator(
        agents,
        planner=LLMPlanner(
            MODEL,
            max_tokens=PLANNER_MAX_TOKENS,
            fallback=RuleBasedPlanner(),
            **common,  # type: ignore[arg-type]
        ),
        synthesizer=LLMSynthesizer(MODEL, max_tokens=SYNTHESIZER_MAX_TOKENS, **common)  # type: ignore[arg-type]
        if llm_synthesizer
        else None,
        seed=SEED,
    )
    return orch, REQUEST
