"""The start API as an ASGI app (Starlette), and its OpenAPI document.

Every operation is declared once in an ``Api`` route table: its method and path, its
request body model, its answers (status → model) and whether it needs the token. The
Starlette routes and the OpenAPI document are both generated from that table, so what
is served and what is documented are the same list. A later API (people answering an
agent's questions, say) adds its operations to the table, or includes another ``Api``,
without touching the ones here.

The app is wrapped in ``toolkit.web.guard``: a bearer token on every route but
``/health`` (compared in constant time, never logged), a body limit, JSON errors.
Every other error is a JSON ``ErrorOut`` too: 400 for a body that is not JSON, 404 for
an unknown run or path, 405 for a wrong method, 415 for a body that is not JSON by its
content type, 422 for a body that does not describe a run (each problem listed), 409
for cancelling a finished run, 429 when too many runs are running.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import orjson
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from toolkit.events import dump_event
from toolkit.serve.models import (
    AgentInfo,
    AgentMetrics,
    AgentsOut,
    CancelOut,
    ErrorOut,
    HealthOut,
    MetricsOut,
    RunLinks,
    RunResultOut,
    RunsOut,
    RunStatusOut,
    RunSummary,
    StartRequest,
    StartResponse,
    TaskInfo,
    WorkflowInfo,
)
from toolkit.serve.runs import RunRecord, RunRegistry, StartError, UnknownRun
from toolkit.web import DEFAULT_MAX_BODY, guard

__all__ = ["API", "Api", "ApiError", "Operation", "create_app", "json_response"]

log = logging.getLogger("switchboard.serve")

Endpoint = Callable[[Request], Awaitable[Response]]

RUN_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
"""What a run id in a path may look like (run ids are ``run-<ms><random>``)."""

MAX_SEQ = 2**63 - 1
LAST_EVENT_ID = re.compile(r"-1|[0-9]{1,19}")
"""An SSE id this server sent (a seq), or -1."""

SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event: `trace` (data: a TraceEvent's JSON; id: its "
    "seq), then one `end` (data: {run_id, status, events}).",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "enum": ["trace", "end"]},
        "data": {"type": "string"},
        "id": {"type": "string"},
    },
}
"""The schema of each message of an event stream."""

PING_S = 15
"""Seconds between keep-alive comments on an idle event stream."""


class ApiError(Exception):
    """An answer other than success: a 4xx status and its reasons."""

    def __init__(self, status: int, error: str, problems: list[str] | None = None) -> None:
        self.status = status
        self.error = error
        self.problems = problems or []
        super().__init__(error)


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A model as JSON; values JSON cannot hold (an agent's odd output) become their repr."""
    return Response(
        model.model_dump_json(fallback=repr),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _error(
    status: int,
    error: str,
    problems: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_response(ErrorOut(error=error, problems=problems or []), status, headers)


@dataclass
class Operation:
    """One documented operation: how it is routed, what it takes and what it answers."""

    method: str
    path: str
    endpoint: Endpoint
    operation_id: str
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    """Status → (description, body model; None for a non-JSON body)."""
    body: type[BaseModel] | None = None
    open: bool = False
    """Served without a token."""
    parameters: list[dict[str, Any]] = field(default_factory=list)
    """OpenAPI parameter objects (path parameters are added from the path)."""
    media: str = "application/json"
    """The success answer's media type."""
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    """OpenAPI links of the success answer (what a client, or a fuzzer, may call next)."""


class Api:
    """A route table: declare operations with ``operation``; serve ``routes()``; document ``openapi()``."""

    def __init__(self, title: str, version: str, description: str = "") -> None:
        self.title = title
        self.version = version
        self.description = description
        self.operations: list[Operation] = []

    def operation(
        self,
        method: str,
        path: str,
        *,
        operation_id: str,
        summary: str,
        responses: dict[int, tuple[str, type[BaseModel] | None]],
        body: type[BaseModel] | None = None,
        open: bool = False,
        parameters: list[dict[str, Any]] | None = None,
        media: str = "application/json",
        links: dict[str, dict[str, Any]] | None = None,
    ) -> Callable[[Endpoint], Endpoint]:
        """Declare the decorated endpoint as an operation."""

        def add(endpoint: Endpoint) -> Endpoint:
            self.operations.append(
                Operation(
                    method.upper(),
                    path,
                    endpoint,
                    operation_id,
                    summary,
                    responses,
                    body,
                    open,
                    parameters or [],
                    media,
                    links or {},
                )
            )
            return endpoint

        return add

    def include(self, other: Api) -> None:
        """Serve and document another table's operations too."""
        self.operations.extend(other.operations)

    @property
    def open_paths(self) -> list[str]:
        """The paths served without a token (no path parameters in them)."""
        return [op.path for op in self.operations if op.open]

    def routes(self) -> list[Route]:
        return [
            Route(op.path, _answering(op.endpoint), methods=[op.method]) for op in self.operations
        ]

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every operation."""
        models: dict[type[BaseModel], None] = {}
        for op in self.operations:
            if op.body is not None:
                models[op.body] = None
            for _, model in op.responses.values():
                if model is not None:
                    models[model] = None
        keyed: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
            (m, "validation") for m in models
        ]
        _, schemas = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = self._operation(op)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "paths": paths,
            "components": {
                "schemas": schemas.get("$defs", {}),
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "The token the server was started with (--token-env).",
                    }
                },
            },
            "security": [{"bearer": []}],
        }

    def _operation(self, op: Operation) -> dict[str, Any]:
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": RUN_ID_PATTERN},
            }
            for name in _path_names(op.path)
        ] + op.parameters
        responses: dict[str, Any] = {}
        all_responses = dict(op.responses)
        if not op.open:
            all_responses.setdefault(401, ("missing or invalid bearer token", ErrorOut))
        if op.body is not None:
            all_responses.setdefault(400, ("the body is not JSON", ErrorOut))
            all_responses.setdefault(413, ("the body is over the size limit", ErrorOut))
            all_responses.setdefault(415, ("the body's content type is not JSON", ErrorOut))
            all_responses.setdefault(422, ("the body does not describe a run", ErrorOut))
        for status, (description, model) in sorted(all_responses.items()):
            media = op.media if status < 300 else "application/json"
            schema: dict[str, Any] = (
                {"$ref": f"#/components/schemas/{model.__name__}"}
                if model is not None
                else SSE_EVENT
                if media == "text/event-stream"
                else {}
            )
            responses[str(status)] = {
                "description": description,
                "content": {media: {"schema": schema}},
            }
            if status < 300 and op.links:
                responses[str(status)]["links"] = op.links
        doc: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "responses": responses,
        }
        if op.endpoint.__doc__:
            doc["description"] = " ".join(op.endpoint.__doc__.split())
        if parameters:
            doc["parameters"] = parameters
        if op.body is not None:
            doc["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}
                    }
                },
            }
        if op.open:
            doc["security"] = []
        return doc


def _path_names(path: str) -> list[str]:
    return [part[1:-1].partition(":")[0] for part in path.split("/") if part.startswith("{")]


def _answering(endpoint: Endpoint) -> Endpoint:
    """The endpoint, with its ``ApiError`` turned into the JSON answer."""

    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as exc:
            return _error(exc.status, exc.error, exc.problems)
        except StartError as exc:
            return _error(exc.status, str(exc), exc.problems)

    answer.__doc__ = endpoint.__doc__
    return answer


# -- reading requests ---------------------------------------------------------------


def _union_tag(part: Any) -> bool:
    """Whether a location part names a member of a union (``str``, ``list[DirectiveIn]``)."""
    return isinstance(part, str) and (part in ("str", "int", "none") or "[" in part)


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


async def _body(request: Request, model: type[BaseModel]) -> Any:
    """The request body validated by ``model``.

    Raises:
        ApiError: 415 (not JSON by its content type), 400 (not JSON), 422 (invalid).
    """
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, f"send the body as JSON (Content-Type: application/json), not {kind}")
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            reason = errors[0].get("ctx", {}).get("error", "invalid JSON")
            raise ApiError(400, f"the body is not valid JSON: {reason}") from None
        problems = []
        for e in errors:
            if e["type"] == "none_required" and len(errors) > 1:
                continue  # the "or leave it out" branch of an optional field: noise
            loc = tuple(p for p in e["loc"] if not _union_tag(p))
            problems.append(f"{_location(loc)}: {e['msg']}")
        problems = list(dict.fromkeys(problems))
        raise ApiError(422, "; ".join(problems[:3]), problems) from None


def _registry(request: Request) -> RunRegistry:
    registry: RunRegistry = request.app.state.registry
    return registry


async def _record(request: Request) -> RunRecord:
    run_id = request.path_params["run_id"]
    try:
        return await _registry(request).lookup(run_id)
    except UnknownRun:
        shown = run_id if len(run_id) <= 80 else run_id[:80] + "…"
        raise ApiError(404, f"no run {shown!r} on this server (GET /v1/runs lists them)") from None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _links(request: Request, run_id: str) -> RunLinks:
    run = f"{_base(request)}/v1/runs/{run_id}"
    return RunLinks(
        status=run,
        events=f"{run}/events",
        result=f"{run}/result",
        metrics=f"{run}/metrics",
        cancel=f"{run}/cancel",
    )


# -- the operations ------------------------------------------------------------------

API = Api(
    "Switchboard",
    "1",
    "Start multi-agent runs, read their status, result and metrics, follow their events "
    "as server-sent events, cancel them. Every operation but /health needs the bearer token.",
)
_NOT_FOUND = ("no such run", ErrorOut)


@API.operation(
    "GET",
    "/health",
    operation_id="health",
    summary="Whether the server is up",
    responses={200: ("the server is up", HealthOut)},
    open=True,
)
async def health(request: Request) -> Response:
    """Needs no token: for load balancers and readiness probes."""
    return json_response(HealthOut(ok=True, runs_running=_registry(request).running_count))


@API.operation(
    "GET",
    "/openapi.json",
    operation_id="openapi",
    summary="This document",
    responses={200: ("the OpenAPI document", None)},
)
async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document of this API, naming the agents and workflows served here."""
    document = request.app.state.api.openapi()
    _name_served(document["components"]["schemas"], _registry(request).catalog)
    return Response(orjson.dumps(document), media_type="application/json")


def _name_served(schemas: dict[str, Any], catalog: Any) -> None:
    """Say in the document which names this server accepts: ``agent_id`` and ``workflow``."""
    with contextlib.suppress(KeyError, IndexError, TypeError):
        schemas["DirectiveIn"]["properties"]["agent_id"]["enum"] = sorted(catalog.agents)
    with contextlib.suppress(KeyError, IndexError, TypeError):
        named = schemas["StartRequest"]["properties"]["workflow"]["anyOf"][0]
        if named.get("type") == "string":
            named["enum"] = sorted(catalog.workflows)


@API.operation(
    "POST",
    "/v1/mao/start",
    operation_id="start",
    summary="Start a run",
    body=StartRequest,
    responses={
        201: ("the run was started", StartResponse),
        429: ("too many runs are running", ErrorOut),
        503: ("the server is stopping", ErrorOut),
    },
    links={
        op: {"operationId": op, "parameters": {"run_id": "$response.body#/run_id"}}
        for op in ("run_status", "run_result", "run_metrics", "run_events", "run_cancel")
    },
)
async def start(request: Request) -> Response:
    """Start a run of directives (a pipeline: each step gets the previous result as
    context) or of a workflow (a served one by name, or a whole posted one). The answer
    names the run and where to read its status and events."""
    body = await _body(request, StartRequest)
    registry = _registry(request)
    registry.check_capacity()
    # checking a big posted workflow takes a while: off the loop that runs the runs
    record = registry.launch(await anyio.to_thread.run_sync(registry.prepare, body))
    links = _links(request, record.run_id)
    answer = StartResponse(
        run_id=record.run_id,
        name=record.name,
        status="running",
        status_url=links.status,
        events_url=links.events,
        links=links,
    )
    return json_response(answer, 201, {"Location": links.status})


@API.operation(
    "GET",
    "/v1/agents",
    operation_id="agents",
    summary="What this server can run",
    responses={200: ("the served agents and workflows", AgentsOut)},
)
async def agents(request: Request) -> Response:
    """The agents a directive's ``agent_id`` may name, and the workflows a start request
    may name."""
    catalog = _registry(request).catalog
    out = AgentsOut(
        agents=[
            AgentInfo(
                name=name,
                kind=str(getattr(spec, "kind", "mock")),
                description=str(getattr(spec, "description", "")),
                skills=list(getattr(spec, "skills", [])),
                workflows=catalog.origins.get(name, []),
            )
            for name, spec in sorted(catalog.agents.items())
        ],
        workflows=[
            WorkflowInfo(
                name=w.name, description=w.description, agents=list(w.agents), input=w.input
            )
            for w in catalog.workflows.values()
        ],
    )
    return json_response(out)


@API.operation(
    "GET",
    "/v1/runs",
    operation_id="runs",
    summary="The runs this server knows",
    responses={200: ("the runs, newest first", RunsOut)},
)
async def runs(request: Request) -> Response:
    """Runs started by this process, then the others of its run store, newest first."""
    records = await _registry(request).listing()
    out = RunsOut(
        runs=[
            RunSummary(
                run_id=r.run_id,
                name=r.name,
                status=_status(r),
                started_at=r.state().started_at if r.events else r.created or None,
                source=r.source,  # type: ignore[arg-type]
                status_url=_links(request, r.run_id).status,
            )
            for r in records
        ]
    )
    return json_response(out)


def _status(record: RunRecord) -> Any:
    status = record.status
    known = ("pending", "running", "succeeded", "failed", "cancelled", "interrupted")
    return status if status in known else "interrupted"


@API.operation(
    "GET",
    "/v1/runs/{run_id}",
    operation_id="run_status",
    summary="A run's status",
    responses={200: ("where the run stands", RunStatusOut), 404: _NOT_FOUND},
)
async def run_status(request: Request) -> Response:
    """Status, timing and tasks of a run (``switchboard tui`` follows this URL)."""
    record = await _record(request)
    state = record.state()
    out = RunStatusOut(
        run_id=record.run_id,
        name=state.name or record.name,
        status=_status(record),
        request=state.request,
        started_at=state.started_at,
        finished_at=state.finished_at,
        elapsed_s=state.elapsed_s,
        events=len(record.events),
        tasks=[
            TaskInfo(
                id=t.id,
                agent=t.last_agent or t.agent,
                goal=t.goal,
                status=t.status,
                attempts=t.attempts,
                error=t.error,
            )
            for t in state.tasks.values()
        ],
        task_counts=state.task_counts(),
        error=state.error,
        source=record.source,  # type: ignore[arg-type]
        links=_links(request, record.run_id),
    )
    return json_response(out)


@API.operation(
    "GET",
    "/v1/runs/{run_id}/result",
    operation_id="run_result",
    summary="A run's answer",
    responses={
        200: ("the answer (null until the run has finished)", RunResultOut),
        404: _NOT_FOUND,
    },
)
async def run_result(request: Request) -> Response:
    """The synthesized answer and error; ``finished`` says whether the run is over."""
    record = await _record(request)
    state = record.state()
    out = RunResultOut(
        run_id=record.run_id,
        status=_status(record),
        finished=record.finished,
        output=state.output,
        error=state.error,
    )
    return json_response(out)


@API.operation(
    "GET",
    "/v1/runs/{run_id}/metrics",
    operation_id="run_metrics",
    summary="A run's per-agent metrics",
    responses={200: ("per-agent figures and totals", MetricsOut), 404: _NOT_FOUND},
)
async def run_metrics(request: Request) -> Response:
    """Per agent: tasks, failures, retries, latency, messages, tokens and cost."""
    from toolkit.metrics import agent_rows

    record = await _record(request)
    state = record.state()
    rows = [
        AgentMetrics.model_validate(
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        )
        for row in agent_rows(state)
    ]
    out = MetricsOut(
        run_id=record.run_id,
        status=_status(record),
        agents=rows,
        tokens_in=state.tokens_in,
        tokens_out=state.tokens_out,
        cost_usd=state.cost_usd,
        elapsed_s=state.elapsed_s,
        events=len(record.events),
    )
    return json_response(out)


@API.operation(
    "GET",
    "/v1/runs/{run_id}/events",
    operation_id="run_events",
    summary="A run's events, as server-sent events",
    responses={
        200: ("the event stream", None),
        400: ("Last-Event-ID or after is not a number", ErrorOut),
        404: _NOT_FOUND,
    },
    parameters=[
        {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "Only events with a seq above this (default: from the beginning).",
            "schema": {"type": "integer", "minimum": -1, "maximum": MAX_SEQ},
        },
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "description": "The id (seq) of the last event received: resume after it.",
            "schema": {"type": "string", "pattern": "^(-1|[0-9]{1,19})$"},
        },
    ],
    media="text/event-stream",
)
async def run_events(request: Request) -> Response:
    """Every event of the run from its beginning (or after ``after``/``Last-Event-ID``),
    then each as it happens, one SSE message each (``id``: the seq, ``event: trace``,
    ``data``: the event's JSON); then one ``event: end`` message (``status``) and the
    stream closes."""
    record = await _record(request)
    after = _after(request)

    async def frames() -> AsyncIterator[bytes]:
        async for chunk in record.follow(after):
            yield b"".join(
                b"id: %d\nevent: trace\ndata: %s\n\n" % (e.seq, dump_event(e)) for e in chunk
            )
        end = {"run_id": record.run_id, "status": _status(record), "events": len(record.events)}
        yield b"event: end\ndata: " + orjson.dumps(end) + b"\n\n"

    return EventSourceResponse(frames(), ping=PING_S, headers={"Cache-Control": "no-store"})


def _after(request: Request) -> int:
    """The seq to resume after: the ``after`` query, else ``Last-Event-ID``, else -1."""
    header = request.headers.get("last-event-id")
    if header is not None and not LAST_EVENT_ID.fullmatch(header):
        raise ApiError(400, "Last-Event-ID must be an event's id (its seq: a number)")
    text = request.query_params.get("after")
    if text is None:
        return -1 if header is None else int(header)
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, "after must be an event's seq (a number)") from None
    if not -1 <= value <= MAX_SEQ:
        raise ApiError(400, f"after must be -1 to {MAX_SEQ}")
    return value


