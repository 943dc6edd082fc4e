"""Call any A2A server as a Switchboard agent: one A2A task per directive.

``A2AAgent`` reads the server's agent card once, then sends each directive as one
A2A message (its text is the prompt; between Switchboard ends the metadata also
carries the directive's task id, goal, attempt, round and context). With streaming
(the default, when the card offers it) every status update and artifact of the remote
task arrives as it happens and becomes an ``a2a_update`` trace event of the call; a
served Switchboard agent's typed tokens become ``llm_delta`` events, so a view shows
the remote agent typing. The answer is the task's artifacts (the ``output`` artifact
of a Switchboard server, else every artifact's text), or the server's direct message.

A task that ends ``failed``, ``rejected`` or ``canceled``, or asks for input, fails the
call with the server's own words. A server that cannot be reached, or goes away in
the middle of a task (its worker killed), fails the call with a reason that says so;
the task is then retried or handed to its fallback as the plan says. The bearer token
travels only in the ``Authorization`` header: never in an event, a log or an error.
"""

from __future__ import annotations

import contextlib
import json
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from toolkit.a2a_protocol.wire import JSON_MEDIA_TYPE, META_KEY, OUTPUT_ARTIFACT, jsonable
from toolkit.agents import Agent, AgentError, Directive, Reply
from toolkit.events import A2AUpdate
from toolkit.extras import needs_extra
from toolkit.redact import redact
from toolkit.session import AgentSession, current_session

with needs_extra("remote", "kind: a2a agents"):
    import httpx
with needs_extra("a2a", "kind: a2a agents"):
    from a2a.client import (
        A2ACardResolver,
        A2AClientError,
        A2AClientTimeoutError,
        ClientCallContext,
        ClientConfig,
        ClientFactory,
    )
    from a2a.helpers import get_data_parts
    from a2a.types import (
        AgentCard,
        CancelTaskRequest,
        Message,
        Part,
        Role,
        SendMessageRequest,
        TaskState,
    )
    from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
    from google.protobuf.json_format import MessageToDict

__all__ = ["A2AAgent", "A2AError", "Health"]

_ENDED = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
}
_PAUSED = {TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED}


class A2AError(AgentError):
    """An A2A call failed: the server is unreachable, went away, or the task did not complete."""


class Health(BaseModel):
    """What a health check of an A2A server found."""

    ok: bool
    detail: str
    """One line: the card's agent name, or why the server is not healthy."""
    url: str


def state_word(state: int) -> str:
    """An A2A task state as a word: ``TASK_STATE_INPUT_REQUIRED`` -> ``input_required``."""
    return TaskState.Name(state).removeprefix("TASK_STATE_").lower()


def _texts(parts: Sequence[Part]) -> str:
    return "\n".join(p.text for p in parts if p.HasField("text"))


def _meta(holder: Any) -> dict[str, Any]:
    if not holder.HasField("metadata"):
        return {}
    value = MessageToDict(holder.metadata).get(META_KEY, {})
    return value if isinstance(value, dict) else {}


def _part_value(part: Part) -> Any:
    if part.HasField("text"):
        if part.media_type == JSON_MEDIA_TYPE:
            try:
                return json.loads(part.text)
            except json.JSONDecodeError:
                return part.text
        return part.text
    if part.HasField("data"):
        return get_data_parts([part])[0]
    if part.HasField("url"):
        return part.url
    return None


def _cause(exc: BaseException) -> BaseException:
    """The HTTP error behind an SDK error (the SDK wraps httpx's in its own)."""
    if isinstance(exc, httpx.HTTPError):
        return exc
    return exc.__cause__ or exc


