"""``LLMSynthesizer``: a model writes the run's final answer from the tasks' results.

It plugs in where ``default_synthesizer`` joins outputs: the model gets the request
and each task's result (in plan order) and answers the request. Its call is traced as
an ``llm_call`` with purpose ``synthesizer`` (and streamed as ``llm_delta`` events of
the participant ``synthesizer``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from toolkit.llm.cassette import Cassette, as_cassette
from toolkit.llm.client import ClientOptions, ModelClient, Reporter
from toolkit.plan import Plan

if TYPE_CHECKING:
    from toolkit.session import AgentSession

__all__ = ["SYNTHESIZER_SYSTEM", "LLMSynthesizer"]

SYNTHESIZER_SYSTEM = (
    "You write the final answer to the user's request from the results of a team of agents. "
    "Answer the request directly and completely, using the results given; do not mention the agents."
)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


class LLMSynthesizer:
    """Makes the answer with a model (the orchestrator's ``synthesizer=``).

    Args:
        model: The model the server serves.
        system: Its instructions (default ``SYNTHESIZER_SYSTEM``).
        temperature, max_tokens, stream, cassette: as for ``LLMAgent``.
        **options: ``ClientOptions`` (``base_url``, ``api_key_env``, ``timeout_s``,
            ``max_retries``, ``backoff_s``, …), as for ``LLMAgent``.
    """

    name = "llm-synthesizer"

    def __init__(
        self,
        model: str,
        *,
        system: str = SYNTHESIZER_SYSTEM,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = True,
        cassette: Cassette | str | Path | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        self.model = model
        self.system = system
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stream = stream
        self.client = ModelClient(model, cassette=as_cassette(cassette), **options)

    def messages(
        self, request: str, plan: Plan, results: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The messages: instructions, then the request and every task's result in plan order."""
        parts = []
        for task in plan.tasks:
            head = f"## {task.id} ({task.agent}{': ' + task.goal if task.goal else ''})"
            body = (
                _as_text(results[task.id])
                if task.id in results
                else "(no result: the task failed or was skipped)"
            )
            parts.append(f"{head}\n{body}")
        user = f"Request:\n{request}\n\nResults:\n\n" + "\n\n".join(parts)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    async def __call__(
        self, request: str, plan: Plan, results: Mapping[str, Any], session: AgentSession | None
    ) -> Any:
        """The final answer (None when the plan says ``synthesize: none``)."""
        if plan.synthesize == "none":
            return None
        reporter = Reporter(session, "synthesizer", "synthesizer")
        body = self.client.body(
            self.messages(request, plan, results),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=self.stream,
        )
        exchange = await self.client.complete(body, reporter)
        return exchange.text
