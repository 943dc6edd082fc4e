"""The metrics: the core's per-agent table (``toolkit.metrics.agent_metrics``), live and sortable.

The numbers are the core's, from the same fold as every other view, so they match a
notebook's or the CLI's. Sort by a column with ``s`` (next column) and ``S`` (reverse),
or by clicking its header.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from toolkit.state import RunState
from tui.rich_text import literal
from tui.widgets.state_table import Cell, StateTable

__all__ = ["MetricsTable"]

_FORMATS: dict[str, str] = {"mean_s": "{:.3f}", "p95_s": "{:.3f}", "cost_usd": "${:.4f}"}


def _cell(column: str, value: Any) -> Cell:
    if column == "agent":
        return literal(value, 24, style="bold")
    if isinstance(value, float) and math.isnan(value):
        return Text("–", justify="right", style="dim")
    fmt = _FORMATS.get(column, "{:,}")
    return Text(fmt.format(value), justify="right")


class MetricsTable(StateTable):
    """Tasks, failures, retries, mean and p95 latency, tokens and cost per agent."""

    COLUMNS = (
        ("agent", "agent"),
        ("tasks", "tasks"),
        ("succeeded", "ok"),
        ("failed", "failed"),
        ("retries", "retries"),
        ("reviews", "reviews"),
        ("mean_s", "mean s"),
        ("p95_s", "p95 s"),
        ("messages_in", "msg in"),
        ("messages_out", "msg out"),
        ("tokens_in", "tok in"),
        ("tokens_out", "tok out"),
        ("cost_usd", "cost"),
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.sort_column = "agent"
        """The column rows are sorted by."""
        self.sort_reverse = False
        """Largest first when True."""
        self._state: RunState | None = None
        self._seen: tuple[int, int] | None = None

    def show(self, state: RunState) -> None:
        """Render the metrics of this state (recomputed only when the state changed).

        The rows are ``toolkit.metrics.agent_rows``: the same numbers as the DataFrame
        of ``agent_metrics``, without building one on every redraw.
        """
        key = (id(state), state.event_count)
        if key == self._seen:
            return
        self._seen, self._state = key, state
        from toolkit.metrics import agent_rows

        records = agent_rows(state)
        column = self.sort_column

        def order(record: dict[str, Any]) -> tuple[int, Any]:
            value = record[column]
            missing = isinstance(value, float) and math.isnan(value)
            return (1 if missing else 0, 0 if missing else value)

        records.sort(key=order, reverse=self.sort_reverse)
        if self.sort_reverse:  # missing values last either way
            records.sort(key=lambda r: isinstance(r[column], float) and math.isnan(r[column]))
        columns = [key for key, _ in self.COLUMNS]
        by_agent = {str(r["agent"]): r for r in records}
        self.sync(
            [(key, tuple(str(r[c]) for c in columns)) for key, r in by_agent.items()],
            lambda key: [_cell(c, by_agent[key][c]) for c in columns],
        )
        self._label_sorted()

    def _label_sorted(self) -> None:
        arrow = "▼" if self.sort_reverse else "▲"
        self.border_subtitle = f"sorted by {dict(self.COLUMNS)[self.sort_column]} {arrow}"

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; the same column again flips the order."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else column != "agent"
        self.sort_column, self.sort_reverse = column, reverse
        self._resort()

    def _resort(self) -> None:
        state, self._seen = self._state, None
        if state is not None:
            self.show(state)
        else:
            self._label_sorted()

    def action_sort_next(self) -> None:
        keys = [key for key, _ in self.COLUMNS]
        column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_by(column, reverse=column != "agent")

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort_column, not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
