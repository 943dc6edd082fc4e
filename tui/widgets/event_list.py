"""Every event, one row each, as a virtual list that filters without copying events.

The list keeps the indexes of the events that pass the filter (by agent, by kind and
by a search text), extended incrementally as events arrive and rebuilt only when the
filter changes. Rows are drawn only when on screen (Textual's line API), so a
100,000-event trace scrolls like a short one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip

from toolkit.describe import MessageLook
from toolkit.events import TraceEvent
from toolkit.text import sanitize_line
from tui.describe import EVENT_GLYPH, EventRoles, event_agent, event_summary
from tui.messages import ShowDetails
from tui.widgets.cursor_list import CursorList

__all__ = ["EventFilter", "EventList"]

_SELECTED = Style(reverse=True)


@dataclass(frozen=True)
class EventFilter:
    """Which events the log shows."""

    agent: str | None = None
    """Only events about this participant (as agent, sender or recipient)."""
    kind: str | None = None
    """Only events of this kind."""
    text: str = ""
    """Only events whose summary contains this text (case-insensitive)."""

    def __bool__(self) -> bool:
        return bool(self.agent or self.kind or self.text)

    def matches(self, event: TraceEvent) -> bool:
        if self.kind and event.kind != self.kind:
            return False
        if self.agent:
            about = event_agent(event)
            if about != self.agent and not (
                event.kind == "message_sent" and event.envelope.recipient == self.agent
            ):
                return False
        if self.text:
            needle = self.text.lower()
            if needle not in event_summary(event, 400).lower() and needle not in event.kind:
                return False
        return True


class EventList(CursorList):
    """The event log's rows: seq, time since the start, kind, participant, summary."""

    DEFAULT_CSS = """
    EventList { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._events: list[TraceEvent] = []
        self._limit = 0
        self._filter = EventFilter()
        self._rows: list[int] = []
        """Indexes of matching events among the first ``_scanned``."""
        self._scanned = 0
        self._t0: float | None = None
        self._roles = EventRoles()
        """Each message's role in its task (retry, fallback, review, …), as the flow names it."""

    @property
    def row_count(self) -> int:
        """Rows shown (matching events up to the replay cursor)."""
        return self._visible()

    def row_total(self) -> int:
        return self._visible()

    def _visible(self) -> int:
        if not self._filter:
            return self._limit
        from bisect import bisect_left

        return bisect_left(self._rows, self._limit)

    def set_filter(self, event_filter: EventFilter) -> None:
        """Show only the events this filter passes."""
        if event_filter != self._filter:
            self._filter = event_filter
            self._rows, self._scanned = [], 0
            self.cursor = -1
            self.show(self._events, self._limit)

    def show(self, events: list[TraceEvent], limit: int) -> None:
        """Show the matching events among ``events[:limit]`` (``limit``: the replay cursor)."""
        if events is not self._events or (limit < self._scanned and not self._filter):
            self._rows, self._scanned = [], 0
        if events is not self._events:
            self._t0 = None
        self._events, self._limit = events, limit
        if self._t0 is None and events:
            self._t0 = events[0].ts
        if self._filter and self._scanned < len(events):
            match = self._filter.matches
            self._rows.extend(i for i in range(self._scanned, len(events)) if match(events[i]))
            self._scanned = len(events)
        self.virtual_size = Size(self.scrollable_content_region.width, self._visible())
        self.follow()

    def event_at(self, row: int) -> TraceEvent | None:
        """The event shown in a row."""
        if not 0 <= row < self._visible():
            return None
        return self._events[self._rows[row] if self._filter else row]

    def _look(self, row: int) -> MessageLook | None:
        return self._roles.look(self._events, self._rows[row] if self._filter else row)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = self.scroll_offset.y + y
        event = self.event_at(row)
        if event is None:
            return Strip.blank(width)
        glyph, style = EVENT_GLYPH.get(event.kind, ("?", ""))
        offset = event.ts - (self._t0 or event.ts)
        segments = [
            Segment(f"{event.seq:>6} ", Style(dim=True)),
            Segment(f"{offset:>8.3f}s ", Style(dim=True)),
            Segment(f"{glyph} {event.kind:<14} ", Style.parse(style) if style else None),
            Segment(f"{sanitize_line(event_agent(event))[:16]:<16} ", Style(bold=True)),
            Segment(event_summary(event, max(20, width - 51), self._look(row))),
        ]
        strip = Strip(segments).crop_extend(0, width, None)
        if row == self.cursor:
            strip = strip.apply_style(_SELECTED)
        return strip

    def action_details(self) -> None:
        event = self.event_at(self.cursor)
        if event is not None:
            self.post_message(ShowDetails(event))
