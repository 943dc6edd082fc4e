"""The main screen: every view of one run, and the controls that move through it.

This screen is the app's controller. It owns the ``Timeline`` (every event) and the
``Player`` (the replay cursor), drains the source's ``EventFeed`` once per frame
(15 frames a second, however fast events arrive) and pushes the state at the cursor
to the views, in one batch. Only the views on screen are re-rendered. The source
produces in a thread worker; nothing here blocks on it.
"""

from __future__ import annotations

import gc
import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from toolkit.events import TraceEvent
from toolkit.sources import EventFeed, EventSource
from toolkit.state import RunState
from toolkit.text import one_line
from toolkit.timeline import Player, Timeline
from tui.messages import ShowDetails
from tui.screens.details import DetailsScreen
from tui.widgets.agents_view import AgentsView
from tui.widgets.event_log import EventLog
from tui.widgets.message_flow import MessageFlow
from tui.widgets.metrics_table import MetricsTable
from tui.widgets.plan_view import PlanView
from tui.widgets.replay_bar import ReplayBar
from tui.widgets.run_header import RunHeader

__all__ = ["MainScreen"]

FPS = 15
"""Frames per second of the coalesced rendering."""

FREEZE_EVERY = 20_000
"""Events folded between two ``gc.freeze`` calls (see ``MainScreen._freeze_heap``)."""

FOLD_BUDGET_S = 0.03
"""Folding time per frame at most; a burst bigger than that is folded over the next frames."""

WIDE = 140
"""From this many columns, the flow and the plan/agents sit side by side."""


def lanes(state: RunState) -> list[str]:
    """The flow's lanes: the participants so far, then the agents that have not spoken yet.

    Every agent of the run has a lane from the start, so the diagram does not
    re-layout as agents join, live or while replaying.
    """
    seen = list(state.participants)
    known = set(seen)
    return seen + [name for name in state.agents if name not in known]


