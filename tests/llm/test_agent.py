"""The LLM agent end to end over real HTTP against the fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from tests.llm.conftest import of_kind, one_task
from toolkit import Directive, Orchestrator, fold
from toolkit.llm import LLMAgent, LLMConfigError, LLMError
from toolkit.llm.pricing import PRICES, cost_usd, price_for
from toolkit.llm.testing import FakeOpenAI, Scripted


def _agent(fake: FakeOpenAI, **options: object) -> LLMAgent:
    options.setdefault("backoff_s", 0.01)
    return LLMAgent("writer", model="gpt-4o-mini", base_url=fake.base_url, **options)  # type: ignore[arg-type]


def test_streamed_reply_becomes_deltas_call_event_and_metrics(fake: FakeOpenAI) -> None:
    """A streamed completion arrives as llm_delta events whose text is the reply, then one
    llm_call with the server's usage and the price table's cost, and the agent's metrics get them."""
    text = "Queues decouple producers from consumers.\nThey absorb bursts."
    fake.add(Scripted(text=text, prompt_tokens=120, completion_tokens=30))
    orch = Orchestrator([_agent(fake, system="Be brief.", temperature=0.2, max_tokens=50)], seed=3)
    result = orch.run_sync("Why queues?", one_task())
    assert result.status == "succeeded"
    assert result.output == text
    deltas = of_kind(result.events, "llm_delta")
    assert len(deltas) >= 2
    assert "".join(d.text for d in deltas) == text
    assert all(d.agent == "writer" and d.task_id == "t" for d in deltas)
    (call,) = of_kind(result.events, "llm_call")
    expected_cost = (120 * PRICES["gpt-4o-mini"].input + 30 * PRICES["gpt-4o-mini"].output) / 1e6
    assert (call.model, call.purpose, call.status, call.attempts) == (
        "gpt-4o-mini",
        "agent",
        "ok",
        1,
    )
    assert (call.prompt_tokens, call.completion_tokens) == (120, 30)
    assert call.cost_usd == pytest.approx(expected_cost)
    assert call.latency_s > 0
    row = result.metrics().set_index("agent").loc["writer"]
    assert (row.tokens_in, row.tokens_out) == (120, 30)
    assert row.cost_usd == pytest.approx(expected_cost)
    typing = fold(result.events[: result.events.index(call)])
    assert typing.agents["writer"].streaming == text
    body = fake.requests[0].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Why queues?"},
    ]
    assert (body["model"], body["temperature"], body["max_tokens"], body["stream"]) == (
        "gpt-4o-mini",
        0.2,
        50,
        True,
    )


def test_tiny_chunks_are_coalesced_into_fewer_delta_events(fake: FakeOpenAI) -> None:
    """Forty one-character chunks make far fewer llm_delta events, and no text is lost."""
    text = "abcdefghij" * 4
    fake.add(Scripted(text=text, chunks=list(text)))
    result = Orchestrator([_agent(fake)], seed=1).run_sync("x", one_task())
    deltas = of_kind(result.events, "llm_delta")
    assert "".join(d.text for d in deltas) == text
    assert len(deltas) <= 2


def test_without_streaming_no_deltas_and_usage_from_the_response(fake: FakeOpenAI) -> None:
    """stream=False sends a plain request: no llm_delta events, usage from the JSON response."""
    fake.add(Scripted(text="plain answer", prompt_tokens=7, completion_tokens=2))
    result = Orchestrator([_agent(fake, stream=False)], seed=1).run_sync("x", one_task())
    assert result.output == "plain answer"
    assert of_kind(result.events, "llm_delta") == []
    (call,) = of_kind(result.events, "llm_call")
    assert (call.prompt_tokens, call.completion_tokens) == (7, 2)
    assert fake.requests[0].body["stream"] is False


def test_rate_limit_is_retried_with_the_servers_delay_and_traced(fake: FakeOpenAI) -> None:
    """A 429 with retry-after-ms is retried; the llm_call counts 2 attempts and a warning says why."""
    fake.add(
        Scripted(status=429, error="slow down", headers={"retry-after-ms": "20"}), "after the wait"
    )
    result = Orchestrator([_agent(fake)], seed=1).run_sync("x", one_task())
    assert result.output == "after the wait"
    assert len(fake.requests) == 2
    (call,) = of_kind(result.events, "llm_call")
    assert (call.status, call.attempts) == ("ok", 2)
    (warning,) = [e for e in of_kind(result.events, "log") if e.level == "warning"]
    assert "rate limited (429)" in warning.message and "slow down" in warning.message
    assert "in 0.02s" in warning.message


