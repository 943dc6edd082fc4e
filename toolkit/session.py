"""An agent's link to the run it is working in, reached as ``directive.session``.

Through it an agent talks to other agents (traced on the bus), writes log lines, and
reports tool calls, LLM calls and streamed tokens as trace events. Agents that need
none of this never touch it.

The executor makes the session current for the length of one agent call (a context
variable, so it follows the call into the tasks and threads it starts); the
directive carries no reference to it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from toolkit.events import Envelope, LLMCall, LLMDelta, Log, ToolCall

if TYPE_CHECKING:
    from toolkit.bus import Bus
    from toolkit.tracing import Tracer

__all__ = ["AgentSession", "current_session"]

_current: ContextVar[AgentSession | None] = ContextVar("switchboard_session", default=None)


def current_session() -> AgentSession | None:
    """The session of the agent call running here, or None outside a run."""
    return _current.get()


class AgentSession:
    """What an agent may do within its run, on behalf of ``agent`` for ``task_id``.

    Args:
        tracer: The run's tracer.
        bus: The run's message bus.
        agent: Who acts through this session.
        task_id: The task being worked on, if any.
        span_id: The span of the call (an attempt's span, or the run's span for the
            planner and the synthesizer); the session's events sit under it.
        parent_span_id: That span's parent (None for the run's span).
        directive_id: The message id of the traced directive this call answers, if
            any (a remote agent sends it on the wire, so both ends name the same message).
    """

    __slots__ = ("agent", "bus", "directive_id", "parent_span_id", "span_id", "task_id", "tracer")

    def __init__(
        self,
        tracer: Tracer,
        bus: Bus,
        agent: str,
        task_id: str | None,
        span_id: str,
        parent_span_id: str | None = None,
        directive_id: str | None = None,
    ) -> None:
        self.tracer = tracer
        self.bus = bus
        self.agent = agent
        self.task_id = task_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.directive_id = directive_id

    async def send(self, recipient: str, payload: Any, *, priority: int = 0) -> Envelope:
        """Send a message to another participant (an ``a2a`` message)."""
        return await self.bus.send(
            self.agent,
            recipient,
            payload,
            task_id=self.task_id,
            priority=priority,
            span_id=self.span_id,
        )

    async def broadcast(self, payload: Any) -> Envelope:
        """Send a message to every other participant."""
        return await self.bus.broadcast(
            self.agent, payload, task_id=self.task_id, span_id=self.span_id
        )

    async def publish(self, topic: str, payload: Any) -> Envelope:
        """Publish a message on a topic."""
        return await self.bus.publish(
            self.agent, topic, payload, task_id=self.task_id, span_id=self.span_id
        )

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
            parent_span_id=self.parent_span_id,
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
            LLMDelta,
            span_id=self.span_id,
            parent_span_id=self.parent_span_id,
            agent=self.agent,
            task_id=self.task_id,
            text=text,
        )

    def llm_call(self, **fields: Any) -> None:
        """Record one model call (model, tokens, latency, cost, status)."""
        fields.setdefault("agent", self.agent)
        fields.setdefault("task_id", self.task_id)
        self.tracer.emit(
            LLMCall, span_id=self.tracer.ids.span_id(), parent_span_id=self.span_id, **fields
        )
