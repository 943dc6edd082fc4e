"""An echo worker for the agents-over-HTTP tutorial: it says back what it was asked.

``Echo`` replies ``"<name> echoes: <prompt>"``, so a pipeline of two echo workers
shows plainly that the first one's output became the second one's input. It logs the
directive it got and records the echo as a tool call, so the orchestrator's trace shows
the remote agent's own events; ``delay_s`` makes it slow enough to watch (or to kill
mid-task).
"""

from __future__ import annotations

import anyio

from sample_agents.tools.base import ToolAgent
from toolkit.agents import Directive

__all__ = ["Echo"]


class Echo(ToolAgent):
    """Replies with the directive's prompt, prefixed by its own name.

    Args:
        name: The agent's name.
        delay_s: Seconds to wait before answering (0: at once).
    """

    def __init__(self, name: str = "echo", delay_s: float = 0.0) -> None:
        self.name = name
        self.description = "Echoes the request back, prefixed by its name"
        self.skills = ("echo",)
        self.delay_s = float(delay_s)

    async def run(self, directive: Directive) -> str:
        prompt = directive.prompt or directive.goal
        self.log(directive, f"{self.name} got task {directive.task_id} ({len(prompt)} characters)")
        if self.delay_s:
            await anyio.sleep(self.delay_s)
        return await self.use_tool(
            directive, "echo", {"text": prompt}, lambda: f"{self.name} echoes: {prompt}"
        )