def _why(exc: BaseException) -> str:
    """``ReadError``, or ``ConnectError: [Errno 111] Connection refused``."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _artifact_value(parts: Sequence[Part]) -> Any:
    values = [_part_value(p) for p in parts]
    return values[0] if len(values) == 1 else "".join(_as_text(v) for v in values)


class _Call:
    """The state of one call: the remote task, its artifacts, its end."""

    def __init__(self, agent: A2AAgent, session: AgentSession | None, directive: Directive) -> None:
        self.agent = agent
        self.session = session
        self.directive = directive
        self.task_id = ""
        self.context_id = ""
        self.state: int | None = None
        self.status_text = ""
        self.artifacts: dict[str, tuple[str, list[Part], dict[str, Any]]] = {}
        self.reply: Message | None = None
        self._seen_states: set[int] = set()
        self._seen_messages: set[str] = set()

    def emit(
        self,
        update: str,
        state: str = "",
        text: str = "",
        name: str | None = None,
        data: Any = None,
    ) -> None:
        session = self.session
        if session is None:
            return
        session.tracer.emit(
            A2AUpdate,
            span_id=session.span_id,
            parent_span_id=session.parent_span_id,
            agent=self.agent.name,
            task_id=session.task_id,
            remote_task_id=self.task_id,
            context_id=self.context_id,
            update=update,
            state=state,
            text=text,
            name=name,
            data=list(data or []),
        )

    def status(self, status: Any) -> None:
        self.state = status.state
        if status.HasField("message"):
            self._seen_messages.add(status.message.message_id)
        text = _texts(status.message.parts) if status.HasField("message") else ""
        if status.HasField("message") and _meta(status.message).get("event") == "llm_delta":
            if self.session is not None:
                self.session.llm_delta(text)  # the remote agent typing
            return
        if text:
            self.status_text = text
        self.emit("status", state_word(status.state), text)

    def artifact(self, artifact: Any, append: bool = False) -> None:
        known = self.artifacts.get(artifact.artifact_id)
        parts = list(artifact.parts)
        if append and known is not None:
            parts = known[1] + parts
        self.artifacts[artifact.artifact_id] = (
            artifact.name,
            parts,
            _meta(artifact) or (known[2] if known else {}),
        )
        data = get_data_parts(list(artifact.parts))
        self.emit("artifact", "", _texts(artifact.parts), artifact.name or None, data)

    def take(self, response: Any) -> None:
        which = response.WhichOneof("payload")
        if which == "task":
            task = response.task
            self.task_id, self.context_id = task.id, task.context_id
            # a whole task (message/send) carries the agent's progress notes in its history
            for note in task.history:
                if note.role == Role.ROLE_AGENT and note.message_id not in self._seen_messages:
                    self._seen_messages.add(note.message_id)
                    if _meta(note).get("event") != "llm_delta":
                        self.emit("message", "", _texts(note.parts))
            for artifact in task.artifacts:
                if artifact.artifact_id not in self.artifacts:
                    self.artifact(artifact)
            if task.status.state not in self._seen_states or task.status.state != self.state:
                self._seen_states.add(task.status.state)
                self.status(task.status)
        elif which == "status_update":
            update = response.status_update
            self.task_id, self.context_id = update.task_id, update.context_id
            self._seen_states.add(update.status.state)
            self.status(update.status)
        elif which == "artifact_update":
            update = response.artifact_update
            self.task_id, self.context_id = update.task_id, update.context_id
            self.artifact(update.artifact, update.append)
        elif which == "message":
            self.reply = response.message
            self.context_id = response.message.context_id
            self.emit(
                "message",
                "",
                _texts(response.message.parts),
                None,
                get_data_parts(list(response.message.parts)),
            )

    @property
    def ended(self) -> bool:
        return self.reply is not None or self.state in _ENDED or self.state in _PAUSED

    def result(self) -> Any:
        """The call's answer, or ``A2AError`` with the server's words."""
        where = f"A2A agent {self.agent.name!r} at {self.agent.url}"
        if self.reply is not None:
            values = [_part_value(p) for p in self.reply.parts]
            return values[0] if len(values) == 1 else _texts(self.reply.parts)
        if self.state is None:
            raise A2AError(f"{where} answered nothing")
        if self.state not in _ENDED and self.state not in _PAUSED:
            raise A2AError(
                f"{where} closed the stream while task {self.task_id} was still"
                f" {state_word(self.state)}"
            )
        if self.state != TaskState.TASK_STATE_COMPLETED:
            said = f": {self.status_text}" if self.status_text else ""
            raise A2AError(f"{where}: task {self.task_id} ended {state_word(self.state)}{said}")
        named = [a for a in self.artifacts.values() if a[0] == OUTPUT_ARTIFACT]
        chosen = named or list(self.artifacts.values())
        if not chosen:
            return self.status_text
        usage = chosen[0][2].get("usage", {}) if named else {}
        # an artifact's parts (the chunks of a streamed artifact among them) join end to
        # end; several artifacts are one per line
        values = [_artifact_value(parts) for _, parts, _ in chosen]
        output = values[0] if len(values) == 1 else "\n".join(_as_text(v) for v in values)
        if usage:
            return Reply(
                output=output,
                tokens_in=int(usage.get("tokens_in") or 0),
                tokens_out=int(usage.get("tokens_out") or 0),
                cost_usd=float(usage.get("cost_usd") or 0.0),
                model=usage.get("model") if isinstance(usage.get("model"), str) else None,
            )
        return output


class A2AAgent(Agent):
    """An A2A server as an agent.

    Args:
        name: The agent's name in the run.
        url: The server's base URL (its card is at ``/.well-known/agent-card.json``).
        description: What it does (default: the card's, once read).
        skills: Its skills (default: the card's skill tags, once read).
        token: Bearer token sent with every call (never traced).
        streaming: Stream the task's updates as they happen (when the card allows).
        timeout_s: Longest wait for the server's next word (connect, read), in seconds.
        httpx_client: A client to use instead of one made per event loop (tests use
            ``httpx.ASGITransport``); the caller closes it.
    """

    kind = "a2a"

    def __init__(
        self,
        name: str,
        url: str,
        description: str = "",
        skills: Sequence[str] = (),
        *,
        token: str | None = None,
        streaming: bool = True,
        timeout_s: float = 300.0,
        httpx_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.description = description or f"A2A agent at {self.url}"
        self._described = bool(description)
        self.skills = tuple(skills)
        self.streaming = streaming
        self.timeout_s = timeout_s
        self._token = token
        self._given_client = httpx_client
        self._card: AgentCard | None = None
        # one HTTP client per event loop: each run_sync runs on a loop of its own
        self._clients: weakref.WeakKeyDictionary[Any, tuple[httpx.AsyncClient, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"A2AAgent({self.name!r}, {self.url!r})"

    def card(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.description,
            "skills": list(self.skills),
            "url": self.url,
        }

    # -- connections -----------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        if self._given_client is not None:
            return self._given_client
        import asyncio

        loop = asyncio.get_running_loop()
        held = self._clients.get(loop)
        if held is None:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            http = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)),
            )
            held = (http, None)
            self._clients[loop] = held
        return held[0]

    async def fetch_card(self) -> AgentCard:
        """The server's agent card (read once, then kept); fills description and skills."""
        if self._card is None:
            http = self._http()
            resolver = A2ACardResolver(http, self.url)
            try:
                card = await resolver.get_agent_card()
            except A2AClientError as exc:
                raise A2AError(self._unreachable(exc)) from None
            except httpx.HTTPError as exc:
                raise A2AError(self._unreachable(exc)) from None
            self._card = card
            if not self._described and card.description:
                self.description = card.description
            if not self.skills:
                self.skills = tuple(
                    dict.fromkeys(t for s in card.skills for t in (s.tags or [s.id]))
                )
        return self._card

    async def _client(self) -> Any:
        card = await self.fetch_card()
        if self._given_client is not None:
            return ClientFactory(
                ClientConfig(streaming=self.streaming, httpx_client=self._given_client)
            ).create(card)
        import asyncio

        loop = asyncio.get_running_loop()
        http, client = self._clients[loop]
        if client is None:
            client = ClientFactory(
                ClientConfig(streaming=self.streaming, httpx_client=http)
            ).create(card)
            self._clients[loop] = (http, client)
        return client

    def _unreachable(self, exc: BaseException) -> str:
        cause = _cause(exc)
        where = f"A2A agent {self.name!r} at {self.url}"
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return f"cannot reach {where} ({_why(cause)})"
        if isinstance(cause, httpx.HTTPStatusError):
            status = cause.response.status_code
            if status == 401:
                given = "a token that it refused" if self._token else "no token"
                return f"{where} needs a bearer token (HTTP 401; this agent sent {given})"
            return f"{where} answered HTTP {status}"
        if isinstance(cause, httpx.TimeoutException) or isinstance(exc, A2AClientTimeoutError):
            return f"{where} did not answer within {self.timeout_s:g}s"
        if isinstance(cause, httpx.TransportError):
            return f"lost the connection to {where} before its task started ({_why(cause)})"
        return redact(f"{where}: {_why(cause)}", self._token)

    async def health(self) -> Health:
        """Whether the server answers: its agent card is read afresh (no token needed)."""
        http = self._http()
        try:
            response = await http.get(self.url + AGENT_CARD_WELL_KNOWN_PATH)
            response.raise_for_status()
            name = response.json().get("name", "?")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return Health(ok=False, detail=self._unreachable(exc), url=self.url)
        return Health(ok=True, detail=f"serves agent {name!r}", url=self.url)

    async def aclose(self) -> None:
        """Close the HTTP clients this agent made (not one it was given)."""
        held, self._clients = list(self._clients.values()), weakref.WeakKeyDictionary()
        for http, _ in held:
            await http.aclose()

    # -- calls -----------------------------------------------------------------------
    def _message(self, directive: Directive) -> Message:
        carried: dict[str, Any] = {"task_id": directive.task_id}
        # only what differs from a directive's defaults: the metadata is converted to
        # and from protobuf on both ends of every call
        if directive.goal:
            carried["goal"] = directive.goal
        if directive.attempt != 1:
            carried["attempt"] = directive.attempt
        if directive.round != 1:
            carried["round"] = directive.round
        if directive.context:
            carried["context"] = jsonable(directive.context)
        if directive.meta:
            carried["meta"] = jsonable(directive.meta)
        if directive.seed is not None:
            carried["seed"] = directive.seed
        return Message(
            role=Role.ROLE_USER,
            message_id=uuid.uuid4().hex,
            parts=[Part(text=directive.prompt, media_type="text/plain")],
            metadata={META_KEY: {"directive": carried}},
        )

    async def run(self, directive: Directive) -> Any:
        session = current_session()
        client = await self._client()
        call = _Call(self, session, directive)
        request = SendMessageRequest(message=self._message(directive))
        context = ClientCallContext(timeout=self.timeout_s)
        try:
            # read to the end of the stream (the server ends it after the task's last
            # update), so the connection goes back to the pool for the next call
            async for response in client.send_message(request, context=context):
                call.take(response)
        except A2AClientError as exc:
            if call.task_id:
                raise A2AError(self._lost(call, exc)) from None
            raise A2AError(self._unreachable(exc)) from None
        except httpx.HTTPError as exc:
            if call.task_id:
                raise A2AError(self._lost(call, exc)) from None
            raise A2AError(self._unreachable(exc)) from None
        except BaseException:
            if call.task_id and not call.ended:
                await self._cancel_remote(client, call.task_id)
            raise
        return call.result()

    def _lost(self, call: _Call, exc: BaseException) -> str:
        cause = _cause(exc)
        state = state_word(call.state) if call.state is not None else "submitted"
        return redact(
            f"A2A agent {self.name!r} at {self.url} went away in the middle of task"
            f" {call.task_id} (it was {state}; {_why(cause)})",
            self._token,
        )

    async def _cancel_remote(self, client: Any, task_id: str) -> None:
        """Ask the server to cancel the task we stop waiting for (best effort, bounded)."""
        import anyio

        # the server may be gone: then there is nothing more to do
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(2.0),
            contextlib.suppress(Exception),
        ):
            await client.cancel_task(CancelTaskRequest(id=task_id))
