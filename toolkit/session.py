"""An agent's link to the run it is working in, reached as ``directive.session``.

Through it an agent talks to other agents (traced on the bus), writes log lines, and
reports tool calls, LLM calls and streamed tokens as trace events. Agents that need
none of this never touch it.
"""

from __future__ import annotations

from typing import Any

from toolkit.bus import MessageBus
from toolkit.events import Envelope, LLMCall, LLMDelta, Log, ToolCall
from toolkit.tracing import Tracer

__all__ = ["AgentSession"]


class AgentSession:
    """What an agent may do within its run, on behalf of ``agent`` for ``task_id``."""

    __slots__ = ("agent", "bus", "span_id", "task_id", "tracer")

    def __init__(
        self, tracer: Tracer, bus: MessageBus, agent: str, task_id: str | None, span_id: str
    ) -> None:
        self.tracer = tracer
        self.bus = bus
        self.agent = agent
        self.task_id = task_id
        self.span_id = span_id

    async def send(self, recipient: str, payload: Any, *, priority: int = 0) -> Envelope:
        """Send a message to another participant (an ``a2a`` message)."""
        return await self.bus.send(
            self.agent, recipient, payload, task_id=self.task_id, priority=priority
        )

    async def broadcast(self, payload: Any) -> Envelope:
        """Send a message to every other participant."""
        return await self.bus.broadcast(self.agent, payload, task_id=self.task_id)

    async def publish(self, topic: str, payload: Any) -> Envelope:
        """Publish a message on a topic."""
        return await self.bus.publish(self.agent, topic, payload, task_id=self.task_id)

    def inbox(self) -> list[Envelope]:
        """Take the messages waiting for this agent."""
        return self.bus.take(self.agent)

    async def receive(self, timeout_s: float | None = None) -> Envelope:
        """Wait for the next message to this agent."""
        return await self.bus.receive(self.agent, timeout_s)

    def log(self, message: str, level: str = "info") -> None:
        self.tracer.emit(
            Log,
            span_id=self.span_id,
            level=level,
            message=message,
            agent=self.agent,
            task_id=self.task_id,
        )

    def tool_call(
        self,
        tool: str,
        arguments: dict[str, Any],
        result: Any,
        *,
        ok: bool = True,
        duration_s: float = 0.0,
    ) -> None:
        """Record one tool call the agent made."""
        self.tracer.emit(
            ToolCall,
            span_id=self.tracer.ids.span_id(),
            parent_span_id=self.span_id,
            agent=self.agent,
            tool=tool,
            task_id=self.task_id,
            arguments=arguments,
            result=result,
            ok=ok,
            duration_s=duration_s,
        )

    def llm_delta(self, text: str) -> None:
        """Record a chunk of streamed model output."""
        self.tracer.emit(
            LLMDelta, span_id=self.span_id, agent=self.agent, task_id=self.task_id, text=text
        )

    def llm_call(self, **fields: Any) -> None:
        """Record one model call (model, tokens, latency, cost, status)."""
        fields.setdefault("agent", self.agent)
        fields.setdefault("task_id", self.task_id)
        self.tracer.emit(
            LLMCall, span_id=self.tracer.ids.span_id(), parent_span_id=self.span_id, **fields
        )
