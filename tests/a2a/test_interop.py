"""A2A both ways, against the SDK's own client and server: a served Switchboard agent
answers the SDK's client (card, JSON-RPC, streaming), and a ``kind: a2a`` agent calls a
server written with the SDK alone, its status updates and artifacts traced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, new_text_part
from a2a.types import Message, Role, SendMessageRequest, TaskState

from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.a2a_protocol import A2AAgent
from toolkit.state import fold
from toolkit.workflow import parse_workflow


async def _sdk_call(url: str, text: str, *, streaming: bool) -> tuple[Any, list[Any]]:
    async with httpx.AsyncClient(timeout=60) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        client = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http)).create(card)
        message = Message(role=Role.ROLE_USER, message_id="m-1", parts=[new_text_part(text)])
        responses = [r async for r in client.send_message(SendMessageRequest(message=message))]
        return card, responses


def test_the_sdk_client_reads_the_card_of_a_served_agent(writer: str) -> None:
    """The card at /.well-known/agent-card.json names the agent, its description and one
    skill per Switchboard skill, offers streaming and points at the JSON-RPC endpoint."""
    card, _ = anyio.run(lambda: _sdk_call(writer, "hello", streaming=True))
    assert card.name == "writer"
    assert card.description == "Writes short drafts"
    assert [(s.id, list(s.tags)) for s in card.skills] == [
        ("write", ["write"]),
        ("draft", ["draft"]),
    ]
    assert card.capabilities.streaming
    assert card.supported_interfaces[0].url == writer + "/"
    assert card.supported_interfaces[0].protocol_binding == "JSONRPC"


def test_the_sdk_client_streams_a_task_from_a_served_agent(writer: str) -> None:
    """Streaming: the SDK's client sees the task submitted, working, the output artifact,
    then completed; the artifact is the agent's reply to the message's text."""
    _, responses = anyio.run(lambda: _sdk_call(writer, "a poem", streaming=True))
    kinds = [r.WhichOneof("payload") for r in responses]
    assert kinds[0] == "task"
    states = [r.status_update.status.state for r in responses if r.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    artifacts = [r.artifact_update.artifact for r in responses if r.HasField("artifact_update")]
    assert [a.name for a in artifacts] == ["output"]
    assert get_artifact_text(artifacts[0]) == "draft of a poem"


def test_the_sdk_client_gets_a_whole_task_without_streaming(writer: str) -> None:
    """message/send (no streaming) answers with the finished task and its artifact."""
    _, responses = anyio.run(lambda: _sdk_call(writer, "a song", streaming=False))
    task = responses[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_artifact_text(task.artifacts[0]) == "draft of a song"


def test_a_failing_served_agent_fails_the_task_with_its_reason(writers_file: Path) -> None:
    """An agent that raises ends its A2A task failed, the status message saying why."""
    from tests.a2a.conftest import serve_a2a

    with serve_a2a(writers_file, "failing") as (_, url):
        _, responses = anyio.run(lambda: _sdk_call(url, "write", streaming=True))
    last = responses[-1].status_update.status
    assert last.state == TaskState.TASK_STATE_FAILED
    assert "out of ink" in last.message.parts[0].text


def _shout_workflow(url: str, streaming: bool = True) -> Any:
    return parse_workflow(
        {
            "name": "shout",
            "agents": {"shouter": {"kind": "a2a", "url": url, "streaming": streaming}},
            "steps": [{"id": "loud", "agent": "shouter", "prompt": "{{input}}"}],
        }
    )


def test_an_a2a_agent_calls_a_server_written_with_the_sdk(shouter: str) -> None:
    """`kind: a2a`: one A2A task per directive; its status updates and artifacts (the
    chunks of one artifact appended, a data artifact) are a2a_update events of the call,
    and the answer is the artifacts' content."""
    result = anyio.run(lambda: _shout_workflow(shouter).run("hello"))
    assert result.status == "succeeded", result.error
    assert result.output == 'HELLO!\n{"letters": 5.0}'
    updates = [e for e in result.events if e.kind == "a2a_update"]
    assert {e.remote_task_id for e in updates} == {updates[0].remote_task_id} != {""}
    assert all(e.agent == "shouter" and e.task_id == "loud" for e in updates)
    states = [e.state for e in updates if e.update == "status"]
    assert states[0] == "submitted" and states[-1] == "completed" and "working" in states
    assert "reading the request" in [e.text for e in updates]
    artifacts = [(e.name, e.text, e.data) for e in updates if e.update == "artifact"]
    assert artifacts == [
        ("shout", "HELLO", []),
        ("shout", "!", []),
        ("stats", "", [{"letters": 5.0}]),
    ]
    started = result.events[0].agents["shouter"]
    assert started["kind"] == "a2a" and started["url"] == shouter
    assert fold(result.events).agents["shouter"].remote_updates == len(updates)


