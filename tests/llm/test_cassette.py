"""Cassettes: a recorded run replays with no network and no key, producing the same trace."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.llm.conftest import comparable, of_kind
from toolkit import Directive, Orchestrator, Plan, Task
from toolkit.llm import (
    Cassette,
    CassetteError,
    CassetteMiss,
    LLMAgent,
    LLMError,
    LLMPlanner,
    LLMSynthesizer,
    use_cassette,
)
from toolkit.llm.cassette import CassetteFile
from toolkit.llm.testing import FakeOpenAI, Scripted

PLAN = {
    "name": "brief",
    "tasks": [
        {"id": "research", "agent": "researcher", "goal": "facts", "prompt": "{{input}}"},
        {
            "id": "write",
            "agent": "writer",
            "goal": "draft",
            "prompt": "Write a paragraph from: {{research}}",
        },
    ],
}


def _script(fake: FakeOpenAI) -> None:
    fake.add(
        json.dumps(PLAN),
        Scripted(status=429, error="slow down", headers={"retry-after-ms": "10"}),
        "Queues buffer work between services.",
        "A queue sits between producer and consumer, absorbing bursts.",
        "Final: queues absorb bursts between services.",
    )


def _orchestrator(base_url: str, cassette: Cassette | None = None) -> Orchestrator:
    options = {"base_url": base_url, "backoff_s": 0.01, "cassette": cassette}
    agents = [
        LLMAgent(
            "researcher",
            model="gpt-4o-mini",
            description="finds facts",
            skills=["research"],
            **options,
        ),  # type: ignore[arg-type]
        LLMAgent(
            "writer",
            model="gpt-4o-mini",
            description="writes",
            skills=["write"],
            system="Be vivid.",
            **options,
        ),  # type: ignore[arg-type]
    ]
    return Orchestrator(
        agents,
        planner=LLMPlanner("gpt-4o-mini", base_url=base_url, cassette=cassette),
        synthesizer=LLMSynthesizer("gpt-4o-mini", base_url=base_url, cassette=cassette),
        seed=11,
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any attempt to open a connection (or build the OpenAI client) is recorded and refused."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access during replay")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import openai

    monkeypatch.setattr(openai.AsyncOpenAI, "__init__", refuse)
    yield attempts


def test_a_recorded_run_replays_offline_with_the_same_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record a planner + two agents + synthesizer run (with a 429 retry), stop the server, remove
    the key, forbid every socket: the replay succeeds and its events equal the recording's, except
    times and latencies."""
    path = tmp_path / "run.json"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-record-time-key-1")
    with FakeOpenAI() as fake:
        _script(fake)
        base_url = fake.base_url
        live = _orchestrator(base_url, Cassette(path, "record", note="test")).run_sync(
            "Why queues?"
        )
    assert live.status == "succeeded", live.error
    assert len(Cassette(path).exchanges) == 4
    monkeypatch.delenv("OPENAI_API_KEY")
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access during replay")

    import openai

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(openai.AsyncOpenAI, "__init__", refuse)
    replay = _orchestrator(base_url, Cassette(path, "replay")).run_sync("Why queues?")
    assert attempts == []
    assert replay.status == "succeeded"
    assert replay.output == live.output == "Final: queues absorb bursts between services."
    assert comparable(replay.events) == comparable(live.events)
    kinds = {e.kind for e in replay.events}
    assert {"llm_call", "llm_delta", "log", "plan_created"} <= kinds
    calls = of_kind(replay.events, "llm_call")
    assert [c.latency_s for c in calls] == [c.latency_s for c in of_kind(live.events, "llm_call")]


