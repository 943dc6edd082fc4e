"""Agents that talk to each other over the message bus (the first seed's A2A messages).

``ask_reviewer`` is the editor of ``bus/bus-team.yaml``: it sends the draft to the
``reviewer`` agent as an agent-to-agent message and waits for the answer. With
``--bus redis://...`` the reviewer can live in another process (``switchboard
bus-worker sample_agents/bus/bus-team.yaml reviewer --bus redis://...``), on another machine.
"""

from __future__ import annotations

import anyio

from toolkit.agents import AgentError, Directive

__all__ = ["ask_reviewer"]

ANSWER_WITHIN_S = 30.0
"""How long the editor waits for the reviewer's answer."""


async def ask_reviewer(directive: Directive) -> str:
    """Send the draft to the reviewer over the bus and return it with the review."""
    session = directive.session
    draft = "\n".join(str(v) for v in directive.context.values()) or directive.prompt
    try:
        question = await session.send("reviewer", draft)
    except KeyError as exc:  # no process hosts a reviewer on this bus
        raise AgentError(
            f"the reviewer is not on the bus ({exc.args[0]}): is `switchboard bus-worker "
            "... reviewer --bus redis://...` running?"
        ) from None
    try:
        with anyio.fail_after(ANSWER_WITHIN_S):
            while True:
                answer = await session.receive()
                if answer.parent_id == question.message_id:
                    break
    except TimeoutError:
        raise AgentError(
            f"no answer from the reviewer within {ANSWER_WITHIN_S:g} s "
            "(is `switchboard bus-worker ... reviewer --bus redis://...` running?)"
        ) from None
    if answer.kind == "error":
        raise AgentError(f"the reviewer failed: {answer.payload}")
    return f"{draft}\nreview: {answer.payload}"
