"""The run over the wire: ``switchboard export otel`` and ``switchboard run --otel``, as a
user runs them, against a real OTLP/HTTP receiver on loopback that decodes the protobuf
``ExportTraceServiceRequest``. The decoded tree, names, kinds, attributes and events are
the run's; headers from ``OTEL_EXPORTER_OTLP_HEADERS`` arrive and are never printed; a
receiver that refuses costs a one-line error (export) or a warning (run), never the run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.core.test_cli import assert_user_error, cli, stderr_lines
from tests.otel.conftest import Receiver, attrs, rich_events
from toolkit.recorder import write_trace

TOKEN = "Bearer tok-" + "q7" * 12


def env_cli(*args: str | Path, **env: str) -> Any:
    """The CLI with extra environment variables (the OTLP settings a user exports)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return cli(*args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def tree(spans: list[Any]) -> dict[str, str]:
    """Span name -> its parent's name (the root maps to "")."""
    ids = {s.span_id: s for s in spans}
    return {s.name: ids[s.parent_span_id].name if s.parent_span_id else "" for s in spans}


def test_export_otel_sends_the_tree_over_otlp_http(receiver: Receiver, tmp_path: Path) -> None:
    """``switchboard export otel run.jsonl --endpoint URL`` posts protobuf to /v1/traces;
    decoded, the spans form the run's tree with GenAI names, kinds, attributes and message
    events, under the run's own trace id, with service.name switchboard."""
    events = rich_events()
    trace = tmp_path / "run.jsonl"
    write_trace(trace, events)
    proc = cli("export", "otel", trace, "--endpoint", receiver.url)
    assert proc.returncode == 0, proc.stderr
    assert stderr_lines(proc) == []
    assert f"trace {events[0].trace_id}" in proc.stdout
    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    assert f"exported {len(spans)} span(s)" in proc.stdout
    assert {s.trace_id.hex() for s in spans} == {events[0].trace_id}
    parents = tree(spans)
    assert parents["invoke_workflow rich"] == ""
    assert parents["task research"] == "invoke_workflow rich"
    assert parents["invoke_agent researcher"] == "task research"
    assert parents["chat gpt-4o-mini"] == "invoke_agent researcher"
    assert parents["execute_tool search"] == "invoke_agent researcher"
    assert parents["invoke_agent reviewer"] == "task build"
    named = {s.name: s for s in spans}
    chat = named["chat gpt-4o-mini"]
    assert chat.kind == Span.SPAN_KIND_CLIENT
    a = attrs(chat.attributes)
    assert a["gen_ai.operation.name"] == "chat"
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (12, 34)
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    agent = named["invoke_agent researcher"]
    assert agent.kind == Span.SPAN_KIND_INTERNAL
    assert attrs(agent.attributes)["gen_ai.agent.name"] == "researcher"
    messages = [attrs(ev.attributes) for ev in agent.events if ev.name == "message"]
    assert [
        (m["switchboard.message.sender"], m["switchboard.message.recipient"]) for m in messages
    ] == [
        ("orchestrator", "researcher"),
        ("researcher", "orchestrator"),
    ]
    doomed = named["task doomed"]
    assert doomed.status.code == Status.STATUS_CODE_ERROR
    assert attrs(doomed.attributes)["error.type"] == "exception"
    run = named["invoke_workflow rich"]
    assert run.start_time_unix_nano == round(events[0].ts * 1e9)
    assert run.end_time_unix_nano == round(events[-1].ts * 1e9)
    assert {r.get("service.name") for r in receiver.resources()} == {"switchboard"}


def test_re_export_gives_the_same_spans(receiver: Receiver, tmp_path: Path) -> None:
    """Two exports of one trace, by two processes, send identical ids, parents and times."""
    trace = tmp_path / "run.jsonl"
    write_trace(trace, rich_events())
    for _ in range(2):
        assert cli("export", "otel", trace, "--endpoint", receiver.url).returncode == 0
    spans = receiver.spans()
    keys = [
        (
            s.trace_id,
            s.span_id,
            s.parent_span_id,
            s.name,
            s.start_time_unix_nano,
            s.end_time_unix_nano,
        )
        for s in spans
    ]
    half = len(keys) // 2
    assert half and sorted(keys[:half]) == sorted(keys[half:])


def test_run_otel_sends_live_with_the_standard_variables(
    receiver: Receiver, tmp_path: Path, fast_workflow: Path
) -> None:
    """``switchboard run --otel`` reads OTEL_EXPORTER_OTLP_ENDPOINT and _HEADERS: the
    receiver gets the run's spans and the header; the token is printed nowhere."""
    trace = tmp_path / "run.jsonl"
    proc = env_cli(
        "run",
        fast_workflow,
        "--otel",
        "--trace",
        trace,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization={TOKEN.replace(' ', '%20')}",
    )
    assert proc.returncode == 0, proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr and "tok-" not in proc.stdout + proc.stderr
    assert {h.get("authorization") for h in receiver.headers} == {TOKEN}
    spans = receiver.spans()
    assert f"otel: {len(spans)} span(s) sent to {receiver.url}/v1/traces" in proc.stdout
    roots = [s for s in spans if not s.parent_span_id]
    assert [s.name for s in roots] == ["invoke_workflow feature-review"]
    run_id = attrs(roots[0].attributes)["switchboard.run.id"]
    assert f"run {run_id} " in proc.stdout
    # the live spans are the recorded trace's spans
    receiver.requests.clear()
    assert cli("export", "otel", trace, "--endpoint", receiver.url).returncode == 0
    again = receiver.spans()
    assert sorted((s.span_id, s.name, s.start_time_unix_nano) for s in again) == sorted(
        (s.span_id, s.name, s.start_time_unix_nano) for s in spans
    )


def test_a_refusing_receiver_is_one_error_line_or_one_warning(
    receiver: Receiver, tmp_path: Path, fast_workflow: Path
) -> None:
    """Answered 400, ``export otel`` exits 2 with one error line naming the endpoint; ``run
    --otel`` still runs to the end (exit 0, the trace complete) with one warning line."""
    receiver.status = 400
    trace = tmp_path / "run.jsonl"
    write_trace(trace, rich_events())
    proc = cli("export", "otel", trace, "--endpoint", receiver.url)
    assert_user_error(proc, "not delivered", receiver.url)
    recorded = tmp_path / "live.jsonl"
    proc = env_cli(
        "run",
        fast_workflow,
        "--otel",
        "--trace",
        recorded,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
    )
    assert proc.returncode == 0, proc.stderr
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("switchboard: warning: OpenTelemetry export")
    assert "Traceback" not in proc.stderr
    assert recorded.read_text(encoding="utf-8").splitlines()[-1].count('"run_finished"') == 1


def test_export_otel_from_a_store(receiver: Receiver, tmp_path: Path, fast_workflow: Path) -> None:
    """A run recorded to a store exports by ``--store DB`` (the newest run)."""
    db = tmp_path / "runs.db"
    assert cli("run", fast_workflow, "--store", db).returncode == 0
    proc = cli("export", "otel", "--store", db, "--endpoint", receiver.url)
    assert proc.returncode == 0, proc.stderr
    names = {s.name for s in receiver.spans()}
    assert {"invoke_workflow feature-review", "task implement", "invoke_agent reviewer"} <= names
