"""The replay timeline: every event of a run, and the state at any point of it.

Every view (the terminal app, the notebook widgets) keeps its run here, so live runs,
recorded traces, followed files and stored runs take one code path. A
``Timeline`` keeps every event it was given, folds them into the state at the end
(``latest``), and keeps a checkpoint of the state every ``every`` events, so the
state at any cursor is a checkpoint plus at most ``every`` folded events: seeking in
a 100,000-event trace is as cheap as stepping. Live mode is the cursor at the end.

Checkpoints are ``RunState.copy`` without the append-only lists (``APPEND_ONLY``:
messages, logs), of which they store only the lengths: a restored state slices those
from the latest state, so checkpoints cost little memory.

A ``Player`` moves the cursor: play/pause, step, speed, jump, follow the end. Its
speed has one meaning everywhere: a multiple of the recorded pace. It is plain
Python, driven by a frame timer (the app's) or a thread (the widget's), so it is
tested without a terminal or a browser.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.events import TraceEvent
from toolkit.state import APPEND_ONLY, RunState

__all__ = ["DEFAULT_SPEED", "SPEEDS", "CallTimeline", "Player", "Timeline"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0)
"""Replay speeds, slowest first (multiples of the recorded pace)."""

DEFAULT_SPEED = 4.0
"""The speed a replay starts at."""

_MAX_GAP_S = 1.0
"""A recorded pause longer than this replays as this long (at speed 1)."""


@dataclass(slots=True)
class _Checkpoint:
    cursor: int
    state: RunState
    """A copy with the ``APPEND_ONLY`` lists emptied; their lengths are below."""
    lengths: tuple[int, ...]
    """The length of each ``APPEND_ONLY`` list at ``cursor``."""

    def restore(self, latest: RunState) -> RunState:
        """A state at ``cursor`` to fold on (the checkpoint itself is never mutated)."""
        state = self.state.copy(empty=APPEND_ONLY)
        for name, length in zip(APPEND_ONLY, self.lengths, strict=True):
            setattr(state, name, getattr(latest, name)[:length])
        return state


def _checkpoint(cursor: int, state: RunState) -> _Checkpoint:
    """A frozen copy of ``state`` at ``cursor``."""
    lengths = tuple(len(getattr(state, name)) for name in APPEND_ONLY)
    return _Checkpoint(cursor, state.copy(empty=APPEND_ONLY), lengths)


@dataclass
class Timeline:
    """Every event of one run, and the state at any point of it.

    Checkpoints are taken lazily: appending events only folds them into ``latest``
    (so a 100,000-event trace opens at the cost of one fold), and the first seek into
    a stretch of the run leaves checkpoints behind it, every ``every`` events (or
    every one-event-per-task-or-agent in a huge plan, so copies stay cheap), which
    make later seeks there cost at most that many folded events.

    Args:
        every: Events between two checkpoints, at least.
    """

    every: int = 1000
    events: list[TraceEvent] = field(default_factory=list)
    """Every event received, in order."""
    latest: RunState = field(default_factory=RunState)
    """The state after the last event."""
    _checkpoints: list[_Checkpoint] = field(default_factory=list)
    _cursors: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._insert(_checkpoint(0, RunState()))

    def __len__(self) -> int:
        return len(self.events)

    @property
    def checkpoints(self) -> int:
        """Checkpoints held (for tests and the benchmark)."""
        return len(self._checkpoints)

    def _insert(self, cp: _Checkpoint) -> None:
        index = bisect_right(self._cursors, cp.cursor)
        if index and self._cursors[index - 1] == cp.cursor:
            return
        self._cursors.insert(index, cp.cursor)
        self._checkpoints.insert(index, cp)

    def extend(self, events: Sequence[TraceEvent]) -> None:
        """Append events (in order) and fold them into ``latest``."""
        self.events.extend(events)
        apply = self.latest.apply
        for event in events:
            apply(event)

    def state_at(self, cursor: int, near: tuple[int, RunState] | None = None) -> RunState:
        """The state after the first ``cursor`` events.

        Args:
            cursor: 0 (before anything) to ``len(self)`` (the end).
            near: A state already folded to some cursor; used when it is closer than
                the nearest checkpoint and not past ``cursor`` (it is then advanced
                in place and returned).
        """
        cursor = max(0, min(cursor, len(self.events)))
        if cursor == len(self.events):
            return self.latest
        cp = self._checkpoints[bisect_right(self._cursors, cursor) - 1]
        if near is not None and cp.cursor <= near[0] <= cursor and near[1] is not self.latest:
            start, state = near
            checkpointing = False
        else:
            start, state = cp.cursor, cp.restore(self.latest)
            checkpointing = True
        spacing = max(self.every, len(self.latest.tasks) + len(self.latest.agents))
        position = start
        for event in self.events[start:cursor]:
            state.apply(event)
            position += 1
            if checkpointing and position - start >= spacing and position < cursor:
                self._insert(_checkpoint(position, state))
                start = position
        return state

    def reset(self) -> None:
        """Forget every event (a new run starts)."""
        self.events = []
        self.latest = RunState()
        self._checkpoints = []
        self._cursors = []
        self._insert(_checkpoint(0, RunState()))


@dataclass
class Player:
    """The replay cursor over a ``Timeline``: where the view is, and how it moves.

    ``following`` means the cursor sticks to the end as events arrive (live view).
    """

    timeline: Timeline
    cursor: int = 0
    following: bool = True
    playing: bool = False
    speed: float = DEFAULT_SPEED
    """A multiple of the recorded pace: 1 replays as it happened, 4 four times faster."""
    _clock: float = 0.0
    _state: tuple[int, RunState] | None = None

    @property
    def total(self) -> int:
        return len(self.timeline)

    @property
    def at_end(self) -> bool:
        return self.cursor >= self.total

    def state(self) -> RunState:
        """The state at the cursor (cached until the cursor moves)."""
        if self.following or self.cursor >= self.total:
            self.cursor = self.total
            return self.timeline.latest
        if self._state is None or self._state[0] != self.cursor:
            state = self.timeline.state_at(self.cursor, self._state)
            self._state = (self.cursor, state)
        return self._state[1]

    def sync(self) -> None:
        """Call after events arrive: a following cursor moves to the end."""
        if self.following:
            self.cursor = self.total

    # -- moves ---------------------------------------------------------------------
    def seek(self, cursor: int) -> None:
        """Put the cursor at ``cursor`` (clamped); at the end it follows again."""
        self.cursor = max(0, min(cursor, self.total))
        self.following = self.cursor >= self.total and not self.playing
        self._clock = 0.0

    def step(self, delta: int) -> None:
        """Move by ``delta`` events and pause."""
        self.playing = False
        self.seek(self.cursor + delta)

    def start(self) -> None:
        """Jump to before the first event."""
        self.seek(0)

    def end(self) -> None:
        """Jump to the end and follow new events."""
        self.playing = False
        self.seek(self.total)

    def seek_fraction(self, fraction: float) -> None:
        """Put the cursor at a fraction (0..1) of the timeline (the scrubber)."""
        self.seek(round(max(0.0, min(1.0, fraction)) * self.total))

    def toggle(self) -> None:
        """Play or pause; playing from the end starts over."""
        if self.playing:
            self.playing = False
            return
        if self.cursor >= self.total:
            self.cursor = 0
        self.playing = True
        self.following = False
        self._clock = 0.0

    def faster(self) -> None:
        """The next of ``SPEEDS`` above the current speed (the fastest stays)."""
        self.speed = next((s for s in SPEEDS if s > self.speed), max(self.speed, SPEEDS[-1]))

    def slower(self) -> None:
        """The next of ``SPEEDS`` below the current speed (the slowest stays)."""
        self.speed = next(
            (s for s in reversed(SPEEDS) if s < self.speed), min(self.speed, SPEEDS[0])
        )

    def advance(self, dt: float) -> bool:
        """Play for ``dt`` seconds of wall time; True when the cursor moved.

        Events are replayed at their recorded pace times ``speed``; recorded pauses
        longer than a second are shortened to one, so a replay never stalls.
        """
        if not self.playing:
            return False
        events = self.timeline.events
        if self.cursor >= len(events):
            self.playing = False
            self.following = True
            return False
        self._clock += dt * self.speed
        moved = False
        while self.cursor < len(events):
            prev_ts = events[self.cursor - 1].ts if self.cursor > 0 else events[0].ts
            gap = min(max(0.0, events[self.cursor].ts - prev_ts), _MAX_GAP_S)
            if gap > self._clock:
                break
            self._clock -= gap
            self.cursor += 1
            moved = True
        if self.cursor >= len(events):
            self.playing = False
            self.following = True
        return moved


class CallTimeline:
    """Agent calls as Gantt bars, built incrementally.

    The one pairing rule (a directive opens a call, the result or error that answers it
    closes it), kept up to date event by event and able to say what the chart looked
    like after any prefix of the run; ``toolkit.metrics.timeline`` and the notebook
    dashboard both read these bars.
    """

    def __init__(self) -> None:
        self.t0: float | None = None
        self.bars: list[dict[str, Any]] = []
        """agent, task, attempt, start_s, end_s, duration_s, outcome (``ok``,
        ``error``, ``unfinished``, or ``interrupted``: the run's process died during the
        call and the run was resumed)."""
        self.resumes: list[float] = []
        """When the run was resumed (seconds from its start): the interruptions."""
        self.waits: list[dict[str, Any]] = []
        """Time a human agent waited for a person (``toolkit.human``): agent, task,
        attempt, start_s, end_s, duration_s, outcome (``waiting`` while the question
        is open, ``answered``, ``deadline`` when its deadline closed it, or
        ``interrupted``), from each ``question`` message to its ``answer``."""
        self._last_ts = 0.0
        self._span: list[tuple[int, int | None]] = []
        self._open: dict[str, int] = {}
        self._wait_span: list[tuple[int, int | None]] = []
        self._waiting: dict[str, int] = {}

    def add(self, index: int, event: TraceEvent) -> None:
        """Take the ``index``-th event of the run into account."""
        if self.t0 is None:
            self.t0 = event.ts
        if event.kind == "run_resumed":
            # the calls under way when the process died ended with it, at its last event
            for i in self._open.values():
                bar = self.bars[i]
                bar["end_s"] = round(self._last_ts - self.t0, 6)
                bar["duration_s"] = round(bar["end_s"] - bar["start_s"], 6)
                bar["outcome"] = "interrupted"
                self._span[i] = (self._span[i][0], index)
            self._open.clear()
            for i in self._waiting.values():
                self._close(self.waits[i], self._last_ts, "interrupted")
                self._wait_span[i] = (self._wait_span[i][0], index)
            self._waiting.clear()
            self.resumes.append(round(event.ts - self.t0, 6))
        self._last_ts = event.ts
        if event.kind != "message_sent":
            return
        env = event.envelope
        if env.kind == "directive" and env.task_id is not None:
            self._open[env.message_id] = len(self.bars)
            self.bars.append(
                {
                    "agent": env.recipient,
                    "task": env.task_id,
                    "attempt": env.attempt,
                    "start_s": round(env.sent_at - self.t0, 6),
                    "end_s": None,
                    "duration_s": None,
                    "outcome": "unfinished",
                }
            )
            self._span.append((index, None))
        elif env.kind in ("result", "error") and env.parent_id in self._open:
            i = self._open.pop(env.parent_id)
            bar = self.bars[i]
            bar["end_s"] = round(env.sent_at - self.t0, 6)
            bar["duration_s"] = round(bar["end_s"] - bar["start_s"], 6)
            bar["outcome"] = "ok" if env.kind == "result" else "error"
            self._span[i] = (self._span[i][0], index)
        elif env.kind == "question":
            self._waiting[env.message_id] = len(self.waits)
            self.waits.append(
                {
                    "agent": env.sender,
                    "task": env.task_id,
                    "attempt": env.attempt,
                    "start_s": round(env.sent_at - self.t0, 6),
                    "end_s": None,
                    "duration_s": None,
                    "outcome": "waiting",
                }
            )
            self._wait_span.append((index, None))
        elif env.kind == "answer" and env.parent_id in self._waiting:
            i = self._waiting.pop(env.parent_id)
            via = env.payload.get("via") if isinstance(env.payload, dict) else None
            self._close(self.waits[i], env.sent_at, "deadline" if via == "deadline" else "answered")
            self._wait_span[i] = (self._wait_span[i][0], index)

    def _close(self, span: dict[str, Any], ts: float, outcome: str) -> None:
        assert self.t0 is not None
        span["end_s"] = round(ts - self.t0, 6)
        span["duration_s"] = round(span["end_s"] - span["start_s"], 6)
        span["outcome"] = outcome

    @staticmethod
    def _at(
        spans: list[dict[str, Any]], marks: list[tuple[int, int | None]], cursor: int, open_: str
    ) -> list[dict[str, Any]]:
        shown = []
        for span, (start, end) in zip(spans, marks, strict=True):
            if start >= cursor:
                break
            if end is None or end < cursor:
                shown.append(span)
            else:
                shown.append({**span, "end_s": None, "duration_s": None, "outcome": open_})
        return shown

    def bars_at(self, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The bars after the first ``cursor`` events (the last ``limit``), and how many were left out."""
        shown = self._at(self.bars, self._span, cursor, "unfinished")
        hidden = max(0, len(shown) - limit)
        return shown[hidden:], hidden

    def waits_at(self, cursor: int, limit: int) -> list[dict[str, Any]]:
        """The ``waits`` after the first ``cursor`` events (the last ``limit``)."""
        return self._at(self.waits, self._wait_span, cursor, "waiting")[-limit:]
