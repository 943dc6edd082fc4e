"""The message bus: direct sends, broadcasts and topics are traced with both ends
named, mailboxes deliver, and agents talk to each other through their session."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from toolkit import Directive, FunctionAgent, MessageBus, MockAgent, Orchestrator, Plan, Task
from toolkit.events import Envelope
from toolkit.tracing import CallbackSink, IdFactory, Tracer


def _bus() -> tuple[MessageBus, list[Any]]:
    events: list[Any] = []
    tracer = Tracer("run-1", "f" * 32, [CallbackSink(events.append)], IdFactory(0))
    return MessageBus(tracer, ["orchestrator", "alice", "bob", "carol"]), events


def test_send_is_traced_and_delivered_to_the_mailbox() -> None:
    """send traces one a2a message (sender, recipient, payload) and queues it for the recipient."""
    bus, events = _bus()

    async def go() -> Envelope:
        return await bus.send("alice", "bob", {"hello": "bob"}, task_id="t1", priority=2)

    env = anyio.run(go)
    (event,) = events
    assert event.kind == "message_sent" and event.envelope == env
    assert (env.sender, env.recipient, env.kind, env.payload) == (
        "alice",
        "bob",
        "a2a",
        {"hello": "bob"},
    )
    assert (env.task_id, env.priority) == ("t1", 2)
    assert bus.pending("bob") == [env]
    assert bus.take("bob") == [env] and bus.take("bob") == []
    assert bus.pending("alice") == []


def test_broadcast_reaches_everyone_but_the_sender_in_one_message() -> None:
    """broadcast is one traced message to '*', delivered to every other mailbox."""
    bus, events = _bus()

    async def go() -> Envelope:
        return await bus.broadcast("alice", "standup in 5")

    env = anyio.run(go)
    assert len(events) == 1
    assert (env.sender, env.recipient, env.kind) == ("alice", "*", "broadcast")
    assert [len(bus.pending(n)) for n in ("orchestrator", "alice", "bob", "carol")] == [1, 0, 1, 1]


def test_publish_calls_topic_subscribers_and_unsubscribe_works() -> None:
    """publish traces a message to 'topic:<name>'; sync and async subscribers of the topic
    and '*' subscribers get it; an unsubscribed handler does not."""
    bus, events = _bus()
    got: list[tuple[str, Any]] = []

    async def async_handler(env: Envelope) -> None:
        await anyio.sleep(0)
        got.append(("async", env.payload))

    bus.subscribe("topic:news", lambda env: got.append(("sync", env.payload)))
    bus.subscribe("topic:news", async_handler)
    bus.subscribe("*", lambda env: got.append(("all", env.payload)))
    stop = bus.subscribe("topic:news", lambda env: got.append(("gone", env.payload)))
    stop()

    async def go() -> Envelope:
        return await bus.publish("bob", "news", "v2 shipped")

    env = anyio.run(go)
    assert (env.recipient, env.topic, env.kind) == ("topic:news", "news", "broadcast")
    assert got == [("sync", "v2 shipped"), ("async", "v2 shipped"), ("all", "v2 shipped")]
    assert len(events) == 1


def test_unknown_recipient_is_an_error_and_nothing_is_traced() -> None:
    """Sending to a name that is not a participant raises KeyError naming the participants."""
    bus, events = _bus()

    async def go() -> None:
        await bus.send("alice", "mallory", "hi")

    with pytest.raises(KeyError, match=r"unknown recipient 'mallory'.*alice, bob, carol"):
        anyio.run(go)
    assert events == []


def test_receive_waits_for_the_next_message_and_times_out() -> None:
    """receive returns messages in order as they arrive; with nothing coming it times out."""
    bus, _ = _bus()
    received: list[Any] = []

    async def go() -> None:
        async with anyio.create_task_group() as tg:

            async def listen() -> None:
                for _ in range(2):
                    received.append((await bus.receive("carol", timeout_s=5)).payload)

            tg.start_soon(listen)
            await anyio.sleep(0)
            await bus.send("alice", "carol", "one")
            await bus.send("bob", "carol", "two")
        with pytest.raises(TimeoutError):
            await bus.receive("carol", timeout_s=0.001)

    anyio.run(go)
    assert received == ["one", "two"]


def test_agents_talk_through_their_session_in_a_run() -> None:
    """An agent's session.send to another agent is an a2a message in the run's trace, the
    other agent receives it, and broadcasts/publishes are traced with the agent as sender."""

    async def talker(directive: Directive) -> str:
        await directive.session.send("listener", "psst")
        await directive.session.broadcast("hello all")
        await directive.session.publish("status", {"done": True})
        return "talked"

    async def listener(directive: Directive) -> str:
        env = await directive.session.receive(timeout_s=5)
        rest = directive.session.inbox()
        return f"heard {env.payload} from {env.sender}; then {[e.payload for e in rest]}"

    orch = Orchestrator(
        [FunctionAgent(talker), FunctionAgent(listener), MockAgent("bystander")], seed=1
    )
    plan = Plan(
        synthesize="all",
        tasks=[Task(id="listen", agent="listener"), Task(id="talk", agent="talker")],
    )
    result = orch.run_sync("x", plan)
    assert result.status == "succeeded"
    assert result.results["listen"] == "heard psst from talker; then ['hello all']"
    agent_msgs = [
        (m.sender, m.recipient, m.kind, m.task_id)
        for m in result.state.messages
        if m.sender == "talker" and m.kind in ("a2a", "broadcast")
    ]
    assert agent_msgs == [
        ("talker", "listener", "a2a", "talk"),
        ("talker", "*", "broadcast", "talk"),
        ("talker", "topic:status", "broadcast", "talk"),
    ]
    agents = result.state.agents
    # directive + a2a + broadcast for the listener; directive + broadcast for the bystander
    assert (agents["listener"].messages_in, agents["bystander"].messages_in) == (3, 1)
    assert agents["talker"].messages_out == 4  # a2a, broadcast, publish, result
    assert "topic:status" not in result.state.participants


def test_sending_to_an_unknown_agent_fails_the_task() -> None:
    """An agent that messages a non-participant fails its task with the KeyError."""

    async def lost(directive: Directive) -> str:
        await directive.session.send("nobody", "hello?")
        return "sent"

    result = Orchestrator([FunctionAgent(lost)]).run_sync(
        "x", Plan(tasks=[Task(id="t", agent="lost")])
    )
    assert result.status == "failed"
    (failed,) = [e for e in result.events if e.kind == "task_failed"]
    assert "unknown recipient 'nobody'" in failed.error


def test_the_sample_editor_says_when_no_reviewer_is_on_the_bus() -> None:
    """``sample_agents.bus_team.ask_reviewer`` with no reviewer anywhere on the bus fails
    at once with a reason that says which worker to start (not a bare KeyError)."""
    from sample_agents.bus_team import ask_reviewer

    orch = Orchestrator([FunctionAgent(ask_reviewer, "editor")], seed=1)
    result = orch.run_sync("the draft", Plan(tasks=[Task(id="edit", agent="editor")]))
    assert result.status == "failed"
    (failed,) = [e for e in result.events if e.kind == "task_failed"]
    assert failed.error.startswith("AgentError: the reviewer is not on the bus")
    assert "unknown recipient 'reviewer'" in failed.error
    assert "switchboard bus-worker ... reviewer" in failed.error
