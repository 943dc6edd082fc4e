"""The workshop cassette replays offline, from Python and from the workflow file, and is current."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import anyio
import pytest

from sample_agents.cassettes.llm_research import CASSETTE, WORKFLOW, build
from tests.llm.conftest import of_kind
from tests.llm.record_sample import ANSWER, EDITED, record
from toolkit.llm import Cassette


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection attempt (and building the OpenAI client) is recorded and refused."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in the workshop")

    import openai

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(openai.AsyncOpenAI, "__init__", refuse)
    return attempts


def test_the_sample_replays_with_no_key_and_no_network(offline: list[object]) -> None:
    """The LLM research team replays from its cassette: a rejected and corrected plan, a retried
    429, three agents streaming, a synthesized answer, tokens and cost, and no connection."""
    orch, request = build(cassette=Cassette(CASSETTE))
    result = orch.run_sync(request)
    assert offline == []
    assert result.status == "succeeded", result.error
    assert result.output == ANSWER
    calls = of_kind(result.events, "llm_call")
    assert [c.purpose for c in calls] == [
        "planner",
        "planner",
        "agent",
        "agent",
        "agent",
        "synthesizer",
    ]
    logs = [e.message for e in of_kind(result.events, "log")]
    assert any("unknown agent 'fact-checker'" in m for m in logs)
    assert any("rate limited (429)" in m for m in logs)
    assert {d.agent for d in of_kind(result.events, "llm_delta")} >= {
        "researcher",
        "writer",
        "editor",
        "synthesizer",
    }
    metrics = result.metrics().set_index("agent")
    assert (metrics.loc[["researcher", "writer", "editor"], "cost_usd"] > 0).all()


def test_the_workflow_file_replays_through_the_environment_switch(
    offline: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SWITCHBOARD_CASSETTE`` makes the workflow file's run replay: the editor's text is the answer."""
    from toolkit.workflow import load_workflow

    monkeypatch.setenv("SWITCHBOARD_CASSETTE", str(CASSETTE))
    result = anyio.run(load_workflow(WORKFLOW).prepare().execute)
    assert offline == []
    assert result.status == "succeeded", result.error
    assert result.output == EDITED


def test_the_committed_cassette_matches_the_recorder(tmp_path: Path) -> None:
    """Recording the sample again gives the same exchanges as the committed cassette (latency aside),
    so the cassette cannot drift from the team's prompts."""
    fresh = tmp_path / "fresh.json"
    record(fresh)

    def essentials(path: Path) -> list[str]:
        # the fake server's port differs between recordings; it shows in retry notes
        return [
            re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", x.model_dump_json(exclude={"latency_s"}))
            for x in Cassette(path).exchanges
        ]

    assert essentials(fresh) == essentials(CASSETTE)
