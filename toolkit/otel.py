"""A run as OpenTelemetry spans, live or after the fact, for Phoenix, Langfuse, Jaeger or any
OTLP backend.

The run's events already form a span tree (``toolkit.tracing``): the run's span, a span
per task, a span per attempt and per review, and one per message, tool call and model
call. ``SpanBuilder`` maps that tree onto the GenAI semantic conventions (Development
status; what OpenTelemetry's own instrumentations emit under
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``; Switchboard has no older
version to keep, so it always emits the latest):

- ``invoke_workflow {name}`` (INTERNAL): the run;
- ``task {task_id}`` (INTERNAL): a task of the plan, all its attempts and review rounds;
- ``invoke_agent {agent}``: one attempt of a task, or one review; CLIENT for agents
  served remotely (kinds ``http``, ``a2a``, ``remote``), INTERNAL for in-process ones;
- ``chat {model}`` (CLIENT): one model call, with ``gen_ai.request.model`` and
  ``gen_ai.usage.input_tokens``/``output_tokens``;
- ``execute_tool {tool}`` (INTERNAL): one tool call;
- every message is a span event (``message``) on the span that sent it, with sender,
  recipient, kind and its content; log lines, plans and retries are span events too.

Times are the events' own (``ts``; a tool call's and a model call's start is its end
minus its duration), and the trace and span ids are the run's own, so exporting the
same trace twice gives the same tree. Failures set the span status to ERROR and
``error.type`` to one of ``timeout``, ``exception``, ``malformed``, ``cancelled``,
``error`` (a task's ``error_type``), ``task_failed`` (a run that failed because a task
did), ``tool_error`` (a tool call that failed) or ``_OTHER``.

Content (message bodies, inputs and outputs, tool arguments and results, feedback) is
on by default and can be left out (``content=False``); each text is cut to
``max_text`` characters and passed through ``toolkit.redact.scrub`` again, so neither a
megabyte reply nor a key shape reaches a backend. The endpoint and its headers come
from the standard ``OTEL_EXPORTER_OTLP_*`` variables; headers are never echoed.

``OtelSink`` is the live sink: ``emit`` only queues the event; a worker thread builds
the spans and a ``BatchSpanProcessor`` exports them, so the run never waits on the
network, and an exporter that fails costs spans, never the run (``problems``, and a
``SinkWarning`` at close). ``export_events`` sends a recorded run the same way.

The SDK is imported only here, lazily, through ``needs_extra("otel", ...)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from toolkit.events import ORCHESTRATOR, USER, TraceEvent
from toolkit.redact import redact, scrub, url_secrets

__all__ = [
    "ExportReport",
    "OtelSink",
    "SpanBuilder",
    "SpanEventRecord",
    "SpanRecord",
    "command_sink",
    "export_events",
    "otlp_endpoint",
    "otlp_exporter",
    "quiet_exporter_logs",
    "spans_from_events",
]

MAX_TEXT = 4096
"""Default longest text of one attribute (characters); longer text ends with ``… N more``."""

REMOTE_KINDS = frozenset({"http", "a2a", "remote"})
"""Agent kinds served by another process: their ``invoke_agent`` spans are CLIENT spans."""

AttrValue = str | bool | int | float | list[str]


@dataclass(slots=True)
class SpanEventRecord:
    """A timestamped annotation of a span (a message, a log line, a retry)."""

    name: str
    ts: float
    attributes: dict[str, AttrValue]


@dataclass(slots=True)
class SpanRecord:
    """One finished span, independent of the SDK (``SpanBuilder``'s output)."""

    name: str
    trace_id: str
    """32 hex digits."""
    span_id: str
    """16 hex digits."""
    parent_id: str | None
    kind: str
    """``internal`` or ``client``."""
    start: float
    """Epoch seconds."""
    end: float
    attributes: dict[str, AttrValue] = field(default_factory=dict)
    events: list[SpanEventRecord] = field(default_factory=list)
    error: str | None = None
    """The status description when the span ended in an error (None: no error)."""


class _Open:
    """A span still open in the builder, with what is known of it so far."""

    __slots__ = ("agent", "chats", "last", "record", "role", "task_id")

    def __init__(self, record: SpanRecord, role: str, task_id: str | None = None) -> None:
        self.record = record
        self.role = role
        """``run``, ``task``, ``attempt`` or ``review``."""
        self.task_id = task_id
        self.agent: str | None = None
        self.last = record.start
        """The time of the latest event seen on this span."""
        self.chats = 0
        """Model calls seen under this span (their chat spans carry the usage)."""


def _hex_id(value: Any, digits: int, run_id: str) -> str:
    """``value`` when it is a valid OpenTelemetry id of ``digits`` hex digits, else one
    derived from it and the run id (the same input always gives the same id)."""
    if isinstance(value, str) and len(value) == digits:
        try:
            if int(value, 16) != 0:
                return value.lower()
        except ValueError:
            pass
    digest = hashlib.sha256(f"{run_id}/{value}".encode()).hexdigest()[:digits]
    return digest if int(digest, 16) else "1".rjust(digits, "0")


class SpanBuilder:
    """Turns one run's events into ``SpanRecord``s, incrementally, in any amount of steps.

    ``feed`` returns the spans an event finished (a tool call, a model call, a task with
    its attempts, the run); ``close`` returns those still open (a run cut short), marked
    ``switchboard.incomplete``. Events of other runs than the first are ignored (use one
    builder per run: ``spans_from_events`` does).

    Args:
        content: Record message bodies, inputs, outputs and tool data.
        max_text: Longest text of one attribute.
    """

    def __init__(self, *, content: bool = True, max_text: int = MAX_TEXT) -> None:
        self.content = content
        self.max_text = max(16, max_text)
        self.run_id: str | None = None
        self.trace_id = ""
        self._root: str | None = None
        self._spans: dict[str, _Open] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._conversation: str | None = None
        self._last = 0.0

    # -- text --------------------------------------------------------------------------
    def _text(self, value: Any) -> str:
        limit = self.max_text
        if isinstance(value, str):
            text, total = value[: limit + 1], len(value)
        else:
            try:
                text = json.dumps(value, ensure_ascii=False, default=str)
            except (TypeError, ValueError):
                text = repr(value)
            total = len(text)
        if total > limit:
            text = f"{text[:limit]}… {total - limit:,} more"
        return str(scrub(text))

    def _messages(self, role: str, value: Any) -> str:
        """``gen_ai.input.messages``/``output.messages`` JSON holding one text part."""
        return json.dumps(
            [{"role": role, "parts": [{"type": "text", "content": self._text(value)}]}],
            ensure_ascii=False,
        )

    def _id(self, span: Any) -> str:
        return _hex_id(span, 16, self.run_id or "")

    # -- spans -------------------------------------------------------------------------
    def _open(
        self,
        span: str,
        parent: str | None,
        name: str,
        role: str,
        ts: float,
        kind: str = "internal",
        task_id: str | None = None,
    ) -> _Open:
        record = SpanRecord(
            name=name,
            trace_id=self.trace_id,
            span_id=self._id(span),
            parent_id=self._id(parent) if parent is not None else None,
            kind=kind,
            start=ts,
            end=ts,
        )
        opened = self._spans[span] = _Open(record, role, task_id)
        return opened

    def _agent_attrs(self, opened: _Open, agent: str) -> None:
        card = self._agents.get(agent) or {}
        attrs = opened.record.attributes
        attrs["gen_ai.operation.name"] = "invoke_agent"
        attrs["gen_ai.agent.name"] = agent
        kind = str(card.get("kind", ""))
        attrs["gen_ai.provider.name"] = "openai" if kind == "llm" else "switchboard"
        if kind:
            attrs["switchboard.agent.kind"] = kind
        if card.get("description"):
            attrs["gen_ai.agent.description"] = self._text(card["description"])
        if card.get("model"):
            attrs["gen_ai.request.model"] = str(card["model"])
        opened.record.kind = "client" if kind in REMOTE_KINDS else "internal"
        opened.record.name = f"invoke_agent {agent}"
        opened.agent = agent

    def _finish(self, opened: _Open, end: float | None = None) -> SpanRecord:
        record = opened.record
        record.end = max(record.start, opened.last if end is None else end)
        return record

    def _close_children(
        self, task_span: str, end: float, error_type: str | None
    ) -> list[SpanRecord]:
        done = []
        task = self._spans.get(task_span)
        task_id = task.task_id if task is not None else None
        for key in [k for k, o in self._spans.items() if o.role in ("attempt", "review")]:
            opened = self._spans[key]
            if opened.task_id != task_id:
                continue
            del self._spans[key]
            attrs = opened.record.attributes
            if (
                error_type is not None
                and "error.type" not in attrs
                and (error_type == "cancelled" or opened.record.error is not None)
            ):
                attrs["error.type"] = error_type
                opened.record.error = opened.record.error or error_type
            done.append(self._finish(opened, end if error_type == "cancelled" else None))
        return done

    def _event(self, span: str | None, name: str, ts: float, attrs: dict[str, AttrValue]) -> None:
        opened = self._spans.get(span) if span is not None else None
        if opened is None:
            opened = self._spans.get(self._root) if self._root is not None else None
        if opened is None:
            return
        opened.record.events.append(SpanEventRecord(name, ts, attrs))
        opened.last = max(opened.last, ts)

    # -- events ------------------------------------------------------------------------
    def feed(self, event: TraceEvent) -> list[SpanRecord]:
        """Take the run's next event; return the spans it finished."""
        if self.run_id is None:
            self.run_id = event.run_id
            self.trace_id = _hex_id(event.trace_id, 32, event.run_id)
        elif event.run_id != self.run_id:
            return []
        self._last = max(self._last, event.ts)
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is None:
            return []
        done: list[SpanRecord] = handler(event)
        return done

    def close(self) -> list[SpanRecord]:
        """The spans still open (a run that did not finish), ended at the last event seen."""
        done = []
        for opened in sorted(self._spans.values(), key=lambda o: o.role == "run"):
            opened.record.attributes["switchboard.incomplete"] = True
            opened.last = (
                max(opened.last, self._last) if opened.role in ("run", "task") else opened.last
            )
            done.append(self._finish(opened))
        self._spans.clear()
        return done

    def _on_run_started(self, e: Any) -> list[SpanRecord]:
        self._root = e.span_id
        self._agents = {str(k): v for k, v in e.agents.items() if isinstance(v, dict)}
        opened = self._open(e.span_id, None, f"invoke_workflow {e.name}", "run", e.ts)
        attrs = opened.record.attributes
        attrs["gen_ai.operation.name"] = "invoke_workflow"
        attrs["gen_ai.workflow.name"] = self._text(e.name)
        attrs["switchboard.run.id"] = e.run_id
        attrs["switchboard.schema_version"] = e.schema_version
        if e.seed is not None:
            attrs["switchboard.seed"] = e.seed
        if self.content and e.request:
            attrs["gen_ai.input.messages"] = self._messages("user", e.request)
        return []

    def _on_run_finished(self, e: Any) -> list[SpanRecord]:
        done: list[SpanRecord] = []
        run = self._spans.pop(self._root, None) if self._root is not None else None
        for opened in list(self._spans.values()):  # anything left open ends with the run
            opened.last = max(opened.last, e.ts)
            done.append(self._finish(opened))
        self._spans.clear()
        if run is None:
            return done
        attrs = run.record.attributes
        attrs["switchboard.run.status"] = e.status
        if e.status == "succeeded":
            if self.content and e.output is not None:
                attrs["gen_ai.output.messages"] = self._messages("assistant", e.output)
        else:
            attrs["error.type"] = (
                "cancelled"
                if e.status == "cancelled"
                else "task_failed"
                if "task(s) failed" in (e.error or "")
                else "error"
            )
            run.record.error = self._text(e.error or e.status)
        done.append(self._finish(run, e.ts))
        return done

    def _on_plan_created(self, e: Any) -> list[SpanRecord]:
        tasks = e.plan.get("tasks", []) if isinstance(e.plan, dict) else []
        ids = [str(t.get("id")) for t in tasks if isinstance(t, dict)][:256]
        self._event(
            self._root,
            "plan",
            e.ts,
            {"switchboard.planner": self._text(e.planner), "switchboard.plan.tasks": ids},
        )
        return []

    def _on_plan_updated(self, e: Any) -> list[SpanRecord]:
        ids = [str(t.get("id")) for t in e.added if isinstance(t, dict)][:256]
        self._event(
            self._root,
            "plan_updated",
            e.ts,
            {"switchboard.plan.added": ids, "switchboard.reason": self._text(e.reason)},
        )
        return []

    def _task(self, span: str, task_id: str, agent: str, ts: float) -> _Open:
        opened = self._spans.get(span)
        if opened is None:
            opened = self._open(span, self._root, f"task {task_id}", "task", ts, task_id=task_id)
            attrs = opened.record.attributes
            attrs["switchboard.task.id"] = task_id
            attrs["gen_ai.agent.name"] = agent
            attrs["gen_ai.conversation.id"] = span
        return opened

    def _on_task_started(self, e: Any) -> list[SpanRecord]:
        done: list[SpanRecord] = []
        parent = e.parent_span_id
        if parent is not None:
            self._task(parent, e.task_id, e.agent, e.ts)
            # the previous attempt of this task is over once the next one starts
            for key in [k for k, o in self._spans.items() if o.role == "attempt"]:
                if self._spans[key].task_id == e.task_id:
                    done.append(self._finish(self._spans.pop(key)))
        opened = self._open(e.span_id, parent, "invoke_agent", "attempt", e.ts, task_id=e.task_id)
        self._agent_attrs(opened, e.agent)
        attrs = opened.record.attributes
        attrs["switchboard.task.id"] = e.task_id
        attrs["switchboard.attempt"] = e.attempt
        attrs["switchboard.round"] = e.round
        if parent is not None:
            attrs["gen_ai.conversation.id"] = parent
        return done

    def _review(self, e: Any) -> _Open | None:
        """The review span an event sits on (opened on its first event), or None."""
        opened = self._spans.get(e.span_id)
        if opened is not None:
            return opened if opened.role == "review" else None
        parent = self._spans.get(e.parent_span_id) if e.parent_span_id is not None else None
        if parent is None or parent.role != "task":
            return None
        opened = self._open(
            e.span_id, e.parent_span_id, "invoke_agent", "review", e.ts, task_id=parent.task_id
        )
        attrs = opened.record.attributes
        attrs["switchboard.task.id"] = parent.task_id or ""
        attrs["switchboard.review"] = True
        attrs["gen_ai.conversation.id"] = e.parent_span_id
        return opened

    def _on_agent_state(self, e: Any) -> list[SpanRecord]:
        opened = self._review(e)
        if opened is None:
            return []
        opened.last = max(opened.last, e.ts)
        if e.state == "working" and opened.agent is None:
            self._agent_attrs(opened, e.agent)
        elif e.state == "failed" and e.agent == opened.agent:
            opened.record.error = opened.record.error or "the reviewer failed"
        return []

    def _on_review_verdict(self, e: Any) -> list[SpanRecord]:
        opened = self._review(e)
        if opened is None:
            return []
        if opened.agent is None:
            self._agent_attrs(opened, e.reviewer)
        attrs = opened.record.attributes
        attrs["switchboard.round"] = e.round
        attrs["switchboard.review.approved"] = e.approved
        attrs["switchboard.review.worker"] = e.worker
        if self.content and e.feedback:
            attrs["switchboard.review.feedback"] = self._text(e.feedback)
        del self._spans[e.span_id]
        return [self._finish(opened, e.ts)]

    def _on_message_sent(self, e: Any) -> list[SpanRecord]:
        env = e.envelope
        sender_span = e.parent_span_id if e.parent_span_id is not None else env.span_id
        attrs: dict[str, AttrValue] = {
            "switchboard.message.id": env.message_id,
            "switchboard.message.kind": env.kind,
            "switchboard.message.sender": env.sender,
            "switchboard.message.recipient": env.recipient,
            "gen_ai.conversation.id": env.conversation_id,
        }
        if env.parent_id:
            attrs["switchboard.message.parent_id"] = env.parent_id
        if env.task_id:
            attrs["switchboard.task.id"] = env.task_id
            attrs["switchboard.attempt"] = env.attempt
        if env.topic:
            attrs["switchboard.message.topic"] = env.topic
        if self.content and env.payload is not None:
            attrs["switchboard.message.content"] = self._text(env.payload)
        opened = self._spans.get(sender_span)
        if opened is None and e.parent_span_id is not None:
            opened = self._review(_Like(sender_span, self._task_span_of(env.task_id), e.ts))
        self._event(sender_span if opened is not None else None, "message", env.sent_at, attrs)
        if opened is None:
            return []
        if opened.role == "run":
            if env.sender == USER and self._conversation is None:
                self._conversation = env.conversation_id
                opened.record.attributes["gen_ai.conversation.id"] = env.conversation_id
            return []
        if opened.role not in ("attempt", "review"):
            return []
        span_attrs = opened.record.attributes
        if env.sender == ORCHESTRATOR and env.kind == "directive":
            if opened.agent is None:
                self._agent_attrs(opened, env.recipient)
            if self.content:
                span_attrs["gen_ai.input.messages"] = self._messages("user", env.payload)
        elif env.recipient == ORCHESTRATOR and env.kind in ("result", "error"):
            usage = env.usage or {}
            model = usage.get("model")
            if model and "gen_ai.request.model" not in span_attrs:
                span_attrs["gen_ai.request.model"] = str(model)
            if opened.chats == 0:  # without chat spans below, the usage sits here
                for key, name in (
                    ("tokens_in", "gen_ai.usage.input_tokens"),
                    ("tokens_out", "gen_ai.usage.output_tokens"),
                ):
                    value = usage.get(key)
                    if isinstance(value, int) and not isinstance(value, bool) and value:
                        span_attrs[name] = value
            cost = usage.get("cost_usd")
            if isinstance(cost, int | float) and not isinstance(cost, bool) and cost:
                span_attrs["switchboard.cost_usd"] = float(cost)
            if env.kind == "error":
                opened.record.error = self._text(env.payload)
            elif self.content:
                span_attrs["gen_ai.output.messages"] = self._messages("assistant", env.payload)
        return []

    def _task_span_of(self, task_id: str | None) -> str | None:
        if task_id is None:
            return None
        for key, opened in self._spans.items():
            if opened.role == "task" and opened.task_id == task_id:
                return key
        return None

    def _on_task_finished(self, e: Any) -> list[SpanRecord]:
        opened = self._task(e.span_id, e.task_id, e.agent, e.ts - e.duration_s)
        record = opened.record
        record.start = min(record.start, e.ts - e.duration_s)
        attrs = record.attributes
        attrs["switchboard.task.status"] = "done"
        attrs["gen_ai.agent.name"] = e.agent
        attrs["switchboard.task.attempts"] = e.attempt
        attrs["switchboard.task.rounds"] = e.rounds
        attrs["switchboard.task.tokens_in"] = e.tokens_in
        attrs["switchboard.task.tokens_out"] = e.tokens_out
        if e.cost_usd:
            attrs["switchboard.task.cost_usd"] = float(e.cost_usd)
        if self.content and e.output is not None:
            attrs["switchboard.task.output"] = self._text(e.output)
        done = self._close_children(e.span_id, e.ts, None)
        del self._spans[e.span_id]
        done.append(self._finish(opened, e.ts))
        return done

    def _on_task_failed(self, e: Any) -> list[SpanRecord]:
        opened = self._spans.get(e.span_id)
        if opened is not None and opened.role == "attempt":  # one attempt failed; more follow
            opened.record.attributes["error.type"] = e.error_type
            opened.record.error = self._text(e.error)
            opened.last = max(opened.last, e.ts)
            return []
        opened = self._task(e.span_id, e.task_id, e.agent, e.ts - e.duration_s)
        record = opened.record
        record.start = min(record.start, e.ts - e.duration_s)
        status = "cancelled" if e.error_type == "cancelled" else "failed"
        record.attributes["switchboard.task.status"] = status
        record.attributes["switchboard.task.attempts"] = e.attempt
        record.attributes["error.type"] = e.error_type
        record.error = self._text(e.error)
        done = self._close_children(e.span_id, e.ts, e.error_type)
        del self._spans[e.span_id]
        done.append(self._finish(opened, e.ts))
        return done

    def _on_task_retried(self, e: Any) -> list[SpanRecord]:
        attrs: dict[str, AttrValue] = {
            "switchboard.task.id": e.task_id,
            "gen_ai.agent.name": e.agent,
            "switchboard.attempt": e.attempt,
            "switchboard.retry.delay_s": float(e.delay_s),
            "switchboard.retry.fallback": e.fallback,
            "switchboard.reason": self._text(e.reason),
        }
        self._event(e.span_id, "retry", e.ts, attrs)
        return []

    def _on_task_skipped(self, e: Any) -> list[SpanRecord]:
        opened = self._open(
            e.span_id, self._root, f"task {e.task_id}", "task", e.ts, task_id=e.task_id
        )
        attrs = opened.record.attributes
        attrs["switchboard.task.id"] = e.task_id
        attrs["gen_ai.agent.name"] = e.agent
        attrs["switchboard.task.status"] = "skipped"
        attrs["switchboard.reason"] = self._text(e.reason)
        del self._spans[e.span_id]
        return [self._finish(opened, e.ts)]

    def _on_log(self, e: Any) -> list[SpanRecord]:
        attrs: dict[str, AttrValue] = {
            "switchboard.log.level": e.level,
            "switchboard.log.message": self._text(e.message),
        }
        if e.agent:
            attrs["gen_ai.agent.name"] = e.agent
        self._event(e.span_id, "log", e.ts, attrs)
        return []

    def _parent_conversation(self, parent: str | None) -> str | None:
        opened = self._spans.get(parent) if parent is not None else None
        if opened is None:
            return None
        value = opened.record.attributes.get("gen_ai.conversation.id")
        return value if isinstance(value, str) else None

    def _child_start(self, parent: str | None, start: float) -> float:
        """A call's start, never before its parent's (a replayed cassette keeps the recorded
        latency while the replay itself took no time)."""
        opened = self._spans.get(parent) if parent is not None else None
        return max(start, opened.record.start) if opened is not None else start

    def _on_llm_call(self, e: Any) -> list[SpanRecord]:
        start = self._child_start(e.parent_span_id or self._root, e.ts - max(0.0, e.latency_s))
        record = SpanRecord(
            name=f"chat {e.model}",
            trace_id=self.trace_id,
            span_id=self._id(e.span_id),
            parent_id=self._id(e.parent_span_id or self._root),
            kind="client",
            start=start,
            end=e.ts,
        )
        attrs = record.attributes
        attrs["gen_ai.operation.name"] = "chat"
        attrs["gen_ai.provider.name"] = "openai"
        attrs["gen_ai.request.model"] = str(e.model)
        attrs["gen_ai.usage.input_tokens"] = e.prompt_tokens
        attrs["gen_ai.usage.output_tokens"] = e.completion_tokens
        attrs["gen_ai.agent.name"] = e.agent
        attrs["switchboard.llm.purpose"] = e.purpose
        attrs["switchboard.llm.attempts"] = e.attempts
        attrs["switchboard.llm.latency_s"] = float(e.latency_s)
        if e.cost_usd:
            attrs["switchboard.cost_usd"] = float(e.cost_usd)
        conversation = self._parent_conversation(e.parent_span_id) or self._conversation
        if conversation:
            attrs["gen_ai.conversation.id"] = conversation
        if e.task_id:
            attrs["switchboard.task.id"] = e.task_id
        url = (self._agents.get(e.agent) or {}).get("base_url")
        if isinstance(url, str):
            try:
                parts = urlsplit(url)
                if parts.hostname:
                    attrs["server.address"] = parts.hostname
                    if parts.port:
                        attrs["server.port"] = parts.port
            except ValueError:
                pass
        if e.status == "error":
            attrs["error.type"] = "_OTHER"
            record.error = self._text(e.error or "the model call failed")
        parent = self._spans.get(e.parent_span_id) if e.parent_span_id is not None else None
        if parent is not None:
            parent.chats += 1
            parent.last = max(parent.last, e.ts)
            parent.record.attributes.pop("gen_ai.usage.input_tokens", None)
            parent.record.attributes.pop("gen_ai.usage.output_tokens", None)
        return [record]

    def _on_tool_call(self, e: Any) -> list[SpanRecord]:
        record = SpanRecord(
            name=f"execute_tool {e.tool}",
            trace_id=self.trace_id,
            span_id=self._id(e.span_id),
            parent_id=self._id(e.parent_span_id or self._root),
            kind="internal",
            start=self._child_start(e.parent_span_id or self._root, e.ts - max(0.0, e.duration_s)),
            end=e.ts,
        )
        attrs = record.attributes
        attrs["gen_ai.operation.name"] = "execute_tool"
        attrs["switchboard.duration_s"] = float(e.duration_s)
        attrs["gen_ai.tool.name"] = str(e.tool)
        attrs["gen_ai.agent.name"] = e.agent
        if e.task_id:
            attrs["switchboard.task.id"] = e.task_id
        if self.content:
            attrs["gen_ai.tool.call.arguments"] = self._text(e.arguments)
            if e.result is not None:
                attrs["gen_ai.tool.call.result"] = self._text(e.result)
        if not e.ok:
            attrs["error.type"] = "tool_error"
            record.error = "the tool call failed"
        parent = self._spans.get(e.parent_span_id) if e.parent_span_id is not None else None
        if parent is not None:
            parent.last = max(parent.last, e.ts)
        return [record]


class _Like:
    """The span fields of an event, for opening a review span from a message."""

    __slots__ = ("parent_span_id", "span_id", "ts")

    def __init__(self, span_id: str, parent_span_id: str | None, ts: float) -> None:
        self.span_id, self.parent_span_id, self.ts = span_id, parent_span_id, ts


def spans_from_events(
    events: Iterable[TraceEvent], *, content: bool = True, max_text: int = MAX_TEXT
) -> list[SpanRecord]:
    """Every span of the runs in ``events`` (one ``SpanBuilder`` per run, in order)."""
    builders: dict[str, SpanBuilder] = {}
    spans: list[SpanRecord] = []
    for event in events:
        builder = builders.get(event.run_id)
        if builder is None:
            builder = builders[event.run_id] = SpanBuilder(content=content, max_text=max_text)
        spans.extend(builder.feed(event))
    for builder in builders.values():
        spans.extend(builder.close())
    return spans


# -- the SDK side ----------------------------------------------------------------------


def otlp_endpoint(endpoint: str | None = None) -> str:
    """The OTLP/HTTP traces URL: ``endpoint`` (a base URL gets ``/v1/traces``), else the
    standard variables (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, then
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` plus ``/v1/traces``), else ``http://localhost:4318/v1/traces``."""
    if endpoint:
        base = endpoint.rstrip("/")
        return base if base.endswith("/v1/traces") else base + "/v1/traces"
    traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318"
    return base.rstrip("/") + "/v1/traces"


def _shown(url: str) -> str:
    """A URL as it may be shown: credentials in it masked."""
    return redact(url, *url_secrets(url))


def otlp_exporter(endpoint: str | None = None, *, timeout_s: float | None = None) -> Any:
    """An OTLP/HTTP (protobuf) span exporter for ``otlp_endpoint(endpoint)``; headers come
    from ``OTEL_EXPORTER_OTLP_HEADERS`` (or ``..._TRACES_HEADERS``), the timeout from
    ``OTEL_EXPORTER_OTLP_TIMEOUT`` unless ``timeout_s`` is given."""
    from toolkit.extras import needs_extra

    with needs_extra("otel", "OpenTelemetry export"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=otlp_endpoint(endpoint), timeout=timeout_s)


def _describe_exporter(exporter: Any) -> str:
    url = getattr(exporter, "_endpoint", None)
    return _shown(url) if isinstance(url, str) else type(exporter).__name__


@dataclass
class ExportReport:
    """What an export delivered."""

    spans: int = 0
    """Spans handed to the exporter."""
    failed: int = 0
    """Spans the exporter did not deliver (its first failure stops further tries)."""
    trace_ids: list[str] = field(default_factory=list)
    """The trace id of each run exported, in order."""
    destination: str = ""
    """Where they went (the endpoint, credentials masked)."""
    problems: list[str] = field(default_factory=list)
    """One line per problem met."""

    @property
    def ok(self) -> bool:
        return not self.problems


class _Guard:
    """Wraps an exporter: counts what it delivers, and once it has failed drops the rest
    instead of waiting out a dead endpoint's retries for every batch."""

    def __init__(self, inner: Any, success: Any, failure: Any) -> None:
        self.inner = inner
        self.sent = 0
        self.failed = 0
        self.error: str | None = None
        self._success, self._failure = success, failure

    def export(self, spans: Sequence[Any]) -> Any:
        if self.error is not None:
            self.failed += len(spans)
            return self._failure
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # an exporter that raises must not cost the run anything
            result, self.error = self._failure, f"{type(exc).__name__}: {exc}"
        if result == self._success:
            self.sent += len(spans)
        else:
            self.failed += len(spans)
            self.error = self.error or "the exporter reported a failure"
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as exc:
            self.error = self.error or f"shutdown: {type(exc).__name__}: {exc}"

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        flush = getattr(self.inner, "force_flush", None)
        return bool(flush(timeout_millis)) if flush is not None else True


class _FirstError(logging.Handler):
    """Keeps the exporter's first warning or error (it logs why an export failed, then that
    it gave up), so the sink's report can say why in one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.first is None:
            try:
                self.first = record.getMessage()
            except Exception:
                self.first = str(record.msg)


class _Pipeline:
    """SpanRecords into the SDK: an own TracerProvider whose id generator hands out the
    records' ids, an always-on sampler, and a batch processor over the guarded exporter."""

    def __init__(self, exporter: Any, *, batch: bool = True) -> None:
        from toolkit.extras import needs_extra

        with needs_extra("otel", "OpenTelemetry export"):
            from opentelemetry import trace as trace_api
            from opentelemetry.context import Context
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import (
                BatchSpanProcessor,
                SimpleSpanProcessor,
                SpanExportResult,
            )
            from opentelemetry.sdk.trace.id_generator import IdGenerator
            from opentelemetry.sdk.trace.sampling import ALWAYS_ON
            from opentelemetry.trace import (
                NonRecordingSpan,
                SpanContext,
                SpanKind,
                Status,
                StatusCode,
                TraceFlags,
            )

        preset = threading.local()

        class PresetIds(IdGenerator):
            """Hands out the ids the next span must have (the run's own)."""

            def generate_span_id(self) -> int:
                return int(preset.span_id)

            def generate_trace_id(self) -> int:
                return int(preset.trace_id)

        self._preset = preset
        self._api = trace_api
        self._context = Context
        self._span_context = SpanContext
        self._non_recording = NonRecordingSpan
        self._sampled = TraceFlags(TraceFlags.SAMPLED)
        self._kinds = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
        self._error = lambda text: Status(StatusCode.ERROR, text)
        self.guard = _Guard(exporter, SpanExportResult.SUCCESS, SpanExportResult.FAILURE)
        self.log = _FirstError()
        logging.getLogger("opentelemetry.exporter").addHandler(self.log)
        self.destination = _describe_exporter(exporter)
        env_named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        )
        resource = Resource.create({} if env_named else {"service.name": "switchboard"})
        self.provider = TracerProvider(
            resource=resource,
            sampler=ALWAYS_ON,
            id_generator=PresetIds(),
            shutdown_on_exit=False,  # the sink shuts it down; no atexit hook kept per run
        )
        guard: Any = self.guard  # a SpanExporter by its methods
        processor = BatchSpanProcessor(guard) if batch else SimpleSpanProcessor(guard)
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("switchboard", _version())
        self.spans = 0

    def send(self, record: SpanRecord) -> None:
        """Start and end one SDK span holding ``record`` (with its ids and times)."""
        trace_id = int(record.trace_id, 16)
        self._preset.trace_id = trace_id
        self._preset.span_id = int(record.span_id, 16)
        if record.parent_id is not None:
            parent = self._span_context(
                trace_id, int(record.parent_id, 16), is_remote=False, trace_flags=self._sampled
            )
            context = self._api.set_span_in_context(self._non_recording(parent))
        else:
            context = self._context()  # a root: never under whatever span is current here
        span = self.tracer.start_span(
            record.name,
            context=context,
            kind=self._kinds.get(record.kind, self._kinds["internal"]),
            attributes=record.attributes,
            start_time=_ns(record.start),
            record_exception=False,
            set_status_on_exception=False,
        )
        for item in record.events:
            span.add_event(item.name, item.attributes, timestamp=_ns(item.ts))
        if record.error is not None:
            span.set_status(self._error(record.error))
        span.end(end_time=max(_ns(record.end), _ns(record.start)))
        self.spans += 1

    def shutdown(self) -> None:
        try:
            self.provider.shutdown()
        finally:
            logging.getLogger("opentelemetry.exporter").removeHandler(self.log)


