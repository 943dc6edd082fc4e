"""A ``DataTable`` that shows rows of a changing state, updating only what changed.

The plan, agents and metrics views re-render the state every frame. Rebuilding a
table costs ~6k rows/s; updating a changed cell is ~15x cheaper. ``sync`` compares a
cheap signature of each row with what is shown, builds the cells of changed rows
only, and updates only the cells that differ; it rebuilds only when rows disappear
or change order, and adds a bounded number of new rows per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from rich.text import Text
from textual.widgets import DataTable

__all__ = ["Cell", "StateTable"]

Cell = Text | str
"""A table cell: plain text (shown literally) or a styled ``Text``."""


class StateTable(DataTable[Cell]):
    """A data table synced from a list of (key, cells) rows."""

    COLUMNS: Sequence[tuple[str, str]] = ()
    """(key, label) of each column."""
    MAX_NEW_ROWS = 400
    """Rows added per ``sync`` at most, so a 10,000-task plan never freezes a frame."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.fixed_columns = 1  # the row's name stays while ←/→ scroll to the hidden columns
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._signatures: dict[str, Hashable] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def sync(
        self, rows: Sequence[tuple[str, Hashable]], cells: Callable[[str], Sequence[Cell]]
    ) -> bool:
        """Show exactly these rows, in this order.

        Args:
            rows: (key, signature) of each row; a row is rebuilt only when its
                signature changed since it was shown.
            cells: Builds the cells of the row with this key.

        Returns:
            True when every row is on screen; False when more than ``MAX_NEW_ROWS``
            rows were new and the rest will be added by the next calls.
        """
        order = self._order
        if len(rows) < len(order) or any(rows[i][0] != key for i, key in enumerate(order)):
            cursor = self.cursor_row
            self.clear()
            self._shown, self._signatures, self._order = {}, {}, []
            done = self._add(rows, cells)
            if self.row_count:
                self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)
            return done
        columns = [key for key, _ in self.COLUMNS]
        for key, signature in rows[: len(order)]:
            if self._signatures[key] == signature:
                continue
            old, new = self._shown[key], tuple(cells(key))
            for column, before, after in zip(columns, old, new, strict=True):
                if before != after:
                    self.update_cell(key, column, after, update_width=True)
            self._shown[key], self._signatures[key] = new, signature
        return self._add(rows[len(order) :], cells)

    def _add(
        self, rows: Sequence[tuple[str, Hashable]], cells: Callable[[str], Sequence[Cell]]
    ) -> bool:
        for key, signature in rows[: self.MAX_NEW_ROWS]:
            new = tuple(cells(key))
            self.add_row(*new, key=key)
            self._shown[key], self._signatures[key] = new, signature
            self._order.append(key)
        return len(rows) <= self.MAX_NEW_ROWS

    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]
