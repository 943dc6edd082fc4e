"""The tracer: turns what the orchestrator does into numbered events and hands them to sinks.

One ``Tracer`` per run. It stamps each event with the run id, the next ``seq`` and
the time, keeps the events in memory for the run's result, and calls every sink's
``emit``. Sinks must be cheap and must not block: recorders buffer and write in
batches, live views coalesce. A sink that raises is detached and reported in a log
event, never allowed to break the run.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from toolkit.events import (
    Envelope,
    Log,
    MessageSent,
    TaskFinished,
    TaskStarted,
    TraceEvent,
    fast_factory,
)

__all__ = ["CallbackSink", "IdFactory", "Sink", "Tracer"]


@runtime_checkable
class Sink(Protocol):
    """A consumer of events.

    ``emit`` is called synchronously, in order, for every event of a run, on the
    run's thread; it must return quickly. ``close`` is called once when the run has
    ended (also after a failure or cancellation), after the last event.
    """

    def emit(self, event: TraceEvent) -> None: ...

    def close(self) -> None: ...


class CallbackSink:
    """A sink that calls a function for each event."""

    def __init__(self, fn: Callable[[TraceEvent], Any]) -> None:
        self.fn = fn

    def emit(self, event: TraceEvent) -> None:
        self.fn(event)

    def close(self) -> None:
        pass


_FACTORIES: dict[type, Any] = {}
# the events of every agent step, built from positional values (see ``fast_factory``)
_BASE = ("run_id", "seq", "ts", "trace_id", "span_id", "parent_span_id")
_make_envelope = fast_factory(Envelope, tuple(Envelope.model_fields))
_make_message_sent = fast_factory(MessageSent, (*_BASE, "envelope"))
_make_task_started = fast_factory(TaskStarted, (*_BASE, "task_id", "agent", "attempt", "round"))
_make_task_finished = fast_factory(
    TaskFinished,
    (
        *_BASE,
        "task_id",
        "agent",
        "attempt",
        "output",
        "duration_s",
        "rounds",
        "tokens_in",
        "tokens_out",
        "cost_usd",
    ),
)


class IdFactory:
    """Trace, span and message ids; reproducible for a seeded run."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8)))
        # span and message ids: a random per-run prefix and a counter, unique within
        # the run and cheap (an agent step takes four)
        self._prefix = f"{self._rng.getrandbits(32):08x}"
        self._next = itertools.count(1).__next__

    def trace_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def span_id(self) -> str:
        return f"{self._prefix}{self._next():08x}"

    def run_id(self) -> str:
        return f"run-{self._rng.getrandbits(48):012x}"


class Tracer:
    """Emits the events of one run.

    Args:
        run_id: The run's id.
        trace_id: The run's trace id.
        sinks: Consumers of every event.
        ids: Id source for spans and messages.
        keep: Keep the events in memory (``events``); on for normal runs.
    """

    def __init__(
        self,
        run_id: str,
        trace_id: str,
        sinks: Iterable[Sink] = (),
        ids: IdFactory | None = None,
        keep: bool = True,
    ) -> None:
        self.run_id = run_id
        self.trace_id = trace_id
        self.sinks: list[Sink] = list(sinks)
        self.ids = ids or IdFactory()
        self.root_span = self.ids.span_id()
        self.events: list[TraceEvent] = []
        self._keep = keep
        self._seq = 0
        self._clock = time.time

    def now(self) -> float:
        return self._clock()

    def emit(
        self,
        cls: type[TraceEvent],
        span_id: str | None = None,
        parent_span_id: str | None = None,
        **fields: Any,
    ) -> TraceEvent:  # type: ignore[valid-type]
        """Build the next event of kind ``cls`` and hand it to every sink.

        Fields given here are trusted (unvalidated): pass values of the declared types.
        """
        make = _FACTORIES.get(cls)
        if make is None:
            make = _FACTORIES[cls] = fast_factory(cls)
        event = make(
            run_id=self.run_id,
            seq=self._seq,
            ts=self._clock(),
            trace_id=self.trace_id,
            span_id=span_id or self.root_span,
            parent_span_id=parent_span_id,
            **fields,
        )
        self._seq += 1
        self._publish(event)
        return event

    def _publish(self, event: TraceEvent) -> None:  # type: ignore[valid-type]
        if self._keep:
            self.events.append(event)
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception as exc:  # a broken view must never break the run
                self.sinks.remove(sink)
                self.emit(
                    Log,
                    level="error",
                    message=f"sink {type(sink).__name__} failed and was detached: {exc!r}",
                )
                break

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
        """Trace one message from ``sender`` to ``recipient`` and return its envelope."""
        now = self._clock()
        envelope = _make_envelope(
            self.ids.span_id(),
            conversation_id,
            self.trace_id,
            span_id,
            parent_id,
            sender,
            recipient,
            kind,
            payload,
            priority,
            task_id,
            attempt,
            topic,
            now,
            now,
            usage,
        )
        # the hottest event of a run: built directly rather than through ``emit``
        event = _make_message_sent(
            self.run_id, self._seq, now, self.trace_id, span_id, self.root_span, envelope
        )
        self._seq += 1
        self._publish(event)
        return envelope

    def task_started(
        self, span_id: str, task_id: str, agent: str, attempt: int, round_: int
    ) -> None:
        """Emit ``task_started`` for an attempt (the per-step path: no keyword parsing)."""
        event = _make_task_started(
            self.run_id,
            self._seq,
            self._clock(),
            self.trace_id,
            span_id,
            self.root_span,
            task_id,
            agent,
            attempt,
            round_,
        )
        self._seq += 1
        self._publish(event)

    def task_finished(
        self,
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
        """Emit ``task_finished`` on the run's span (the per-step path)."""
        event = _make_task_finished(
            self.run_id,
            self._seq,
            self._clock(),
            self.trace_id,
            self.root_span,
            None,
            task_id,
            agent,
            attempt,
            output,
            duration_s,
            rounds,
            tokens_in,
            tokens_out,
            cost_usd,
        )
        self._seq += 1
        self._publish(event)

    def close_sinks(self) -> list[str]:
        """Close every sink; return the errors of those that failed to close."""
        errors = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                errors.append(f"{type(sink).__name__}: {exc!r}")
        return errors
