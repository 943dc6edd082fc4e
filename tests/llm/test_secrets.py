"""API keys and Authorization headers never reach a trace, a log, an error message or a cassette."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import anyio
import pytest

from tests.llm.fake_openai import FakeOpenAI, Scripted
from toolkit import Directive, MockAgent, Orchestrator
from toolkit.llm import Cassette, LLMAgent, LLMError, LLMPlanner, LLMSynthesizer
from toolkit.llm.client import redact

KEY = "sk-test-SECRET-123"


def _leaks(text: str) -> list[str]:
    found = [s for s in (KEY, "SECRET-123", "Bearer sk-") if s in text]
    if f"Bearer {KEY}" in text:
        found.append("Authorization value")
    return found


def test_the_key_appears_nowhere_even_when_the_server_echoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With a recognizable key set, a server that echoes the Authorization header in 500 and 401
    errors, a planner, agents and a synthesizer recording a cassette and a JSONL trace: the key is
    in none of the trace file, the events, the log records, the raised error messages or the cassette,
    though the server did receive it."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    trace = tmp_path / "trace.jsonl"
    cassette_path = tmp_path / "cassette.json"
    plan = {
        "tasks": [
            {"id": "a", "agent": "good", "prompt": "{{input}}"},
            {"id": "b", "agent": "bad", "prompt": "{{input}}"},
        ]
    }
    with FakeOpenAI() as fake:
        fake.add(
            Scripted(status=500, error="planner boom", echo_auth=True),
            json.dumps(plan),
            Scripted(status=500, error="agent boom", echo_auth=True),
            "good answer",
            Scripted(status=401, error="who are you", echo_auth=True),
            Scripted(status=500, error="synth boom", echo_auth=True),
            "final",
        )
        cassette = Cassette(cassette_path, "record")
        common = {"base_url": fake.base_url, "api_key_env": "MY_LLM_KEY", "cassette": cassette}
        orch = Orchestrator(
            [
                LLMAgent("good", model="gpt-4o-mini", backoff_s=0.01, **common),  # type: ignore[arg-type]
                LLMAgent("bad", model="gpt-4o-mini", backoff_s=0.01, **common),  # type: ignore[arg-type]
            ],
            planner=LLMPlanner("gpt-4o-mini", backoff_s=0.01, **common),  # type: ignore[arg-type]
            synthesizer=LLMSynthesizer("gpt-4o-mini", backoff_s=0.01, **common),  # type: ignore[arg-type]
            seed=5,
        )
        result = orch.run_sync("go", trace=trace)
        received = [r.headers.get("authorization") for r in fake.requests]
        fake.add(Scripted(status=401, error="nope", echo_auth=True))
        with pytest.raises(LLMError) as raised:
            anyio.run(
                LLMAgent("c", model="m", **common).run,
                Directive(agent="c", task_id="t", prompt="x"),
            )  # type: ignore[arg-type]
    # the server did get the key: the test means something
    assert received and all(value == f"Bearer {KEY}" for value in received)
    assert result.output == "final"
    bad = [e for e in result.events if e.kind == "task_failed"]
    assert bad and "authentication failed (401)" in bad[0].error
    assert any("planner boom" in e.message for e in result.events if e.kind == "log")
    places = {
        "trace file": trace.read_text(),
        "events": "\n".join(e.model_dump_json() for e in result.events),
        "run error": str(result.error),
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "raised error": str(raised.value) + repr(raised.value),
        "cassette": cassette_path.read_text(),
    }
    for where, text in places.items():
        assert _leaks(text) == [], f"the key leaked into the {where}"
    assert "(you sent Authorization: Bearer ***)" in places["cassette"]
    # no chained client error whose traceback could print the server's text
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_the_key_is_not_in_reprs_or_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint's repr, the client's attributes and configuration errors never hold the key."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    agent = LLMAgent("a", model="m")
    endpoint = agent.client.endpoint()
    assert endpoint.api_key == KEY
    assert (
        KEY not in repr(endpoint) and KEY not in str(vars(agent.client)) and KEY not in repr(agent)
    )
    assert KEY not in json.dumps(agent.card())


def test_redact_masks_the_key_bearer_tokens_and_sk_keys() -> None:
    """redact() hides the given key, any bearer token and anything shaped like an sk- key."""
    text = f"key {KEY} header Authorization: Bearer abc.def other sk-live-abcdefgh"
    clean = redact(text, KEY)
    assert KEY not in clean and "abc.def" not in clean and "sk-live-abcdefgh" not in clean
    assert clean.count("***") == 3


def test_mock_team_with_llm_planner_trace_has_no_key_when_planning_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planner whose model keeps failing with an echoing 401 fails the run without the key in the error."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAI([Scripted(status=401, error="bad", echo_auth=True)]) as fake:
        orch = Orchestrator(
            [MockAgent("w")], planner=LLMPlanner("m", base_url=fake.base_url), seed=1
        )
        result = orch.run_sync("x", trace=tmp_path / "t.jsonl")
    assert result.status == "failed" and "authentication failed" in (result.error or "")
    assert _leaks((tmp_path / "t.jsonl").read_text()) == []
    assert _leaks(str(result.error)) == []
