"""What a model call costs: a price table per model, overridable per agent.

Each LLM call's cost goes into its ``llm_call`` event and the agent's reply, so the
per-agent metrics show spend. Prices are USD per million tokens, input and output.
A model missing from the table (a local Llama, Qwen, Mistral …) costs 0: the call
is still traced with its token counts, only its cost is unknown and shown as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["PRICES", "Price", "cost_usd", "price_for"]


class Price(NamedTuple):
    """USD per one million tokens."""

    input: float
    output: float


# List prices of OpenAI's standard tier (openai.com/api/pricing), as of 2025-06.
# They change: check before relying on them, or pass ``prices=`` to the agent.
PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-3.5-turbo": Price(0.50, 1.50),
}
"""Known models; edit it (``PRICES["my-model"] = Price(1.0, 2.0)``) to add your own."""

PriceOverride = Price | Mapping[str, float]


def _as_price(value: PriceOverride) -> Price:
    if isinstance(value, Price):
        return value
    unknown = set(value) - {"in", "out", "input", "output"}
    if unknown:
        raise ValueError(
            f"prices takes the keys 'in' and 'out' (USD per 1M tokens), not {sorted(unknown)}"
        )
    return Price(
        float(value.get("in", value.get("input", 0.0))),
        float(value.get("out", value.get("output", 0.0))),
    )


def price_for(model: str, override: PriceOverride | None = None) -> Price | None:
    """The price of ``model``: the override, else the table's entry, else None (unknown).

    A dated model name (``gpt-4o-mini-2024-07-18``) takes the price of the longest
    table entry it starts with.
    """
    if override is not None:
        return _as_price(override)
    if model in PRICES:
        return PRICES[model]
    matches = [name for name in PRICES if model.startswith(name + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, override: PriceOverride | None = None
) -> float:
    """Cost of one call in USD; 0.0 for a model with no known price."""
    price = price_for(model, override)
    if price is None:
        return 0.0
    return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000
