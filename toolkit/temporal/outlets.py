"""Where workers write a Temporal run's events: outlets named by URL, written idempotently.

A Temporal run's events are delivered by activities on the workers (never by the
process that started the run, which may be gone), in ``seq`` order, one batch at a
time. A batch may arrive twice (a worker died after writing it, before Temporal
recorded that it was done), so every outlet skips the events it already holds: each
remembers the highest ``seq`` it has of the run, and a batch never skips a ``seq``.

- ``jsonl:PATH``: a JSONL trace (``switchboard tui --follow PATH`` follows it live);
- ``sqlite:PATH``: a SQLite run store (``RunStore.deliver``).

Other packages add schemes with ``register_outlet`` (a Redis stream, say).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.events import TraceEvent, parse_event

if TYPE_CHECKING:
    from toolkit.store import RunStore

__all__ = ["OutletRefused", "deliver", "outlet_url", "register_outlet"]


class OutletRefused(Exception):
    """An outlet refuses the run for good (not a transient fault): reported, not retried."""


Deliver = Callable[[str, Sequence[TraceEvent], Sequence[bytes], str], int]
"""(target, events, their JSON lines, owner) -> how many were written."""

_SCHEMES: dict[str, Deliver] = {}


def register_outlet(scheme: str, fn: Deliver) -> None:
    """Deliver batches for outlets named ``scheme:target`` with ``fn`` (idempotent by seq)."""
    _SCHEMES[scheme] = fn


def outlet_url(kind: str, path: str | Path) -> str:
    """The URL of a file outlet (``jsonl`` or ``sqlite``) by absolute path, as workers see it."""
    return f"{kind}:{Path(path).resolve()}"


def deliver(url: str, events: Sequence[TraceEvent], lines: Sequence[bytes], owner: str) -> int:
    """Write a batch to the outlet ``url``; returns how many events were new.

    Raises:
        OutletRefused: for an outlet that cannot take this run (unknown scheme, not a
            run store, the run id already stored by another run).
        OSError: for a transient fault (the caller retries).
    """
    scheme, _, target = url.partition(":")
    fn = _SCHEMES.get(scheme)
    if fn is None or not target:
        raise OutletRefused(f"{url}: unknown outlet (known: {', '.join(sorted(_SCHEMES))})")
    return fn(target, events, lines, owner)


def _last_seq(path: Path, run_id: str) -> tuple[int, int]:
    """(highest seq of ``run_id`` at the end of the trace, byte length of its complete lines)."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return -1, 0
    with f:
        pos, tail = f.seek(0, os.SEEK_END), b""
        while True:
            cut = tail.rfind(b"\n")  # the end of the last complete line
            if cut >= 0:
                begin = tail.rfind(b"\n", 0, cut) + 1
                if begin > 0 or pos == 0:  # the whole line is in ``tail``
                    complete = pos + cut + 1
                    try:
                        event = parse_event(tail[begin:cut])
                    except ValueError:
                        return -1, complete
                    return (event.seq if event.run_id == run_id else -1), complete
            if pos == 0:
                return -1, 0  # no complete line
            start = max(0, pos - 65536)
            f.seek(start)
            tail = f.read(pos - start) + tail
            pos = start


def _jsonl(target: str, events: Sequence[TraceEvent], lines: Sequence[bytes], owner: str) -> int:
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    last, complete = _last_seq(path, events[0].run_id)
    fresh = [line for e, line in zip(events, lines, strict=True) if e.seq > last]
    with path.open("r+b" if path.exists() else "wb") as f:
        f.truncate(complete)  # a line cut off by a killed writer goes: it is written again
        f.seek(complete)
        if fresh:
            f.write(b"".join(line + b"\n" for line in fresh))
        f.flush()
    return len(fresh)


def _sqlite(target: str, events: Sequence[TraceEvent], lines: Sequence[bytes], owner: str) -> int:
    from toolkit.store import RunStore, StoreError

    store = _stores.get(target)
    try:
        if store is None:
            store = _stores[target] = RunStore(target)
        return store.deliver(events, owner)
    except StoreError as exc:
        _stores.pop(target, None)
        raise OutletRefused(str(exc)) from None


_stores: dict[str, RunStore] = {}
"""Open run stores of this worker process, by path (a store opens once, not per batch)."""

register_outlet("jsonl", _jsonl)
register_outlet("sqlite", _sqlite)
