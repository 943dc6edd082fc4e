"""API keys and Authorization headers never reach a trace, a log, an error message or a cassette."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import anyio
import pytest

from toolkit import Directive, MockAgent, Orchestrator
from toolkit.llm import Cassette, LLMAgent, LLMError, LLMPlanner, LLMSynthesizer
from toolkit.llm.client import redact
from toolkit.llm.testing import FakeOpenAI, Scripted

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


PASSWORD = "s3cret-PW-42"


def test_credentials_in_base_url_appear_nowhere_even_when_the_server_echoes_basic_auth(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``user:password@`` in base_url and a server that echoes the Basic Authorization value
    in its errors, neither the password, nor ``user:password``, nor its base64 form reaches the
    trace, the raised error, the cassette, a log record or the repr of the endpoint and client."""
    import base64

    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    trace = tmp_path / "trace.jsonl"
    cassette_path = tmp_path / "cassette.json"
    with FakeOpenAI(
        [
            Scripted(status=500, error="boom", echo_auth=True),
            Scripted(status=400, error="rejected", echo_auth=True),
        ]
    ) as fake:
        url = fake.base_url.replace("http://", f"http://alice:{PASSWORD}@")
        agent = LLMAgent(
            "w", model="m", base_url=url, backoff_s=0.01, cassette=Cassette(cassette_path, "record")
        )
        result = Orchestrator([agent], seed=1).run_sync("go", trace=trace)
        sent = fake.requests[0].headers.get("authorization")
    assert sent == f"Basic {basic}"  # the server did get the credentials
    failed = [e for e in result.events if e.kind == "task_failed"]
    assert failed and "rejected (400)" in failed[0].error and "Basic ***" in failed[0].error
    places = {
        "trace": trace.read_text(),
        "run error": str(result.error),
        "cassette": cassette_path.read_text(),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
        "reprs": repr(agent.client.endpoint()) + repr(agent.client) + json.dumps(agent.card()),
    }
    for where, text in places.items():
        for secret in (PASSWORD, basic, f"alice:{PASSWORD}"):
            assert secret not in text, f"{secret!r} leaked into the {where}"
    assert "Basic ***" in places["cassette"]


SHAPED = {
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
    "anthropic": "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "github pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    "slack": "xoxb-123456789012-abcdefABCDEF",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
}


def _shaped_run(tmp_path: Path, **options: bool) -> tuple[str, str, str]:
    prompt = "keep these safe: " + " ".join(SHAPED.values())
    trace, cassette_path = tmp_path / "trace.jsonl", tmp_path / "cassette.json"
    with FakeOpenAI() as fake:  # the default responder echoes the prompt back
        agent = LLMAgent(
            "w",
            model="m",
            base_url=fake.base_url,
            cassette=Cassette(cassette_path, "record"),
            **options,  # type: ignore[arg-type]
        )
        result = Orchestrator([agent], seed=1, **options).run_sync(prompt, trace=trace)
    assert result.status == "succeeded"
    deltas = "".join(e.text for e in result.events if e.kind == "llm_delta")
    return trace.read_text(), cassette_path.read_text(), deltas


def test_key_shaped_text_in_a_reply_and_a_prompt_is_masked_in_the_trace_and_cassette(
    tmp_path: Path,
) -> None:
    """Keys of well-known shapes typed into a prompt and returned in a reply are masked in every
    streamed delta, the recorded reply and the cassette (its request and its chunks)."""
    trace, cassette, deltas = _shaped_run(tmp_path)
    for name, key in SHAPED.items():
        assert key not in cassette, f"the {name} key is in the cassette"
        assert key not in deltas, f"the {name} key is in a delta"
    assert "echo: keep these safe: sk-***" in deltas
    # what the LLM layer records: deltas, llm_call and its reply (the task's output)
    events = [json.loads(line) for line in trace.splitlines()]
    recorded = [e for e in events if e["kind"] in ("llm_delta", "llm_call", "task_finished")]
    assert recorded and not any(key in json.dumps(e) for e in recorded for key in SHAPED.values())


def test_redaction_of_key_shapes_can_be_turned_off(tmp_path: Path) -> None:
    """With redact_secrets=False (the LLM agent's for the cassette, the orchestrator's for the
    trace) the key-shaped text is recorded as it was."""
    _, cassette, deltas = _shaped_run(tmp_path, redact_secrets=False)
    assert all(key in deltas and key in cassette for key in SHAPED.values())


def test_a_key_split_across_streamed_chunks_is_still_masked_and_replays_the_same(
    tmp_path: Path,
) -> None:
    """A key cut in two by the stream is masked whole (no delta holds its tail), and the cassette
    replays the exact same deltas offline."""
    key = SHAPED["openai"]
    chunks = ["here: ", key[:9], key[9:20], key[20:] + " done", "\n"]
    path = tmp_path / "c.json"
    with FakeOpenAI([Scripted(text="".join(chunks), chunks=chunks)]) as fake:
        live = Orchestrator(
            [LLMAgent("w", model="m", base_url=fake.base_url, cassette=Cassette(path, "record"))],
            seed=1,
        ).run_sync("x")
    replay = Orchestrator([LLMAgent("w", model="m", cassette=path)], seed=1).run_sync("x")
    live_deltas = [e.text for e in live.events if e.kind == "llm_delta"]
    assert "".join(live_deltas) == "here: sk-*** done\n"
    assert not any(key[12:] in d or key[9:20] in d for d in live_deltas)
    assert key[12:] not in path.read_text()
    assert [e.text for e in replay.events if e.kind == "llm_delta"] == live_deltas
    assert replay.output == live.output == "here: sk-*** done\n"