def test_an_a2a_agent_without_streaming_gets_the_finished_task(shouter: str) -> None:
    """With streaming off the answer is the same, read from the finished task, and the
    progress notes in its history are a2a_update events too."""
    result = anyio.run(lambda: _shout_workflow(shouter, streaming=False).run("hi"))
    assert result.status == "succeeded", result.error
    assert result.output.startswith("HI!")
    updates = [e for e in result.events if e.kind == "a2a_update"]
    assert [e.state for e in updates if e.update == "status"] == ["completed"]
    assert ("message", "reading the request") in [(e.update, e.text) for e in updates]


def test_a_remote_task_that_fails_or_asks_for_input_fails_the_call(shouter: str) -> None:
    """A task ending failed, or pausing for input, fails the attempt with the server's words."""
    failed = anyio.run(lambda: _shout_workflow(shouter).run("fail"))
    error = next(e.error for e in failed.events if e.kind == "task_failed")
    assert "ended failed: the shouter lost its voice" in error
    asked = anyio.run(lambda: _shout_workflow(shouter).run("ask"))
    error = next(e.error for e in asked.events if e.kind == "task_failed")
    assert "ended input_required: shout what?" in error


def test_description_and_skills_come_from_the_card_when_not_given(shouter: str) -> None:
    """An A2AAgent given only a URL describes itself from the server's card."""
    agent = A2AAgent("s", shouter)

    async def main() -> None:
        await agent.fetch_card()
        await agent.aclose()

    anyio.run(main)
    assert agent.description == "Repeats the request, louder"
    assert agent.skills == ("shout", "loud")


def test_a_served_agent_tells_its_progress_and_typing_through_asgi() -> None:
    """Between two Switchboard ends (here without a socket: httpx.ASGITransport) the
    directive's task id and context travel, JSON output stays exact, the served agent's
    log lines arrive as a2a_update events and its streamed tokens as llm_delta events."""
    from toolkit import FunctionAgent
    from toolkit.a2a_protocol import a2a_app

    async def typist(directive: Any) -> Any:
        directive.session.log("starting")
        directive.session.llm_delta("hel")
        directive.session.llm_delta("lo")
        return {"n": 42, "task": directive.task_id, "context": directive.context}

    app = a2a_app(FunctionAgent(typist, name="typist"), url="http://a2a.test/")

    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a2a.test") as http:
            remote = A2AAgent("remote", "http://a2a.test", httpx_client=http)
            orch = Orchestrator([remote, MockAgent("first", reply="facts")])
            plan = Plan(
                name="p",
                tasks=[Task(id="a", agent="first"), Task(id="b", agent="remote", prompt="{{a}}")],
            )
            return await orch.run("q", plan)

    result = anyio.run(main)
    assert result.status == "succeeded", result.error
    assert result.output == {"n": 42, "task": "b", "context": {"a": "facts"}}
    assert [e.text for e in result.events if e.kind == "llm_delta"] == ["hel", "lo"]
    assert "info: starting" in [e.text for e in result.events if e.kind == "a2a_update"]


def test_a_call_stopped_by_its_timeout_cancels_the_remote_task(shouter: str) -> None:
    """When the task's time limit ends a call, the A2A task on the server is cancelled
    (the SDK's own client then reads it as canceled), not left working."""
    wf = parse_workflow(
        {
            "agents": {"shouter": {"kind": "a2a", "url": shouter}},
            "steps": [{"id": "s", "agent": "shouter", "prompt": "hang", "timeout_s": 1}],
        }
    )
    result = anyio.run(wf.run)
    failed = next(e for e in result.events if e.kind == "task_failed")
    assert failed.error_type == "timeout"
    remote_id = next(e.remote_task_id for e in result.events if e.kind == "a2a_update")

    async def remote_state() -> Any:
        from a2a.types import GetTaskRequest

        async with httpx.AsyncClient(timeout=30) as http:
            card = await A2ACardResolver(http, shouter).get_agent_card()
            client = ClientFactory(ClientConfig(httpx_client=http)).create(card)
            return (await client.get_task(GetTaskRequest(id=remote_id))).status.state

    assert anyio.run(remote_state) == TaskState.TASK_STATE_CANCELED
