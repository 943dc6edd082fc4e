"""Time for a run, injected: the real clock by default, or simulated time.

The orchestrator reads the time and waits (retry backoff) only through a ``Clock``,
so a run can go on simulated time (a thousand one-second steps in no time) or inside
a Temporal workflow, whose code may not call ``time.time``. Simulated time is a clock
plus an event loop: ``SimulatedClock`` reads a ``VirtualTimeLoop``'s time, and that
loop jumps to its next timer whenever every task is waiting, so attempt time limits
(``anyio.fail_after``), mock latencies and hangs are all virtual, with no change to
the code that waits. Those live in ``toolkit.simtime``, imported only when used.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol, runtime_checkable

import anyio

__all__ = ["REAL_CLOCK", "Clock", "ClockName", "RealClock", "clock_named", "is_simulated"]


@runtime_checkable
class Clock(Protocol):
    """Where a run gets its time from.

    ``now`` is Unix epoch seconds (UTC), the ``ts`` of every event; ``sleep`` waits
    that many seconds of this clock's time.
    """

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time and the event loop's sleep."""

    __slots__ = ()

    now = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


REAL_CLOCK = RealClock()
"""The default clock of every run."""


ClockName = Literal["real", "simulated"]


def clock_named(clock: Clock | ClockName | None) -> Clock:
    """The clock for ``Orchestrator(clock=...)``: a Clock, "real", "simulated" or None (real)."""
    if clock is None or clock == "real":
        return REAL_CLOCK
    if clock == "simulated":
        from toolkit.simtime import SimulatedClock

        return SimulatedClock()
    if isinstance(clock, str):
        raise ValueError(f"unknown clock {clock!r}: use 'real' or 'simulated'")
    return clock


def is_simulated(clock: Any) -> bool:
    """Whether ``clock`` runs on simulated time."""
    return getattr(clock, "simulated", False) is True
