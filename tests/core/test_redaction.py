"""Key-shaped text typed into a request, a prompt or a reply never reaches a trace."""

from __future__ import annotations

import json
from pathlib import Path

from toolkit import FunctionAgent, Orchestrator, Plan, Task
from toolkit.store import RunStore

KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
GITHUB = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2


def _orch(seen: list[str], **options: object) -> Orchestrator:
    async def echo(prompt: str) -> str:
        seen.append(prompt)
        return f"here is a token: {GITHUB}"

    return Orchestrator([FunctionAgent(echo, "echo")], seed=1, **options)  # type: ignore[arg-type]


def _plan() -> Plan:
    return Plan(tasks=[Task(id="a", agent="echo", prompt="use {{input}} please")])


def test_key_shapes_are_masked_in_every_recorded_event(tmp_path: Path) -> None:
    """A key in the request (run_started, plan, directive) and in a reply (result,
    task_finished, the run's answer) is masked in the JSONL trace and in the store;
    the agent itself still gets its input as typed."""
    seen: list[str] = []
    trace, store = tmp_path / "run.jsonl", tmp_path / "runs.db"
    result = _orch(seen).run_sync(f"my key is {KEY}", _plan(), trace=trace, store=store)
    assert result.status == "succeeded"
    assert KEY in seen[0]  # the agent got what was typed
    text = trace.read_text()
    assert KEY not in text and GITHUB not in text
    assert "sk-***" in text and "ghp_***" in text
    stored = RunStore(store).events(result.run_id)
    dumped = json.dumps([e.model_dump(mode="json") for e in stored])
    assert KEY not in dumped and GITHUB not in dumped
    assert all(KEY not in repr(e) and GITHUB not in repr(e) for e in result.events)


def test_redaction_can_be_turned_off(tmp_path: Path) -> None:
    """``redact_secrets=False`` records the text exactly as it was."""
    trace = tmp_path / "run.jsonl"
    result = _orch([], redact_secrets=False).run_sync(f"my key is {KEY}", _plan(), trace=trace)
    assert result.status == "succeeded"
    text = trace.read_text()
    assert KEY in text and GITHUB in text


def test_scrub_masks_a_key_in_any_string_of_nested_data() -> None:
    """scrub masks a key shape in any string of nested data (dict keys and values, lists,
    tuples, str subclasses), also where a repr would hide it (a newline after Bearer),
    and returns data without any key shape as the very same object."""
    from toolkit.redact import scrub

    class Name(str):
        pass

    data = {
        "headers": {"Authorization": "Bearer\nabc.def123456"},
        KEY: [("x", GITHUB), Name("AKIA" + "B" * 16)],
        "n": 3,
    }
    assert scrub(data) == {
        "headers": {"Authorization": "Bearer\n***"},
        "sk-***": [("x", "ghp_***"), "AKIA***"],
        "n": 3,
    }
    hidden = {"headers": {"Authorization": "Bearer\nabc.def123456"}}
    assert scrub(hidden) == {"headers": {"Authorization": "Bearer\n***"}}
    assert scrub({1: KEY, (2, 3): "x"}) == {1: "sk-***", (2, 3): "x"}  # keys of any type
    clean = {"tasks": [{"id": "t1", "depends_on": ["t0"], "timeout_s": None}], "n": 1.5}
    assert scrub(clean) is clean
    assert scrub("plain text, no key") == "plain text, no key"