def test_server_errors_exhaust_the_retries_and_fail_the_task_clearly(fake: FakeOpenAI) -> None:
    """Persistent 500s are tried 1 + max_retries times, then the task fails with the status in its error."""
    fake.add(*[Scripted(status=500, error="overloaded")] * 3)
    result = Orchestrator([_agent(fake, max_retries=2)], seed=1).run_sync("x", one_task())
    assert result.status == "failed"
    assert len(fake.requests) == 3
    (call,) = of_kind(result.events, "llm_call")
    assert (call.status, call.attempts) == ("error", 3)
    (failed,) = of_kind(result.events, "task_failed")
    assert (
        "LLMError" in failed.error
        and "server error (500)" in failed.error
        and "overloaded" in failed.error
    )
    assert "3 attempt(s)" in failed.error


def test_a_500_then_success_recovers(fake: FakeOpenAI) -> None:
    """One 500 followed by a good reply succeeds on the second attempt."""
    fake.add(Scripted(status=500), "recovered")
    result = Orchestrator([_agent(fake)], seed=1).run_sync("x", one_task())
    assert result.output == "recovered"
    assert of_kind(result.events, "llm_call")[0].attempts == 2


def test_authentication_failure_is_not_retried_and_names_the_variable(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 fails at once (no retry) with an error that says which variable holds the key."""
    monkeypatch.setenv("MY_LLM_KEY", "sk-wrong-key-0000")
    fake.add(Scripted(status=401, error="invalid key"))
    result = Orchestrator([_agent(fake, api_key_env="MY_LLM_KEY")], seed=1).run_sync(
        "x", one_task()
    )
    assert len(fake.requests) == 1
    (failed,) = of_kind(result.events, "task_failed")
    assert "authentication failed (401)" in failed.error and "MY_LLM_KEY" in failed.error


def test_a_hanging_server_times_out(fake: FakeOpenAI) -> None:
    """A server that never answers ends the call after timeout_s, and the task fails saying so."""
    fake.add(Scripted(hang=True))
    result = Orchestrator([_agent(fake, timeout_s=0.3, max_retries=0)], seed=1).run_sync(
        "x", one_task()
    )
    assert result.status == "failed"
    (failed,) = of_kind(result.events, "task_failed")
    assert "timed out after 0.3s" in failed.error


def test_missing_usage_is_estimated_not_zero(fake: FakeOpenAI) -> None:
    """A server that reports no usage still gives token counts (estimated, marked in the reply)."""
    fake.add(Scripted(text="twelve characters of text here", usage=False))
    result = Orchestrator([_agent(fake)], seed=1).run_sync("a prompt of some length", one_task())
    (call,) = of_kind(result.events, "llm_call")
    assert call.prompt_tokens > 0 and call.completion_tokens > 0
    (reply,) = [m for m in result.state.messages if m.kind == "result" and m.sender == "writer"]
    assert reply.usage is not None and reply.usage["tokens_out"] == call.completion_tokens


def test_dependency_results_not_in_the_prompt_are_appended(fake: FakeOpenAI) -> None:
    """The model sees the results of the task's dependencies even when the prompt does not quote them."""
    agent = _agent(fake)
    directive = Directive(
        agent="writer",
        task_id="w",
        prompt="Write it up.",
        context={"research": "queues are FIFO", "quoted": "Write"},
    )
    messages = agent.messages(directive)
    assert messages[-1]["content"].startswith("Write it up.")
    assert "## research\nqueues are FIFO" in messages[-1]["content"]
    assert "## quoted" not in messages[-1]["content"]


def test_agent_runs_outside_an_orchestrator_without_a_session(fake: FakeOpenAI) -> None:
    """Called directly (no run, no session), the agent still answers and reports usage in its reply."""
    import anyio

    fake.add(Scripted(text="direct", prompt_tokens=3, completion_tokens=1))
    reply = anyio.run(_agent(fake).run, Directive(agent="writer", task_id="t", prompt="hi"))
    assert (reply.output, reply.tokens_in, reply.tokens_out, reply.model) == (
        "direct",
        3,
        1,
        "gpt-4o-mini",
    )


def test_no_key_and_no_endpoint_is_a_clear_config_error() -> None:
    """With neither a key nor a base_url, the call fails with LLMConfigError naming the variable to set."""
    agent = LLMAgent("a", model="gpt-4o-mini", api_key_env="MY_LLM_KEY")
    with pytest.raises(LLMConfigError, match="no API key: set MY_LLM_KEY"):
        agent.check()
    result = Orchestrator([agent], seed=1).run_sync("x", one_task("a"))
    (failed,) = of_kind(result.events, "task_failed")
    assert "LLMConfigError" in failed.error and "set MY_LLM_KEY" in failed.error


def test_remote_endpoint_without_key_is_a_config_error_but_localhost_needs_none(
    fake: FakeOpenAI,
) -> None:
    """A remote base_url without a key is refused; a local one works with no key (a dummy is sent)."""
    with pytest.raises(LLMConfigError, match="set OPENAI_API_KEY"):
        LLMAgent("a", model="m", base_url="https://llm.example.com/v1").check()
    fake.add("local works")
    result = Orchestrator([_agent(fake)], seed=1).run_sync("x", one_task())
    assert result.output == "local works"
    assert fake.requests[0].headers["authorization"] == "Bearer not-needed"


def test_base_url_and_key_come_from_the_environment(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_BASE_URL picks the endpoint and the named variable's key is sent as a bearer token."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234")
    fake.add("from env")
    result = Orchestrator([LLMAgent("writer", model="gpt-4o-mini")], seed=1).run_sync(
        "x", one_task()
    )
    assert result.output == "from env"
    assert fake.requests[0].headers["authorization"] == "Bearer sk-from-env-1234"


def test_card_shows_model_and_endpoint_but_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's card (recorded in run_started) names kind, model and URL, never the key or URL credentials."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-card-secret-999")
    agent = LLMAgent(
        "a",
        model="llama3.2",
        base_url="https://user:pw@llm.example.com/v1?key=abc",
        skills=["write"],
    )
    card = agent.card()
    assert card["kind"] == "llm" and card["model"] == "llama3.2" and card["skills"] == ["write"]
    assert card["base_url"] == "https://llm.example.com/v1"
    assert "sk-card" not in str(card) and "pw" not in str(card) and "abc" not in str(card)


def test_price_override_and_unknown_models() -> None:
    """A per-agent price override wins; dated names use their family's price; unknown models cost 0."""
    assert cost_usd("my-local-model", 1000, 1000) == 0.0
    assert price_for("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert cost_usd("anything", 1_000_000, 500_000, {"in": 1.0, "out": 2.0}) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="'in' and 'out'"):
        cost_usd("m", 1, 1, {"input_price": 1.0})


def test_price_override_reaches_the_trace(fake: FakeOpenAI) -> None:
    """An agent's prices= sets the cost in its llm_call event and its reply."""
    fake.add(Scripted(text="x", prompt_tokens=1_000_000, completion_tokens=0))
    result = Orchestrator([_agent(fake, prices={"in": 3.0, "out": 0.0})], seed=1).run_sync(
        "x", one_task()
    )
    assert of_kind(result.events, "llm_call")[0].cost_usd == pytest.approx(3.0)
    assert result.state.cost_usd == pytest.approx(3.0)


def test_llm_error_is_raised_directly_with_attempts(fake: FakeOpenAI) -> None:
    """Called directly, a failing agent raises LLMError carrying the error type and attempt count."""
    import anyio

    fake.add(*[Scripted(status=503)] * 2)
    agent = _agent(fake, max_retries=1)
    with pytest.raises(LLMError) as info:
        anyio.run(agent.run, Directive(agent="writer", task_id="t", prompt="hi"))
    assert (info.value.error_type, info.value.attempts) == ("server", 2)


def test_a_stream_cut_mid_reply_is_retried_and_only_the_complete_reply_counts(
    fake: FakeOpenAI,
) -> None:
    """A server that closes the stream mid-reply (no finish_reason) is retried like a lost
    connection; the reply is the complete second answer, and a warning says what happened."""
    fake.add(Scripted(text="this reply will be cut short", break_after=2), "the complete reply")
    result = Orchestrator([_agent(fake)], seed=1).run_sync("x", one_task())
    assert result.output == "the complete reply"
    (call,) = of_kind(result.events, "llm_call")
    assert call.attempts == 2
    (warning,) = [e for e in of_kind(result.events, "log") if e.level == "warning"]
    assert "the stream ended after 2 chunk(s)" in warning.message
