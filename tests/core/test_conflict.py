"""Conflict resolution as a pattern: positions side by side, a resolver decides, all traced."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit import MockAgent, Orchestrator, Resolver, conflict
from toolkit.agents import FailureSpec
from toolkit.describe import event_summary, task_worker
from toolkit.metrics import agent_metrics
from toolkit.resolution import read_position
from toolkit.workflow import WorkflowError, load_workflow

ROOT = Path(__file__).resolve().parents[2]


def team(answers: dict[str, str], resolver: Resolver) -> Orchestrator:
    agents = [MockAgent(name, reply=text) for name, text in answers.items()]
    return Orchestrator([*agents, resolver], seed=1, clock="simulated")


def events_of(result, kind: str) -> list:
    return [e for e in result.events if e.kind == kind]


def test_majority_wins_and_both_sides_are_traced() -> None:
    """Two of three agree: their answer wins; the conflict lists all three positions."""
    answers = {"alice": "ANSWER: ship it", "bob": "ANSWER: wait", "carol": "answer: Ship it "}
    result = team(answers, Resolver()).run_sync(
        "ship now?", conflict(["alice", "bob", "carol"], goal="should we ship?")
    )
    assert result.status == "succeeded"
    assert result.output == "ship it"
    (raised,) = events_of(result, "conflict")
    assert [p["agent"] for p in raised.positions] == ["alice", "bob", "carol"]
    assert raised.question == "should we ship?"
    (resolved,) = events_of(result, "resolution")
    assert resolved.winners == ["alice", "carol"] and resolved.strategy == "vote"
    assert resolved.tally == {"ship it": 2.0, "wait": 1.0}
    assert resolved.reason == "2 of 3 votes"
    metrics = agent_metrics(result.events).set_index("agent")
    assert metrics.loc["alice", "won"] == 1 and metrics.loc["bob", "won"] == 0
    assert task_worker(result.state.tasks["resolve"]) == "resolver ⚖ alice, carol"
    assert "resolved by resolver (vote): ship it (won: alice, carol)" in event_summary(
        resolved, 200
    )


def test_a_tie_goes_to_the_tie_breaker() -> None:
    """One against one: the named tie-breaker's position wins, and the event says why."""
    answers = {"dev": "keep the API", "reviewer": "break the API"}
    result = team(answers, Resolver(tie_breaker="reviewer")).run_sync(
        "api?", conflict(["dev", "reviewer"])
    )
    (resolved,) = events_of(result, "resolution")
    assert result.output == "break the API"
    assert resolved.strategy == "tie-breaker" and resolved.decided_by == "reviewer"
    assert "breaks the tie" in resolved.reason


def test_confidence_weighted() -> None:
    """One confident agent outweighs two unsure ones."""
    answers = {
        "a": "ANSWER: red\nCONFIDENCE: 0.9",
        "b": "ANSWER: blue\nCONFIDENCE: 0.3",
        "c": "ANSWER: blue\nCONFIDENCE: 0.4",
    }
    result = team(answers, Resolver(strategy="weighted")).run_sync(
        "colour?", conflict(["a", "b", "c"])
    )
    (resolved,) = events_of(result, "resolution")
    assert result.output == "red" and resolved.winners == ["a"]
    assert resolved.tally == {"red": 0.9, "blue": pytest.approx(0.7)}


def test_a_judge_decides_and_is_asked_in_the_flow() -> None:
    """The judge reads every position and names one; the question and its answer are messages."""
    judge = MockAgent("judge", reply="Position 2 is better: it has tests.")
    answers = {"dev": "ANSWER: v1", "senior": "ANSWER: v2"}
    result = team(answers, Resolver(strategy="judge", judge=judge)).run_sync(
        "which?", conflict(["dev", "senior"])
    )
    (resolved,) = events_of(result, "resolution")
    assert (
        result.output == "v2" and resolved.decided_by == "judge" and resolved.winners == ["senior"]
    )
    flow = [(m.sender, m.recipient, m.kind) for m in result.state.messages]
    assert ("resolver", "judge", "directive") in flow and ("judge", "resolver", "result") in flow


def test_a_tied_vote_escalates_to_the_judge() -> None:
    """With escalation, a tie is decided by the judge instead of the tie-breaker."""
    judge = MockAgent("judge", reply="carol")
    answers = {"bob": "no", "carol": "yes"}
    resolver = Resolver(judge=judge, escalate_to=True)
    result = team(answers, resolver).run_sync("?", conflict(["bob", "carol"]))
    (resolved,) = events_of(result, "resolution")
    assert result.output == "yes" and resolved.decided_by == "judge"
    assert resolved.reason.startswith("tied at 1 votes; the judge chose")


def test_a_failed_position_skips_the_resolution() -> None:
    """A position that fails for good leaves nothing to resolve: the resolve task is skipped."""
    agents = [MockAgent("a", reply="x"), MockAgent("b", failures=FailureSpec(exception=1.0))]
    result = Orchestrator([*agents, Resolver()], seed=1).run_sync("?", conflict(["a", "b"]))
    assert result.status == "failed"
    assert result.state.tasks["resolve"].status == "skipped"


def test_positions_are_read_from_mappings_and_text() -> None:
    """A mapping's answer/confidence, or ANSWER/CONFIDENCE lines, or the whole text."""
    assert read_position("a", {"answer": "yes", "confidence": 0.7}).confidence == 0.7
    assert read_position("a", {"choice": "B", "rationale": "cheaper"}).rationale == "cheaper"
    text = read_position("a", "I think so.\nANSWER: Yes\nCONFIDENCE: 2")
    assert (text.answer, text.confidence) == ("Yes", None)  # 2 is no probability
    assert read_position("a", "  plain words ").answer == "plain words"


def test_bad_resolvers_and_patterns_are_refused() -> None:
    """A judge strategy without a judge, an unknown strategy, one agent: clear errors."""
    with pytest.raises(ValueError, match="needs a judge agent"):
        Resolver(strategy="judge")
    with pytest.raises(ValueError, match="unknown strategy"):
        Resolver(strategy="coin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least two agents"):
        conflict(["solo"])


def test_workflow_file(tmp_path: Path) -> None:
    """`pattern: {kind: conflict}` builds the positions and the resolver from a file."""
    result = (
        load_workflow(ROOT / "sample_agents/workflows/conflict-vote.yaml")
        .orchestrator()
        .run_sync(
            "Should we rewrite the parser?",
            load_workflow(ROOT / "sample_agents/workflows/conflict-vote.yaml").plan(),
        )
    )
    assert result.status == "succeeded"
    (resolved,) = events_of(result, "resolution")
    assert sorted(resolved.winners) == ["architect", "tester"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nagents:\n  a: {kind: mock}\n  b: {kind: mock}\n  resolver: {kind: mock}\n"
        "pattern: {kind: conflict, agents: [a, b, c], strategy: judge, tie_breaker: z}\n"
    )
    with pytest.raises(WorkflowError) as caught:
        load_workflow(bad)
    text = str(caught.value)
    for expected in (
        "pattern.agents[2]: unknown agent 'c'",
        "pattern.tie_breaker: 'z' takes no position",
        "pattern.judge: strategy judge (or escalate) needs a judge agent",
        "agents.resolver: the conflict pattern adds its own 'resolver' agent",
    ):
        assert expected in text
