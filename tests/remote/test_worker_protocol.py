"""The worker protocol's rules at each end, without sockets: what the worker accepts and
answers (its ASGI app through httpx's ASGI transport), and what a caller keeps from a
worker that misbehaves (a transport serving crafted streams)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from toolkit import MockAgent, Orchestrator
from toolkit.events import Envelope
from toolkit.remote.http_agent import HttpAgent, WorkerError
from toolkit.remote.wire import SSEReader, sse_frame
from toolkit.remote.worker import worker_app

pytestmark = pytest.mark.anyio

TOKEN = "proto-token-4411"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def directive(**overrides: Any) -> dict[str, Any]:
    env = {
        "message_id": "m1",
        "conversation_id": "c1",
        "trace_id": "t" * 32,
        "span_id": "s1",
        "sender": "orchestrator",
        "recipient": "echo",
        "kind": "directive",
        "payload": {"agent": "echo", "task_id": "job", "prompt": "hi", "attempt": 2},
        "task_id": "job",
        "attempt": 2,
        "sent_at": 1.0,
    }
    env.update(overrides)
    return env


def client() -> httpx.AsyncClient:
    app = worker_app(MockAgent("echo", reply="echo: {prompt}"), token=TOKEN)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w")


def events(body: bytes) -> list[tuple[str, bytes]]:
    return list(SSEReader().feed(body))


async def test_the_answer_carries_the_directive_ids() -> None:
    """The result envelope has the directive's conversation, trace, span, task and attempt,
    answers its message id, and goes from the recipient back to the sender."""
    async with client() as c:
        response = await c.post("/run", content=orjson.dumps(directive()), headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    ((name, data),) = events(response.content)
    assert name == "result"
    answer = Envelope.model_validate_json(data)
    assert (answer.kind, answer.payload) == ("result", "echo: hi")
    assert (answer.conversation_id, answer.trace_id, answer.span_id) == ("c1", "t" * 32, "s1")
    assert (answer.parent_id, answer.task_id, answer.attempt) == ("m1", "job", 2)
    assert (answer.sender, answer.recipient) == ("echo", "orchestrator")
    assert answer.usage is not None and answer.usage["model"] == "mock"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not a directive envelope"),
        (orjson.dumps(directive(kind="result")), "envelope kind is 'result', expected 'directive'"),
        (orjson.dumps(directive(payload={"prompt": "no agent"})), "payload is not a directive"),
        (orjson.dumps(directive(payload={"agent": "a", "task_id": "t", "x": 1})), "payload.x"[8:]),
    ],
    ids=["garbage", "wrong-kind", "missing-fields", "unknown-field"],
)
async def test_what_is_not_a_directive_is_a_422_with_the_reason(body: bytes, reason: str) -> None:
    """Network input is checked before any agent runs: a 422 whose JSON error says why."""
    async with client() as c:
        response = await c.post("/run", content=body, headers=AUTH)
    assert response.status_code == 422
    assert reason in response.json()["error"]


async def test_routes_methods_and_the_token() -> None:
    """/health is open, /card and /run need the token, a wrong method is 405 with Allow,
    an unknown path 404; every error is JSON with a reason."""
    async with client() as c:
        health = await c.get("/health")
        assert health.status_code == 200 and health.json()["agent"] == "echo"
        assert (await c.get("/card")).status_code == 401
        card = await c.get("/card", headers=AUTH)
        assert card.json()["name"] == "echo" and card.json()["kind"] == "mock"
        wrong = await c.get("/run", headers=AUTH)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        assert "takes POST" in wrong.json()["error"]
        missing = await c.get("/nowhere", headers=AUTH)
        assert missing.status_code == 404 and "no route" in missing.json()["error"]


async def test_an_http_agent_works_outside_a_run() -> None:
    """Called directly (no run, no session), the agent still gets its answer and usage."""
    app = worker_app(MockAgent("echo", reply="echo: {prompt}"), token=None)
    agent = HttpAgent("echo", "http://w", transport=httpx.ASGITransport(app=app))
    from toolkit import Directive

    reply = await agent.run(Directive(agent="echo", task_id="t", prompt="one two"))
    await agent.aclose()
    assert reply.output == "echo: one two" and reply.model == "mock" and reply.tokens_out == 3


def hostile(make_stream: Callable[[dict[str, Any]], bytes]) -> HttpAgent:
    """An agent whose worker answers every call with the bytes ``make_stream(directive)``."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent = orjson.loads(request.content)
        return httpx.Response(
            200, content=make_stream(sent), headers={"content-type": "text/event-stream"}
        )

    return HttpAgent("remote", "http://w", transport=httpx.MockTransport(handler))


def result_frame(sent: dict[str, Any], **overrides: Any) -> bytes:
    answer = {
        "message_id": "r1",
        "conversation_id": sent["conversation_id"],
        "trace_id": sent["trace_id"],
        "span_id": sent["span_id"],
        "parent_id": sent["message_id"],
        "sender": "remote",
        "recipient": "orchestrator",
        "kind": "result",
        "payload": "done",
        "sent_at": 1.0,
        **overrides,
    }
    return sse_frame("result", orjson.dumps(answer))


