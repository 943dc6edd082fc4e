"""The details view: one message, task, agent or event, whole.

The payload is shown in full (never clipped) as text or indented JSON, in a read-only
``TextArea`` that only draws the lines on screen, so a multi-megabyte payload opens
and scrolls. ``m`` switches a text payload to rendered Markdown and back. Everything
is sanitized first: control and escape characters show as visible symbols; markup is
never interpreted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static, TextArea

from toolkit.describe import task_tries, task_worker
from toolkit.events import Envelope
from toolkit.state import AgentView, TaskView
from toolkit.text import one_line, pretty, sanitize, sanitize_line

__all__ = ["Details", "DetailsScreen", "details_of"]

MARKDOWN_LIMIT = 200_000
"""Larger payloads are shown as text only (rendering Markdown is not virtual)."""


@dataclass
class Details:
    """What the details view shows about one thing."""

    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    """(name, value) lines: ids, timings, counts."""
    body: Any = None
    """The payload, output or event, shown whole."""
    body_label: str = "payload"


def _time(ts: float | None) -> str:
    if ts is None:
        return "–"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}s"


def details_of(subject: Any) -> Details:
    """The details of an ``Envelope``, ``TaskView``, ``AgentView`` or trace event."""
    if isinstance(subject, Envelope):
        env = subject
        lines = [
            ("kind", env.kind + (f" (attempt {env.attempt})" if env.attempt > 1 else "")),
            ("from → to", f"{env.sender} → {env.recipient}"),
            ("task", env.task_id or "–"),
            ("sent", _time(env.sent_at)),
            ("message id", env.message_id),
            ("conversation", env.conversation_id),
            ("parent", env.parent_id or "–"),
            ("trace / span", f"{env.trace_id} / {env.span_id}"),
        ]
        if env.topic:
            lines.append(("topic", env.topic))
        if env.usage:
            lines.append(("usage", one_line(env.usage, 200)))
        return Details(f"message {env.kind}: {env.sender} → {env.recipient}", lines, env.payload)
    if isinstance(subject, TaskView):
        task = subject
        lines = [
            ("status", task.status),
            ("worked by", task_worker(task)),
            ("planned for", task.agent),
            ("goal", task.goal or "–"),
            ("depends on", ", ".join(task.depends_on) or "–"),
            ("tries / retries", f"{task_tries(task)} / {task.retries}"),
            (
                "round",
                f"{task.round} of {task.max_rounds}"
                + (f", reviewer {task.reviewer}" if task.reviewer else ""),
            ),
            ("started", _time(task.started_at)),
            ("finished", _time(task.finished_at)),
            ("duration", _secs(task.duration_s)),
        ]
        if task.error:
            lines.append(("error", task.error))
        for round_, approved, feedback in task.verdicts:
            lines.append(
                (f"review {round_}", ("approved: " if approved else "changes: ") + feedback)
            )
        return Details(f"task {task.id}", lines, task.output, "output")
    if isinstance(subject, AgentView):
        agent = subject
        mean = sum(agent.durations) / len(agent.durations) if agent.durations else None
        lines = [
            ("kind", agent.kind),
            ("description", agent.description or "–"),
            ("skills", ", ".join(agent.skills) or "–"),
            ("state", agent.state + (f" on {agent.current_task}" if agent.current_task else "")),
            ("tasks / ok / failed", f"{agent.tasks} / {agent.succeeded} / {agent.failed}"),
            ("retries", str(agent.retries)),
            ("calls / mean", f"{agent.calls} / {_secs(mean)}"),
            ("messages in / out", f"{agent.messages_in} / {agent.messages_out}"),
            ("tokens in / out", f"{agent.tokens_in} / {agent.tokens_out}"),
            ("cost", f"${agent.cost_usd:.6f}"),
        ]
        return Details(f"agent {agent.name}", lines, agent.streaming or None, "streaming")
    # a trace event
    event = subject
    lines = [
        ("kind", event.kind),
        ("seq", str(event.seq)),
        ("time", _time(event.ts)),
        ("run", event.run_id),
        ("trace / span", f"{event.trace_id} / {event.span_id}"),
        ("parent span", event.parent_span_id or "–"),
    ]
    return Details(
        f"event #{event.seq} {event.kind}", lines, event.model_dump(mode="json"), "event"
    )


class DetailsScreen(ModalScreen[None]):
    """A modal view of one thing, whole."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("m", "toggle_markdown", "Markdown/text"),
    ]

    CSS_PATH = "details.tcss"

    def __init__(self, subject: Any) -> None:
        super().__init__()
        self.details = details_of(subject)
        self._markdown = False

    def compose(self) -> ComposeResult:
        d = self.details
        with Vertical(id="details"):
            yield Static(Text(sanitize_line(d.title), style="bold"), id="details-title")
            meta = Text()
            width = max((len(name) for name, _ in d.fields), default=0)
            for name, value in d.fields:
                meta.append(f"{name:>{width}}  ", style="dim")
                meta.append(one_line(value, 400) + "\n")
            meta.rstrip()
            yield Static(meta, id="details-fields")
            size = len(d.body) if isinstance(d.body, str) else None
            label = f"{d.body_label}" + (f"  ({size:,} chars)" if size is not None else "")
            yield Static(Text(label, style="bold dim"), id="details-body-label")
            yield TextArea(
                pretty(d.body),
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
                id="details-body",
            )
            yield Markdown("", id="details-markdown", open_links=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#details-markdown").display = False
        self.query_one("#details-body", TextArea).focus()

    def action_toggle_markdown(self) -> None:
        body = self.details.body
        if not isinstance(body, str):
            self.notify("the payload is JSON, not Markdown text", severity="warning")
            return
        if len(body) > MARKDOWN_LIMIT:
            self.notify(
                f"too long to render as Markdown ({len(body):,} chars): shown as text",
                severity="warning",
            )
            return
        self._markdown = not self._markdown
        markdown = self.query_one("#details-markdown", Markdown)
        if self._markdown:
            markdown.update(sanitize(body))
        markdown.display = self._markdown
        self.query_one("#details-body", TextArea).display = not self._markdown
