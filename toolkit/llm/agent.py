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
from typing import Any

from toolkit.agents import Agent, Directive, Reply
from toolkit.llm.cassette import Cassette, as_cassette
from toolkit.llm.client import ModelClient, Reporter
from toolkit.llm.pricing import PriceOverride, cost_usd

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
        base_url: The endpoint; default ``OPENAI_BASE_URL``, else OpenAI.
        api_key_env: Name of the environment variable holding the key (never the key).
            A server on localhost needs no key.
        max_tokens: Longest completion.
        stream: Stream the completion as ``llm_delta`` events.
        timeout_s: Limit for connecting and for each wait for data from the server.
        max_retries: Retries (with exponential backoff) after 429, 5xx, timeouts and
            lost connections.
        prices: Price override, ``{"in": USD per 1M tokens, "out": USD per 1M tokens}``;
            default: ``toolkit.llm.pricing.PRICES`` (unknown models cost 0).
        cassette: A ``Cassette`` to record to or replay from, or a path to replay;
            default: the one of an enclosing ``use_cassette`` block, if any.
        backoff_s: Delay before the first retry (doubles each retry).
        stream_usage: Ask for usage in streamed replies (``stream_options``); turn it
            off for an old server that rejects the option (tokens are then estimated).

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
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_tokens: int | None = None,
        stream: bool = True,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        prices: PriceOverride | None = None,
        cassette: Cassette | str | Path | None = None,
        backoff_s: float = 0.5,
        stream_usage: bool = True,
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
        self.client = ModelClient(
            model,
            base_url=base_url,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff_s=backoff_s,
            prices=prices,
            cassette=as_cassette(cassette),
            stream_usage=stream_usage,
        )

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
