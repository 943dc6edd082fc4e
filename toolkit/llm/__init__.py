"""LLM agents, the LLM planner and synthesizer, and record/replay cassettes.

Everything here speaks the OpenAI-compatible chat completions API through the
``openai`` client, so it works with OpenAI and with local servers (Ollama, vLLM,
llama.cpp server, LM Studio) by ``base_url`` and ``model``. The client library loads
only when a call goes to the network, so replaying a cassette needs neither a key nor
a server. ``toolkit.llm.testing`` is a scripted OpenAI-compatible server on loopback,
a test double for code that uses these classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "LLMAgent": "toolkit.llm.agent",
    "LLMPlanner": "toolkit.llm.planner",
    "PlanningFailed": "toolkit.llm.planner",
    "check_plan": "toolkit.llm.planner",
    "LLMSynthesizer": "toolkit.llm.synthesizer",
    "Cassette": "toolkit.llm.cassette",
    "CassetteError": "toolkit.llm.cassette",
    "CassetteMiss": "toolkit.llm.cassette",
    "use_cassette": "toolkit.llm.cassette",
    "active_cassette": "toolkit.llm.cassette",
    "LLMConfigError": "toolkit.llm.client",
    "LLMError": "toolkit.llm.client",
    "ModelClient": "toolkit.llm.client",
    "resolve_endpoint": "toolkit.llm.client",
    "PRICES": "toolkit.llm.pricing",
    "Price": "toolkit.llm.pricing",
    "cost_usd": "toolkit.llm.pricing",
}

__all__ = [
    "PRICES",
    "Cassette",
    "CassetteError",
    "CassetteMiss",
    "LLMAgent",
    "LLMConfigError",
    "LLMError",
    "LLMPlanner",
    "LLMSynthesizer",
    "ModelClient",
    "PlanningFailed",
    "Price",
    "active_cassette",
    "check_plan",
    "cost_usd",
    "resolve_endpoint",
    "use_cassette",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from toolkit.llm.agent import LLMAgent
    from toolkit.llm.cassette import (
        Cassette,
        CassetteError,
        CassetteMiss,
        active_cassette,
        use_cassette,
    )
    from toolkit.llm.client import LLMConfigError, LLMError, ModelClient, resolve_endpoint
    from toolkit.llm.planner import LLMPlanner, PlanningFailed, check_plan
    from toolkit.llm.pricing import PRICES, Price, cost_usd
    from toolkit.llm.synthesizer import LLMSynthesizer
