"""A run exported for reading elsewhere: a static HTML page, a Mermaid diagram, OTLP spans.

Every export reads its events through the one source layer (``toolkit.sources``): a
trace file, a file another process is still writing, a run store, a workflow run live,
and whatever source is added there later; ``collect`` drains any ``EventSource`` into a
list. The renderings are the existing ones: the HTML page is the notebook dashboard's
static export (``toolkit.widgets.export``), the diagram ``toolkit.mermaid``, the spans
``toolkit.otel``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from toolkit.events import TraceEvent

__all__ = ["Collected", "collect", "html_page", "mermaid_diagram"]


class Collected:
    """A ``Feed`` (and a ``Sink``, for a live run) that keeps everything a source produces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[TraceEvent] = []
        self.problems: list[str] = []
        self.closed = False

    def emit(self, event: TraceEvent) -> None:
        with self._lock:
            self.events.append(event)

    def extend(self, events: Sequence[TraceEvent]) -> None:
        with self._lock:
            self.events.extend(events)

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)

    def close(self) -> None:
        self.closed = True


def collect(source: Any) -> tuple[list[TraceEvent], list[str]]:
    """Every event a source has (``preload``, then ``produce`` until it closes), and the
    one-line reports of what it could not read (its ``notices`` and ``problems`` too).

    Blocking: a followed file is read until its run finishes, a workflow until it ends.
    """
    feed = Collected()
    events = list(source.preload())
    source.produce(feed)
    events.extend(feed.events)
    problems = [*source.notices, *feed.problems]
    return events, problems


def html_page(events: Sequence[TraceEvent], *, title: str | None = None) -> str:
    """The run dashboard as one standalone HTML page (the notebook widget's static export).

    Raises:
        MissingExtraError: without the ``notebook`` extra (the page is the widget's).
    """
    from toolkit.extras import needs_extra

    with needs_extra("notebook", "the HTML export"):
        from toolkit.widgets import RunView

    view = RunView(list(events))
    return str(view.to_html(None, title=title))


def mermaid_diagram(events: Sequence[TraceEvent], **options: Any) -> str:
    """The run's Mermaid sequence diagram (``toolkit.mermaid.sequence_diagram``'s options)."""
    from toolkit.mermaid import sequence_diagram

    return sequence_diagram(events, **options)
