"""The dashboard's feed: a trace sink with a throttle, between a run and a widget.

A run (or any ``toolkit.sources`` source) puts events in on its own thread; the feed
folds each into the widget's ``RunHistory`` at once (cheap) and asks the widget to
push to the browser at most ``rate_hz`` times a second. A trailing push (a callback
on the run's event loop, or a timer thread where there is none) shows the last events
of a burst, and ``close`` always pushes the final state. The widget itself only holds
traits and turns the history into them.

A push that fails (a broken link to the browser) never stops the run: the feed keeps
recording and reports the error in ``push_error``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

from toolkit.events import TraceEvent
from toolkit.widgets.history import RunHistory

__all__ = ["DashboardFeed", "PlayThread", "schedule_later"]


def schedule_later(delay: float, fn: Callable[[], None]) -> None:
    """Call ``fn`` after ``delay`` seconds, on the caller's event loop when it has one.

    A run in the notebook's own loop (``await orch.run``) or in ``run_sync``'s thread
    emits on a thread with a running loop: the trailing push then runs on that same
    thread, so no second thread ever touches the widget. Elsewhere a timer thread does.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        timer = threading.Timer(delay, fn)
        timer.daemon = True
        timer.start()
    else:
        loop.call_later(delay, fn)


class DashboardFeed:
    """A ``Sink`` (and a source's ``Feed``) that fills a history and throttles pushes.

    Args:
        history: Where events go.
        push: Sends the history's state to the browser (called with ``lock`` held).
        on_reset: Called (with ``lock`` held) when an event starts a new run.
        rate_hz: At most this many pushes a second (0: every event).
    """

    def __init__(
        self,
        history: RunHistory,
        push: Callable[[], None],
        *,
        on_reset: Callable[[], None] = lambda: None,
        rate_hz: float = 10.0,
    ) -> None:
        self.history = history
        self._push = push
        self._on_reset = on_reset
        self.interval = 1.0 / rate_hz if rate_hz > 0 else 0.0
        """Least time between two pushes, in seconds."""
        self.lock = threading.RLock()
        """Held while the history changes or is pushed."""
        self.clock: Callable[[], float] = time.monotonic
        """The throttle's clock (tests move a fake one)."""
        self.schedule: Callable[[float, Callable[[], None]], None] = schedule_later
        """Schedules the trailing push (tests collect them)."""
        self.last_push = float("-inf")
        self.dirty = False
        """True when events arrived since the last push."""
        self._timer_pending = False
        self.problems: list[str] = []
        """Lines of the input that could not be read (from a source)."""
        self.push_error: str | None = None
        """The last error of a push made on a run's thread, if any."""

    # -- the Sink and Feed protocols ---------------------------------------------------
    def emit(self, event: TraceEvent) -> None:
        """Take one event (on the run's thread; cheap: a push at most ``rate_hz`` a second)."""
        with self.lock:
            if self.history.append(event):
                self._on_reset()
            self._arrived()

    def extend(self, events: Sequence[TraceEvent]) -> None:
        """Take several events at once (one push decision for all)."""
        with self.lock:
            for event in events:
                if self.history.append(event):
                    self._on_reset()
            self._arrived()

    def problem(self, text: str) -> None:
        """Record a line of the input that could not be read."""
        with self.lock:
            self.problems.append(text)

    def close(self) -> None:
        """The run (or source) ended: push the final state now."""
        with self.lock:
            self.push_now()

    # -- pushing -----------------------------------------------------------------------
    def _arrived(self) -> None:
        self.dirty = True
        wait = self.last_push + self.interval - self.clock()
        if wait <= 0:
            self.push_now()
        elif not self._timer_pending:
            self._timer_pending = True
            self.schedule(wait, self._trailing_push)

    def _trailing_push(self) -> None:
        with self.lock:
            self._timer_pending = False
            if self.dirty:
                self.push_now()

    def push_now(self) -> None:
        """Push at once, keeping any error in ``push_error`` instead of raising it."""
        try:
            self._push()
        except Exception as exc:
            self.push_error = f"{type(exc).__name__}: {exc}"

    def pushed(self) -> None:
        """Called by the widget after each push: the throttle starts over."""
        self.last_push = self.clock()
        self.dirty = False


class PlayThread:
    """A thread that plays a replay: ``advance(tick)`` every ``tick`` seconds while playing.

    Args:
        advance: Moves the replay on by that many seconds of wall time; False at the end.
        playing: Whether the replay should go on (read before every step).
        tick: Seconds between two steps.
    """

    def __init__(
        self, advance: Callable[[float], bool], playing: Callable[[], bool], tick: float = 0.1
    ) -> None:
        self._advance = advance
        self._playing = playing
        self.tick = tick
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start playing, unless a thread plays already."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="switchboard-replay", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        wait = threading.Event()
        while self._playing() and self._advance(self.tick):
            wait.wait(self.tick)
