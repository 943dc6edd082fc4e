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


def _checkpoint(
    cursor: int,
    state: RunState,
    previous: _Checkpoint | None = None,
    touched: set[str] | None = None,
) -> _Checkpoint:
    """A frozen copy of ``state`` at ``cursor``.

    Checkpoints are never mutated (a restore copies them again), so a task no event
    touched since the ``previous`` checkpoint shares that checkpoint's copy: with
    25,000 tasks, a checkpoint copies only the tasks that moved.
    """
    clone = copy.copy(state)
    if previous is not None and touched is not None:
        before = previous.state.tasks
        clone.tasks = {
            k: before[k] if k in before and k not in touched else _copy_task(v)
            for k, v in state.tasks.items()
        }
    else:
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

    Args:
        every: Events between two checkpoints.
    """

    every: int = 1000
    events: list[TraceEvent] = field(default_factory=list)
    """Every event received, in order."""
    latest: RunState = field(default_factory=RunState)
    """The state after the last event."""
    _checkpoints: list[_Checkpoint] = field(default_factory=list)
    _cursors: list[int] = field(default_factory=list)
    _touched: set[str] = field(default_factory=set)
    """Tasks changed since the last checkpoint."""

    def __post_init__(self) -> None:
        self._add_checkpoint()

    def __len__(self) -> int:
        return len(self.events)

    def _add_checkpoint(self) -> None:
        previous = self._checkpoints[-1] if self._checkpoints else None
        cp = _checkpoint(len(self.events), self.latest, previous, self._touched)
        self._checkpoints.append(cp)
        self._cursors.append(cp.cursor)
        self._touched = set()

    def extend(self, events: list[TraceEvent]) -> None:
        """Append events (in order) and fold them into ``latest``.

        A checkpoint is taken every ``every`` events, or less often in a run with
        many tasks and agents (at least one event per task or agent held), so the
        memory and time of checkpoints stay below one object per event.
        """
        state, log, touched = self.latest, self.events, self._touched
        next_at = self._cursors[-1] + max(self.every, len(state.tasks) + len(state.agents))
        for event in events:
            log.append(event)
            state.apply(event)
            task_id = event.__dict__.get("task_id")  # not getattr: pydantic's miss path is slow
            if task_id is not None:
                touched.add(task_id)
            elif event.kind in ("plan_created", "plan_updated"):
                touched.update(state.tasks)
            if len(log) >= next_at:
                self._add_checkpoint()
                touched = self._touched  # a new set after each checkpoint
                next_at = len(log) + max(self.every, len(state.tasks) + len(state.agents))

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
        else:
            restored = _checkpoint(cp.cursor, cp.state).state
            restored.messages = self.latest.messages[: cp.messages]
            restored.logs = self.latest.logs[: cp.logs]
            start, state = cp.cursor, restored
        for event in self.events[start:cursor]:
            state.apply(event)
        return state

    def reset(self) -> None:
        """Forget every event (a new run starts)."""
        self.events = []
        self.latest = RunState()
        self._checkpoints = []
        self._cursors = []
        self._add_checkpoint()


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
