"""Simulated time: a clock and an event loop on which waiting costs nothing.

A run of mock agents spends its time waiting: latencies, attempt time limits, retry
backoff, hangs. On simulated time those waits advance a virtual clock instead of the
wall clock, so a scenario whose agents take minutes finishes in milliseconds, and the
same seed gives the same timings to the microsecond on any machine. The trick is in
the loop, not in the code that waits: ``VirtualTimeLoop`` is asyncio's selector loop
with a virtual ``time()`` that jumps to the next timer whenever nothing is ready, so
``anyio.sleep`` and ``anyio.fail_after`` need no change. ``SimulatedClock`` is the
``Clock`` that reads it; a ``Run`` on that clock executes on such a loop (in a thread
of its own when it is awaited from an ordinary loop).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

__all__ = [
    "SIMULATED_EPOCH",
    "SimulatedClock",
    "VirtualTimeLoop",
    "in_virtual_time",
    "run_in_virtual_time",
]

T = TypeVar("T")

SIMULATED_EPOCH = 1_767_225_600.0
"""Where simulated time starts by default: 2026-01-01T00:00:00Z, the same on every machine."""


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose clock moves only when every task waits for a timer.

    ``time()`` is virtual seconds since the loop was made. When nothing is ready to
    run and the nearest timer is due in the future, the loop jumps its clock to that
    timer instead of blocking, so ``anyio.sleep``, ``anyio.fail_after`` and every other
    timer take no wall time at all. File descriptors (the loop's own wake-up pipe, so
    ``call_soon_threadsafe`` from another thread) are still polled, without waiting.
    With no timer at all, it waits for real, as any loop would (a run that hangs with
    no time limit hangs here too, and ``Run.cancel`` from another thread still works).
    """

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(_JumpingSelector(selectors.DefaultSelector(), self))

    def time(self) -> float:
        return self._virtual_now


class _JumpingSelector(selectors.BaseSelector):
    """The default selector, except that a wait for a timer becomes a clock jump."""

    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._inner = inner
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0:
            return self._inner.select(timeout)
        ready = self._inner.select(0)
        if not ready:
            self._loop._virtual_now += timeout  # asyncio's timeout is exactly the next timer
        return ready

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


def in_virtual_time() -> bool:
    """Whether the running event loop is a ``VirtualTimeLoop``."""
    try:
        return isinstance(asyncio.get_running_loop(), VirtualTimeLoop)
    except RuntimeError:
        return False


def run_in_virtual_time(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to the end on a fresh ``VirtualTimeLoop`` in this thread."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(fn())  # type: ignore[arg-type]


class SimulatedClock:
    """Simulated time for runs of mock agents: latencies, timeouts and backoff cost nothing.

    A run on this clock executes on a ``VirtualTimeLoop``: every wait (a mock agent's
    latency, an attempt's time limit, a retry's backoff, a hang) advances a virtual
    clock instead of the wall clock. Events carry virtual timestamps that start at
    ``start`` (2026-01-01T00:00:00Z by default), so the same seed gives the same
    timings to the microsecond on any machine, however busy. Only agents that do no
    real I/O may run on it (``simulated_time = True`` on their class: mock and
    function agents); the orchestrator refuses the others with a clear error.

    Args:
        start: The epoch seconds (UTC) where each run's time starts.
    """

    __slots__ = ("start",)
    simulated = True

    def __init__(self, start: float = SIMULATED_EPOCH) -> None:
        self.start = start

    def now(self) -> float:
        try:
            return self.start + asyncio.get_running_loop().time()
        except RuntimeError:  # no loop in this thread (a sink's thread): the start
            return self.start

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return (
            "SimulatedClock()"
            if self.start == SIMULATED_EPOCH
            else f"SimulatedClock(start={self.start!r})"
        )
