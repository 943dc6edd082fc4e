"""Agent-to-agent messages across processes: the message bus over Redis.

``RedisBus`` is the ``Bus`` of ``toolkit.bus`` with Redis between the processes: each
participant has an inbox stream (``{prefix}:bus:{channel}:inbox:{name}``), each topic a
stream, and a hash of members says which process hosts which name (a claim with an
expiry, refreshed while the process lives, so a crashed worker's names free up). A
process hosts the names it claims first; the others are remote, reached through their
inboxes. ``send``, ``broadcast`` and ``publish`` work across processes as they do in
one; the in-process ``MessageBus`` stays the default.

Every delivery is one traced ``message_sent`` event with sender and recipient in the
trace of each process it touches: the sender's process traces it when it sends, and a
process that receives a message from another process traces it once when it arrives
(the envelope as sent, with its ids, ``delivered_at`` set). So the run's trace holds the
remote agents' answers too, and a worker's own trace (``switchboard bus-worker
--events``) holds what it was asked. Messages read from Redis are validated again
(another process wrote them); a damaged one is skipped and reported as a ``log`` event.

``serve_agents`` (``switchboard bus-worker``) hosts agents in a process of their own:
each direct message to a hosted agent runs the agent on it (``Directive.prompt`` is the
payload, its session is this bus) and the answer goes back to the sender as a reply
(``parent_id`` is the question's message id; ``kind`` is ``error`` when the agent
failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anyio
from pydantic import ValidationError

from toolkit.bus import Handler, LocalDelivery
from toolkit.events import Envelope, Log, MessageSent, RunFinished, RunStarted, dump_event
from toolkit.redis_streams import RedisTarget, _clean
from toolkit.tracing import Sink, Tracer

__all__ = ["BusError", "RedisBus", "redis_bus", "serve_agents"]


_CLAIM = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if v then
  local owner, exp = string.match(v, '^(.-)|(.*)$')
  if owner ~= ARGV[2] and tonumber(exp) > now then return owner end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. tostring(now + tonumber(ARGV[3])))
return ARGV[2]
"""
"""Claim (or refresh) a name for a process unless another live process holds it."""

_RELEASE = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.match(v, '^(.-)|') == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""

_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local exp = string.match(all[i + 1], '|(.*)$')
  if exp and tonumber(exp) > now then table.insert(live, all[i]) end
