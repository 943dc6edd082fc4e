"""A table drawn row by row on demand, for views that may hold tens of thousands of rows.

``DataTable`` measures and stores every row (~130 µs each here), so a 25,000-task
plan would cost seconds of frozen frames. This table keeps nothing per row: a
subclass says how many rows there are and builds the cells of a row when it is on
screen (Textual's line API). The header row stays put; a cursor selects a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["VirtualTable"]

_HEADER = Style(bold=True)


@lru_cache(maxsize=64)
def _style(spec: str) -> Style | None:
    return Style.parse(spec) if spec else None


_SELECTED = Style(reverse=True)


class VirtualTable(ScrollView, can_focus=True):
    """Rows from ``row_cells(index)``, drawn only when visible; subclasses set ``COLUMNS``."""

    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()
    """(key, label) of each column."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("enter", "details", "Details"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)
    """The selected row."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._count = 0
        self._widths: list[int] = [len(label) for _, label in self.COLUMNS]

    # -- for subclasses ------------------------------------------------------------------
    def row_cells(self, index: int) -> Sequence[Text]:
        """The cells of one row (called only for rows on screen)."""
        raise NotImplementedError

    def set_rows(self, count: int, widths: Sequence[int] | None = None) -> None:
        """There are now ``count`` rows; ``widths`` of the columns, if they changed."""
        self._count = count
        if widths is not None:
            self._widths = [
                max(w, len(label)) for w, (_, label) in zip(widths, self.COLUMNS, strict=True)
            ]
        if self.cursor >= count:
            self.cursor = max(0, count - 1)
        self.virtual_size = Size(sum(self._widths) + 2 * len(self._widths), count + 1)
        self.refresh()

    @property
    def row_count(self) -> int:
        return self._count

    def row_plain(self, index: int) -> list[str]:
        """The plain text of a row's cells (for tests and exports)."""
        return [cell.plain for cell in self.row_cells(index)]

    # -- drawing ---------------------------------------------------------------------------
    def _strip(self, cells: Sequence[Text], style: Style | None, width: int) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for cell, column_width in zip(cells, self._widths, strict=False):
            text = cell.copy()
            text.no_wrap = True
            text.truncate(column_width, overflow="ellipsis", pad=True)
            text.append("  ")
            base = text.style if isinstance(text.style, Style) else _style(text.style)
            # Text.render leaves the text's own (base) style to the caller
            segments.extend(Segment.apply_style(text.render(console), base))
        strip = Strip(segments)
        if style is not None:
            strip = strip.apply_style(style)
        scroll_x = self.scroll_offset.x
        return strip.crop_extend(scroll_x, scroll_x + width, None)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._strip([Text(label) for _, label in self.COLUMNS], _HEADER, width)
        index = self.scroll_offset.y + y - 1
        if not 0 <= index < self._count:
            return Strip.blank(width)
        strip = self._strip(self.row_cells(index), None, width)
        if index == self.cursor and self.has_focus:
            strip = strip.apply_style(_SELECTED)
        elif index == self.cursor:
            strip = strip.apply_style(Style(bgcolor="#2a3a4a"))
        return strip

    # -- selection -------------------------------------------------------------------------
    def watch_cursor(self, cursor: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.scrollable_content_region.height - 1)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self._count:
            self.cursor = max(0, min(self._count - 1, self.cursor + delta))

    def action_details(self) -> None:
        """Subclasses show the selected row whole."""

    def on_click(self, event: Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= index < self._count:
            if index == self.cursor and event.chain >= 2:
                self.action_details()
            self.cursor = index
