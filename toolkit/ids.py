"""Ids for runs, traces, spans and messages, injected into a run.

A run id names one execution, whatever its seed: it starts with the time in
milliseconds (so runs sort by start) and ends with random bits (so two runs started
in the same millisecond, by any process, never share one). The seed decides what mock
agents do, never who a run is. Trace ids are random too; span and message ids are a
random per-run prefix and a counter, unique within the run and cheap (a step takes
several). ``SeededIds`` makes every id reproducible, for simulations and tests that
compare ids; nothing records a seeded run id into a shared store by default.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["IdFactory", "IdSource", "RandomIds", "SeededIds", "new_run_id"]


@runtime_checkable
class IdSource(Protocol):
    """Where a run gets its ids from."""

    def run_id(self) -> str: ...

    def trace_id(self) -> str: ...

    def span_id(self) -> str:
        """A new span or message id, unique within the run."""
        ...


_last = (0, 0)
_lock = threading.Lock()


def new_run_id(now: float | None = None) -> str:
    """A time-ordered, random run id: ``run-<ms since epoch, 12 hex><80 random bits>``.

    Ids of runs started later sort after earlier ones: across processes to the
    millisecond, within a process always (as UUIDv7's monotonic counter: a run started
    in the same millisecond as the last one takes the last random part plus one). The
    random part makes a collision between any two runs practically impossible.
    """
    global _last
    ms = int((time.time() if now is None else now) * 1000)
    rand = int.from_bytes(os.urandom(10))
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms:
            ms, rand = last_ms, (last_rand + 1 + (rand >> 60)) % (1 << 80)
        _last = (ms, rand)
    return f"run-{ms:012x}{rand:020x}"


class RandomIds:
    """The default id source: a unique run id and trace id per execution."""

    def __init__(self) -> None:
        self._prefix = f"{int.from_bytes(os.urandom(4)):08x}"
        self._next = itertools.count(1).__next__

    def run_id(self) -> str:
        return new_run_id()

    def trace_id(self) -> str:
        return f"{int.from_bytes(os.urandom(16)):032x}"

    def span_id(self) -> str:
        return f"{self._prefix}{self._next():08x}"


class SeededIds:
    """Every id drawn from ``seed``: the same seed gives the same ids, run after run.

    For simulated runs and tests only: two executions with one seed share their run
    id, so never record them into one store.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._prefix = f"{self._rng.getrandbits(32):08x}"
        self._next = itertools.count(1).__next__

    def run_id(self) -> str:
        return f"run-{self._rng.getrandbits(80):020x}"

    def trace_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def span_id(self) -> str:
        return f"{self._prefix}{self._next():08x}"


def IdFactory(seed: int | None = None) -> IdSource:
    """The id source for ``seed``: ``SeededIds(seed)``, or ``RandomIds()`` when None."""
    return RandomIds() if seed is None else SeededIds(seed)
