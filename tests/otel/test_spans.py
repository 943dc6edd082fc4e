"""A run as GenAI spans, checked through the SDK's in-memory exporter: the tree follows the
events' spans, the names, kinds, times and attributes follow the GenAI conventions, the
export is deterministic, the live sink gives what the after-the-fact export gives, and an
exporter that fails never costs the run anything."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.otel.conftest import SECRET, rich_events
from toolkit import MockAgent, Orchestrator
from toolkit.events import TraceEvent, dump_line, parse_event
from toolkit.otel import OtelSink, SpanBuilder, export_events, spans_from_events
from toolkit.patterns import pipeline
from toolkit.sources import open_trace
from toolkit.tracing import SinkWarning

SAMPLE = Path(__file__).parents[2] / "sample_agents" / "traces" / "feature-review.jsonl"


@pytest.fixture(scope="module")
def events() -> list[TraceEvent]:
    return rich_events()


def exported(events: list[TraceEvent], **options: Any) -> list[Any]:
    exporter = InMemorySpanExporter()
    report = export_events(events, exporter, **options)
    assert report.ok, report.problems
    spans = list(exporter.get_finished_spans())
    assert report.spans == len(spans)
    return spans


def by_name(spans: list[Any], name: str) -> list[Any]:
    return [s for s in spans if s.name == name]


def test_tree_follows_the_events_spans(events: list[TraceEvent]) -> None:
    """One root (invoke_workflow) whose span id is the run's span; tasks under it;
    attempts and reviews under their task; tool and model calls under their attempt;
    every span in the run's trace, with the events' own ids."""
    spans = exported(events)
    root = events[0]
    trace_id = int(root.trace_id, 16)
    assert {s.context.trace_id for s in spans} == {trace_id}
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["invoke_workflow rich"]
    assert roots[0].context.span_id == int(root.span_id, 16)
    ids = {s.context.span_id: s for s in spans}
    assert len(ids) == len(spans)  # no id given twice
    for s in spans:
        if s.parent is not None:
            assert s.parent.span_id in ids, s.name  # no orphan
    parent = {s.name: ids[s.parent.span_id].name for s in spans if s.parent is not None}
    assert parent["task build"] == "invoke_workflow rich"
    assert parent["task later"] == "invoke_workflow rich"
    assert parent["invoke_agent reviewer"] == "task build"
    assert parent["execute_tool search"] == "invoke_agent researcher"
    assert parent["chat gpt-4o-mini"] == "invoke_agent researcher"
    task_spans = {e.span_id for e in events if e.kind == "task_finished"}
    assert task_spans <= {f"{s.context.span_id:016x}" for s in spans}
    attempts = [e for e in events if e.kind == "task_started"]
    assert len(by_name(spans, "invoke_agent developer")) == sum(
        1 for e in attempts if e.agent == "developer"
    )


def test_names_kinds_and_genai_attributes(events: list[TraceEvent]) -> None:
    """Each span has its convention's operation name; a model call is a CLIENT ``chat``
    span with model and token usage; a tool call an ``execute_tool`` span with its name."""
    spans = exported(events)
    run = by_name(spans, "invoke_workflow rich")[0]
    assert run.kind == SpanKind.INTERNAL
    assert run.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert run.attributes["gen_ai.workflow.name"] == "rich"
    assert run.attributes["switchboard.run.id"] == events[0].run_id
    (chat,) = by_name(spans, "chat gpt-4o-mini")
    assert chat.kind == SpanKind.CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12
    assert chat.attributes["gen_ai.usage.output_tokens"] == 34
    research_task = next(e for e in events if e.kind == "task_finished" and e.task_id == "research")
    assert chat.attributes["gen_ai.conversation.id"] == research_task.span_id
    (tool,) = by_name(spans, "execute_tool search")
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "search"
    assert json.loads(str(tool.attributes["gen_ai.tool.call.arguments"])) == {
        "query": "build the feature"
    }
    (researcher,) = by_name(spans, "invoke_agent researcher")
    assert researcher.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert researcher.attributes["gen_ai.agent.name"] == "researcher"
    assert researcher.kind == SpanKind.INTERNAL
    # the usage of a call with model spans sits on the chat span only (no double count)
    assert "gen_ai.usage.input_tokens" not in researcher.attributes
    mock_attempt = by_name(spans, "invoke_agent reviewer")[0]
    assert mock_attempt.attributes["gen_ai.usage.input_tokens"] > 0  # a mock's word counts


def test_failures_set_error_status_and_type(events: list[TraceEvent]) -> None:
    """A failed attempt, a failed tool call, a failed task and a failed run end in ERROR
    with ``error.type``; a skipped task and a retried task that succeeded do not."""
    spans = exported(events)
    failed_attempts = [
        s
        for s in by_name(spans, "invoke_agent developer")
        if s.status.status_code == StatusCode.ERROR
    ]
    assert failed_attempts and all(
        s.attributes["error.type"] == "exception" for s in failed_attempts
    )
    assert "injected failure" in (failed_attempts[0].status.description or "")
    (fetch,) = by_name(spans, "execute_tool fetch")
    assert fetch.status.status_code == StatusCode.ERROR
    assert fetch.attributes["error.type"] == "tool_error"
    (doomed,) = by_name(spans, "task doomed")
    assert doomed.status.status_code == StatusCode.ERROR
    assert doomed.attributes["error.type"] == "exception"
    (broken,) = by_name(spans, "invoke_agent broken")
    assert broken.attributes["error.type"] == "exception"
    (later,) = by_name(spans, "task later")
    assert later.status.status_code == StatusCode.UNSET
    assert later.attributes["switchboard.task.status"] == "skipped"
    (build,) = by_name(spans, "task build")
    assert build.status.status_code == StatusCode.UNSET
    run = by_name(spans, "invoke_workflow rich")[0]
    assert run.status.status_code == StatusCode.ERROR
    assert run.attributes["error.type"] == "task_failed"


def test_times_are_the_events_own(events: list[TraceEvent]) -> None:
    """The run span starts at ``run_started.ts`` and ends at ``run_finished.ts``; a task
    span ends at its terminal event and starts its duration earlier; children lie within
    their parents."""
    spans = exported(events)
    ns = lambda ts: round(ts * 1e9)  # noqa: E731
    run = by_name(spans, "invoke_workflow rich")[0]
    assert run.start_time == ns(events[0].ts)
    assert run.end_time == ns(events[-1].ts)
    done = next(e for e in events if e.kind == "task_finished" and e.task_id == "build")
    (build,) = by_name(spans, "task build")
    assert build.end_time == ns(done.ts)
    assert build.start_time == ns(done.ts - done.duration_s)
    ids = {s.context.span_id: s for s in spans}
    for s in spans:
        assert s.start_time <= s.end_time
        if s.parent is not None and s.name.startswith(("invoke_agent", "execute_tool", "chat")):
            p = ids[s.parent.span_id]
            assert p.start_time <= s.start_time, (s.name, p.name)


def test_messages_are_span_events_with_sender_and_recipient(events: list[TraceEvent]) -> None:
    """Every message becomes a ``message`` event on the span that sent it, at its own time,
    naming sender, recipient and kind; a key shape in a reply never reaches an attribute."""
    spans = exported(events)
    messages = [e for e in events if e.kind == "message_sent"]
    found = [(s, ev) for s in spans for ev in s.events if ev.name == "message"]
    assert len(found) == len(messages)
    by_id = {ev.attributes["switchboard.message.id"]: (s, ev) for s, ev in found}
    for m in messages:
        env = m.envelope
        span, ev = by_id[env.message_id]
        assert f"{span.context.span_id:016x}" == m.parent_span_id
        assert ev.attributes["switchboard.message.sender"] == env.sender
        assert ev.attributes["switchboard.message.recipient"] == env.recipient
        assert ev.attributes["switchboard.message.kind"] == env.kind
        assert ev.timestamp == round(env.sent_at * 1e9)
    dumped = json.dumps([s.to_json() for s in spans])
    assert SECRET not in dumped and "sk-***" in dumped  # masked, not dropped


def test_content_is_bounded_and_can_be_left_out() -> None:
    """A megabyte reply is cut to ``max_text`` characters with "… N more"; ``content=False``
    leaves message bodies, inputs, outputs and tool data out."""
    big = "x" * 1_000_000
    orch = Orchestrator([MockAgent("a", reply=big)])
    events = orch.run_sync("hi", pipeline("a"), seed=1).events
    spans = exported(events, max_text=100)
    texts = [
        str(v)
        for s in spans
        for v in [*s.attributes.values(), *(a for ev in s.events for a in ev.attributes.values())]
    ]
    assert max(len(t) for t in texts) < 300
    assert any(t.endswith("999,900 more") for t in texts)
    bare = exported(events, content=False)
    keys = {k for s in bare for k in s.attributes} | {
        k for s in bare for ev in s.events for k in ev.attributes
    }
    assert not keys & {
        "switchboard.message.content",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "switchboard.task.output",
    }
    assert len(bare) == len(spans)


def test_a_key_in_a_recorded_file_is_masked_on_export(tmp_path: Path) -> None:
    """A trace recorded without redaction (or written by hand) still exports no key shape:
    every text is scrubbed again on its way to an attribute."""
    events = [parse_event(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    raw = events[1].model_dump(mode="json")
    raw["envelope"]["payload"] = f"my key is {SECRET}"
    events[1] = parse_event(json.dumps(raw))
    dumped = json.dumps([s.to_json() for s in exported(events)])
    assert SECRET not in dumped


def test_export_is_deterministic() -> None:
    """Exporting the same trace twice gives the same spans: ids, names, times, attributes."""
    events = open_trace(SAMPLE).preload()

    def key(spans: list[Any]) -> list[str]:
        return sorted(s.to_json(indent=None) for s in spans)

    assert key(exported(events)) == key(exported(events))
    records = spans_from_events(events)
    assert [r.span_id for r in records] == [r.span_id for r in spans_from_events(events)]


def test_live_sink_gives_what_the_export_gives() -> None:
    """A run with ``sinks=[OtelSink(...)]`` delivers the same spans as exporting its
    events afterwards, and the run's own result is unchanged."""
    exporter = InMemorySpanExporter()
    sink = OtelSink(exporter)
    orch = Orchestrator([MockAgent("a"), MockAgent("b")])
    result = orch.run_sync("hi", pipeline("a", "b"), sinks=[sink])
    assert result.status == "succeeded" and result.error is None
    assert sink.problems == [] and sink.report.spans == 5
    live = sorted(s.to_json(indent=None) for s in exporter.get_finished_spans())
    after = sorted(s.to_json(indent=None) for s in exported(result.events))
    assert live == after


