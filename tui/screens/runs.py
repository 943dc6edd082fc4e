"""The run browser: the runs of a store (or any ``RunCatalog``), to pick one and watch it.

``switchboard tui --store runs.db`` opens here when the store holds more than one run.
Each row is a run: name, status, start, duration, cost, and the run it was re-run
from; a team's child run (``toolkit.team``) sits indented under its parent (``└``,
deeper for a team's team) and names its team and the parent's task. Enter opens the
run in the main screen (a child run opens on its own); ``b`` there comes back to this list.
Space marks a run and ``d`` on another compares the two, task by task.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from toolkit.sources import RunCatalog, RunEntry, SourceError
from toolkit.text import one_line
from tui.describe import RUN_LOOK
from tui.rich_text import literal
from tui.widgets.state_table import Cell, StateTable

__all__ = ["RunsScreen", "RunsTable", "run_cells"]


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def _number(value: float | None, digits: int) -> Text:
    return Text("-" if value is None else f"{value:.{digits}f}", justify="right")


def run_cells(entry: RunEntry) -> list[Cell]:
    """The row of one run; every value from the store is shown literally."""
    glyph, style = RUN_LOOK.get(entry.status, ("?", ""))
    fork = ""
    if entry.forked_from:
        fork = f"{entry.forked_from} @ {entry.from_task}" if entry.from_task else entry.forked_from
    elif entry.parent_run is not None:
        fork = f"team {entry.team or '?'} of task {entry.parent_task or '?'}"
    name = literal(entry.name, 30, style="bold" if not entry.depth else "")
    if entry.depth:
        name = Text.assemble(("  " * (entry.depth - 1) + "└ ", "dim"), name)
    return [
        name,
        Text(f"{glyph} {one_line(entry.status, 12)}", style=style),
        Text(_when(entry.started_at)),
        _number(entry.duration_s, 2),
        _number(entry.cost_usd, 4),
        Text(str(entry.events), justify="right"),
        literal(fork, 60),
        literal(entry.run_id, 40, style="dim"),
    ]


class RunsTable(StateTable):
    """One row per run, newest first."""

    COLUMNS = (
        ("name", "name"),
        ("status", "status"),
        ("started", "started (UTC)"),
        ("duration", "secs"),
        ("cost", "cost $"),
        ("events", "events"),
        ("forked", "re-run of / team"),
        ("run", "run id"),
    )


class RunsScreen(Screen[None]):
    """Pick a run of a catalog."""

    CSS_PATH = "runs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_run", "Open run"),
        Binding("space", "mark", "Mark to compare"),
        Binding("d", "compare", "Compare with marked"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self, catalog: RunCatalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.entries: list[RunEntry] = []
        self.marked: str | None = None
        """The run marked (space) to compare with the one under the cursor (``d``)."""

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        yield RunsTable(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()
        self.query_one(RunsTable).focus()

    def action_refresh(self) -> None:
        """Read the catalog again (a run may have been added or have finished)."""
        try:
            self.entries = self.catalog.runs()
        except SourceError as exc:
            self.notify(one_line(str(exc), 300), title="runs", severity="error", markup=False)
            self.entries = []
        title = Text(" ◆ ", style="bold")
        title.append(one_line(self.catalog.label, 60), style="bold")
        title.append(f"  {len(self.entries)} run(s) · ⏎ open · F5 refresh")
        self.query_one("#runs-title", Static).update(title)
        entries = {e.run_id: e for e in self.entries}
        self.query_one(RunsTable).sync(
            [
                (e.run_id, (e.status, e.duration_s, e.events, e.cost_usd, e.depth))
                for e in self.entries
            ],
            lambda key: run_cells(entries[key]),
        )

    def action_mark(self) -> None:
        key = self.query_one(RunsTable).selected_key()
        if key is None:
            return
        self.marked = None if self.marked == key else key
        shown = "none" if self.marked is None else one_line(self.marked, 40)
        self.notify(f"marked to compare: {shown}", title="compare", markup=False)

    def action_compare(self) -> None:
        """Compare the marked run with the run under the cursor, task by task."""
        key = self.query_one(RunsTable).selected_key()
        if self.marked is None or key is None or key == self.marked:
            self.notify(
                "mark a run with space, then press d on another", title="compare", markup=False
            )
            return
        try:
            a = (self.marked, self.catalog.open(self.marked).preload())
            b = (key, self.catalog.open(key).preload())
        except SourceError as exc:
            self.notify(one_line(str(exc), 300), title="compare", severity="error", markup=False)
            return
        from tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(a, b))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()  # ⏎ on the focused table

    def action_open_run(self) -> None:
        table = self.query_one(RunsTable)
        if not self.entries:
            return
        key = table.selected_key() or self.entries[0].run_id
        try:
            source = self.catalog.open(key)
        except SourceError as exc:
            self.notify(one_line(str(exc), 300), title="open run", severity="error", markup=False)
            return
        from tui.screens.main import MainScreen

        self.app.push_screen(MainScreen(source, browsing=True))
