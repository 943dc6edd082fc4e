"""The notebook dashboard: anywidget views over a run's history.

A view holds traits and turns its ``RunHistory`` into them. Events reach it through
its ``feed`` (``toolkit.widgets.feed.DashboardFeed``: a trace sink with a throttle):
give ``sinks=[view]`` (the view's ``emit``/``close`` are the feed's), ``view.attach(orch)``
(``Orchestrator.subscribe``), or any ``toolkit.sources`` source (``from_source``,
``from_trace``, ``follow_trace``, ``from_store``, and ``follow`` for a run elsewhere:
``RunView.follow("redis://host:6379/0")``). A push sends the coalesced state (a
snapshot of the fold, with capped task and bar lists) and bounded windows of the
message and log rows, never the whole history, so a 10,000-event run in a fraction of
a second costs the browser three or four updates.

Everything the front end shows is in synced traits, never in one-off messages, so a
view displayed late, displayed twice, or re-rendered after a page reload shows the
same thing. Row windows are split into a ``head`` that changes rarely and a small
``tail`` that takes new rows, so a live push mostly sends the new rows only.

Replay is the same code path: ``cursor`` is how many events are shown; ``following``
keeps it at the end while a run is live; ``play``/``pause``/``step``/``seek`` (and the
front end's buttons and slider) move it. Playing paces the events with the core's
``toolkit.timeline.Player``, so ``speed`` means what it means in the terminal app: a
multiple of the recorded pace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.events import TraceEvent
from toolkit.extras import needs_extra
from toolkit.sources import EventSource, is_url, open_store, open_trace, open_url
from toolkit.state import RunState
from toolkit.timeline import DEFAULT_SPEED, Player
from toolkit.widgets.feed import DashboardFeed, PlayThread, schedule_later
from toolkit.widgets.history import LogFilter, RunHistory
from toolkit.widgets.projection import event_detail, lane_order, run_snapshot, shown_team

with needs_extra("notebook", "toolkit.widgets"):
    import anywidget
    import traitlets

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PARTS",
    "FlowView",
    "GanttView",
    "MetricsView",
    "PlanView",
    "RunView",
    "schedule_later",
]

_STATIC = Path(__file__).parent / "static"

PARTS = ("header", "questions", "controls", "flow", "plan", "gantt", "metrics", "log")
"""Every part a view can show, in the order the dashboard stacks them."""


class RowWindow:
    """The rows of one list as the front end holds them: ``head + tail``.

    New rows that continue the last window go to the tail; once the tail has
    ``chunk`` rows it folds into the head (trimmed to ``limit``). Anything else (a
    seek, a new filter) replaces both.
    """

    def __init__(self, limit: int, chunk: int = 50) -> None:
        self.limit = limit
        self.chunk = chunk
        self.head: list[dict[str, Any]] = []
        self.tail: list[dict[str, Any]] = []

    def update(self, rows: list[dict[str, Any]]) -> tuple[bool, bool]:
        """Make the window show ``rows``; returns (head changed, tail changed)."""
        last = self.tail[-1] if self.tail else (self.head[-1] if self.head else None)
        position = None
        if last is not None:
            # rows are cached objects: the identity of the last sent row marks where new ones start
            for i in range(len(rows) - 1, -1, -1):
                if rows[i] is last:
                    position = i + 1
                    break
        if position is None:
            if not rows and not self.head and not self.tail:
                return False, False
            self.head, self.tail = list(rows), []
            return True, True
        new = rows[position:]
        if not new:
            return False, False
        self.tail = self.tail + new
        if len(self.tail) >= self.chunk:
            self.head = (self.head + self.tail)[-self.limit :]
            self.tail = []
            return True, True
        return False, True

    def reset(self) -> None:
        self.head, self.tail = [], []


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


class _Dashboard(anywidget.AnyWidget):
    """Base of every view: the traits of a run's history, and a replay cursor over it."""

    _esm = _STATIC / "dashboard.js"
    _css = _STATIC / "dashboard.css"

    parts = traitlets.List(traitlets.Unicode(), default_value=list(PARTS)).tag(sync=True)
    """Which parts to show (see ``PARTS``)."""
    title = traitlets.Unicode("").tag(sync=True)
    snapshot = traitlets.Dict().tag(sync=True)
    """The coalesced run state: header figures, lanes, plan tasks, metrics, Gantt bars."""
    arrows_head: traitlets.List[Any] = traitlets.List().tag(sync=True)
    arrows_tail: traitlets.List[Any] = traitlets.List().tag(sync=True)
    log_head: traitlets.List[Any] = traitlets.List().tag(sync=True)
    log_tail: traitlets.List[Any] = traitlets.List().tag(sync=True)
    totals = traitlets.Dict().tag(sync=True)
    """``messages`` and ``log`` rows in the whole (filtered) history up to the cursor."""
    cursor = traitlets.Int(0).tag(sync=True)
    """How many events are shown (replay position)."""
    total = traitlets.Int(0).tag(sync=True)
    """How many events the view holds."""
    following = traitlets.Bool(True).tag(sync=True)
    """Keep the cursor at the newest event (live)."""
    playing = traitlets.Bool(False).tag(sync=True)
    speed = traitlets.Float(DEFAULT_SPEED).tag(sync=True)
    """Replay speed: a multiple of the recorded pace (as in the terminal app)."""
    selected = traitlets.Int(-1).tag(sync=True)
    """Sequence number of the event in the details pane (-1: none)."""
    selected_run = traitlets.Unicode("").tag(sync=True)
    """The run of the event selected: "" the run itself, or a team's child run id (each
    run numbers its own events)."""
    detail = traitlets.Unicode("").tag(sync=True)
    log_filter = traitlets.Dict({"text": "", "kind": ""}).tag(sync=True)
    static = traitlets.Bool(False).tag(sync=True)
    """True in a static HTML export (no kernel: replay controls are off)."""
    height = traitlets.Int(380).tag(sync=True)
    """Height in pixels of the scrolling flow and log panes."""
    team = traitlets.Unicode("").tag(sync=True)
    """The team expanded into its own lanes, plan and agents: its path in
    ``RunState.teams()`` (``research``, ``research/sources``); "" shows the run itself.
    Clicking a team's lane (marked ▸) sets it, the flow's ◂ button goes a level up."""
    answer_note = traitlets.Dict().tag(sync=True)
    """The outcome of the last answer sent from the page (``toolkit.widgets.answers``)."""

    default_parts: Sequence[str] = PARTS

    def __init__(
        self,
        events: Iterable[TraceEvent] = (),
        *,
        title: str = "",
        parts: Sequence[str] | None = None,
        rate_hz: float = 10.0,
        max_rows: int = 500,
        max_tasks: int = 200,
        max_bars: int = 300,
        height: int = 380,
        **kwargs: Any,
    ) -> None:
        """Make a view, optionally over recorded events.

        Args:
            events: Events to show at once (a recorded run, or a ``RunResult``); live
                events come via ``emit``.
            title: Shown above the dashboard.
            parts: Which parts to show (default: the view's own).
            rate_hz: At most this many pushes to the browser per second.
            max_rows: Message arrows and log rows kept in the browser (the rest is in Python).
            max_tasks: Plan tasks drawn in the DAG.
            max_bars: Agent calls drawn in the Gantt chart.
            height: Height in pixels of the scrolling flow and log panes.
        """
        chosen = list(parts) if parts is not None else list(self.default_parts)
        unknown = [p for p in chosen if p not in PARTS]
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
        super().__init__(parts=chosen, title=title, height=height, **kwargs)
        self._max_rows, self._max_tasks, self._max_bars = max_rows, max_tasks, max_bars
        self._history = RunHistory()
        self.feed = DashboardFeed(
            self._history, self._push, on_reset=self._new_run, rate_hz=rate_hz
        )
        """Where events come in (a ``Sink``): folds them and throttles the pushes."""
        self._lock = self.feed.lock
        self._pushing = False
        self._pacer = Player(self._history.timeline, following=False)
        """Paces a replay at ``speed`` times the recorded pace (the terminal app's player)."""
        self._player = PlayThread(self.advance, lambda: bool(self.playing))
        """Moves the replay on while ``playing`` (the core's Player does the pacing)."""
        self._autoplay = True
        """Run a player thread while ``playing`` (tests drive ``advance`` themselves)."""
        self._arrow_window = RowWindow(max_rows)
        self._log_window = RowWindow(max_rows)
        self._lanes: dict[str, list[str]] = {}
        """The lanes drawn so far, of the run ("") and of each team shown: they keep their
        places (see ``lane_order``)."""
        self.source: EventSource | None = None
        """The source the view reads (``from_source`` and the loaders), if any."""
        self.reader: threading.Thread | None = None
        """The thread a producing source runs in (``follow_trace``, a live source)."""
        self.answer_store: str | Path | None = None
        """A run store to answer through when the run is not in this kernel
        (``from_store`` sets it); answers go in process first."""
        self.on_msg(self._on_page_message)
        self.pushes = 0
        """Pushes to the browser so far."""
        self.bytes_sent = 0
        """JSON bytes of the trait values those pushes changed."""
        for event in getattr(events, "events", events):  # a RunResult or TraceFile works too
            self._history.append(event)
        self._push()

    @property
    def _ready(self) -> bool:
        # traitlets may call observers while the constructor is still running
        return "bytes_sent" in self.__dict__

    @property
    def problems(self) -> list[str]:
        """Lines of the input that could not be read (``from_trace``, ``follow_trace``)."""
        return self.feed.problems

    @property
    def push_error(self) -> str | None:
        """The last error of a push made on a run's thread, if any."""
        return self.feed.push_error

    # -- answers from the page ----------------------------------------------------
    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "answer":
            self.answer_from_page(content)

    def answer_from_page(self, content: dict[str, Any]) -> dict[str, Any]:
        """Deliver an answer the page's buttons sent (``toolkit.widgets.answers.deliver``);
        the note shown under the questions, also set as ``answer_note``."""
        from toolkit.widgets.answers import deliver

        with self._lock:
            note = deliver(content, self._history.state_at(len(self._history)), self.answer_store)
        self.answer_note = {**note, "seq": int(content.get("seq", 0) or 0)}
        return note

    # -- sink (the feed's) -------------------------------------------------------
    def emit(self, event: TraceEvent) -> None:
        """Take one event (the ``Sink`` protocol; see ``feed``)."""
        self.feed.emit(event)

    def close(self) -> None:
        """The run ended (the ``Sink`` protocol): push the final state now.

        The view stays displayed and usable; ``dispose`` is what removes the widget. A
        run on simulated time, watched live, is then replayed from its start at its
        recorded pace (its events all came at once).
        """
        feed = self.__dict__.get("feed")
        if feed is None:  # never initialised (ipywidgets' __del__ of a failed constructor)
            return
        feed.close()
        if self.state.simulated and self.following:
            # a run on simulated time arrives all at once: play it at its recorded pace
            self.play()

    def _new_run(self) -> None:
        # the feed saw a second run_started: the history started over, so do the rows
        self._arrow_window.reset()
        self._log_window.reset()
        self._lanes = {}
        self._pushing = True
        try:
            self.following, self.playing = True, False
        finally:
            self._pushing = False

    def __del__(self) -> None:
        # ipywidgets' __del__ calls close(), which here is the Sink's final push; at
        # interpreter shutdown that push would fail. A live widget is kept alive by
        # ipywidgets' registry anyway until ``dispose``.
        pass

    def dispose(self) -> None:
        """Close the widget itself (ipywidgets' ``close``): the front end drops it."""
        self.playing = False
        self.stop()
        super().close()

    def attach(self, target: Any) -> _Dashboard:
        """Follow every run of an ``Orchestrator`` (``Orchestrator.subscribe``); returns the view.

        A new run replaces the shown one when it starts.
        """
        subscribe = getattr(target, "subscribe", None)
        if subscribe is None:
            raise TypeError(
                f"cannot attach to {type(target).__name__}: expected an Orchestrator "
                "(for one run, give sinks=[view] to run or prepare)"
            )
        unsubscribe = subscribe(self.feed)
        self._subscriptions.setdefault(id(target), unsubscribe)
        return self

    def detach(self, target: Any) -> None:
        """Stop following ``target``'s runs."""
        unsubscribe = self._subscriptions.pop(id(target), None)
        if unsubscribe is not None:
            unsubscribe()

    @property
    def _subscriptions(self) -> dict[int, Callable[[], None]]:
        return self.__dict__.setdefault("_unsubscribe", {})

    # -- sources ---------------------------------------------------------------
    @classmethod
    def from_events(cls, events: Iterable[TraceEvent], **options: Any) -> _Dashboard:
        """A view of recorded events."""
        return cls(events, **options)

    @classmethod
    def from_source(cls, source: EventSource, **options: Any) -> _Dashboard:
        """A view of any ``toolkit.sources`` source: its events up front, then what it produces.

        A source that produces (a followed file, a live run, a stream) runs in a
        background thread (``reader``) until it is done or ``stop()`` is called.
        """
        view = cls(source.preload(), **options)
        view.source = source
        view.feed.problems.extend(source.problems)
        if type(source).produce is not EventSource.produce:
            view.reader = threading.Thread(
                target=source.produce,
                args=(view.feed,),
                name=f"switchboard-source-{source.mode}",
                daemon=True,
            )
            view.reader.start()
        return view

    @classmethod
    def from_trace(cls, path: str | Path, **options: Any) -> _Dashboard:
        """A view of a JSONL trace (corrupt lines are skipped; see ``problems``).

        Raises:
            SourceError: when the file is missing, unreadable or holds no event.
        """
        return cls.from_source(open_trace(path), **options)

    @classmethod
    def follow_trace(
        cls,
        path: str | Path,
        *,
        poll_s: float = 0.1,
        idle_timeout_s: float | None = None,
        **options: Any,
    ) -> _Dashboard:
        """A view of a trace another process is writing, updated as lines arrive.

        A background thread tails the file until the run's ``run_finished`` event,
        ``idle_timeout_s`` without new lines, or ``stop()``.
        """
        source = open_trace(path, follow=True, poll_s=poll_s, idle_timeout_s=idle_timeout_s)
        return cls.from_source(source, **options)

    @classmethod
    def follow(
        cls,
        target: str | Path | EventSource,
        *,
        run: str | None = None,
        token: str | None = None,
        token_env: str | None = None,
        **options: Any,
    ) -> _Dashboard:
        """A view of a run another process (or machine) is executing, live, from its start.

        Args:
            target: A URL the source layer reads (``redis://HOST:PORT/DB``: the newest
                run published there, or ``run``; ``http://HOST:PORT/v1/runs/ID``: a run
                of ``switchboard serve``), a trace file being written, or any
                ``toolkit.sources`` source.
            run: Which run, for a Redis URL (default: the newest).
            token: A served run's bearer token; or ``token_env``, the variable that
                holds it (default: ``SWITCHBOARD_TOKEN`` when set).

        Raises:
            SourceError: when the target cannot be opened (one line, secrets masked).
            TokenError: when ``token_env`` names an unset variable.
        """
        if isinstance(target, EventSource):
            source = target
        elif is_url(target):
            url = str(target)
            if token is None and url.partition("://")[0].lower() in ("http", "https"):
                import os

                from toolkit.web import token_from_env

                token = (
                    token_from_env(token_env)
                    if token_env
                    else os.environ.get("SWITCHBOARD_TOKEN", "").strip() or None
                )
            source = open_url(url, run_id=run, token=token)
        else:
            source = open_trace(target, follow=True)
        return cls.from_source(source, **options)

    def stop(self) -> None:
        """Stop the source (a followed file, a live run) and stop a replay."""
        source = self.__dict__.get("source")
        if source is not None:
            source.cancel()
        self.playing = False

    @classmethod
    def from_store(cls, store: Any, run_id: str | None = None, **options: Any) -> _Dashboard:
        """A view of a stored run (the newest when ``run_id`` is None).

        Args:
            store: A ``RunStore`` or the path of its SQLite file.
            run_id: Which run.

        Raises:
            SourceError: when the store or the run is not there.
        """
        view = cls.from_source(open_store(store, run_id), **options)
        path = getattr(store, "path", store)
        if isinstance(path, str | Path):
            view.answer_store = path
        return view

    @classmethod
    def from_result(cls, result: Any, **options: Any) -> _Dashboard:
        """A view of a finished ``RunResult``."""
        return cls(result.events, **options)

    # -- reading ---------------------------------------------------------------
    @property
    def events(self) -> list[TraceEvent]:
        """Every event the view holds (a copy)."""
        with self._lock:
            return list(self._history.events)

    @property
    def state(self) -> RunState:
        """The run's state at the cursor (the live state when following)."""
        with self._lock:
            return self._history.state_at(self._cursor_now())

    def metrics(self) -> pd.DataFrame:
        """Per-agent metrics at the cursor (``toolkit.metrics.agent_metrics``)."""
        from toolkit.metrics import agent_metrics

        return agent_metrics(self.state)

    @property
    def stats(self) -> dict[str, int]:
        """Events held, pushes made and bytes they sent."""
        return {"events": len(self._history), "pushes": self.pushes, "bytes_sent": self.bytes_sent}

    # -- replay ----------------------------------------------------------------
    def seek(self, cursor: int) -> None:
        """Show the state after the first ``cursor`` events (stops following)."""
        with self._lock:
            self._move(cursor, follow=False)

    def step(self, n: int = 1) -> None:
        """Move the cursor ``n`` events forward (negative: back)."""
        with self._lock:
            self._move(self._cursor_now() + n, follow=False)

    def live(self) -> None:
        """Follow the newest event again (stops a replay)."""
        with self._lock:
            self.playing = False
            self._move(len(self._history), follow=True)

    def play(self, speed: float | None = None) -> None:
        """Replay from the cursor (from the start when at the end) at ``speed`` × the recorded pace."""
        if speed is not None:
            self.speed = speed
        with self._lock:
            start = self._cursor_now()
            self._move(0 if start >= len(self._history) else start, follow=False)
        self.playing = True

    def pause(self) -> None:
        """Stop a replay where it is."""
        self.playing = False

    def advance(self, seconds: float) -> bool:
        """Move a replay on by ``seconds`` of wall time; returns False once it reached the end.

        Events come at their recorded pace times ``speed`` (pauses longer than a second
        are shortened to one), exactly as the terminal app replays them.
        """
        with self._lock:
            pacer = self._pacer
            if pacer.timeline is not self._history.timeline:  # a new run started
                pacer = self._pacer = Player(self._history.timeline, following=False)
            cursor = self._cursor_now()
            if cursor >= len(self._history):
                self.playing = False
                return False
            if pacer.cursor != cursor or not pacer.playing:
                pacer.playing = True
                pacer.seek(cursor)
            pacer.speed = self.speed
            pacer.advance(seconds)
            self._move(pacer.cursor, follow=False)
            if self.cursor >= len(self._history):
                pacer.playing = False
                self.playing = False
                return False
            return True

    def select(self, seq: int, run: str = "") -> str:
        """Show event ``seq`` (of the run, or of a team's child run ``run``) in the
        details pane; returns its details."""
        with self.hold_trait_notifications():
            self.selected_run = run
            self.selected = seq
        return self.detail

    def _move(self, cursor: int, *, follow: bool) -> None:
        cursor = max(0, min(cursor, len(self._history)))
        self._pushing = True
        try:
            self.following = follow
            self.cursor = cursor
        finally:
            self._pushing = False
        self._push()

    def _cursor_now(self) -> int:
        return len(self._history) if self.following else min(self.cursor, len(self._history))

    @traitlets.observe("cursor")
    def _on_cursor(self, change: dict[str, Any]) -> None:
        if not self._ready or self._pushing:
            return
        with self._lock:
            if change["new"] < len(self._history):
                self.following = False
            self._push()

    @traitlets.observe("following", "log_filter", "team")
    def _on_view_change(self, change: dict[str, Any]) -> None:
        if self._ready and not self._pushing:
            with self._lock:
                self._push()

    @traitlets.observe("selected", "selected_run")
    def _on_selected(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        with self._lock:
            seq = self.selected
            event = self._history.find(seq, self.selected_run or None) if seq >= 0 else None
            self.detail = event_detail(event) if event is not None else ""

    @traitlets.observe("playing")
    def _on_playing(self, change: dict[str, Any]) -> None:
        if not self._ready or not self._autoplay:
            return
        if change["new"]:
            self._player.start()

    # -- pushing ---------------------------------------------------------------
    def _shown(
        self, state: RunState, cursor: int, team: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
        """The snapshot, the arrows and the count of messages at ``cursor``: of the run,
        or of ``team``'s run once it has started (``run_snapshot``)."""
        history = self._history
        snapshot = run_snapshot(state, task_limit=self._max_tasks, team=team or None)
        # the lanes of the whole run (or team) so far, whatever the cursor: a replay, a
        # seek or a new participant never moves a lane that is drawn
        live = history.state
        if team:
            live = shown_team(live, team) or shown_team(state, team) or live
        lanes = self._lanes[team] = lane_order(live, self._lanes.get(team, ()))
        snapshot["lanes"] = lanes
        snapshot["gantt_lanes"] = [n for n in lanes if n in live.agents]
        bars, hidden = history.calls.bars_at(cursor, self._max_bars)
        snapshot["gantt"], snapshot["gantt_hidden"] = bars, hidden
        snapshot["waits"] = history.calls.waits_at(cursor, self._max_bars)
        if "questions" in self.parts:
            from toolkit.widgets.answers import question_cards

            snapshot["questions"] = question_cards(history.state_at(len(history)))
        snapshot["counts"] = dict(state.counts)
        child = shown_team(state, team)
        run = child.run_id if child is not None else None
        arrows, n_messages = history.arrows(cursor, self._max_rows, run)
        return snapshot, arrows, n_messages

    def _push(self) -> None:
        """Send the state at the cursor to the browser (caller holds the lock)."""
        history = self._history
        cursor = self._cursor_now()
        state = history.state_at(cursor)
        snapshot, arrows, n_messages = self._shown(state, cursor, self.team)
        flt = LogFilter(str(self.log_filter.get("text", "")), str(self.log_filter.get("kind", "")))
        log, n_log = history.log(cursor, self._max_rows, flt)
        changes: dict[str, Any] = {}
        if snapshot != self.snapshot:
            changes["snapshot"] = snapshot
        head, tail = self._arrow_window.update(arrows)
        if head:
            changes["arrows_head"] = self._arrow_window.head
        if tail:
            changes["arrows_tail"] = self._arrow_window.tail
        head, tail = self._log_window.update(log)
        if head:
            changes["log_head"] = self._log_window.head
        if tail:
            changes["log_tail"] = self._log_window.tail
        totals = {"messages": n_messages, "log": n_log}
        if totals != self.totals:
            changes["totals"] = totals
        if len(history) != self.total:
            changes["total"] = len(history)
        if cursor != self.cursor:
            changes["cursor"] = cursor
        self._pushing = True
        try:
            with self.hold_sync():
                for name, value in changes.items():
                    setattr(self, name, value)
        finally:
            self._pushing = False
        self.pushes += 1
        self.bytes_sent += sum(_size(v) for v in changes.values())
        self.feed.pushed()

    # -- export ----------------------------------------------------------------
    def export_data(self) -> dict[str, Any]:
        """Everything the front end needs to draw the whole run without a kernel."""
        from toolkit.widgets.export import add_details, dashboard_data

        with self._lock:
            self.playing = False
            self._move(len(self._history), follow=True)
            data = dashboard_data(self, self._history, self._arrow_window, self._log_window)
            # the run and each team as the page shows it when a team lane is clicked
            state, cursor = self._history.state, len(self._history)
            views: dict[str, dict[str, Any]] = {}
            for team in ["", *(path for path, _ in state.teams())]:
                snapshot, arrows, n_messages = self._shown(state, cursor, team)
                add_details(data["details"], self._history, arrows)
                views[team] = {
                    "snapshot": snapshot,
                    "arrows_head": arrows,
                    "arrows_tail": [],
                    "totals": {**self.totals, "messages": n_messages},
                }
            data["team"] = self.team if self.team in views else ""
            data["team_views"] = views
            return data

    def to_html(self, path: str | Path | None = None, *, title: str | None = None) -> str:
        """A standalone HTML page of this view, readable without a kernel.

        Args:
            path: Where to write it (nothing is written when None).
            title: The page title (default: the view's title or the run's name).

        Returns:
            The HTML text.
        """
        from toolkit.widgets.export import render_html

        data = self.export_data()
        page_title = (
            title or self.title or data["snapshot"].get("run", {}).get("name") or "Switchboard run"
        )
        text = render_html(data, title=page_title)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


class RunView(_Dashboard):
    """The whole run dashboard: header, replay controls, message flow, plan DAG,
    Gantt timeline, metrics table, and an event log with a details pane.

    Example:
        ``view = RunView(); view`` in one cell, then
        ``await orch.run(request, plan, sinks=[view])`` (or ``orch.run_sync``) in the next.
    """


class FlowView(_Dashboard):
    """The message flow alone: a sequence diagram with a lane per participant."""

    default_parts = ("flow",)


class PlanView(_Dashboard):
    """The plan alone: a DAG of tasks coloured by live status."""

    default_parts = ("plan",)


class MetricsView(_Dashboard):
    """Per-agent metrics alone (``toolkit.metrics.agent_metrics`` as a table)."""

    default_parts = ("metrics",)


class GanttView(_Dashboard):
    """The timeline alone: each agent call as a bar on its agent's row."""

    default_parts = ("gantt",)
