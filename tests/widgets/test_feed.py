"""The widget's feed and its sources: one source layer for every view, Orchestrator.subscribe."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tests.widgets.conftest import demo_events, demo_orchestrator
from toolkit import MockAgent, Orchestrator, pipeline
from toolkit.events import TraceEvent
from toolkit.sources import EventFeed, EventSource, Feed
from toolkit.widgets import RunView

ROOT = Path(__file__).resolve().parents[2]


class ChunkedSource(EventSource):
    """A new kind of source, written once: it hands over a recorded run in chunks,
    as a stream from another process would (a Redis stream, an HTTP event stream)."""

    mode = "follow"

    def __init__(self, events: Sequence[TraceEvent], chunk: int = 5) -> None:
        super().__init__("chunks")
        self.events = list(events)
        self.chunk = chunk
        self.stopped = threading.Event()

    def produce(self, feed: Feed) -> None:
        try:
            feed.problem("line 0: a line the stream could not parse")
            for i in range(0, len(self.events), self.chunk):
                if self.stopped.is_set():
                    return
                feed.extend(self.events[i : i + self.chunk])
        finally:
            feed.close()

    def cancel(self) -> None:
        self.stopped.set()


def test_a_new_source_is_written_once_and_every_view_reads_it() -> None:
    """The same EventSource subclass fills the widget (from_source) and the app's EventFeed: same events, same problems."""
    events = demo_events()
    view = RunView.from_source(ChunkedSource(events), rate_hz=0)
    assert view.reader is not None
    view.reader.join(timeout=30)
    assert not view.reader.is_alive()
    assert view.events == events
    assert view.snapshot["run"]["status"] == "succeeded"
    assert view.problems == ["line 0: a line the stream could not parse"]

    feed = EventFeed()  # what the terminal app drains once per frame
    ChunkedSource(events).produce(feed)
    drained, problems = feed.drain()
    assert drained == events and problems == view.problems and feed.closed


def test_stop_cancels_the_views_source() -> None:
    """view.stop() cancels a producing source (a follow ends, a live run is cancelled)."""
    source = ChunkedSource(demo_events())
    view = RunView(rate_hz=0)
    view.source = source
    view.stop()
    assert source.stopped.is_set()


def test_subscribe_gives_every_later_run_to_the_sink_until_unsubscribed() -> None:
    """Orchestrator.subscribe: the sink gets each run's events once (even subscribed twice); unsubscribing stops it."""
    seen: list[TraceEvent] = []

    class Collect:
        def emit(self, event: TraceEvent) -> None:
            seen.append(event)

        def close(self) -> None:
            pass

    sink = Collect()
    orch = Orchestrator([MockAgent("a")], seed=1)
    unsubscribe = orch.subscribe(sink)
    orch.subscribe(sink)
    first = orch.run_sync("one", pipeline("a"))
    assert seen == first.events
    unsubscribe()
    orch.run_sync("two", pipeline("a"))
    assert seen == first.events


def test_attach_goes_through_subscribe_only() -> None:
    """attach needs nothing but subscribe (no sinks list to reach into); detach unsubscribes."""
    calls: list[str] = []

    class Hub:
        def subscribe(self, sink: object) -> object:
            calls.append("subscribe")
            self.sink = sink
            return lambda: calls.append("unsubscribe")

    hub = Hub()
    view = RunView().attach(hub)
    assert hub.sink is view.feed and calls == ["subscribe"]
    view.detach(hub)
    assert calls == ["subscribe", "unsubscribe"]
    orch, plan = demo_orchestrator()
    view.attach(orch)
    result = orch.run_sync("go", plan)
    assert view.total == len(result.events)


def test_the_shared_layer_loads_no_ui() -> None:
    """toolkit.sources, toolkit.timeline and toolkit.describe import no textual, tui, widget library or pandas."""
    code = (
        "import sys, toolkit.sources, toolkit.timeline, toolkit.describe\n"
        "bad = ('textual', 'tui', 'ipywidgets', 'anywidget', 'traitlets', 'pandas')\n"
        "print(sorted(m for m in bad if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_play_thread_replays_to_the_end() -> None:
    """play() with the player thread on moves the cursor to the end, then stops playing and follows."""
    from toolkit.recorder import read_trace

    events = read_trace(ROOT / "sample_agents" / "traces" / "feature-review.jsonl").events
    view = RunView(events, rate_hz=0)
    view.seek(0)
    view.play(speed=256)
    done = threading.Event()
    for _ in range(600):  # bounded: waits on the view's state, up to a minute
        if view.cursor == len(events) and not view.playing:
            done.set()
            break
        done.wait(0.1)
    assert done.is_set() and view.cursor == len(events)