end
return live
"""
"""The names held by live processes (server time, so clocks of machines do not matter)."""


class BusError(RuntimeError):
    """The Redis bus cannot do what was asked (a name hosted elsewhere, Redis away)."""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RedisBus(LocalDelivery):
    """Publish/subscribe, direct send and broadcast between processes, traced.

    Args:
        tracer: This process's tracer (the run's, or a worker's); deliveries become events.
        participants: The names this process would host (those no live process holds yet).
        url: ``redis://[user:password@]host:port/db[?prefix=NAME&channel=NAME]``.
        claim_ttl_s: A hosted name is freed this long after its process stops refreshing it.
        block_ms: How long one read of the inboxes waits.

    Use it as ``async with RedisBus(...) as bus`` (or ``await bus.start()`` and
    ``await bus.aclose()``); a bus made by a run (``redis_bus(url)``) starts on its
    first use and is closed by the run.
    """

    def __init__(
        self,
        tracer: Tracer,
        participants: Iterable[str],
        url: str,
        *,
        claim_ttl_s: float = 15.0,
        block_ms: int = 200,
    ) -> None:
        super().__init__()
        self.tracer = tracer
        self.target = RedisTarget.parse(url)
        self._raw_url = url
        self._wanted = list(dict.fromkeys(participants))
        self._ttl = claim_ttl_s
        self._block_ms = block_ms
        self.token = uuid.uuid4().hex
        """This bus's identity in the members hash and on every message it writes."""
        self.local: list[str] = []
        """The names this process hosts (claimed at start)."""
        self._members: list[str] = []
        self._members_at = 0.0
        self._cursors: dict[str, bytes | str] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._notified: OrderedDict[str, None] = OrderedDict()
        self._conversation = tracer.ids.span_id()
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._started: asyncio.Task[None] | None = None
        self._closed = False
        self.problems: list[str] = []
        """Damaged messages skipped (each also a ``log`` event)."""
        prefix, channel = self.target.prefix, self.target.channel
        self._base = f"{prefix}:bus:{channel}"
        with contextlib.suppress(RuntimeError):  # made inside a run: start right away
            self._started = asyncio.get_running_loop().create_task(self._connect())

    # -- keys ------------------------------------------------------------------------
    @property
    def _members_key(self) -> str:
        return f"{self._base}:members"

    def _inbox(self, name: str) -> str:
        return f"{self._base}:inbox:{name}"

    def _topic(self, topic: str) -> str:
        return f"{self._base}:topic:{topic}"

    # -- life ------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, claim the names no live process holds, and start reading the inboxes
        (once: concurrent and later calls wait for the same start).

        Raises:
            BusError: when Redis cannot be reached.
        """
        if self._client is not None:
            return
        started = self._started
        if started is None or (started.done() and started.exception() is not None):
            # never started, or the start failed (Redis away): try again
            started = self._started = asyncio.get_running_loop().create_task(self._connect())
        await asyncio.shield(started)

    async def _connect(self) -> None:
        from toolkit.extras import needs_extra

        with needs_extra("redis", "the Redis bus"):
            import redis.asyncio as aredis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        client = aredis.Redis.from_url(
            self.target.url,
            socket_timeout=self._block_ms / 1000 + 5,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            local = []
            for name in self._wanted:
                owner = _text(
                    await client.eval(_CLAIM, 1, self._members_key, name, self.token, self._ttl)
                )
                if owner == self.token:
                    local.append(name)
            # read each inbox from where it is now: older messages were for an earlier host
            for name in local:
                last = await client.xrevrange(self._inbox(name), count=1)
                self._cursors[self._inbox(name)] = last[0][0] if last else b"0-0"  # type: ignore[assignment]
        except Exception as exc:
            await client.aclose()
            raise BusError(
                _clean(f"{self.target.shown}: the bus cannot reach Redis: {exc}", self._raw_url)
            ) from None
        self._client = client
        self.local = local
        self._mailboxes = {name: deque() for name in local}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _ready(self) -> Any:
        if self._client is None:
            await self.start()
        return self._client

    async def aclose(self) -> None:
        """Stop reading, free the hosted names, disconnect."""
        if self._closed:
            return
        self._closed = True
        if self._started is not None and not self._started.done():
            self._started.cancel()
        reader = self._reader
        if reader is not None:
            # the reader stops by itself at its next turn, within one ``block_ms``; a
            # cancellation landing inside redis-py's blocking read can be swallowed and
            # leave the connection waiting for its socket timeout, so it is the last resort
            await asyncio.wait({reader}, timeout=self._block_ms / 1000 + 1)
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader}, timeout=self._block_ms / 1000 + 5)
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                for name in self.local:
                    await client.eval(_RELEASE, 1, self._members_key, name, self.token)
            await client.aclose()

    async def __aenter__(self) -> RedisBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- members -----------------------------------------------------------------------
    @property
    def participants(self) -> list[str]:
        """Every name reachable: this process's and every live process's (as last seen)."""
        return list(dict.fromkeys([*self.local, *self._members]))

    @participants.setter
    def participants(self, names: list[str]) -> None:
        raise AttributeError("the Redis bus's participants are the live processes' names")

    async def members(self, fresh: bool = False) -> list[str]:
        """The names live processes host, read from Redis (cached for a second)."""
        client = await self._ready()
        if fresh or time.monotonic() - self._members_at > 1.0:
            self._members = sorted(_text(n) for n in await client.eval(_LIVE, 1, self._members_key))
            self._members_at = time.monotonic()
        return self.participants

    # -- sending -----------------------------------------------------------------------
    def subscribe(self, target: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for each message to ``target`` that reaches this process.

        ``target`` is a hosted name, ``topic:<name>`` (read from now on) or ``*``.
        """
        if target.startswith("topic:"):
            key = self._topic(target[6:])
            # auto ids are milliseconds: read the topic from this moment on
            self._cursors.setdefault(key, f"{int(time.time() * 1000)}-0")
        return super().subscribe(target, handler)

    async def send(
        self,
        sender: str,
        recipient: str,
        payload: Any,
        *,
        kind: str = "a2a",
        task_id: str | None = None,
        priority: int = 0,
        parent_id: str | None = None,
        span_id: str | None = None,
    ) -> Envelope:
        """Send ``payload`` from ``sender`` to ``recipient``, wherever it is hosted.

        Raises:
            KeyError: when no live process hosts the recipient.
        """
        client = await self._ready()
        if recipient not in self.local and recipient not in await self.members(
            fresh=recipient not in self._members
        ):
            raise KeyError(
                f"unknown recipient {recipient!r} (participants: {', '.join(self.participants)})"
            )
        envelope = self._trace(
            sender, recipient, kind, payload, task_id, priority, parent_id, span_id
        )
        await client.xadd(
            self._inbox(recipient), self._fields(envelope), maxlen=10_000, approximate=True
        )
        return envelope

    async def broadcast(
        self,
        sender: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope:
        """Send ``payload`` to every participant of every process but the sender; one
        traced message."""
        client = await self._ready()
        names = [n for n in await self.members(fresh=True) if n != sender]
        envelope = self._trace(sender, "*", "broadcast", payload, task_id, priority, None, span_id)
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.xadd(self._inbox(name), self._fields(envelope), maxlen=10_000, approximate=True)
        await pipe.execute()
        return envelope

    async def publish(
        self,
        sender: str,
        topic: str,
        payload: Any,
        *,
        task_id: str | None = None,
        priority: int = 0,
        span_id: str | None = None,
    ) -> Envelope:
        """Publish ``payload`` on ``topic``; subscribers of ``topic:<topic>`` in any process get it."""
        client = await self._ready()
        envelope = self._trace(
            sender, f"topic:{topic}", "broadcast", payload, task_id, priority, None, span_id, topic
        )
        await client.xadd(
            self._topic(topic), self._fields(envelope), maxlen=10_000, approximate=True
        )
        return envelope

    def _fields(self, envelope: Envelope) -> dict[str, Any]:
        return {"origin": self.token, "envelope": dump_event(envelope)}

    def _trace(
        self,
        sender: str,
        recipient: str,
        kind: str,
        payload: Any,
        task_id: str | None,
        priority: int,
        parent_id: str | None,
        span_id: str | None,
        topic: str | None = None,
    ) -> Envelope:
        envelope = self.tracer.message(
            sender,
            recipient,
            kind,
            payload,
            span_id=span_id or self.tracer.root_span,
            conversation_id=self._conversation,
            parent_id=parent_id,
            task_id=task_id,
            topic=topic,
            priority=priority,
        )
        self._remember(envelope.message_id)
        return envelope

    # -- receiving ---------------------------------------------------------------------
    async def receive(self, name: str, timeout_s: float | None = None) -> Envelope:
        """Wait for the next message to ``name`` (hosted here).

        Raises:
            TimeoutError: when nothing arrives within ``timeout_s``.
            KeyError: when ``name`` is not hosted by this process.
        """
        await self._ready()
        if name not in self._mailboxes:
            raise KeyError(
                f"{name!r} is not hosted by this process (hosted: {', '.join(self.local)})"
            )
        return await self._wait(name, timeout_s)

    def _remember(self, message_id: str) -> bool:
        """Note a message as traced here; False when it already was."""
        seen = self._seen
        if message_id in seen:
            return False
        seen[message_id] = None
        if len(seen) > 10_000:
            seen.popitem(last=False)
        return True

    async def _read(self) -> None:
        client = self._client
        last_claim = time.monotonic()
        backoff = 0.05
        while not self._closed:
            if time.monotonic() - last_claim > self._ttl / 3:
                with contextlib.suppress(Exception):
                    for name in self.local:
                        await client.eval(_CLAIM, 1, self._members_key, name, self.token, self._ttl)
                last_claim = time.monotonic()
            try:
                reply = await client.xread(dict(self._cursors), count=100, block=self._block_ms)
                backoff = 0.05
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:  # a lost connection: the cursors say where to go on from
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            for key, entries in reply or []:
                key = _text(key)
                for entry_id, fields in entries:
                    self._cursors[key] = entry_id
                    await self._arrive(key, entry_id, fields)

    async def _arrive(self, key: str, entry_id: Any, fields: Mapping[Any, Any]) -> None:
        raw = fields.get(b"envelope")
        try:
            envelope = Envelope.model_validate_json(raw if raw is not None else b"")
        except ValidationError as exc:
            reason = str(exc.errors()[0].get("msg", "invalid"))
            problem = _clean(
                f"bus: skipped a damaged message ({key} {_text(entry_id)}): {reason}",
                self._raw_url,
            )
            self.problems.append(problem)
            self.tracer.emit(Log, level="warning", message=problem)
            return
        origin = _text(fields.get(b"origin", b""))
        if origin != self.token and self._remember(envelope.message_id):
            arrived = envelope.model_copy(update={"delivered_at": self.tracer.now()})
            self.tracer.emit(
                MessageSent,
                span_id=envelope.message_id,
                parent_span_id=envelope.span_id,
                envelope=arrived,
            )
        inbox = f"{self._base}:inbox:"
        if key.startswith(inbox):
            name = key[len(inbox) :]
            if name in self._mailboxes:
                self._deliver(name, envelope)
        # handlers hear of a message once per process (a broadcast fills several inboxes)
        notified = self._notified
        if envelope.message_id not in notified:
            notified[envelope.message_id] = None
            if len(notified) > 10_000:
                notified.popitem(last=False)
            await self._notify(envelope.recipient, envelope)


def redis_bus(url: str, **options: Any) -> Callable[[Tracer, list[str]], RedisBus]:
    """A ``BusFactory`` for ``Orchestrator(bus=...)``: each run's bus over Redis at ``url``.

    Raises:
        ValueError: when ``url`` is not a Redis URL.
    """
    RedisTarget.parse(url)

    def factory(tracer: Tracer, participants: list[str]) -> RedisBus:
        return RedisBus(tracer, participants, url, **options)

    return factory


async def serve_agents(
    agents: Mapping[str, Any],
    url: str,
    *,
    sinks: Iterable[Sink] = (),
    ready: Callable[[RedisBus], Any] | None = None,
    stop: anyio.Event | None = None,
) -> int:
    """Host ``agents`` on the Redis bus until ``stop`` is set (or the task is cancelled).

    Each direct message to a hosted agent runs it (the payload is the directive's
    prompt, its session is the bus) and the answer is sent back to the sender. The
    worker's own events (messages, the agents' logs, tool and model calls) go to
    ``sinks`` as one run named ``bus-worker NAMES``.

    Returns:
        How many messages were answered.

    Raises:
        BusError: when a name is already hosted by another live process, or Redis is away.
    """
    from toolkit.agents import Directive, Reply
    from toolkit.ids import RandomIds
    from toolkit.session import AgentSession, _current

    ids = RandomIds()
    tracer = Tracer(ids.run_id(), ids.trace_id(), sinks, ids=ids, keep=False)
    names = list(agents)
    bus = RedisBus(tracer, names, url)
    answered = 0
    t0 = tracer.now()
    status = "cancelled"
    try:
        await bus.start()
        taken = [n for n in names if n not in bus.local]
        if taken:
            raise BusError(
                f"{', '.join(taken)}: already hosted by another process on {bus.target.shown}"
            )
        tracer.emit(
            RunStarted,
            name=f"bus-worker {' '.join(names)}",
            agents={n: a.card() if hasattr(a, "card") else {} for n, a in agents.items()},
        )

        async def serve(name: str) -> None:
            nonlocal answered
            agent = agents[name]
            while True:
                question = await bus.receive(name)
                if question.kind != "a2a" or question.sender == name:
                    continue  # broadcasts, replies and errors are news, not questions
                span = tracer.ids.span_id()
                session = AgentSession(tracer, bus, name, question.task_id, span, tracer.root_span)
                payload = question.payload
                directive = Directive(
                    agent=name,
                    task_id=question.task_id or f"message-{question.message_id}",
                    goal=f"answer {question.sender}",
                    prompt=payload if isinstance(payload, str) else str(payload),
                    context={"message": question.model_dump(mode="json")},
                )
                token = _current.set(session)
                kind = "a2a"
                try:
                    out = await agent.run(directive)
                    answer = out.output if isinstance(out, Reply) else out
                except Exception as exc:
                    kind, answer = "error", f"{type(exc).__name__}: {exc}"
                finally:
                    _current.reset(token)
                try:
                    await bus.send(
                        name,
                        question.sender,
                        answer,
                        kind=kind,
                        task_id=question.task_id,
                        parent_id=question.message_id,
                        span_id=span,
                    )
                    answered += 1
                except KeyError as exc:  # the asker's process went away meanwhile
                    tracer.emit(Log, level="warning", message=str(exc), agent=name)

        if ready is not None:
            ready(bus)
        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(serve, name)
            if stop is not None:
                await stop.wait()
                group.cancel_scope.cancel()
        status = "succeeded"
    finally:
        with anyio.CancelScope(shield=True):
            if tracer._seq:  # the run was started: end it
                tracer.emit(
                    RunFinished,
                    status=status,
                    output=f"{answered} message(s) answered",
                    duration_s=tracer.now() - t0,
                )
            await bus.aclose()
            problems = tracer.close_sinks()
            if problems:
                raise BusError("; ".join(problems))
    return answered
