"""Two runs side by side, task by task: which outputs changed, and the time and cost.

Opened from the run browser (mark a run with space, then ``d`` on another). The rows
are ``toolkit.compare.task_changes``, the same comparison ``switchboard compare`` prints
and ``compare_runs`` returns as a DataFrame; this screen only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from toolkit.compare import task_changes
from toolkit.events import TraceEvent
from toolkit.text import one_line
from tui.rich_text import literal
from tui.widgets.state_table import Cell, StateTable

__all__ = ["CompareScreen", "CompareTable", "change_cells"]


def _num(value: float | None, fmt: str) -> Text:
    return Text("-" if value is None else format(value, fmt), justify="right")


def change_cells(row: dict[str, Any]) -> list[Cell]:
    """One task's row: its statuses, whether its output changed, and the differences."""
    if row["reused"]:
        output = Text("↺ reused", style="dim")
    elif row["output_changed"]:
        output = Text("≠ changed", style="bold #ffaf00")
    else:
        output = Text("= same", style="#5fd75f")
    return [
        literal(row["task"], 30, style="bold"),
        literal(row["agent_a"] or "-", 20),
        literal(row["agent_b"] or "-", 20),
        literal(row["status_a"] or "-", 10),
        literal(row["status_b"] or "-", 10),
        output,
        _num(row["duration_a_s"], ".3f"),
        _num(row["duration_b_s"], ".3f"),
        _num(row["duration_diff_s"], "+.3f"),
        _num(row["cost_diff_usd"], "+.4f"),
    ]


class CompareTable(StateTable):
    """One row per task of either run."""

    COLUMNS = (
        ("task", "task"),
        ("agent_a", "agent a"),
        ("agent_b", "agent b"),
        ("status_a", "a"),
        ("status_b", "b"),
        ("output", "output"),
        ("secs_a", "secs a"),
        ("secs_b", "secs b"),
        ("dsecs", "Δ secs"),
        ("dcost", "Δ cost $"),
    )


class CompareScreen(Screen[None]):
    """The differences between two runs; Escape goes back."""

    CSS_PATH = "runs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,b", "back", "Back to runs")]

    def __init__(
        self, a: tuple[str, Sequence[TraceEvent]], b: tuple[str, Sequence[TraceEvent]]
    ) -> None:
        super().__init__()
        self.names = (a[0], b[0])
        self.rows = task_changes(list(a[1]), list(b[1]))

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield CompareTable(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        changed = sum(1 for r in self.rows if r["output_changed"])
        reused = sum(1 for r in self.rows if r["reused"])
        title = Text(" ⇄ ", style="bold")
        title.append(
            f"{one_line(self.names[0], 40)}  vs  {one_line(self.names[1], 40)}", style="bold"
        )
        title.append(f"  {changed} of {len(self.rows)} output(s) changed, {reused} reused")
        self.query_one("#runs-title", Static).update(title)
        rows = {r["task"]: r for r in self.rows}
        self.query_one(CompareTable).sync(
            [(key, key) for key in rows], lambda key: change_cells(rows[key])
        )
        self.query_one(CompareTable).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
