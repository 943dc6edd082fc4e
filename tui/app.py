"""The Textual app: a thin shell around the main screen, the help and the details.

It holds the event source and the app-wide keys (help, quit); everything else is in
``tui.screens.main``.
"""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from toolkit.sources import EventSource, RunCatalog
from tui.screens.details import DetailsScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.widgets.event_list import EventList
from tui.widgets.message_flow import MessageFlow
from tui.widgets.metrics_table import MetricsTable
from tui.widgets.plan_view import PlanView
from tui.widgets.replay_bar import ReplayBar

__all__ = ["SwitchboardApp"]

TERMINAL_GONE = 129
"""The exit code when the terminal went away (128 + SIGHUP, as a shell reports a hang-up)."""


def _runs_bindings() -> list[BindingType]:
    from tui.screens.runs import RunsScreen

    return list(RunsScreen.BINDINGS)


class SwitchboardApp(App[int]):
    """Shows one run: live, followed, or replayed from a trace or a run store.

    Args:
        source: Where the events come from (see ``toolkit.sources``), or a catalog of
            runs (a run store) to browse and pick from.
    """

    CSS_PATH = "app.tcss"
    TITLE = "Switchboard"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: EventSource | RunCatalog) -> None:
        super().__init__()
        self.source = source

    def on_mount(self) -> None:
        if not self.is_headless:
            # A closed terminal does not always send SIGHUP: under `make demo` make is the
            # session leader and keeps waiting, so the app would run on with nobody to
            # see it, its input thread spinning on the dead tty. Look once a second.
            self.set_interval(1.0, self._check_terminal)
        if isinstance(self.source, RunCatalog):
            from tui.screens.runs import RunsScreen

            self.push_screen(RunsScreen(self.source))
        else:
            self.push_screen(MainScreen(self.source))

    def _check_terminal(self) -> None:
        stream = sys.__stdout__
        try:
            alive = stream is not None and os.isatty(stream.fileno())
        except (OSError, ValueError):  # closed or detached
            alive = False
        if not alive:
            self.exit(TERMINAL_GONE)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(
            HelpScreen(
                [
                    ("Anywhere", self.BINDINGS),
                    ("Run and replay", MainScreen.BINDINGS),
                    ("Run browser", _runs_bindings()),
                    ("Replay bar (focused)", ReplayBar.BINDINGS),
                    ("Message flow, event list", [*MessageFlow.BINDINGS, *EventList.BINDINGS]),
                    ("Plan, agents", PlanView.BINDINGS),
                    ("Metrics", MetricsTable.BINDINGS),
                    ("Details", DetailsScreen.BINDINGS),
                ]
            )
        )

    @property
    def main(self) -> MainScreen:
        """The main screen (also under the help and details screens)."""
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))
