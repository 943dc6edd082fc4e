"""A run's whole history for the dashboard: its timeline, and rows for the browser.

The widget keeps everything here and sends the browser only windows of it. The
events, the live fold and replay are the core's ``toolkit.timeline.Timeline`` (the
terminal app's too): appending an event is a list append and one ``RunState.apply``,
and the state after the first ``cursor`` events resumes from the nearest checkpoint,
so scrubbing a 10,000-event run stays fast. Rows for the front end are built lazily,
at push time, for the events that are about to be shown, in the words of
``toolkit.describe``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from toolkit.describe import MessageRoles
from toolkit.events import TraceEvent
from toolkit.state import RunState
from toolkit.timeline import CallTimeline, Timeline
from toolkit.widgets.projection import arrow_row, log_row

__all__ = ["CallTimeline", "LogFilter", "RunHistory"]

CHECKPOINT_EVERY = 500
"""Events between two replay checkpoints of the fold."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which events the log shows: one kind (or all) and a case-insensitive text."""

    text: str = ""
    kind: str = ""

    @property
    def active(self) -> bool:
        return bool(self.text or self.kind)

    def matches(self, row: dict[str, Any]) -> bool:
        """True when a log row passes the filter (same rule as the front end's)."""
        if self.kind and row["kind"] != self.kind:
            return False
        if self.text:
            haystack = f"{row['kind']} {row['who']} {row['text']}".lower()
            return self.text.lower() in haystack
        return True


class RunHistory:
    """Every event of one run, its live fold, and windows of rows for the front end.

    Args:
        events: Events to start with (a recorded run).
    """

    def __init__(self, events: Iterable[TraceEvent] = ()) -> None:
        self._clear()
        for event in events:
            self.append(event)

    def _clear(self) -> None:
        self.timeline = Timeline(every=CHECKPOINT_EVERY)
        """Every event, the live fold and the replay checkpoints."""
        self.calls = CallTimeline()
        self._roles = MessageRoles()
        self._message_index: list[int] = []
        # rows are built on first display and cached: the same row is the same object,
        # which is how the widget's RowWindow tells new rows from old ones
        self._arrow_rows: dict[int, dict[str, Any]] = {}
        # the same for each team's child run (a team expanded into its own lanes)
        self._child_messages: dict[str, list[int]] = {}
        self._child_roles: dict[str, MessageRoles] = {}
        self._child_arrow_rows: dict[str, dict[int, dict[str, Any]]] = {}
        self._log_rows: dict[int, dict[str, Any]] = {}
        self._filter = LogFilter()
        self._matches: list[int] = []
        self._matched_upto = 0

    def __len__(self) -> int:
        return len(self.timeline.events)

    @property
    def events(self) -> list[TraceEvent]:
        """Every event, in order."""
        return self.timeline.events

    @property
    def state(self) -> RunState:
        """The fold of every event so far (the live state)."""
        return self.timeline.latest

    @property
    def t0(self) -> float | None:
        return self.events[0].ts if self.events else None

    def append(self, event: TraceEvent) -> bool:
        """Add the next event; returns True when it starts a new run (history reset)."""
        reset = False
        if event.kind == "run_started" and self.events and not self._is_child(event):
            self._clear()
            reset = True
        index = len(self.events)
        self.timeline.extend((event,))
        self.calls.add(index, event)
        if event.kind == "message_sent":
            if event.run_id == self.timeline.latest.run_id:
                self._message_index.append(index)
            else:  # a team's messages are its child run's
                self._child_messages.setdefault(event.run_id, []).append(index)
        return reset

    def _is_child(self, event: TraceEvent) -> bool:
        """A team's child run (``toolkit.team``) of the run held: it joins this history."""
        meta = getattr(event, "meta", None)
        parent = meta.get("parent_run") if isinstance(meta, dict) else None
        state = self.state
        return isinstance(parent, str) and (
            parent == state.run_id or state.child(parent) is not None
        )

    # -- replay ----------------------------------------------------------------
    def state_at(self, cursor: int) -> RunState:
        """The run's state after its first ``cursor`` events (``Timeline.state_at``).

        At the end it is the live state itself; before, a state the caller may keep.
        """
        return self.timeline.state_at(cursor)

    def find(self, seq: int, run: str | None = None) -> TraceEvent | None:
        """The event with sequence number ``seq`` of the run (or of child run ``run``:
        each team's run numbers its own events from 0), if it is in the history."""
        run = run or self.state.run_id
        events = self.events
        if 0 <= seq < len(events) and events[seq].seq == seq and events[seq].run_id == run:
            return events[seq]
        return next((e for e in events if e.seq == seq and e.run_id == run), None)

    # -- windows ---------------------------------------------------------------
    def arrows(
        self, cursor: int, limit: int, run: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The last ``limit`` message arrows among the first ``cursor`` events, and the
        count of all of them: the run's own messages, or with ``run`` (a child run's id)
        the messages of that team's run."""
        state: RunState | None = self.state
        if run is None or run == self.state.run_id:
            index, cache, roles = self._message_index, self._arrow_rows, self._roles
        else:
            state = self.state.child(run)
            index = self._child_messages.get(run, [])
            cache = self._child_arrow_rows.setdefault(run, {})
            roles = self._child_roles.setdefault(run, MessageRoles())
        if state is None:
            return [], 0
        count = bisect_left(index, cursor)
        t0 = self.t0
        messages, tasks = state.messages, state.tasks
        rows = []
        resumed = {r[4] for r in state.resumes}  # first messages after a resume
        for i in range(max(0, count - limit), count):
            row = cache.get(i)
            if row is None:
                look = roles.look(messages, i, tasks)
                row = arrow_row(self.events[index[i]], t0, look)
                if run is not None:
                    row["run"] = run  # its seq is its own run's
                if i in resumed:
                    row["tag"] = "⟳ resumed" + (f" {row['tag']}" if row["tag"] else "")
                cache[i] = row
            rows.append(row)
        return rows, count

    def _log_row(self, i: int) -> dict[str, Any]:
        row = self._log_rows.get(i)
        if row is None:
            event = self.events[i]
            look = None
            if event.kind == "message_sent" and event.run_id == self.state.run_id:
                n = bisect_left(self._message_index, i)
                look = self._roles.look(self.state.messages, n, self.state.tasks)
            row = self._log_rows[i] = log_row(event, self.t0, look)
            if event.run_id != self.state.run_id:
                # a team's event: its seq is its run's, its line is marked with the team
                path = next((p for p, c in self.state.teams() if c.run_id == event.run_id), None)
                row["run"] = event.run_id
                if path is not None:
                    row["who"] = f"[{path}] {row['who']}"
        return row

    def log(
        self, cursor: int, limit: int, flt: LogFilter | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The last ``limit`` log rows passing ``flt`` among the first ``cursor`` events, and how many pass."""
        cursor = max(0, min(cursor, len(self.events)))
        flt = flt or LogFilter()
        if not flt.active:
            start = max(0, cursor - limit)
            return [self._log_row(i) for i in range(start, cursor)], cursor
        if flt != self._filter:
            self._filter, self._matches, self._matched_upto = flt, [], 0
        while self._matched_upto < len(self.events):
            i = self._matched_upto
            if flt.matches(self._log_row(i)):
                self._matches.append(i)
            self._matched_upto += 1
        count = bisect_left(self._matches, cursor)
        return [self._log_row(i) for i in self._matches[max(0, count - limit) : count]], count
