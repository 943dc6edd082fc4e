"""The tracer: turns what the orchestrator does into numbered events for the run's outlet.

One ``Tracer`` per run. It stamps each event with the run id, the next ``seq``, the
time of the run's clock and its span, and hands it to the run's ``Outlet``. The
default outlet, ``SinkOutlet``, keeps the events in memory for the run's result and
calls every sink's ``emit``. Sinks must be cheap and must not block: recorders buffer
and write in batches, live views coalesce. A sink that raises is detached, the event
still reaches every other sink, and the failure is reported as a ``log`` event and a
Python warning; it never breaks the run.

Spans form a tree: the run's span (``root_span``) → a span per task → a span per
attempt (and per review) → one span per message, tool call and model call of that
attempt. An event's ``parent_span_id`` is the parent of the span it sits on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from toolkit.events import (
    _MAKERS,
    Envelope,
    Log,
    MessageSent,
    TaskFinished,
    TaskStarted,
    TraceEvent,
    trusted_maker,
)
from toolkit.ids import IdFactory, IdSource
from toolkit.redact import scrub

__all__ = [
    "CallbackSink",
    "IdFactory",
    "Outlet",
    "Sink",
    "SinkOutlet",
    "SinkWarning",
    "Tracer",
    "trusted_maker",
]


@runtime_checkable
class Sink(Protocol):
    """A consumer of events.

    ``emit`` is called synchronously, in order, for every event of a run, on the
    run's thread; it must return quickly. ``close`` is called once when the run has
    ended (also after a failure or cancellation), after the last event.
    """

    def emit(self, event: TraceEvent) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Outlet(Protocol):
    """Where a run's events go, in order (sinks in process; a workflow-safe buffer in a
    durable engine). ``close`` ends the run's stream and returns the problems met."""

    def publish(self, event: TraceEvent) -> None: ...

    def close(self) -> list[str]: ...


class SinkWarning(RuntimeWarning):
    """A sink failed and was detached (the run and the other sinks went on)."""


class CallbackSink:
    """A sink that calls a function for each event."""

    def __init__(self, fn: Callable[[TraceEvent], Any]) -> None:
        self.fn = fn

    def emit(self, event: TraceEvent) -> None:
        self.fn(event)

    def close(self) -> None:
        pass


class SinkOutlet:
    """Hands every event to each sink and keeps it (``events``) when ``keep`` is on.

    A sink that raises is detached after the others got the event; ``on_failure``
    (the tracer's report) is told which sink failed and why.
    """

    __slots__ = ("_keep", "events", "on_failure", "sinks")

    def __init__(self, sinks: Iterable[Sink] = (), keep: bool = True) -> None:
        self.sinks: list[Sink] = list(sinks)
        self.events: list[TraceEvent] = []
        self._keep = keep
        self.on_failure: Callable[[Sink, Exception], None] | None = None

    def publish(self, event: TraceEvent) -> None:
        if self._keep:
            self.events.append(event)
        failed: list[tuple[Sink, Exception]] | None = None
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception as exc:  # a broken view must never cost the others an event
                failed = [*(failed or ()), (sink, exc)]
        if failed:
            for sink, _ in failed:
                self.sinks.remove(sink)
            for sink, error in failed:
                if self.on_failure is not None:
                    self.on_failure(sink, error)

    def close(self) -> list[str]:
        errors = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                errors.append(f"{type(sink).__name__}: {exc!r}")
        return errors


# the hottest events of a step, built from literal dicts of every field (no template
# copy), inline as ``TrustedMaker.wrap`` does it: a step builds six such objects
_new = object.__new__
_set = object.__setattr__
_FIELDS_SET = "__pydantic_fields_set__"
_EXTRA = "__pydantic_extra__"
_PRIVATE = "__pydantic_private__"
_ENVELOPE_FIELDS = trusted_maker(Envelope).fields_set
_MESSAGE_FIELDS = trusted_maker(MessageSent).fields_set
_STARTED_FIELDS = trusted_maker(TaskStarted).fields_set
_FINISHED_FIELDS = trusted_maker(TaskFinished).fields_set


def _unchanged(value: Any) -> Any:
    return value


