"""Every event, one row each, as a virtual list that filters without copying events.

The list keeps the indexes of the events that pass the filter (by agent, by kind and
by a search text), extended incrementally as events arrive and rebuilt only when the
filter changes. Rows are drawn only when on screen (Textual's line API), so a
100,000-event trace scrolls like a short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from toolkit.events import TraceEvent
from tui.describe import EVENT_GLYPH, event_agent, event_summary
from tui.messages import ShowDetails
from tui.safe_text import sanitize_line

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


class EventList(ScrollView, can_focus=True):
    """The event log's rows: seq, time since the start, kind, participant, summary."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("enter", "details", "Details"),
    ]

    DEFAULT_CSS = """
    EventList { height: 1fr; }
    """

    cursor: reactive[int] = reactive(-1, always_update=True)
    """The selected row (-1: none; the list then follows the newest event)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._events: list[TraceEvent] = []
        self._limit = 0
        self._filter = EventFilter()
        self._rows: list[int] = []
        """Indexes of matching events among the first ``_scanned``."""
        self._scanned = 0
        self._t0: float | None = None
        self._tail = True

    @property
    def row_count(self) -> int:
        """Rows shown (matching events up to the replay cursor)."""
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
        count = self._visible()
        if self.cursor >= count:
            self.cursor = count - 1
        self.virtual_size = Size(self.scrollable_content_region.width, count)
        if self.cursor < 0 and self._tail:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

    def event_at(self, row: int) -> TraceEvent | None:
        """The event shown in a row."""
        if not 0 <= row < self._visible():
            return None
        return self._events[self._rows[row] if self._filter else row]

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
            Segment(event_summary(event, max(20, width - 51))),
        ]
        strip = Strip(segments).crop_extend(0, width, None)
        if row == self.cursor:
            strip = strip.apply_style(_SELECTED)
        return strip

    def on_resize(self) -> None:
        if self.cursor < 0 and self._tail:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def on_mouse_scroll_up(self) -> None:
        self._tail = False

    def on_mouse_scroll_down(self) -> None:
        self._tail = self.scroll_y >= self.max_scroll_y - 1

    def watch_cursor(self, cursor: int) -> None:
        if cursor >= 0:
            top = self.scroll_offset.y
            height = max(1, self.scrollable_content_region.height)
            if cursor < top:
                self.scroll_to(y=cursor, animate=False, immediate=True)
            elif cursor >= top + height:
                self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_move(self, delta: int) -> None:
        count = self._visible()
        if not count:
            return
        start = count if self.cursor < 0 and delta < 0 else self.cursor
        self.cursor = max(0, min(count - 1, start + delta))

    def action_details(self) -> None:
        event = self.event_at(self.cursor)
        if event is not None:
            self.post_message(ShowDetails(event))

    def on_click(self, event: Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < self._visible():
            if row == self.cursor and event.chain >= 2:
                self.action_details()
            self.cursor = row
