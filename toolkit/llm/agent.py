"""``LLMAgent``: an agent answered by a model on any OpenAI-compatible endpoint.

OpenAI, Ollama, vLLM, llama.cpp's server and LM Studio all serve the chat completions
API, so one agent class covers them, chosen by ``base_url`` and ``model``. It streams
by default, so the views can show the agent "typing"; each call is an ``llm_call``
event and its tokens and cost go into the reply, and so into the per-agent metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

from toolkit.agents import Agent, Directive, Reply
from toolkit.llm.cassette import Cassette, as_cassette
from toolkit.llm.client import ClientOptions, ModelClient, Reporter
from toolkit.llm.pricing import cost_usd

__all__ = ["LLMAgent"]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


class LLMAgent(Agent):
    """An agent backed by a chat model.

    The directive's prompt is the user message; results of the task's dependencies
    that the prompt does not already quote are appended under ``## <task id>``.

    Args:
        name: The agent's name.
        model: The model the server serves (``gpt-4o-mini``, ``llama3.2``, …).
        description: What it does (planners read it).
        skills: Keywords routers and planners match against.
        system: The system prompt.
        temperature: Sampling temperature (server default when None).
        max_tokens: Longest completion.
        stream: Stream the completion as ``llm_delta`` events.
        cassette: A ``Cassette`` to record to or replay from, or a path to replay;
            default: the one of an enclosing ``use_cassette`` block, if any.
        **options: How to reach the model (``ClientOptions``, the same for the agent,
            the planner and the synthesizer; see ``ModelClient``): ``base_url``,
            ``api_key_env`` (the name of the variable holding the key, never the key; a
            server on localhost needs none), ``timeout_s``, ``max_retries``,
            ``backoff_s``, ``max_backoff_s``, ``prices`` (``{"in": USD per 1M tokens,
            "out": …}``; default ``toolkit.llm.pricing.PRICES``), ``stream_usage``,
            ``redact_secrets`` (on by default).

    The endpoint and key are resolved at each call, so an agent can be built (and a
    cassette replayed) without a key; ``check()`` resolves them up front.
    """

    kind = "llm"

    def __init__(
        self,
        name: str,
        *,
        model: str,
        description: str = "",
        skills: Sequence[str] = (),
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stream: bool = True,
        cassette: Cassette | str | Path | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        self.name = name
        self.description = description or f"LLM agent on {model}"
        self.skills = tuple(skills)
        self.model = model
        self.system = system
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stream = stream
        self._cassette_arg = cassette
        self.client = ModelClient(model, cassette=as_cassette(cassette), **options)

    def check(self) -> None:
        """Raise ``LLMConfigError`` now if no endpoint or key is configured."""
        self.client.endpoint()

    def card(self) -> dict[str, Any]:
        """Public description: kind, model and endpoint URL; never a key."""
        card = super().card()
        card["model"] = self.model
        url = self.client.public_url()
        if url:
            card["base_url"] = url
        return card

    def messages(self, directive: Directive) -> list[dict[str, Any]]:
        """The chat messages for a directive."""
        prompt = directive.prompt or directive.goal
        extra = []
        for task_id, value in directive.context.items():
            text = _as_text(value)
            if value is None or text in prompt:
                continue
            extra.append(f"## {task_id}\n{text}")
        if extra:
            prompt = prompt + "\n\nResults of earlier tasks:\n\n" + "\n\n".join(extra)
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": prompt})
        return messages

    async def run(self, directive: Directive) -> Reply:
        client = self.client
        reporter = Reporter(directive.session if directive.in_run else None, self.name, "agent")
        body = client.body(
            self.messages(directive),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=self.stream,
        )
        exchange = await client.complete(body, reporter)
        return Reply(
            output=exchange.text,
            tokens_in=exchange.prompt_tokens,
            tokens_out=exchange.completion_tokens,
            cost_usd=cost_usd(
                self.model, exchange.prompt_tokens, exchange.completion_tokens, client.prices
            ),
            model=self.model,
            meta={
                "attempts": exchange.attempts,
                **({"usage": "estimated"} if exchange.usage_estimated else {}),
            },
        )
