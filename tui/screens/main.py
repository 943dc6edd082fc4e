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
from typing import Any, ClassVar

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
from toolkit.timeline import CallTimeline, Player, Timeline
from tui.messages import ShowDetails, ShowTeam
from tui.screens.details import DetailsScreen
from tui.widgets.agents_view import AgentsView
from tui.widgets.event_log import EventLog
from tui.widgets.gantt import GanttChart
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

GANTT_BARS = 2_000
"""The Time tab draws at most the newest this many calls."""

FOLD_BUDGET_S = 0.03
"""Folding time per frame at most; a burst bigger than that is folded over the next frames."""

TAB_FOCUS = {
    "tab-flow": "#flow",
    "tab-metrics": "#metrics",
    "tab-events": "#event-list",
    "tab-time": "#gantt",
}
"""The widget that takes the focus when its tab is shown."""

WIDE = 140
"""From this many columns, the flow and the plan/agents sit side by side."""


def lanes(state: RunState) -> list[str]:
    """The flow's lanes: the user, the orchestrator and every agent of the run, then others.

    The agents are known from ``run_started``, so every lane is in place from the start
    and none moves when an agent speaks first, live or while replaying; a participant
    no one declared (an A2A peer, a topic) gets a lane when it appears.
    """
    order = dict.fromkeys(["user", "orchestrator", *state.agents, *state.participants])
    return list(order)


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
        Binding("4", "tab('tab-time')", "Time", show=False),
        Binding("slash", "search", "Search events", key_display="/", show=False),
        Binding("escape", "unfocus_search", "Leave search; out of a team", show=False),
        Binding("b", "back", "Back to runs"),
        Binding("t", "next_team", "Next team", show=False),
        Binding("a", "answer", "Answer a question", show=False),
    ]

    def __init__(self, source: EventSource, *, browsing: bool = False) -> None:
        super().__init__()
        self.source = source
        self.browsing = browsing
        """Opened from the run browser: ``b`` goes back to it."""
        self.timeline = Timeline()
        self.team: str | None = None
        """The team (a child run's path, ``research/web``) whose flow, plan, agents and
        metrics are shown, or None for the run itself (``t`` goes to the next)."""
        self.player = Player(self.timeline)
        self.calls = CallTimeline()
        """Agent calls as bars, kept beside the timeline (the Time tab draws them)."""
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
        self._reported: set[tuple[str, str]] = set()
        """(run id, task id or "") of the failures already notified."""
        self._failures_seen = -1
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
            with TabPane("Time 4", id="tab-time"):
                yield GanttChart(id="gantt")
        yield ReplayBar(id="replay")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#flow").border_title = "Message flow"
        self.query_one("#plan").border_title = "Plan"
        self.query_one("#agents").border_title = "Agents"
        self.query_one("#metrics").border_title = "Metrics per agent"
        self.query_one("#gantt").border_title = "Agent calls over time"
        self._show_notice()
        for notice in self.source.notices:
            self.notify(
                one_line(notice, 300), title="trace", severity="warning", timeout=8, markup=False
            )
        preload = self.source.preload()
        if preload:
            gc.disable()  # folding allocates no cycles; the collector's passes only cost
            try:
                self._extend(preload)
            finally:
                gc.enable()
            self._freeze_heap()
            self.player.sync()
            self._report_failures()
        self._pace()
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

    def _pace(self) -> None:
        """A paced source (a run on simulated time) plays from its first event as it arrives."""
        if self.source.paced:
            self.player.following = False
            self.player.playing = True

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
        self.calls = CallTimeline()
        self._failures_seen = -1
        self.player = Player(self.timeline)
        self.feed = EventFeed()
        self._dirty = True
        self._pace()
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
            self._report_failures()
        if self.player.advance(dt):
            self._dirty = True
        if self._dirty:
            self.render_frame()

    def _report_failures(self) -> None:
        """Notify each task that failed for good (and a run that failed outside any task)
        with its error, once: the reason is in view without opening the event log."""
        state = self.timeline.latest
        seen = state.counts.get("task_failed", 0) + state.counts.get("run_finished", 0)
        if seen == self._failures_seen:
            return
        self._failures_seen = seen
        for task in state.tasks.values():
            key = (state.run_id, task.id)
            if task.status == "failed" and key not in self._reported:
                self._reported.add(key)
                self.notify(
                    one_line(task.error or "no error recorded", 300),
                    title=one_line(f"task {task.id} failed ({task.last_agent or task.agent})", 80),
                    severity="error",
                    timeout=15,
                    markup=False,
                )
        failed_tasks = any(t.status == "failed" for t in state.tasks.values())
        key = (state.run_id, "")
        if (
            state.status == "failed"
            and state.error
            and not failed_tasks
            and key not in self._reported
        ):
            self._reported.add(key)
            self.notify(
                one_line(state.error, 300),
                title="the run failed",
                severity="error",
                timeout=15,
                markup=False,
            )

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
        backlog = self._backlog
        while self._backlog_at < len(backlog):
            chunk = backlog[self._backlog_at : self._backlog_at + 500]
            self._extend(chunk)
            self._backlog_at += len(chunk)
            if time.monotonic() >= deadline:
                break
        if self._backlog_at >= len(backlog):
            self._backlog, self._backlog_at = [], 0

    def _extend(self, events: list[TraceEvent]) -> None:
        """Fold events into the timeline and their calls into the bars."""
        base = len(self.timeline)
        self.timeline.extend(events)
        add = self.calls.add
        for i, event in enumerate(events, base):
            add(i, event)

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
            state = self._shown(state)
            if active == "tab-flow":
                self.query_one(MessageFlow).show(
                    state.messages, lanes(state), state.tasks, [r[4] for r in state.resumes]
                )
                self.query_one(PlanView).show(state)
                self.query_one(AgentsView).show(state)
            elif active == "tab-metrics":
                self.query_one(MetricsTable).show(state)
            elif active == "tab-events":
                self.query_one(EventLog).show(
                    self.timeline.events, player.cursor, state.participants
                )
            elif active == "tab-time":
                bars, _ = self.calls.bars_at(player.cursor, GANTT_BARS)
                waits = self.calls.waits_at(player.cursor, GANTT_BARS)
                self.query_one(GanttChart).show(bars, state, waits)

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
        self._focus_tab()
        self.render_frame()

    def _focus_tab(self) -> None:
        """Give the shown tab's main widget the focus, so its keys work at once.

        Without it, focus stays on a widget of the hidden tab (so the keys of the tab on
        screen do nothing), and Textual's fallback focus can even land back in the old
        tab, which the tabbed content then shows again.
        """
        tabs = self.query_one(TabbedContent)
        pane = tabs.get_pane(tabs.active)
        focused = self.focused
        if focused is not None and pane in focused.ancestors:
            return  # already in the tab shown (the search box, a filter)
        self.query_one(TAB_FOCUS.get(tabs.active, "#flow")).focus(scroll_visible=False)

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

    def _shown(self, state: RunState) -> RunState:
        """The state of the team shown (``self.team``), or the run's own state."""
        team, title = self.team, "Message flow"
        shown = state
        if team is not None:
            shown = dict(state.teams()).get(team, state)
            if shown is not state:
                title = f"Message flow · team {team} (esc: out, t: next team)"
        if self.query_one("#flow").border_title != title:
            self.query_one("#flow").border_title = title
            self.query_one(PlanView).border_title = (
                f"Plan · team {team}" if shown is not state else None
            )
        return shown

    def action_next_team(self) -> None:
        """Show the next team's own lanes, plan and agents (a child run); after the last
        team, the run itself again."""
        paths = [None, *(p for p, _ in self.player.state().teams())]
        at = paths.index(self.team) if self.team in paths else 0
        self.team = paths[(at + 1) % len(paths)]
        self.render_frame()

    @on(ShowTeam)
    def _expand_team(self, message: ShowTeam) -> None:
        """Enter on a team in the agents: show its own lanes, plan and agents (a team
        inside the team shown goes a level deeper)."""
        path = f"{self.team}/{message.name}" if self.team else message.name
        if path in dict(self.player.state().teams()):
            self.team = path
            self.render_frame()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab()

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "tab-events"
        self.query_one(EventLog).focus_search()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.browsing  # only a run opened from the browser has one to go back to
        return True

    def action_back(self) -> None:
        """Back to the run browser this run was opened from."""
        if not self.browsing:
            return
        self.source.cancel()
        self.app.pop_screen()

    def action_answer(self) -> None:
        """Open the question modal on the run's first open question (a human agent's)."""
        from toolkit.human import open_questions
        from tui.screens.question import QuestionScreen

        questions = open_questions(self.timeline.latest)
        if not questions:
            self.notify("no question is waiting for an answer")
            return
        question = questions[0]
        self.app.push_screen(
            QuestionScreen(question, by=question.person),
            lambda answer: self._deliver(question, answer),
        )

    def _deliver(self, question: Any, answer: Any) -> None:
        """Give the answer to the run: in process for a live run, else through its store."""
        from toolkit.human import AnswerBox, AnswerError
        from toolkit.human import answer as give

        if answer is None:
            return
        store = getattr(self.source, "store", None)
        if self.source.label.startswith("temporal:") and hasattr(self.source, "address"):
            # a run on Temporal waits in its workflow: the answer is its signal
            self.run_worker(self._answer_on_temporal(question, answer), exit_on_error=False)
            return
        try:
            if self.source.mode == "live":
                give(question.run_id, question.task_id, answer)
            elif store is not None:
                AnswerBox(store).answer(question.run_id, question.task_id, answer)
            else:
                self.notify(
                    "this view cannot reach the run: use switchboard answer RUN_ID TASK",
                    severity="warning",
                )
                return
        except AnswerError as exc:
            self.notify(one_line(str(exc), 300), severity="error", markup=False)
            return
        self.notify(one_line(f"answered {question.task_id}", 200), markup=False)

    async def _answer_on_temporal(self, question: Any, answer: Any) -> None:
        """Signal the answer to the run's workflow (``toolkit.temporal.answers``)."""
        from toolkit.human import AnswerError
        from toolkit.temporal.answers import answer_on_temporal
        from toolkit.temporal.worker import connect

        source: Any = self.source
        try:
            try:
                client = await connect(
                    source.address, namespace=source.namespace, blobs=source.blobs
                )
            except RuntimeError as exc:
                raise AnswerError(f"cannot reach the Temporal server ({exc})") from None
            await answer_on_temporal(client, question.run_id, question.task_id, answer)
        except AnswerError as exc:
            self.notify(one_line(str(exc), 300), severity="error", markup=False)
            return
        self.notify(one_line(f"answered {question.task_id}", 200), markup=False)

    def action_unfocus_search(self) -> None:
        """Leave the search box; elsewhere, out of the team shown (a level up)."""
        tabs = self.query_one(TabbedContent)
        log = self.query_one(EventLog)
        focused = self.focused
        searching = focused is not None and focused is not log.list and log in focused.ancestors
        if tabs.active == "tab-events" and searching:
            log.list.focus()
            return
        if self.team is not None:
            self.team = self.team.rpartition("/")[0] or None
            self.render_frame()
        elif tabs.active == "tab-events":
            log.list.focus()

    def on_unmount(self) -> None:
        self.source.cancel()
        gc.unfreeze()
