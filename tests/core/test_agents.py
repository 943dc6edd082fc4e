"""Agents: mock replies (template, script, per-task script), seeded latency and
injected failures, deterministic outcomes under concurrency, and FunctionAgent's
calling conventions."""

from __future__ import annotations

import random
import threading
from typing import Any

import anyio
import pytest

from sample_agents.scenarios import scatter_gather_chunks
from toolkit import (
    Directive,
    FailureSpec,
    FunctionAgent,
    LatencySpec,
    MockAgent,
    Orchestrator,
    Plan,
    Reply,
    Task,
)


def _call(agent: Any, **fields: Any) -> Any:
    fields.setdefault("agent", agent.name)
    fields.setdefault("task_id", "t")
    return anyio.run(agent.run, Directive(**fields))


def test_mock_template_fills_fields_and_keeps_unknown_placeholders() -> None:
    """A template reply is formatted with the directive's fields; unknown {names} stay literal."""
    agent = MockAgent("writer", reply="{name}|{goal}|{task_id}|{attempt}|{round}|{context}|{other}")
    reply = _call(agent, goal="draft", task_id="w1", attempt=2, round=3, context={"a": 1})
    assert isinstance(reply, Reply)
    assert reply.output == "writer|draft|w1|2|3|a: 1|{other}"
    assert reply.model == "mock"


def test_mock_default_summary_uses_goal_then_prompt() -> None:
    """The default reply names the agent and summarises the goal, or the prompt's start."""
    agent = MockAgent("a")
    assert _call(agent, goal="the goal").output == "a: the goal"
    assert _call(agent, prompt="some   prompt\ntext").output == "a: some prompt text"


def test_mock_script_in_order_last_repeated() -> None:
    """A list reply is used one item per call, in order, then the last one repeats."""
    agent = MockAgent("a", reply=["one", {"two": 2}, "three"])
    outputs = [_call(agent).output for _ in range(5)]
    assert outputs == ["one", {"two": 2}, "three", "three", "three"]


def test_mock_dict_script_per_task_with_default() -> None:
    """A mapping scripts each task on its own; '*' covers other tasks; strings are templates."""
    agent = MockAgent("a", reply={"x": ["x1", "x2"], "y": "y:{goal}", "*": "other {task_id}"})
    assert _call(agent, task_id="x").output == "x1"
    assert _call(agent, task_id="y", goal="g").output == "y:g"
    assert _call(agent, task_id="x").output == "x2"
    assert _call(agent, task_id="z").output == "other z"
    assert _call(agent, task_id="x").output == "x2"


def test_mock_usage_counts_words_and_prices_them() -> None:
    """Tokens are word counts of prompt+context and reply; cost follows price_per_1k_tokens."""
    agent = MockAgent("a", reply="three word reply", price_per_1k_tokens=2.0)
    reply = _call(agent, prompt="four words in prompt")
    assert (reply.tokens_in, reply.tokens_out) == (4 + 1, 3)  # context {} is one "word"
    assert reply.cost_usd == pytest.approx((5 + 3) * 2.0 / 1000)


def test_mock_output_json_wraps_reply() -> None:
    """output_json replies with an object naming the agent."""
    assert _call(MockAgent("a", reply="hi", output_json=True)).output == {
        "agent": "a",
        "output": "hi",
    }


@pytest.mark.parametrize("dist", ["uniform", "normal", "lognormal"])
def test_latency_draws_are_seeded(dist: str) -> None:
    """Same seed gives the same draws; another seed gives other draws; never negative."""
    spec = LatencySpec(dist=dist, mean=1.0, spread=0.5)

    def draws(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [spec.sample(rng) for _ in range(20)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    assert all(v >= 0 for v in draws(3))
    assert LatencySpec(mean=0.25).sample(random.Random(0)) == 0.25


def test_failure_draws_follow_rates_and_fail_attempts() -> None:
    """fail_attempts always raise; rate 1 always fails that way; rate 0 never fails."""
    rng = random.Random(0)
    assert FailureSpec(fail_attempts=[1]).draw(rng, 1) == "exception"
    assert FailureSpec(fail_attempts=[1]).draw(rng, 2) is None
    assert {FailureSpec(hang=1.0).draw(rng, 1) for _ in range(10)} == {"hang"}
    assert {FailureSpec(malformed=1.0).draw(rng, 1) for _ in range(10)} == {"malformed"}
    assert {FailureSpec().draw(rng, 1) for _ in range(10)} == {None}
    modes = [FailureSpec(exception=0.5).draw(random.Random(s), 1) for s in range(200)]
    assert 60 < modes.count("exception") < 140


def _one_task_run(agent: Any, **task: Any) -> Any:
    orch = Orchestrator([agent], seed=1)
    return orch.run_sync("go", Plan(tasks=[Task(id="t", agent=agent.name, **task)]))


def _failure(result: Any) -> Any:
    (failed,) = [e for e in result.events if e.kind == "task_failed"]
    return failed


def test_injected_exception_fails_the_task() -> None:
    """An injected exception is a task failure of type 'exception' with the message."""
    agent = MockAgent("a", failures=FailureSpec(exception=1.0, message="boom"))
    result = _one_task_run(agent)
    failed = _failure(result)
    assert result.status == "failed"
    assert failed.error_type == "exception" and "boom" in failed.error


def test_failures_and_latency_as_mappings_work_like_their_specs() -> None:
    """``failures={...}`` and ``latency={...}`` (a workflow file's shape) give the same
    run as the spec objects: the first attempt fails, the retry answers."""
    as_dict = MockAgent(
        "a", failures={"fail_attempts": [1], "message": "flaky"}, latency={"mean": 0}
    )
    as_spec = MockAgent(
        "a", failures=FailureSpec(fail_attempts=[1], message="flaky"), latency=LatencySpec()
    )
    runs = [_one_task_run(agent, retries=1) for agent in (as_dict, as_spec)]
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    (failed,) = [e for e in runs[0].events if e.kind == "task_failed"]
    assert "flaky (a, attempt 1)" in failed.error and failed.attempt == 1
    assert _outcome_kinds(runs[0]) == _outcome_kinds(runs[1])


def _outcome_kinds(result: Any) -> list[str]:
    return [e.kind for e in result.events if e.kind.startswith("task_")]


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"failures": {"fail_attemps": [1]}}, ValueError, "fail_attemps: Extra inputs"),
        ({"failures": {"exception": 2}}, ValueError, "exception: Input should be less"),
        ({"failures": [1]}, TypeError, "mapping of its fields (exception, hang, malformed"),
        ({"failures": 0.5}, TypeError, "not float"),
        ({"latency": "fast"}, TypeError, "latency must be seconds as a number"),
        ({"latency": {"dist": "zipf"}}, ValueError, "latency: dist: Input should be"),
    ],
)
def test_bad_failures_or_latency_are_refused_at_construction(
    options: dict[str, Any], error: type[Exception], words: str
) -> None:
    """A wrong shape is a TypeError, an unknown field or bad value a ValueError naming it
    and the fields there are: at construction, never later inside a run."""
    with pytest.raises(error) as caught:
        MockAgent("a", **options)
    assert words in str(caught.value) and "MockAgent 'a'" in str(caught.value)


