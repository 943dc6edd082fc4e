"""Time for a run, injected: the real clock by default, a simulated one later.

The orchestrator reads the time and waits (retry backoff) only through a ``Clock``,
so a run can go on simulated time (a thousand one-second steps in no time) or inside
a Temporal workflow, whose code may not call ``time.time``.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["REAL_CLOCK", "Clock", "RealClock"]


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