def _ns(ts: float) -> int:
    return round(ts * 1e9)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("switchboard")
    except Exception:
        return "0"


_STOP = object()


class OtelSink:
    """The live OpenTelemetry sink: ``sinks=[OtelSink()]`` or ``switchboard run --otel``.

    ``emit`` puts the event on a queue and returns (a fraction of a microsecond); a
    worker thread builds the spans (``SpanBuilder``) and hands them to a batch
    processor, which exports them from its own thread. ``close`` waits for both, at
    most ``flush_timeout_s``; it never raises: what went wrong is in ``problems`` (and a
    ``SinkWarning`` when ``warn``).

    Args:
        exporter: Any SDK ``SpanExporter`` (default: ``otlp_exporter()``, configured by
            the standard ``OTEL_EXPORTER_OTLP_*`` variables).
        content: Record message bodies, inputs, outputs and tool data (bounded, scrubbed).
        max_text: Longest text of one attribute.
        flush_timeout_s: Longest wait at close for the spans to be built, and again for
            the last batches to be exported.
        warn: Report problems as a ``SinkWarning`` at close too.
        threaded: Build spans in a worker thread (off: on the caller's thread, as an
            after-the-fact export does).
    """

    def __init__(
        self,
        exporter: Any = None,
        *,
        content: bool = True,
        max_text: int = MAX_TEXT,
        flush_timeout_s: float = 30.0,
        warn: bool = True,
        threaded: bool = True,
    ) -> None:
        self._pipeline = _Pipeline(exporter if exporter is not None else otlp_exporter())
        self.content = content
        self.max_text = max_text
        self.flush_timeout_s = flush_timeout_s
        self.warn = warn
        self.problems: list[str] = []
        """What went wrong (filled at close), one line each."""
        self.report = ExportReport(destination=self._pipeline.destination)
        self._builders: dict[str, SpanBuilder] = {}
        self._threaded = threaded
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._closed = False

    def emit(self, event: TraceEvent) -> None:
        if not self._threaded:
            self._handle(event)
            return
        if self._worker is None:
            with self._lock:
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._work, name="switchboard-otel", daemon=True
                    )
                    self._worker.start()
        self._queue.put(event)

    def _work(self) -> None:
        get, handle = self._queue.get, self._handle
        while True:
            item = get()
            if item is _STOP:
                return
            handle(item)

    def _handle(self, event: TraceEvent) -> None:
        if self._broken is not None:
            return
        try:
            builder = self._builders.get(event.run_id)
            if builder is None:
                builder = self._builders[event.run_id] = SpanBuilder(
                    content=self.content, max_text=self.max_text
                )
                self.report.trace_ids.append(_hex_id(event.trace_id, 32, event.run_id))
            for record in builder.feed(event):
                self._pipeline.send(record)
        except Exception as exc:  # a bug here must cost spans, never the run
            self._broken = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._worker is not None:
            self._queue.put(_STOP)
            self._worker.join(self.flush_timeout_s)
            if self._worker.is_alive():
                self.problems.append(
                    f"OpenTelemetry: spans were still being built after {self.flush_timeout_s:g}s; the rest are dropped"
                )
                self._broken = self._broken or "timed out"
        if self._broken is None:
            try:
                for builder in self._builders.values():
                    for record in builder.close():
                        self._pipeline.send(record)
            except Exception as exc:
                self._broken = f"{type(exc).__name__}: {exc}"
        # the last batches are exported while the run waits, at most flush_timeout_s: a
        # backend that hangs must not hold the run's end for the exporter's own timeouts
        failure: list[BaseException] = []

        def shutdown() -> None:
            try:
                self._pipeline.shutdown()
            except Exception as exc:
                failure.append(exc)

        if self._threaded:
            closer = threading.Thread(target=shutdown, name="switchboard-otel-close", daemon=True)
            closer.start()
            closer.join(self.flush_timeout_s)
            if closer.is_alive():
                self.problems.append(
                    f"OpenTelemetry: still exporting after {self.flush_timeout_s:g}s; gave up waiting"
                )
        else:
            shutdown()
        if failure:
            self.problems.append(
                f"OpenTelemetry: shutting down the exporter failed: {failure[0]!r}"
            )
        guard = self._pipeline.guard
        report = self.report
        report.spans = self._pipeline.spans
        report.failed = guard.failed
        if self._broken is not None:
            self.problems.append(f"OpenTelemetry: building spans failed: {self._broken}")
        if guard.error is not None or guard.failed:
            why = self._pipeline.log.first or guard.error or "failure"
            why = " ".join(str(scrub(_shown(why))).split())[:400]
            self.problems.append(
                f"OpenTelemetry export to {report.destination} failed: {guard.failed} of "
                f"{report.spans} span(s) not delivered ({why})"
            )
        report.problems = list(self.problems)
        if self.warn and self.problems:
            from toolkit.tracing import SinkWarning

            for problem in self.problems:
                warnings.warn(problem, SinkWarning, stacklevel=2)


