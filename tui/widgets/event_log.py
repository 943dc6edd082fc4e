"""The event log: every event, filterable by participant and kind, searchable.

A bar of three inputs (search text, participant, kind) over an ``EventList``. The
inputs only build an ``EventFilter``; the list does the filtering.
"""

from __future__ import annotations

import builtins

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select

from toolkit.events import TraceEvent
from toolkit.text import sanitize_line
from tui.widgets.event_list import EventFilter, EventList

__all__ = ["EventLog"]

EVENT_KINDS = (
    "run_started",
    "run_finished",
    "run_resumed",
    "run_forked",
    "plan_created",
    "plan_updated",
    "plan_rejected",
    "task_started",
    "task_finished",
    "task_failed",
    "task_retried",
    "task_skipped",
    "message_sent",
    "agent_state",
    "review_verdict",
    "log",
    "llm_call",
    "llm_delta",
    "tool_call",
    "snapshot",
)


class EventLog(Vertical):
    """Search, participant and kind filters over the list of events."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._participants: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="event-filters"):
            yield Input(placeholder="search events  (/)", id="event-search")
            yield Select[str]([], prompt="any participant", id="event-agent")
            yield Select[str]([(k, k) for k in EVENT_KINDS], prompt="any kind", id="event-kind")
        yield EventList(id="event-list")

    @property
    def list(self) -> EventList:
        return self.query_one(EventList)

    def show(
        self, events: builtins.list[TraceEvent], limit: int, participants: builtins.list[str]
    ) -> None:
        """Show ``events[:limit]`` through the filters; offer these participants."""
        if participants != self._participants:
            self._participants = list(participants)
            select = self.query_one("#event-agent", Select)
            value = select.value
            # labels as Text: a participant's name is untrusted and must not be read as markup
            select.set_options([(Text(sanitize_line(p)), p) for p in participants])
            if isinstance(value, str) and value in participants:
                select.value = value
        self.list.show(events, limit)

    def focus_search(self) -> None:
        self.query_one("#event-search", Input).focus()

    def _refilter(self) -> None:
        agent = self.query_one("#event-agent", Select).value
        kind = self.query_one("#event-kind", Select).value
        text = self.query_one("#event-search", Input).value.strip()
        self.list.set_filter(
            EventFilter(
                agent=agent if isinstance(agent, str) else None,
                kind=kind if isinstance(kind, str) else None,
                text=text,
            )
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.list.focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._refilter()