def trace_frame(kind: str, **fields: Any) -> bytes:
    base = {"run_id": "x", "seq": 99, "ts": 1.0, "trace_id": "f" * 32, "span_id": "evil"}
    return sse_frame("trace", orjson.dumps({**base, "kind": kind, **fields}))


async def test_a_hostile_workers_events_are_validated_filtered_and_reparented() -> None:
    """Only session kinds are re-emitted, each validated, with the caller's agent and task
    and spans under the call's; a run's own kinds and malformed events are dropped."""

    def stream(sent: dict[str, Any]) -> bytes:
        return b"".join(
            [
                trace_frame("run_finished", status="failed"),  # not the worker's to say
                trace_frame("task_finished", task_id="job", agent="x", duration_s=0),
                sse_frame("trace", b"{not json"),
                trace_frame("tool_call", tool="t", agent="someone", task_id="other"),
                trace_frame("log", message="spoofed", parent_span_id="nowhere", agent="z"),
                trace_frame("llm_delta", text=123),  # wrong type: dropped
                b": a comment\n\n",
                sse_frame("custom", b"{}"),
                result_frame(sent),
            ]
        )

    agent = hostile(stream)
    result = await Orchestrator([agent]).run("go")
    assert result.status == "succeeded" and result.output == "done"
    kinds = [e.kind for e in result.events]
    assert kinds.count("run_finished") == 1 and kinds.count("task_finished") == 1
    started = next(e for e in result.events if e.kind == "task_started")
    tool = next(e for e in result.events if e.kind == "tool_call")
    assert (tool.agent, tool.task_id, tool.parent_span_id) == (
        "remote",
        started.task_id,
        started.span_id,
    )
    log = next(e for e in result.events if e.kind == "log")
    assert (log.agent, log.span_id, log.parent_span_id) != ("z", "evil", "nowhere")
    assert log.parent_span_id == started.span_id and log.agent == "remote"
    assert not [e for e in result.events if e.kind == "llm_delta"]
    assert {e.trace_id for e in result.events} == {result.events[0].trace_id}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda sent: result_frame(sent, parent_id="someone-else"), "ids of another call"),
        (lambda sent: result_frame(sent, trace_id="0" * 32), "ids of another call"),
        (lambda sent: sse_frame("result", b'{"kind": "result"}'), "broken envelope"),
        (lambda sent: result_frame(sent, kind="error", payload="boom"), ": boom"),
        (lambda sent: result_frame(sent, kind="a2a"), "'a2a' envelope"),
        (lambda sent: trace_frame("log", message="x"), "ended its answer without a result"),
        (lambda sent: b"data: " + b"x" * (4 * 1024 * 1024 + 10), "more than"),
    ],
    ids=["parent", "trace", "broken", "error", "kind", "no-result", "oversize"],
)
async def test_a_broken_answer_is_a_clear_failure(
    make: Callable[[dict[str, Any]], bytes], reason: str
) -> None:
    """An answer to another call, a broken envelope, an error, no result at all or an event
    beyond the size bound each fail the call with a WorkerError naming the worker."""
    from toolkit import Directive

    agent = hostile(make)
    with pytest.raises(WorkerError, match="worker at http://w") as failed:
        await agent.run(Directive(agent="remote", task_id="t", prompt="p"))
    assert reason in str(failed.value)


def test_the_reader_splits_events_across_chunks() -> None:
    """Events split at any byte come out whole; CRLF and comments are handled."""
    stream = b'event: trace\r\ndata: {"a":1}\r\n\r\n: ping\n\nevent: result\ndata: x\ndata: y\n\n'
    for cut in range(len(stream)):
        reader = SSEReader()
        got = [*reader.feed(stream[:cut]), *reader.feed(stream[cut:])]
        assert got == [("trace", b'{"a":1}'), ("result", b"x\ny")]


async def test_a_flood_of_events_is_cut_off_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the per-call bound, a worker's events are not recorded and one warning says so;
    the call itself still gets its answer."""
    import toolkit.remote.http_agent as http_agent

    monkeypatch.setattr(http_agent, "MAX_EVENTS_PER_CALL", 3)

    def stream(sent: dict[str, Any]) -> bytes:
        logs = [trace_frame("log", message=f"line {i}") for i in range(10)]
        return b"".join([*logs, result_frame(sent)])

    result = await Orchestrator([hostile(stream)]).run("go")
    assert result.status == "succeeded"
    logs = [e for e in result.events if e.kind == "log"]
    assert [e.message for e in logs[:3]] == ["line 0", "line 1", "line 2"]
    assert len(logs) == 4 and logs[3].level == "warning" and "more than 3 events" in logs[3].message


async def test_the_workers_connections_have_nagle_off() -> None:
    """serve-agent's listening socket says it is TCP, so asyncio turns Nagle's algorithm off
    on each connection (with it on, every answer waited ~40 ms for a delayed ACK)."""
    import asyncio
    import socket

    from toolkit.remote.cli import _listen

    listener = _listen("127.0.0.1", 0)
    nodelay: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(handle, sock=listener)
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        await reader.read()
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert len(nodelay) == 1 and nodelay[0] != 0
