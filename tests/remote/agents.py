"""Agents the worker tests serve: one that uses every part of its session, one that stalls.

Built by ``tests/remote/workers.yaml`` (``kind: tool``) inside real worker processes.
"""

from __future__ import annotations

import anyio

from toolkit.agents import Agent, Directive, Reply

SECRET_IN_OUTPUT = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
"""A key-shaped string the chatty agent logs: the trace must hold it masked."""


class Chatty(Agent):
    """Logs, calls a tool, streams three tokens, reports a model call, answers with usage."""

    kind = "tool"

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = "uses its whole session"

    async def run(self, directive: Directive) -> Reply:
        session = directive.session
        session.log(f"working on {directive.task_id} with key {SECRET_IN_OUTPUT}")
        session.tool_call("lookup", {"q": directive.prompt}, {"hits": 2}, duration_s=0.01)
        for token in ("he", "llo", "!"):
            session.llm_delta(token)
        session.llm_call(model="tiny-model", prompt_tokens=7, completion_tokens=3, latency_s=0.02)
        return Reply(
            output=f"{self.name} did: {directive.prompt}",
            tokens_in=7,
            tokens_out=3,
            cost_usd=0.002,
            model="tiny-model",
        )


class Stall(Agent):
    """Logs that it started, then works until cancelled (``stalled`` counts calls under way)."""

    kind = "tool"

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = "never finishes"

    async def run(self, directive: Directive) -> str:
        directive.session.log(f"{self.name} started {directive.task_id}")
        await anyio.sleep_forever()
        raise AssertionError("unreachable")
