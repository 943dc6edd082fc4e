"""Metrics: per-agent, per-task and timeline DataFrames, with known values on the
feature-review scenario (a developer that fails twice and is replaced by a backup)."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from sample_agents.scenarios import feature_review
from toolkit import Directive, FunctionAgent, MockAgent, Orchestrator, Plan, Task
from toolkit.metrics import AGENT_COLUMNS, _p95, agent_metrics, task_metrics, timeline
from toolkit.state import RunState


@pytest.fixture(scope="module")
def result() -> Any:
    orch, plan, request = feature_review(speed=0.01)
    return orch.run_sync(request, plan)


def _row(frame: Any, agent: str) -> dict[str, Any]:
    return frame.set_index("agent").loc[agent].to_dict()


def test_agent_metrics_columns_are_exactly_the_documented_ones(result: Any) -> None:
    """The columns, in order, are those of the issue; integer counters are int64."""
    frame = result.metrics()
    assert list(frame.columns) == [
        "agent", "tasks", "succeeded", "failed", "retries", "reviews", "won", "waited_s", "mean_s", "p95_s",
        "messages_in", "messages_out", "tokens_in", "tokens_out", "cost_usd",
    ]  # fmt: skip
    assert list(frame.columns) == AGENT_COLUMNS
    assert str(frame["tasks"].dtype) == "int64" and str(frame["mean_s"].dtype) == "float64"
    assert list(frame["agent"]) == ["developer", "backup-dev", "reviewer", "tester"]


def test_agent_metrics_counts_on_feature_review(result: Any) -> None:
    """developer: 2 failed attempts and 2 retries, no task; backup-dev finished the task
    over 2 review rounds; the reviewer answered twice; the tester ran once."""
    frame = result.metrics()
    expected = {
        "developer": (0, 0, 2, 2, 2, 2),
        "backup-dev": (1, 1, 0, 0, 2, 2),
        "reviewer": (0, 0, 0, 0, 2, 2),
        "tester": (1, 1, 0, 0, 1, 1),
    }
    for agent, counts in expected.items():
        row = _row(frame, agent)
        got = tuple(
            row[c]
            for c in ("tasks", "succeeded", "failed", "retries", "messages_in", "messages_out")
        )
        assert got == counts, agent


def test_the_reviewers_reviews_count(result: Any) -> None:
    """Each review verdict counts for the reviewer that gave it (2 rounds: 2 reviews); workers review nothing."""
    frame = result.metrics()
    assert _row(frame, "reviewer")["reviews"] == 2
    assert {_row(frame, a)["reviews"] for a in ("developer", "backup-dev", "tester")} == {0}
    assert str(frame["reviews"].dtype) == "int64"


def test_agent_rows_are_the_dataframe_without_pandas(result: Any) -> None:
    """agent_rows (what a live view redraws from) holds the same values as agent_metrics."""
    from toolkit.metrics import agent_rows

    rows = agent_rows(result.state)
    frame = result.metrics()
    assert [list(r) for r in rows] == [AGENT_COLUMNS] * len(rows)
    for row, record in zip(rows, frame.to_dict("records"), strict=True):
        assert {k: v for k, v in row.items() if v == v} == {
            k: v for k, v in record.items() if v == v
        }


def test_agent_metrics_latency_tokens_and_cost_follow_the_trace(result: Any) -> None:
    """mean_s/p95_s come from the calls' durations; tokens and cost sum the replies' usage."""
    frame = result.metrics()
    prices = {"developer": 0.006, "backup-dev": 0.004, "reviewer": 0.006, "tester": 0.0}
    for agent, price in prices.items():
        replies = [
            e.envelope
            for e in result.events
            if e.kind == "message_sent" and e.envelope.sender == agent and e.envelope.usage
        ]
        durations = [m.usage["duration_s"] for m in replies]
        row = _row(frame, agent)
        assert row["mean_s"] == pytest.approx(sum(durations) / len(durations))
        assert row["p95_s"] == max(durations)  # nearest rank of <= 20 values is the max
        tokens_in = sum(m.usage.get("tokens_in", 0) for m in replies)
        tokens_out = sum(m.usage.get("tokens_out", 0) for m in replies)
        assert (row["tokens_in"], row["tokens_out"]) == (tokens_in, tokens_out)
        assert row["cost_usd"] == pytest.approx((tokens_in + tokens_out) * price / 1000)
    assert _row(frame, "developer")["tokens_in"] == 0  # failed calls use no tokens
    assert _row(frame, "backup-dev")["tokens_out"] > 0


def test_agent_metrics_accepts_events_or_state(result: Any) -> None:
    """The same frame from the events and from a folded state; an empty run gives no rows."""
    assert agent_metrics(result.events).equals(agent_metrics(result.state))
    empty = agent_metrics(RunState())
    assert empty.empty and list(empty.columns) == AGENT_COLUMNS


def test_p95_is_nearest_rank() -> None:
    """p95 is an observed value: the ceil(0.95 n)-th smallest."""
    assert _p95([float(i) for i in range(1, 21)]) == 19.0
    assert _p95([float(i) for i in range(1, 101)]) == 95.0
    assert _p95([3.0]) == 3.0
    assert math.isnan(_p95([]))


def test_task_metrics_on_feature_review(result: Any) -> None:
    """One row per task with status, attempts, rounds, retries and fallback use."""
    frame = task_metrics(result.events).set_index("task")
    implement, test = frame.loc["implement"], frame.loc["test"]
    # 3 attempts in round 1 (2 failures, the fallback), 1 in round 2
    assert (implement["status"], implement["attempts"], implement["rounds"]) == ("done", 4, 2)
    assert (implement["retries"], bool(implement["fallback_used"])) == (2, True)
    assert (test["status"], test["attempts"], test["rounds"], test["retries"]) == ("done", 1, 1, 0)
    assert implement["end_s"] <= test["start_s"]
    assert 0 <= implement["start_s"] <= implement["end_s"]


def test_timeline_has_one_row_per_call(result: Any) -> None:
    """Each directive answered by a result or error is one bar; failed attempts show as errors."""
    frame = timeline(result.events)
    rows = list(frame[["agent", "task", "attempt", "outcome"]].itertuples(index=False, name=None))
    assert rows == [
        ("developer", "implement", 1, "error"),
        ("developer", "implement", 2, "error"),
        ("backup-dev", "implement", 3, "ok"),
        ("reviewer", "implement", 1, "ok"),
        ("backup-dev", "implement", 1, "ok"),  # a revision is a new round, not a retry
        ("reviewer", "implement", 1, "ok"),
        ("tester", "test", 1, "ok"),
    ]
    assert (frame["end_s"] >= frame["start_s"]).all()
    assert (frame["duration_s"] >= 0).all()
    assert frame["start_s"].is_monotonic_increasing


def test_timeline_marks_calls_cut_off_by_cancellation_unfinished() -> None:
    """A call still running when the run was cancelled is an 'unfinished' bar."""
    holder: dict[str, Any] = {}

    async def stuck(directive: Directive) -> str:
        holder["run"].cancel()
        await anyio.sleep_forever()
        return "never"

    orch = Orchestrator([MockAgent("ok"), FunctionAgent(stuck)])
    run = orch.prepare(
        "x", Plan(tasks=[Task(id="a", agent="ok"), Task(id="b", agent="stuck", depends_on=["a"])])
    )
    holder["run"] = run
    result = anyio.run(run.execute)
    frame = timeline(result.events)
    assert list(frame["outcome"]) == ["ok", "unfinished"]
    assert frame["end_s"].isna().tolist() == [False, True]