def export_events(
    events: Iterable[TraceEvent],
    exporter: Any = None,
    *,
    content: bool = True,
    max_text: int = MAX_TEXT,
) -> ExportReport:
    """Send a recorded run (or several) as spans; the same spans the live sink sends.

    Args:
        events: The events (a trace file's, a stored run's, any source's).
        exporter: Any SDK ``SpanExporter`` (default: ``otlp_exporter()``).
        content: Record message bodies, inputs, outputs and tool data.
        max_text: Longest text of one attribute.

    Returns:
        What was delivered; ``problems`` says what was not (it never raises for an
        exporter that fails).
    """
    sink = OtelSink(exporter, content=content, max_text=max_text, warn=False, threaded=False)
    for event in events:
        sink.emit(event)
    sink.close()
    return sink.report


def quiet_exporter_logs() -> None:
    """Keep the exporter's log lines (each retry, each failure) off stderr: a command
    reports a failure once, itself, with the exporter's first reason (the sink keeps it)."""
    logging.getLogger("opentelemetry").propagate = False


def command_sink() -> OtelSink:
    """The sink of ``switchboard run --otel``: the standard ``OTEL_EXPORTER_OTLP_*``
    settings; problems are reported by the command (one warning line each), not as
    Python warnings."""
    quiet_exporter_logs()
    return OtelSink(warn=False)