class Failing(SpanExporter):
    """An exporter whose backend is down (it reports failure), or that raises."""

    def __init__(self, raises: bool = False) -> None:
        self.raises = raises
        self.calls = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.calls += 1
        if self.raises:
            raise ConnectionError("backend unreachable")
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


@pytest.mark.parametrize("raises", [False, True])
def test_a_failing_exporter_never_breaks_the_run(raises: bool) -> None:
    """The run succeeds with every event; the sink reports the lost spans once, as a
    ``SinkWarning``, and stops calling the exporter after its first failure."""
    exporter = Failing(raises)
    sink = OtelSink(exporter)
    orch = Orchestrator([MockAgent(f"a{i}") for i in range(30)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = orch.run_sync("hi", pipeline(*(f"a{i}" for i in range(30))), sinks=[sink])
    assert result.status == "succeeded" and result.error is None
    assert result.events[-1].kind == "run_finished"
    lost = [w for w in caught if issubclass(w.category, SinkWarning)]
    assert len(lost) == 1 and "not delivered" in str(lost[0].message)
    assert sink.report.failed == sink.report.spans == 61
    assert exporter.calls == 1


def test_an_unfinished_run_still_exports(tmp_path: Path) -> None:
    """A trace cut short (the process died) exports every span it has, ended at the last
    event and marked ``switchboard.incomplete``."""
    events = open_trace(SAMPLE).preload()
    cut = events[: len(events) // 2]
    spans = exported(cut)
    assert spans and all(s.end_time >= s.start_time for s in spans)
    assert any(s.attributes.get("switchboard.incomplete") for s in spans)
    root = [s for s in spans if s.parent is None]
    assert len(root) == 1 and root[0].end_time == round(cut[-1].ts * 1e9)


def test_remote_agents_are_client_spans() -> None:
    """An agent of a remote kind (http, a2a) gets CLIENT ``invoke_agent`` spans; in-process
    agents INTERNAL ones."""

    class Remote(MockAgent):
        kind = "http"

    orch = Orchestrator([Remote("far"), MockAgent("near")])
    events = orch.run_sync("hi", pipeline("far", "near")).events
    spans = exported(events)
    assert by_name(spans, "invoke_agent far")[0].kind == SpanKind.CLIENT
    assert by_name(spans, "invoke_agent near")[0].kind == SpanKind.INTERNAL


def test_builder_is_incremental_and_ignores_other_runs() -> None:
    """Fed one event at a time, the builder returns each span once, when it ends; events of
    another run are not mixed into the first run's spans."""
    events = open_trace(SAMPLE).preload()
    builder = SpanBuilder()
    seen: list[str] = []
    for e in events:
        seen += [r.span_id for r in builder.feed(e)]
    other = events[0].model_copy(update={"run_id": "run-other"})
    assert builder.feed(other) == []
    seen += [r.span_id for r in builder.close()]
    assert len(seen) == len(set(seen)) == 10
    assert seen[-1] == events[0].span_id  # the run ends last


def test_jsonl_round_trip_keeps_the_tree(tmp_path: Path) -> None:
    """A run recorded to JSONL and read back exports the same spans as its events live."""
    orch = Orchestrator([MockAgent("a"), MockAgent("b")])
    events = orch.run_sync("hi", pipeline("a", "b")).events
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"".join(dump_line(e) for e in events))
    again = open_trace(path).preload()
    assert sorted(s.to_json(indent=None) for s in exported(events)) == sorted(
        s.to_json(indent=None) for s in exported(again)
    )


class Hanging(SpanExporter):
    """A backend that accepts the connection and never answers (until released)."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.entered = threading.Event()

    def export(self, spans: Any) -> SpanExportResult:
        self.entered.set()
        self.release.wait()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_a_hanging_backend_cannot_hold_the_run() -> None:
    """With an exporter that never returns, the run still ends with its result; the sink
    gives up after ``flush_timeout_s`` and says so."""
    exporter = Hanging()
    sink = OtelSink(exporter, flush_timeout_s=0.2, warn=False)
    orch = Orchestrator([MockAgent("a")])
    try:
        result = orch.run_sync("hi", pipeline("a"), sinks=[sink])
        assert result.status == "succeeded" and result.error is None
        assert exporter.entered.is_set()
        assert any("gave up waiting" in p for p in sink.problems), sink.problems
    finally:
        exporter.release.set()


def test_a_timed_out_attempt_has_error_type_timeout() -> None:
    """An agent that never answers within its task's timeout gives an ERROR attempt span
    and task span with ``error.type`` ``timeout``."""
    from toolkit.agents import FailureSpec
    from toolkit.plan import Plan, Task

    orch = Orchestrator([MockAgent("slow", failures=FailureSpec(hang=1.0))])
    plan = Plan(name="t", tasks=[Task(id="wait", agent="slow", timeout_s=0.05)])
    events = orch.run_sync("hi", plan).events
    spans = exported(events)
    (attempt,) = by_name(spans, "invoke_agent slow")
    (task,) = by_name(spans, "task wait")
    for span in (attempt, task):
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes["error.type"] == "timeout"