def test_injected_hang_is_ended_by_the_task_timeout() -> None:
    """A hanging attempt is ended by timeout_s and recorded as a timeout failure."""
    agent = MockAgent("a", failures=FailureSpec(hang=1.0))
    result = _one_task_run(agent, timeout_s=0.01)
    failed = _failure(result)
    assert failed.error_type == "timeout"
    assert "timed out" in failed.error
    assert result.status == "failed"


def test_injected_malformed_output_is_a_malformed_failure() -> None:
    """Malformed output (empty text, or broken JSON for a json task) fails as 'malformed'."""
    text = _one_task_run(MockAgent("a", failures=FailureSpec(malformed=1.0)))
    assert _failure(text).error_type == "malformed"
    as_json = _one_task_run(
        MockAgent("a", failures=FailureSpec(malformed=1.0), output_json=True),
        output_format="json",
    )
    assert _failure(as_json).error_type == "malformed"
    assert "not valid JSON" in _failure(as_json).error


def _outcomes(seed: int, concurrency: int) -> dict[str, list[tuple[str, int]]]:
    orch, plan, request = scatter_gather_chunks(seed=seed, speed=0.01)
    orch.concurrency = concurrency
    result = orch.run_sync(request, plan)
    per_task: dict[str, list[tuple[str, int]]] = {}
    for e in result.events:
        if e.kind in ("task_finished", "task_failed", "task_retried", "task_skipped"):
            per_task.setdefault(e.task_id, []).append((e.kind, getattr(e, "attempt", 0)))
    return per_task


def test_outcomes_are_deterministic_for_a_seed_whatever_the_concurrency() -> None:
    """Scatter-gather with injected failures: same seed -> same outcome sequence per task,
    run after run and with any concurrency; another seed changes which attempts fail."""
    first = _outcomes(5, 16)
    assert first == _outcomes(5, 16)
    assert first == _outcomes(5, 1)
    assert any(("task_retried", 2) in seq for seq in first.values())
    others = [_outcomes(s, 16) for s in (1, 2, 3, 4)]
    assert any(o != first for o in others)


def test_function_agent_sync_async_text_and_thread() -> None:
    """FunctionAgent calls sync and async functions with the directive, or with the prompt
    when the first parameter is a str/'text'/'prompt'; thread=True runs it off the loop."""
    loop_thread = threading.get_ident()
    seen: dict[str, Any] = {}

    def sync_fn(directive: Directive) -> str:
        return f"sync {directive.task_id}"

    async def async_fn(directive: Directive) -> dict[str, str]:
        await anyio.sleep(0)
        return {"async": directive.goal}

    def text_fn(text):  # type: ignore[no-untyped-def]  # unannotated on purpose: matched by name
        return text.upper()

    def annotated(p: str) -> str:
        return p[::-1]

    def threaded(directive: Directive) -> str:
        seen["thread"] = threading.get_ident()
        return "threaded"

    agents = [
        FunctionAgent(sync_fn),
        FunctionAgent(async_fn, description="async one"),
        FunctionAgent(text_fn),
        FunctionAgent(annotated),
        FunctionAgent(threaded, thread=True),
    ]
    assert agents[1].card() == {"kind": "function", "description": "async one", "skills": []}

    async def go() -> list[Any]:
        out = []
        for agent in agents:
            out.append(
                await agent.run(Directive(agent=agent.name, task_id="t", goal="g", prompt="abc"))
            )
        return out

    assert anyio.run(go) == ["sync t", {"async": "g"}, "ABC", "cba", "threaded"]
    assert seen["thread"] != loop_thread


def test_directive_without_run_has_no_session() -> None:
    """A directive made outside a run raises a clear error when its session is used."""
    with pytest.raises(RuntimeError, match="not part of a run"):
        _ = Directive(agent="a", task_id="t").session
