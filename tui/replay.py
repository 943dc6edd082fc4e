"""The app's one code path: every event in a list, the view = the fold up to a cursor.

Live runs, recorded traces, followed files and stored runs all end up here. A
``Timeline`` keeps every event it was given, folds them into the state at the end
(``latest``), and keeps a checkpoint of the state every ``every`` events, so the
state at any cursor is a checkpoint plus at most ``every`` folded events: seeking in
a 100,000-event trace is as cheap as stepping. Live mode is the cursor at the end.

Checkpoints copy the small parts of ``RunState`` (tasks, agents, counters) and store
only the lengths of its append-only lists (messages, logs): a restored state slices
those from the latest state, so checkpoints cost little memory.

A ``Player`` moves the cursor: play/pause, step, speed, jump, follow the end. It is
plain Python, driven by the screen's frame timer, so it is tested without a terminal.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from toolkit.events import TraceEvent
from toolkit.state import AgentView, RunState, TaskView

__all__ = ["SPEEDS", "Player", "Timeline"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0)
"""Replay speeds, slowest first (multiples of the recorded pace)."""

_MAX_GAP_S = 1.0
"""A recorded pause longer than this replays as this long (at speed 1)."""


def _copier(cls: type, lists: tuple[str, ...]) -> Callable[[Any], Any]:
    """A fast copy function for a slotted dataclass: its lists copied, the rest shared.

    ``copy.copy`` takes ~20 µs per object through ``__reduce_ex__``; a generated
    constructor call takes ~2 µs, which matters when a checkpoint copies 25,000 tasks.
    """
    args = ", ".join(
        f"{f.name}=list(o.{f.name})" if f.name in lists else f"{f.name}=o.{f.name}"
        for f in fields(cls)
    )
    namespace: dict[str, Any] = {"cls": cls}
    exec(f"def copy(o):\n    return cls({args})", namespace)
    return namespace["copy"]


_copy_task: Callable[[TaskView], TaskView] = _copier(TaskView, ("depends_on", "verdicts"))
_copy_agent: Callable[[AgentView], AgentView] = _copier(AgentView, ("skills", "durations"))


@dataclass(slots=True)
class _Checkpoint:
    cursor: int
    state: RunState
    """A copy with ``messages`` and ``logs`` emptied; their lengths are below."""
    messages: int
    logs: int


def _checkpoint(cursor: int, state: RunState) -> _Checkpoint:
    """A frozen copy of ``state`` at ``cursor`` (never mutated: a restore copies it again)."""
    clone = copy.copy(state)
    clone.tasks = {k: _copy_task(v) for k, v in state.tasks.items()}
    clone.agents = {k: _copy_agent(v) for k, v in state.agents.items()}
    clone.participants = list(state.participants)
    clone.counts = dict(state.counts)
    clone.messages = []
    clone.logs = []
    return _Checkpoint(cursor, clone, len(state.messages), len(state.logs))


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

    def extend(self, events: list[TraceEvent]) -> None:
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
            restored = _checkpoint(cp.cursor, cp.state).state
            restored.messages = self.latest.messages[: cp.messages]
            restored.logs = self.latest.logs[: cp.logs]
            start, state = cp.cursor, restored
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
    speed_index: int = SPEEDS.index(4.0)
    _clock: float = 0.0
    _state: tuple[int, RunState] | None = None

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_index]

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
        self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)

    def slower(self) -> None:
        self.speed_index = max(self.speed_index - 1, 0)

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