def test_replay_needs_no_key_and_no_reachable_endpoint(
    tmp_path: Path, no_network: list[object]
) -> None:
    """A cassette answers an agent pointed at an unroutable remote URL with no key set, with no connection attempted."""
    path = tmp_path / "one.json"
    cassette = Cassette(path, "record")
    body = LLMAgent("a", model="gpt-4o-mini", base_url="http://10.255.255.1:9/v1")
    # record by hand: a cassette is plain, validated JSON
    from toolkit.llm.cassette import Exchange, Step, request_key

    request = body.client.body(body.messages(Directive(agent="a", task_id="t", prompt="hi")))
    cassette.add(
        Exchange(
            key=request_key(request),
            request=request,
            text="hello",
            steps=[Step(chunk="hel"), Step(chunk="lo")],
            prompt_tokens=1,
            completion_tokens=1,
        )
    )
    agent = LLMAgent(
        "a",
        model="gpt-4o-mini",
        base_url="http://10.255.255.1:9/v1",
        cassette=Cassette(path, "replay"),
    )
    result = Orchestrator([agent], seed=1).run_sync(
        "hi", Plan(tasks=[Task(id="t", agent="a", prompt="{{input}}")])
    )
    assert result.output == "hello"
    assert no_network == []


def test_a_missing_exchange_in_replay_names_the_request(
    tmp_path: Path, no_network: list[object]
) -> None:
    """Replaying a request the cassette lacks fails with CassetteMiss naming the model and prompt."""
    path = tmp_path / "empty.json"
    path.write_text(CassetteFile().model_dump_json())
    agent = LLMAgent("a", model="gpt-4o-mini", cassette=Cassette(path, "replay"))
    with pytest.raises(
        CassetteMiss,
        match=r"no recording of this request \(model='gpt-4o-mini', 1 message\(s\), last: 'Tell me about queues'",
    ):
        anyio.run(agent.run, Directive(agent="a", task_id="t", prompt="Tell me about queues"))
    result = Orchestrator([agent], seed=1).run_sync(
        "other", Plan(tasks=[Task(id="t", agent="a", prompt="{{input}}")])
    )
    (failed,) = of_kind(result.events, "task_failed")
    assert "CassetteMiss" in failed.error and "'other'" in failed.error
    assert no_network == []


def test_identical_requests_replay_their_recordings_in_order(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    """The same request made twice gets the first and then the second recorded answer (occurrence
    counter); replaying past the recording starts again from the first; rewind() restarts the count."""
    path = tmp_path / "twice.json"
    fake.add("first", "second")
    agent = LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path, "record"))
    d = Directive(agent="a", task_id="t", prompt="same")
    assert [anyio.run(agent.run, d).output for _ in range(2)] == ["first", "second"]
    replayer = LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path))
    assert [anyio.run(replayer.run, d).output for _ in range(2)] == ["first", "second"]
    assert anyio.run(replayer.run, d).output == "first"  # past the recording: from the start again
    replayer.client.cassette.rewind()  # type: ignore[union-attr]
    assert [anyio.run(replayer.run, d).output for _ in range(2)] == ["first", "second"]
    assert len(fake.requests) == 2


def test_auto_mode_replays_what_it_has_and_records_what_it_lacks(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    """In auto mode a known request is answered from the file; a new one goes to the server and is added."""
    path = tmp_path / "auto.json"
    fake.add("one", "two")
    LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path, "auto"))
    agent = LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path, "auto"))
    assert anyio.run(agent.run, Directive(agent="a", task_id="t", prompt="p1")).output == "one"
    again = LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path, "auto"))
    assert anyio.run(again.run, Directive(agent="a", task_id="t", prompt="p1")).output == "one"
    assert anyio.run(again.run, Directive(agent="a", task_id="t", prompt="p2")).output == "two"
    assert len(fake.requests) == 2
    assert len(Cassette(path).exchanges) == 2


def _record_block(path: Path, base_url: str) -> str:
    with use_cassette(path, "record"):
        result = _orchestrator(base_url).run_sync("Why queues?")
    return str(result.output)


def test_use_cassette_block_records_and_replays_without_per_agent_settings(tmp_path: Path) -> None:
    """Inside use_cassette(path, 'record') every LLM part records; inside use_cassette(path) the run
    replays offline (no key, server gone) to the same answer."""
    path = tmp_path / "block.json"
    with FakeOpenAI() as fake:
        _script(fake)
        base_url = fake.base_url
        recorded = _record_block(path, base_url)
    assert len(Cassette(path).exchanges) == 4
    with use_cassette(path) as cassette:
        replayed = _orchestrator(base_url).run_sync("Why queues?")
    assert replayed.output == recorded
    assert cassette.mode == "replay"


