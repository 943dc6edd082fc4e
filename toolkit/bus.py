"""The in-process message bus: direct sends, broadcasts and topics between participants.

Every delivery is a traced ``message_sent`` event whose envelope names the sender and
the recipient, so the message flow of a run is recorded, never guessed. Each
participant has a mailbox; handlers may also subscribe to a participant, a topic or
everything. The bus lives for one run and is reached by agents through
``directive.session``.

The orchestrator is given a ``Bus`` factory (``MessageBus`` by default), so a bus that
crosses processes (Redis) replaces this one without touching agents.
"""

from __future__ import annotations

import inspect
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import anyio

from toolkit.events import Envelope, Log
from toolkit.tracing import Tracer

__all__ = ["Bus", "BusFactory", "Handler", "LocalDelivery", "MessageBus", "close_bus"]

Handler = Callable[[Envelope], Awaitable[None] | None]


@runtime_checkable
class Bus(Protocol):
    """Carries agent-to-agent messages for one run; every delivery is traced.

    ``span_id`` is the span of the sender's call: the message event sits under it.
    """

    participants: list[str]

    def subscribe(self, target: str, handler: Handler) -> Callable[[], None]: ...

    async def send(
        self,
        sender: str,
        recipient: str,
        payload: Any,
        *,
        kind: str = "a2a",
        task_id: str | None = None,
        priority: int = 0,
        parent_id: str | None = None,
        span_id: str | None = None,
    ) -> Envelope: ...

    async def broadcast(
        self,
        sender: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope: ...

    async def publish(
        self,
        sender: str,
        topic: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope: ...

    def pending(self, name: str) -> list[Envelope]: ...

    def take(self, name: str) -> list[Envelope]: ...

    async def receive(self, name: str, timeout_s: float | None = None) -> Envelope: ...


BusFactory = Callable[[Tracer, list[str]], Bus]
"""Makes a run's bus from its tracer and its participants' names."""


class LocalDelivery:
    """What every bus does once a message has reached this process: the waiting
    messages of each participant hosted here, and the handlers of each target.

    ``MessageBus`` (in process) and ``toolkit.redis_bus.RedisBus`` (across processes)
    both deliver through it; they differ only in how a message gets here.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._mailboxes: dict[str, deque[Envelope]] = {name: deque() for name in names}
        self._arrivals: dict[str, anyio.Event] = {}
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, target: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for each message to ``target``.

        ``target`` is a participant's name, ``topic:<name>`` for a topic, or ``*`` for
        every message. Returns a function that unsubscribes.
        """
        self._handlers[target].append(handler)
        return lambda: self._handlers[target].remove(handler)

    def pending(self, name: str) -> list[Envelope]:
        """Messages waiting in ``name``'s mailbox, oldest first, without taking them."""
        return list(self._mailboxes.get(name, ()))

    def take(self, name: str) -> list[Envelope]:
        """Take every message waiting in ``name``'s mailbox."""
        box = self._mailboxes.get(name)
        if not box:
            return []
        messages = list(box)
        box.clear()
        return messages

    async def _wait(self, name: str, timeout_s: float | None) -> Envelope:
        """The next message in ``name``'s mailbox, waiting for it (``TimeoutError``)."""
        box = self._mailboxes[name]
        with anyio.fail_after(timeout_s):
            while not box:
                event = self._arrivals.setdefault(name, anyio.Event())
                await event.wait()
        return box.popleft()

    def _deliver(self, name: str, envelope: Envelope) -> None:
        self._mailboxes[name].append(envelope)
        event = self._arrivals.pop(name, None)
        if event is not None:
            event.set()

    async def _notify(self, target: str, envelope: Envelope) -> None:
        for key in (target, "*") if target != "*" else ("*",):
            for handler in list(self._handlers.get(key, ())):
                result = handler(envelope)
                if inspect.isawaitable(result):
                    await result


class MessageBus(LocalDelivery):
    """Publish/subscribe, direct send and broadcast, traced.

    Args:
        tracer: The run's tracer; every delivery becomes an event.
        participants: Names that get a mailbox (and receive broadcasts).
    """

    def __init__(self, tracer: Tracer, participants: list[str]) -> None:
        super().__init__(participants)
        self.tracer = tracer
        self.participants = list(participants)
        self._conversation = tracer.ids.span_id()

    async def send(
        self,
        sender: str,
        recipient: str,
        payload: Any,
        *,
        kind: str = "a2a",
        task_id: str | None = None,
        priority: int = 0,
        parent_id: str | None = None,
        span_id: str | None = None,
    ) -> Envelope:
        """Send ``payload`` from ``sender`` to one ``recipient``.

        Raises:
            KeyError: when the recipient is not a participant of the run.
        """
        if recipient not in self._mailboxes:
            raise KeyError(
                f"unknown recipient {recipient!r} (participants: {', '.join(self.participants)})"
            )
        envelope = self._trace(
            sender, recipient, kind, payload, task_id, priority, parent_id, span_id
        )
        self._deliver(recipient, envelope)
        await self._notify(recipient, envelope)
        return envelope

    async def broadcast(
        self,
        sender: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope:
        """Send ``payload`` to every participant but the sender; one traced message."""
        envelope = self._trace(sender, "*", "broadcast", payload, task_id, priority, None, span_id)
        for name in self.participants:
            if name != sender:
                self._deliver(name, envelope)
        await self._notify("*", envelope)
        return envelope

    async def publish(
        self,
        sender: str,
        topic: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope:
        """Publish ``payload`` on ``topic``; subscribers of ``topic:<topic>`` get it."""
        envelope = self._trace(
            sender, f"topic:{topic}", "broadcast", payload, task_id, priority, None, span_id, topic
        )
        await self._notify(f"topic:{topic}", envelope)
        return envelope

    async def receive(self, name: str, timeout_s: float | None = None) -> Envelope:
        """Wait for the next message to ``name``.

        Raises:
            TimeoutError: when nothing arrives within ``timeout_s``.
        """
        return await self._wait(name, timeout_s)

    def _trace(
        self,
        sender: str,
        recipient: str,
        kind: str,
        payload: Any,
        task_id: str | None,
        priority: int,
        parent_id: str | None,
        span_id: str | None,
        topic: str | None = None,
    ) -> Envelope:
        return self.tracer.message(
            sender,
            recipient,
            kind,
            payload,
            span_id=span_id or self.tracer.root_span,
            conversation_id=self._conversation,
            parent_id=parent_id,
            task_id=task_id,
            topic=topic,
            priority=priority,
        )


async def close_bus(bus: Any, tracer: Tracer) -> None:
    """Close a run's bus if it holds resources (``aclose``: a Redis bus), before the
    run's last event, so nothing it receives afterwards is traced into a closed run.
    Its failing to close is reported as a warning: the run is over."""
    aclose = getattr(bus, "aclose", None)
    if aclose is None:
        return
    with anyio.CancelScope(shield=True):
        try:
            await aclose()
        except Exception as exc:
            tracer.emit(Log, level="warning", message=f"closing the bus failed: {exc!r}")