class Tracer:
    """Emits the events of one run.

    Args:
        run_id: The run's id.
        trace_id: The run's trace id.
        sinks: Consumers of every event (when no ``outlet`` is given).
        ids: Id source for spans and messages.
        keep: Keep the events in memory (``events``); on for normal runs.
        clock: ``now()`` gives each event's ``ts`` (default: ``time.time``).
        outlet: Where events go instead of the default ``SinkOutlet(sinks, keep)``.
        redact: Mask well-known key shapes (``toolkit.redact.scrub``) in every event's
            text before any sink sees it; on by default.
    """

    def __init__(
        self,
        run_id: str,
        trace_id: str,
        sinks: Iterable[Sink] = (),
        ids: IdSource | None = None,
        keep: bool = True,
        *,
        clock: Any = None,
        outlet: Outlet | None = None,
        redact: bool = True,
    ) -> None:
        self.run_id = run_id
        self.redacts = redact
        """Whether key shapes are masked in events (see ``emit_scrubbed``)."""
        self._scrub: Callable[[Any], Any] = scrub if redact else _unchanged
        self.trace_id = trace_id
        if outlet is None:
            outlet = SinkOutlet(sinks, keep)
        self.outlet = outlet
        if isinstance(outlet, SinkOutlet):
            outlet.on_failure = self._sink_failed
        self._publish = outlet.publish
        self.ids: IdSource = ids or IdFactory()
        self.root_span = self.ids.span_id()
        self._seq = 0
        self._clock: Callable[[], float] = clock.now if clock is not None else time.time
        self.now: Callable[[], float] = self._clock
        """The run's time (epoch seconds), as stamped on events."""

    def continue_run(self, next_seq: int, root_span: str) -> None:
        """Go on with a run recorded earlier (a resumed run): the next event gets
        ``next_seq``, and the run's events sit on its recorded ``root_span``."""
        self._seq = next_seq
        self.root_span = root_span

    @property
    def sinks(self) -> list[Sink]:
        """The sinks of the default outlet (empty for another outlet)."""
        outlet = self.outlet
        return outlet.sinks if isinstance(outlet, SinkOutlet) else []

    @property
    def events(self) -> list[TraceEvent]:
        """The events kept so far (empty when not kept, or for another outlet)."""
        outlet = self.outlet
        return outlet.events if isinstance(outlet, SinkOutlet) else []

    def emit(
        self,
        cls: type[TraceEvent],
        span_id: str | None = None,
        parent_span_id: str | None = None,
        **fields: Any,
    ) -> TraceEvent:
        """Build the next event of kind ``cls`` and hand it to the outlet.

        Fields given here are trusted (unvalidated): pass values of the declared types.
        An event without ``span_id`` sits on the run's span.
        """
        return self._emit(cls, span_id, parent_span_id, fields, self._scrub)

    def emit_scrubbed(
        self,
        cls: type[TraceEvent],
        span_id: str | None = None,
        parent_span_id: str | None = None,
        **fields: Any,
    ) -> TraceEvent:
        """``emit`` of fields already scrubbed when ``redacts`` is on (a checked plan's
        dump, scrubbed once for all its runs): they are not scanned again."""
        return self._emit(cls, span_id, parent_span_id, fields, _unchanged)

    def _emit(
        self,
        cls: type[TraceEvent],
        span_id: str | None,
        parent_span_id: str | None,
        fields: dict[str, Any],
        scrub_: Callable[[Any], Any],
    ) -> TraceEvent:
        maker = _MAKERS.get(cls) or trusted_maker(cls)
        values = maker.template.copy()
        values["run_id"] = self.run_id
        values["seq"] = self._seq
        values["ts"] = self._clock()
        values["trace_id"] = self.trace_id
        values["span_id"] = span_id or self.root_span
        values["parent_span_id"] = parent_span_id
        for key, value in fields.items():
            values[key] = scrub_(value) if isinstance(value, str | dict | list) else value
        event = maker.build(values)
        self._seq += 1
        self._publish(event)
        return event

    def _sink_failed(self, sink: Sink, exc: Exception) -> None:
        message = f"sink {type(sink).__name__} failed and was detached: {exc!r}"
        warnings.warn(message, SinkWarning, stacklevel=2)
        self.emit(Log, level="error", message=message)

    def message(
        self,
        sender: str,
        recipient: str,
        kind: str,
        payload: Any,
        *,
        span_id: str,
        conversation_id: str,
        parent_id: str | None = None,
        task_id: str | None = None,
        attempt: int = 1,
        topic: str | None = None,
        priority: int = 0,
        usage: dict[str, Any] | None = None,
    ) -> Envelope:
        """Trace one message from ``sender`` to ``recipient`` and return its envelope.

        ``span_id`` is the span that sends it (the envelope's ``span_id``); the event
        gets a span of its own, the message id, under that span.
        """
        now = self._clock()
        message_id = self.ids.span_id()
        trace_id = self.trace_id
        # the hottest events of a run, built directly (fields in declared order)
        envelope = _new(Envelope)
        _set(
            envelope,
            "__dict__",
            {
                "message_id": message_id,
                "conversation_id": conversation_id,
                "trace_id": trace_id,
                "span_id": span_id,
                "parent_id": parent_id,
                "sender": sender,
                "recipient": recipient,
                "kind": kind,
                "payload": self._scrub(payload),
                "priority": priority,
                "task_id": task_id,
                "attempt": attempt,
                "topic": topic,
                "sent_at": now,
                "delivered_at": now,
                "usage": usage,
            },
        )
        _set(envelope, _FIELDS_SET, _ENVELOPE_FIELDS)
        _set(envelope, _EXTRA, None)
        _set(envelope, _PRIVATE, None)
        event = _new(MessageSent)
        _set(
            event,
            "__dict__",
            {
                "run_id": self.run_id,
                "seq": self._seq,
                "ts": now,
                "trace_id": trace_id,
                "span_id": message_id,
                "parent_span_id": span_id,
                "kind": "message_sent",
                "envelope": envelope,
            },
        )
        _set(event, _FIELDS_SET, _MESSAGE_FIELDS)
        _set(event, _EXTRA, None)
        _set(event, _PRIVATE, None)
        self._seq += 1
        self._publish(event)
        return envelope

    def task_started(
        self,
        span_id: str,
        parent_span_id: str | None,
        task_id: str,
        agent: str,
        attempt: int,
        round_: int,
    ) -> None:
        """Emit ``task_started`` for an attempt: a step's event, built directly as in
        ``message`` (no template copy, no keyword parsing)."""
        event = _new(TaskStarted)
        _set(
            event,
            "__dict__",
            {
                "run_id": self.run_id,
                "seq": self._seq,
                "ts": self._clock(),
                "trace_id": self.trace_id,
                "span_id": span_id,
                "parent_span_id": parent_span_id,
                "kind": "task_started",
                "task_id": task_id,
                "agent": agent,
                "attempt": attempt,
                "round": round_,
            },
        )
        _set(event, _FIELDS_SET, _STARTED_FIELDS)
        _set(event, _EXTRA, None)
        _set(event, _PRIVATE, None)
        self._seq += 1
        self._publish(event)

    def task_finished(
        self,
        span_id: str,
        parent_span_id: str | None,
        task_id: str,
        agent: str,
        attempt: int,
        output: Any,
        duration_s: float,
        rounds: int,
        tokens_in: int,
        tokens_out: int,
        cost_usd: float,
    ) -> None:
        """Emit ``task_finished``: a step's event, built directly as in ``message``."""
        event = _new(TaskFinished)
        _set(
            event,
            "__dict__",
            {
                "run_id": self.run_id,
                "seq": self._seq,
                "ts": self._clock(),
                "trace_id": self.trace_id,
                "span_id": span_id,
                "parent_span_id": parent_span_id,
                "kind": "task_finished",
                "task_id": task_id,
                "agent": agent,
                "attempt": attempt,
                "output": self._scrub(output),
                "duration_s": duration_s,
                "rounds": rounds,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": cost_usd,
            },
        )
        _set(event, _FIELDS_SET, _FINISHED_FIELDS)
        _set(event, _EXTRA, None)
        _set(event, _PRIVATE, None)
        self._seq += 1
        self._publish(event)

    def close_sinks(self) -> list[str]:
        """End the run's stream (close every sink); return the problems met."""
        return self.outlet.close()
