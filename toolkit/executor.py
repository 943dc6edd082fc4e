"""The executor boundary: "run this agent call and give me its reply or its failure".

``Executor`` is as small as an httpx transport: one method, ``call``, plus ``aclose``.
The run decides what to call and records everything; the executor only performs the
call, under the attempt's time limit. ``InProcessExecutor`` (the default) awaits the
agent in this process; a Temporal executor would run the same call as an activity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import anyio

from toolkit.agents import Agent, AgentUnavailable, Directive, Reply
from toolkit.policy import Failure
from toolkit.session import AgentSession, _current

__all__ = ["AgentCall", "Executor", "InProcessExecutor", "Outcome"]


@dataclass(slots=True)
class AgentCall:
    """One call of one agent: what the run asks an executor to do."""

    agent: str
    """The agent's name."""
    directive: Directive
    timeout_s: float | None
    """Time limit of the call; None for none."""
    session: AgentSession
    """The call's link to the run (current while the agent runs)."""


Outcome = tuple[Any, dict[str, Any]] | Failure
"""A call's outcome: ``(output, usage)`` (usage: tokens_in, tokens_out, cost_usd,
model), or the ``Failure`` (exception or timeout)."""


@runtime_checkable
class Executor(Protocol):
    """Performs agent calls.

    ``call`` returns the agent's output and usage, or a ``Failure`` when the agent
    raised or ran out of time; it lets cancellation through. ``aclose`` releases
    what the executor holds (connections, workers) once the run is over.
    """

    async def call(self, call: AgentCall) -> Outcome: ...

    async def aclose(self) -> None: ...


_NO_USAGE: dict[str, Any] = {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "model": None}


class InProcessExecutor:
    """Awaits agents in this process, on the run's event loop.

    Args:
        agents: The agents by name.
    """

    def __init__(self, agents: Mapping[str, Agent]) -> None:
        self.agents = agents

    async def call(self, call: AgentCall) -> Outcome:
        agent = self.agents[call.agent]
        token = _current.set(call.session)
        timeout = call.timeout_s
        try:
            if timeout is None:
                raw = await agent.run(call.directive)
            else:
                with anyio.fail_after(timeout):
                    raw = await agent.run(call.directive)
        except Exception as exc:
            if timeout is not None and isinstance(exc, TimeoutError):
                return Failure(f"timed out after {timeout:g}s", "timeout")
            kind = "unavailable" if isinstance(exc, AgentUnavailable) else "exception"
            return Failure(f"{type(exc).__name__}: {exc}", kind)
        finally:
            _current.reset(token)
        if type(raw) is not str and isinstance(raw, Reply):
            return raw.output, {
                "tokens_in": raw.tokens_in,
                "tokens_out": raw.tokens_out,
                "cost_usd": raw.cost_usd,
                "model": raw.model,
            }
        return raw, _NO_USAGE.copy()

    async def aclose(self) -> None:
        pass
