"""The LLM agent, planner and synthesizer configure their client through one set of options."""

from __future__ import annotations

import inspect
import typing

import pytest

from toolkit.llm import LLMAgent, LLMPlanner, LLMSynthesizer
from toolkit.llm.client import ClientOptions, ModelClient

OPTIONS = {
    "base_url": "http://127.0.0.1:9/v1",
    "api_key_env": "MY_LLM_KEY",
    "timeout_s": 7.0,
    "max_retries": 5,
    "backoff_s": 0.25,
    "max_backoff_s": 3.0,
    "prices": {"in": 1.0, "out": 2.0},
    "stream_usage": False,
    "redact_secrets": False,
}


def test_client_options_are_exactly_the_clients_keyword_options() -> None:
    """ClientOptions names every keyword option of ModelClient (but the model and the cassette,
    which each caller resolves), so a new client option cannot be forgotten by one of them."""
    params = inspect.signature(ModelClient).parameters
    keywords = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} - {"cassette"}
    assert set(typing.get_type_hints(ClientOptions)) == keywords == set(OPTIONS)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LLMAgent("a", model="m", **OPTIONS),
        lambda: LLMPlanner("m", **OPTIONS),
        lambda: LLMSynthesizer("m", **OPTIONS),
    ],
    ids=["agent", "planner", "synthesizer"],
)
def test_agent_planner_and_synthesizer_hand_every_option_to_their_client(make) -> None:
    """Each option given to the agent, the planner or the synthesizer reaches its client unchanged
    (stream_usage once reached only the agent's)."""
    client = make().client
    assert {name: getattr(client, name) for name in OPTIONS} == OPTIONS