class MainScreen(Screen[None]):
    """Header, the views in tabs, the replay bar and the footer."""

    CSS_PATH = "main.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/pause"),
        Binding("comma", "step(-1)", "Step back", key_display=","),
        Binding("full_stop", "step(1)", "Step", key_display="."),
        Binding("minus", "slower", "Slower", key_display="-", show=False),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+", show=False),
        Binding("g", "jump_start", "Start", show=False),
        Binding("G", "jump_end", "End/live", key_display="G"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "run_again", "Run again"),
        Binding("1", "tab('tab-flow')", "Flow", show=False),
        Binding("2", "tab('tab-metrics')", "Metrics", show=False),
        Binding("3", "tab('tab-events')", "Events", show=False),
        Binding("slash", "search", "Search events", key_display="/", show=False),
        Binding("escape", "unfocus_search", "Leave search", show=False),
    ]

    def __init__(self, source: EventSource) -> None:
        super().__init__()
        self.source = source
        self.timeline = Timeline()
        self.player = Player(self.timeline)
        self.feed = EventFeed()
        self.problems: list[str] = []
        self.damaged: list[str] = []
        """The damaged events the fold skipped up to the cursor (``RunState.problems``)."""
        """Lines a followed source could not read (the source's own notices are apart)."""
        self._running = False
        self._backlog: list[TraceEvent] = []
        self._backlog_at = 0
        self._rerun = False
        self._frozen_at = 0
        self._dirty = True
        self._last_frame = time.monotonic()
        self.frames = 0
        """Frames rendered (the benchmark reads it)."""

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Static(id="notice")
        with TabbedContent(initial="tab-flow", id="tabs"):
            with TabPane("Flow 1", id="tab-flow"), Horizontal(id="overview"):
                yield MessageFlow(id="flow")
                with Vertical(id="side"):
                    yield PlanView(id="plan")
                    yield AgentsView(id="agents")
            with TabPane("Metrics 2", id="tab-metrics"):
                yield MetricsTable(id="metrics")
            with TabPane("Events 3", id="tab-events"):
                yield EventLog(id="events")
        yield ReplayBar(id="replay")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#flow").border_title = "Message flow"
        self.query_one("#plan").border_title = "Plan"
        self.query_one("#agents").border_title = "Agents"
        self.query_one("#metrics").border_title = "Metrics per agent"
        self._show_notice()
        for notice in self.source.notices:
            self.notify(
                one_line(notice, 300), title="trace", severity="warning", timeout=8, markup=False
            )
        preload = self.source.preload()
        if preload:
            gc.disable()  # folding allocates no cycles; the collector's passes only cost
            try:
                self.timeline.extend(preload)
            finally:
                gc.enable()
            self._freeze_heap()
            self.player.sync()
        self._start()
        self.render_frame()
        self.set_interval(1 / FPS, self._frame)
        self.query_one(MessageFlow).focus()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= WIDE, "-wide")

    # -- the source ------------------------------------------------------------------------
    def _start(self) -> None:
        """Start the source's producer in a thread worker."""
        if type(self.source).produce is EventSource.produce:
            return
        self._running = True
        self.run_worker(
            self._produce,
            thread=True,
            group="source",
            exclusive=True,
            exit_on_error=False,
            name="source",
        )

    def _produce(self) -> None:
        self.source.produce(self.feed)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "source":
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                one_line(f"{type(error).__name__}: {error}", 300),
                title="the run could not run",
                severity="error",
                timeout=15,
                markup=False,
            )
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._running = False
            self._dirty = True
            if self._rerun:
                self._rerun = False
                self._restart()

    def _restart(self) -> None:
        gc.unfreeze()  # the old run's events may go now
        self._frozen_at = 0
        self._backlog, self._backlog_at = [], 0
        self.timeline.reset()
        self.player = Player(self.timeline)
        self.feed = EventFeed()
        self._dirty = True
        self._start()
        self.render_frame()

    @property
    def running(self) -> bool:
        """True while the source is producing (a live run, a followed file)."""
        return self._running

    @property
    def caught_up(self) -> bool:
        """True when every event received so far is folded into the timeline."""
        return self._backlog_at >= len(self._backlog)

    # -- frames ----------------------------------------------------------------------------
    def _frame(self) -> None:
        now = time.monotonic()
        dt, self._last_frame = now - self._last_frame, now
        events, problems = self.feed.drain()
        if problems:
            self.problems.extend(problems)
            self._show_notice()
        if events:
            if self.caught_up:
                self._backlog, self._backlog_at = events, 0
            else:
                self._backlog.extend(events)
        if not self.caught_up:
            self._fold_backlog(now + FOLD_BUDGET_S)
            self.player.sync()
            self._dirty = True
            if len(self.timeline) - self._frozen_at >= FREEZE_EVERY:
                self._freeze_heap()
        if self.player.advance(dt):
            self._dirty = True
        if self._dirty:
            self.render_frame()

    def _freeze_heap(self) -> None:
        """Move everything alive (the events held for replay) out of the collector's sight.

        The timeline keeps every event for the whole session; without this, each full
        collection walks all of them again (~0.3 s per 100,000 events), which shows
        as frozen frames. A new run unfreezes so the old events can be freed.
        """
        if len(self.timeline) >= FREEZE_EVERY:
            gc.freeze()
            self._frozen_at = len(self.timeline)

    def _fold_backlog(self, deadline: float) -> None:
        """Fold waiting events into the timeline until ``deadline`` (so no frame freezes)."""
        backlog, timeline = self._backlog, self.timeline
        while self._backlog_at < len(backlog):
            chunk = backlog[self._backlog_at : self._backlog_at + 500]
            timeline.extend(chunk)
            self._backlog_at += len(chunk)
            if time.monotonic() >= deadline:
                break
        if self._backlog_at >= len(backlog):
            self._backlog, self._backlog_at = [], 0

    def render_frame(self) -> None:
        """Push the state at the cursor to the header, the bar and the views on screen."""
        self._dirty = False
        self.frames += 1
        player = self.player
        state = player.state()
        if len(state.problems) != len(self.damaged):
            self.damaged = list(state.problems)
            self._show_notice()
        with self.app.batch_update():
            ended = self.source.ended if player.at_end else None
            self.query_one(RunHeader).show(state, self.source.label, ended)
            self.query_one(ReplayBar).show(player, self.source.mode, self._running)
            active = self.query_one(TabbedContent).active
            if active == "tab-flow":
                self.query_one(MessageFlow).show(state.messages, lanes(state), state.tasks)
                self.query_one(PlanView).show(state)
                self.query_one(AgentsView).show(state)
            elif active == "tab-metrics":
                self.query_one(MetricsTable).show(state)
            elif active == "tab-events":
                self.query_one(EventLog).show(
                    self.timeline.events, player.cursor, state.participants
                )

    def _show_notice(self) -> None:
        notice = self.query_one("#notice", Static)
        lines = len(self.problems)
        parts = [*self.source.notices]
        if lines:
            parts.append(
                f"skipped {lines} corrupt line{'s' if lines != 1 else ''} while following: {self.problems[-1]}"
            )
        if self.damaged:
            count = len(self.damaged)
            parts.append(f"skipped {count} damaged event(s): {self.damaged[-1]}")
        notice.update(Text(one_line("  ".join(parts), 300), style="bold #ffaf00"))
        notice.display = bool(parts)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.render_frame()

    @on(ShowDetails)
    def _details(self, message: ShowDetails) -> None:
        self.app.push_screen(DetailsScreen(message.subject))

    @on(ReplayBar.Seek)
    def _seek(self, message: ReplayBar.Seek) -> None:
        if message.fraction is not None:
            self.player.playing = False
            self.player.seek_fraction(message.fraction)
        else:
            self.player.step(message.delta)
        self.render_frame()

    # -- actions ---------------------------------------------------------------------------
    def action_toggle_play(self) -> None:
        self.player.toggle()
        self.render_frame()

    def action_step(self, delta: int) -> None:
        self.player.step(delta)
        self.render_frame()

    def action_faster(self) -> None:
        self.player.faster()
        self.render_frame()

    def action_slower(self) -> None:
        self.player.slower()
        self.render_frame()

    def action_jump_start(self) -> None:
        self.player.playing = False
        self.player.start()
        self.render_frame()

    def action_jump_end(self) -> None:
        self.player.end()
        self.render_frame()

    def action_cancel_run(self) -> None:
        if not self.source.can_cancel:
            self.notify("this view replays a recorded run: there is nothing to cancel")
            return
        if not self._running:
            self.notify("the run has ended")
            return
        self.source.cancel()
        self.notify("cancelling the run…")

    def action_run_again(self) -> None:
        if not self.source.can_rerun:
            self.notify("this view replays a recorded run: run a workflow to run it again")
            return
        if self._running:
            self._rerun = True
            self.source.cancel()
            self.notify("cancelling, then running again…")
            return
        self._restart()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "tab-events"
        self.query_one(EventLog).focus_search()

    def action_unfocus_search(self) -> None:
        if self.query_one(TabbedContent).active == "tab-events":
            self.query_one(EventLog).list.focus()

    def on_unmount(self) -> None:
        self.source.cancel()
        gc.unfreeze()
