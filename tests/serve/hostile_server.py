"""A hostile "run server" for the follower's tests: ``python -m tests.serve.hostile_server PORT``.

It serves one run, ``run-h``, as ``switchboard serve`` would, but its event stream is
damaged on purpose: a message that is not JSON, JSON that is not an event, an event of
another run, a repeated seq, a payload full of escape sequences, an unknown message
type and comments; then it drops the connection before the end. Resumed (with
``Last-Event-ID``), it sends the rest and the ``end`` message. Each stream request is
counted at ``/hits``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from toolkit.events import Envelope, MessageSent, RunFinished, RunStarted, dump_event

RUN = "run-h"
IDS = {"trace_id": "0" * 32, "span_id": "1" * 16}
GOOD = [
    RunStarted(run_id=RUN, seq=0, ts=1.0, name="hostile", **IDS),
    MessageSent(
        run_id=RUN,
        seq=1,
        ts=2.0,
        envelope=Envelope(
            message_id="m1",
            conversation_id="c1",
            sender="user",
            recipient="orchestrator",
            kind="directive",
            payload="\x1b[2J\x1b]0;pwned\x07 hello",
            sent_at=2.0,
            **IDS,
        ),
        **IDS,
    ),
    RunFinished(run_id=RUN, seq=2, ts=3.0, status="succeeded", output="ok", **IDS),
]
hits: list[str | None] = []


def frame(data: bytes | str, ident: str | None = None, event: str = "trace") -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + raw + b"\n\n"


async def status(request: Request) -> JSONResponse:
    if request.path_params["run_id"] != RUN:
        return JSONResponse({"error": "no such run"}, status_code=404)
    return JSONResponse({"run_id": RUN, "name": "hostile", "status": "running"})


async def events(request: Request) -> StreamingResponse:
    resume = request.headers.get("last-event-id")
    hits.append(resume)
    other = RunStarted(run_id="run-other", seq=5, ts=1.0, name="x", **IDS)

    async def first() -> AsyncIterator[bytes]:
        yield b": a comment, as the pings are\n\n"
        yield frame(dump_event(GOOD[0]), "0")
        yield frame("this is not json", "x1")
        yield frame('{"kind": "mystery", "seq": 9}', "x2")
        yield frame(dump_event(other), "5")
        yield frame(dump_event(GOOD[1]), "1")
        yield frame(dump_event(GOOD[1]), "1")  # the same seq again
        yield frame("ignored", "x3", event="chatter")
        # then the connection drops, before run_finished and the end message

    async def rest() -> AsyncIterator[bytes]:
        yield frame(dump_event(GOOD[2]), "2")
        yield frame('{"run_id": "run-h", "status": "succeeded", "events": 3}', event="end")

    return StreamingResponse(first() if resume is None else rest(), media_type="text/event-stream")


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"hits": hits})


app = Starlette(
    routes=[
        Route("/v1/runs/{run_id}", status),
        Route("/v1/runs/{run_id}/events", events),
        Route("/hits", count),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
