"""A run on Temporal as an event source: any view follows it live by its run id.

The terminal app, the notebook widgets and the command line read events through
``toolkit.sources``; ``TemporalSource`` is one more source. It pages through the run's
events with the workflow's events query (any worker of the run's task queue answers),
from the first event on, until the run has finished, so a view on any machine that
reaches the Temporal server follows a run started anywhere, even after the process
that started it has died.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio

from toolkit.events import TraceEvent, parse_event
from toolkit.sources import EventSource, Feed, Mode
from toolkit.temporal._shapes import EVENTS_QUERY, EventPage

__all__ = ["TemporalSource", "event_pages"]


async def event_pages(
    handle: Any,
    *,
    poll_s: float = 0.1,
    after: int = 0,
    transient: Callable[[Exception], bool] | None = None,
) -> AsyncIterator[list[TraceEvent]]:
    """The run's events, page by page, as they come (an empty page while none are new),
    until its last event.

    Args:
        handle: The run's ``WorkflowHandle``.
        transient: Whether a failed query is worth asking again (no worker answers
            yet, the server restarts); others are raised. Default: every ``RPCError``
            but a missing workflow or a refused request.
    """
    from toolkit.temporal.executor import _fatal

    again = transient or (lambda exc: not _fatal(exc))
    while True:
        try:
            page: EventPage = await handle.query(EVENTS_QUERY, after, result_type=EventPage)
        except Exception as exc:
            if not again(exc):
                raise
            yield []
            await anyio.sleep(max(poll_s, 0.5))
            continue
        events = [parse_event(line) for line in page.lines]
        after = page.next
        yield events
        if page.done:
            return
        if not events:
            await anyio.sleep(poll_s)


class TemporalSource(EventSource):
    """The run ``run_id`` on the Temporal server at ``address``, followed to its end.

    Args:
        address: The Temporal server, ``HOST:PORT``.
        run_id: The run's id (its workflow id).
        blobs: The large-payload directory the run's workers use.
        poll_s: How often to ask for new events while none come.
    """

    mode: Mode = "follow"
    can_cancel = False

    def __init__(
        self,
        address: str,
        run_id: str,
        *,
        namespace: str = "default",
        blobs: str | Path | None = None,
        poll_s: float = 0.1,
    ) -> None:
        super().__init__(f"temporal:{run_id}")
        self.address, self.run_id, self.namespace = address, run_id, namespace
        self.blobs, self.poll_s = blobs, poll_s
        self._stop = threading.Event()

    def produce(self, feed: Feed) -> None:
        try:
            anyio.run(self._follow, feed)
        except Exception as exc:  # the server or the run is gone: say so, end the feed
            feed.problem(f"{self.label}: cannot follow the run: {type(exc).__name__}: {exc}")
        finally:
            feed.close()

    async def _follow(self, feed: Feed) -> None:
        from toolkit.temporal.worker import connect

        client = await connect(self.address, namespace=self.namespace, blobs=self.blobs)
        handle = client.get_workflow_handle(self.run_id)
        async for events in event_pages(handle, poll_s=self.poll_s):
            if events:
                feed.extend(events)
            if self._stop.is_set():
                return

    def cancel(self) -> None:
        self._stop.set()
