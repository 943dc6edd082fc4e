"""Fixtures of the OpenTelemetry tests: runs with every kind of span, and a real OTLP/HTTP
receiver on a loopback port that decodes the protobuf wire format."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.proto")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from toolkit import FunctionAgent, MockAgent, Orchestrator
from toolkit.agents import FailureSpec
from toolkit.events import TraceEvent
from toolkit.plan import Plan, ReviewSpec, Task
from toolkit.session import current_session

SECRET = "sk-proj-" + "Z9" * 20
"""A key shape a hostile agent puts in its reply (the tracer and the export mask it)."""


class Receiver:
    """An OTLP/HTTP traces endpoint: every request body decoded as ExportTraceServiceRequest.

    ``status`` is the HTTP status it answers with (200 accepts; 400 rejects for good).
    """

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.status = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver._lock:
                    receiver.paths.append(self.path)
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                    if receiver.status == 200:
                        receiver.requests.append(request)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def spans(self) -> list[Any]:
        """Every span received, with ``resource`` attributes of its batch on ``span.resource``."""
        found = []
        with self._lock:
            for request in self.requests:
                for rs in request.resource_spans:
                    for ss in rs.scope_spans:
                        found.extend(ss.spans)
        return found

    def resources(self) -> list[dict[str, Any]]:
        with self._lock:
            return [attrs(rs.resource.attributes) for r in self.requests for rs in r.resource_spans]


def attrs(pairs: Any) -> dict[str, Any]:
    """OTLP KeyValue list -> dict of plain values."""
    out: dict[str, Any] = {}
    for kv in pairs:
        value = kv.value
        which = value.WhichOneof("value")
        if which == "array_value":
            out[kv.key] = [getattr(v, v.WhichOneof("value")) for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, which) if which else None
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r._thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def calls_tools_and_model(prompt: str) -> str:
    """An agent that calls a tool and a model and reports both through its session."""
    session = current_session()
    assert session is not None
    session.tool_call("search", {"query": prompt[:20]}, ["doc-1", "doc-2"], duration_s=0.01)
    session.tool_call("fetch", {"url": "http://x"}, None, ok=False, duration_s=0.0)
    session.llm_call(
        model="gpt-4o-mini", prompt_tokens=12, completion_tokens=34, latency_s=0.0, cost_usd=0.001
    )
    return f"answer with {SECRET}"


def rich_events() -> list[TraceEvent]:
    """A run with a retry, a fallback, a review loop, tool calls, a model call, a failed task
    and a skipped one."""
    agents = [
        MockAgent("developer", failures=FailureSpec(fail_attempts=[1])),
        MockAgent("backup", reply="backup: {summary}"),
        MockAgent("reviewer", reply=["needs tests", "APPROVED"]),
        FunctionAgent(calls_tools_and_model, name="researcher"),
        MockAgent("broken", failures=FailureSpec(exception=1.0)),
        MockAgent("after"),
    ]
    plan = Plan(
        name="rich",
        tasks=[
            Task(id="research", agent="researcher", prompt="{{input}}"),
            Task(
                id="build",
                agent="developer",
                retries=1,
                fallback="backup",
                depends_on=["research"],
                review=ReviewSpec(reviewer="reviewer", max_rounds=3),
            ),
            Task(id="doomed", agent="broken", depends_on=["research"]),
            Task(id="later", agent="after", depends_on=["doomed"]),
        ],
    )
    orch = Orchestrator(agents)
    result = orch.run_sync("build the feature", plan, seed=3)
    return result.events


@pytest.fixture
def fast_workflow(tmp_path: Any) -> Any:
    """The feature-review workflow (retry, fallback, review loop) with no agent latency."""
    import yaml

    source = Path(__file__).parents[2] / "sample_agents" / "workflows" / "feature-review.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for agent in data["agents"].values():
        agent.pop("latency", None)
    path = tmp_path / "feature-review.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
