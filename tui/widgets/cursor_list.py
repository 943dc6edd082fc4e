"""A virtual list with a cursor that follows the newest row until the user moves it.

The message flow and the event log are both long, growing lists drawn a line at a
time (Textual's line API). They share the same selection behaviour, kept here once:
arrow and page keys move the cursor, a click selects, a second click or Enter opens
the details (Enter with nothing selected opens the newest row, the one in view), and
with no row selected the view follows the newest row unless the user scrolled up.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.events import Click
from textual.reactive import reactive
from textual.scroll_view import ScrollView

__all__ = ["CursorList"]


class CursorList(ScrollView, can_focus=True):
    """Base of the growing lists. Subclasses set ``HEADER_ROWS`` and implement
    ``row_total`` and ``action_details``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("enter", "open", "Details"),
    ]

    HEADER_ROWS: int = 0
    """Rows at the top that are not items (a fixed header)."""

    cursor: reactive[int] = reactive(-1, always_update=True)
    """The selected item (-1: none; the view then follows the newest item)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._tail = True

    def row_total(self) -> int:  # pragma: no cover
        """How many items are shown now."""
        raise NotImplementedError

    def action_details(self) -> None:  # pragma: no cover
        """Show the selected item whole."""
        raise NotImplementedError

    def action_open(self) -> None:
        """Show the selected item whole; with none selected, the newest one (the one in view)."""
        total = self.row_total()
        if not total:
            return
        if self.cursor < 0:
            self.cursor = total - 1
        self.action_details()

    def follow(self) -> None:
        """Clamp the cursor to the items and keep following the newest one; call after
        the items changed."""
        total = self.row_total()
        if self.cursor >= total:
            self.cursor = total - 1
        if self.cursor < 0 and self._tail:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        self.refresh()

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
            height = max(1, self.scrollable_content_region.height - self.HEADER_ROWS)
            if cursor < top:
                self.scroll_to(y=cursor, animate=False, immediate=True)
            elif cursor >= top + height:
                self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_move(self, delta: int) -> None:
        total = self.row_total()
        if not total:
            return
        start = total if self.cursor < 0 and delta < 0 else self.cursor
        self.cursor = max(0, min(total - 1, start + delta))

    def on_click(self, event: Click) -> None:
        index = self.scroll_offset.y + event.y - self.HEADER_ROWS
        if event.y >= self.HEADER_ROWS and 0 <= index < self.row_total():
            if index == self.cursor and event.chain >= 2:
                self.action_details()
            self.cursor = index