@API.operation(
    "POST",
    "/v1/runs/{run_id}/cancel",
    operation_id="run_cancel",
    summary="Cancel a run",
    responses={
        202: ("the run is being cancelled", CancelOut),
        404: _NOT_FOUND,
        409: ("the run has already finished", ErrorOut),
    },
)
async def run_cancel(request: Request) -> Response:
    """Stop a running run: running tasks are recorded as cancelled, the rest as skipped,
    and the run ends with ``run_finished`` cancelled."""
    record = await _record(request)
    _registry(request).cancel(record)
    return json_response(CancelOut(run_id=record.run_id, status="running"), 202)


# -- the app -------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reasons = {404: f"no such path: {request.url.path[:200]}", 405: "method not allowed here"}
    reason = reasons.get(exc.status_code, str(exc.detail))
    return _error(exc.status_code, reason, headers=dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal error (the server's log has the details)")


def create_app(
    registry: RunRegistry,
    *,
    token: str | None,
    max_body: int = DEFAULT_MAX_BODY,
    api: Api = API,
    temporal: str | None = None,
) -> Any:
    """The start API over ``registry``, behind the token and the body limit.

    Args:
        registry: Runs what is asked; its runs live in the app's event loop while the
            app runs (its lifespan opens ``registry.running()``).
        token: The bearer token every route but ``/health`` requires (None: none).
        max_body: Largest request body in bytes.
        api: The route table to serve and document.
        temporal: A Temporal server (``HOST:PORT``) whose runs' questions the answer
            routes also reach (``toolkit.serve.answers``); None: only this server's runs.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with registry.running():
            yield

    app = Starlette(
        routes=api.routes(),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.registry = registry
    app.state.api = api
    app.state.temporal = temporal
    app.state.temporal_client = None
    return guard(app, token=token, open_paths=api.open_paths, max_body=max_body)


def _include_answers() -> None:
    """People answering a run's human agents: their operations join the table."""
    from toolkit.serve.answers import ANSWERS

    API.include(ANSWERS)


_include_answers()