def test_the_environment_variable_switches_replay_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SWITCHBOARD_CASSETTE (mode SWITCHBOARD_CASSETTE_MODE, default replay) applies to runs with no cassette set."""
    path = tmp_path / "env.json"
    with FakeOpenAI() as fake:
        _script(fake)
        base_url = fake.base_url
        monkeypatch.setenv("SWITCHBOARD_CASSETTE", str(path))
        monkeypatch.setenv("SWITCHBOARD_CASSETTE_MODE", "record")
        recorded = _orchestrator(base_url).run_sync("Why queues?")
    monkeypatch.setenv("SWITCHBOARD_CASSETTE_MODE", "replay")
    replayed = _orchestrator(base_url).run_sync("Why queues?")
    assert replayed.output == recorded.output and replayed.status == "succeeded"
    again = _orchestrator(base_url).run_sync("Why queues?")  # the same process replays it twice
    assert again.output == recorded.output and again.status == "succeeded"


def test_a_failed_call_is_recorded_and_fails_the_same_way_on_replay(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    """A call that failed for good is kept with its error, and replay raises the same LLMError."""
    path = tmp_path / "fail.json"
    fake.add(Scripted(status=500, error="down"), Scripted(status=500, error="down"))
    d = Directive(agent="a", task_id="t", prompt="p")
    agent = LLMAgent(
        "a",
        model="m",
        base_url=fake.base_url,
        max_retries=1,
        backoff_s=0.01,
        cassette=Cassette(path, "record"),
    )
    with pytest.raises(LLMError) as live:
        anyio.run(agent.run, d)
    replayer = LLMAgent("a", model="m", base_url=fake.base_url, cassette=Cassette(path))
    with pytest.raises(LLMError) as again:
        anyio.run(replayer.run, d)
    assert str(again.value) == str(live.value) and "server error (500)" in str(live.value)
    assert (again.value.attempts, again.value.error_type) == (2, "server")


def test_cassette_files_are_readable_json_and_bad_ones_are_reported(tmp_path: Path) -> None:
    """The file is indented JSON with version and exchanges; a corrupt file or a missing one is a CassetteError."""
    path = tmp_path / "c.json"
    Cassette(path, "record", note="hello").save()
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["note"] == "hello" and data["exchanges"] == []
    assert "\n  " in path.read_text()
    path.write_text('{"version": 1, "exchanges": [{"key": 3}]}')
    with pytest.raises(CassetteError, match="not a valid cassette"):
        Cassette(path)
    with pytest.raises(CassetteError, match="cannot read cassette"):
        Cassette(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="cassette mode"):
        Cassette(path, "rewind")  # type: ignore[arg-type]


def test_paced_replay_takes_the_recorded_time_and_gives_the_same_events(tmp_path: Path) -> None:
    """pace=1.0 spreads each call's recorded latency over its chunks (so a live view shows typing);
    the events are those of an instant replay."""
    from toolkit.llm.cassette import Exchange, Step, request_key

    path = tmp_path / "paced.json"
    agent = LLMAgent("a", model="m", base_url="http://10.255.255.1:9/v1")
    request = agent.client.body(agent.messages(Directive(agent="a", task_id="t", prompt="hi")))
    steps = [Step(chunk=f"word{i} ") for i in range(5)]
    Cassette(path, "record").add(
        Exchange(
            key=request_key(request),
            request=request,
            text="".join(s.chunk or "" for s in steps),
            steps=steps,
            latency_s=0.2,
        )
    )
    plan = Plan(tasks=[Task(id="t", agent="a", prompt="{{input}}")])

    def run(pace: float) -> tuple[float, list[dict[str, object]]]:
        replayer = LLMAgent(
            "a", model="m", base_url="http://10.255.255.1:9/v1", cassette=Cassette(path, pace=pace)
        )
        result = Orchestrator([replayer], seed=4).run_sync("hi", plan)
        started, finished = (
            of_kind(result.events, "task_started")[0],
            of_kind(result.events, "task_finished")[0],
        )
        return finished.ts - started.ts, comparable(result.events)

    paced_s, paced = run(1.0)
    instant_s, instant = run(0.0)
    assert paced == instant
    assert paced_s >= 0.2 > instant_s
