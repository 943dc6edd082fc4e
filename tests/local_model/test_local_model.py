"""LLM agents, the planner and the synthesizer against a real model (llama-server + SmolLM2-135M).

A 135M model's words are not stable and often not sensible, so these tests check
structure only: what was streamed is what was returned, usage comes from the server
and is capped by ``max_tokens``, cost follows usage, plans that come out are valid or
rejected with reasons and repaired or replaced, timeouts are retried then fail cleanly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local_model.conftest import PRICES, LocalModel
from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.llm import LLMAgent, LLMPlanner, LLMSynthesizer
from toolkit.planning import RuleBasedPlanner
from toolkit.recorder import read_trace

pytestmark = pytest.mark.local_model

ROOT = Path(__file__).resolve().parents[2]

PATIENT_S = 600.0
"""How long a planner or synthesizer call may wait for the server's answer. A whole plan comes in
one unstreamed reply, and on a machine whose other work takes the CPU the model writes a few
tokens a second: the default 60 s timed out there. The server's ``-n`` cap bounds the answer, so a
generous limit costs nothing when the machine is quiet."""


def _of(events: list, kind: str) -> list:  # type: ignore[type-arg]
    return [e for e in events if e.kind == kind]


def _team() -> list[MockAgent]:
    return [
        MockAgent("researcher", "Finds facts on a topic", ["research"], reply="facts: {summary}"),
        MockAgent("writer", "Writes prose from notes", ["write"], reply="prose from {context}"),
    ]


def _agent(llama: LocalModel, **options: object) -> LLMAgent:
    settings: dict[str, object] = {
        "model": llama.model,
        "base_url": llama.base_url,
        "system": "You answer in one short sentence.",
        "temperature": 0.0,
        "max_tokens": 32,
        "prices": PRICES,
        **options,
    }
    return LLMAgent("assistant", **settings)  # type: ignore[arg-type]


def _one(agent: str = "assistant") -> Plan:
    return Plan(name="one", tasks=[Task(id="ask", agent=agent, prompt="{{input}}")])


def test_a_streamed_answer_is_the_reply_and_usage_comes_from_the_server(llama: LocalModel) -> None:
    """Streaming: the llm_delta chunks join into exactly the task's output; the llm_call's tokens are
    the server's usage (not an estimate), completion tokens within max_tokens, and cost = usage x price."""
    result = Orchestrator([_agent(llama)], seed=1).run_sync("What is a message queue?", _one())
    assert result.status == "succeeded", result.error
    deltas = _of(result.events, "llm_delta")
    (finished,) = _of(result.events, "task_finished")
    assert deltas and "".join(d.text for d in deltas) == finished.output
    (call,) = _of(result.events, "llm_call")
    assert call.status == "ok" and call.attempts == 1 and call.purpose == "agent"
    assert call.prompt_tokens > 0 and 0 < call.completion_tokens <= 32
    expected = (call.prompt_tokens * PRICES["in"] + call.completion_tokens * PRICES["out"]) / 1e6
    assert call.cost_usd == pytest.approx(expected)
    assert (finished.tokens_in, finished.tokens_out) == (call.prompt_tokens, call.completion_tokens)
    assert finished.cost_usd == pytest.approx(expected)
    assert result.state.agents["assistant"].tokens_out == call.completion_tokens
    metrics = result.metrics().set_index("agent")
    assert metrics.loc["assistant", "cost_usd"] == pytest.approx(expected)


def test_an_unstreamed_answer_has_the_same_accounting(llama: LocalModel) -> None:
    """stream=False: no llm_delta, the whole reply at once, usage from the server's response."""
    agent = _agent(llama, stream=False, max_tokens=16)
    result = Orchestrator([agent], seed=1).run_sync("Name one colour.", _one())
    assert result.status == "succeeded", result.error
    assert _of(result.events, "llm_delta") == []
    (call,) = _of(result.events, "llm_call")
    assert call.prompt_tokens > 0 and 0 < call.completion_tokens <= 16
    (finished,) = _of(result.events, "task_finished")
    assert isinstance(finished.output, str) and finished.output.strip()


def test_a_too_short_timeout_is_retried_then_fails_cleanly(llama: LocalModel) -> None:
    """A 10 ms limit on a long prompt times out: each attempt is a retry note, the call ends as one
    llm_call with status error and every attempt counted, the task fails with a timeout message; the
    same server then answers the next call normally."""
    long_prompt = "Summarise this text. " + " ".join(["Queues decouple producers."] * 120)
    agent = _agent(llama, timeout_s=0.01, max_retries=1, backoff_s=0.01, stream=False)
    result = Orchestrator([agent], seed=1).run_sync(long_prompt, _one())
    assert result.status == "failed"
    (call,) = _of(result.events, "llm_call")
    assert (call.status, call.attempts) == ("error", 2)
    assert "timed out" in (call.error or "")
    notes = [e.message for e in _of(result.events, "log") if e.agent == "assistant"]
    assert any("retry 1 of 1" in n for n in notes)
    (failed,) = _of(result.events, "task_failed")
    assert "timed out" in failed.error

    again = Orchestrator([_agent(llama, timeout_s=120)], seed=1).run_sync("Say hi.", _one())
    assert again.status == "succeeded", again.error


def test_the_planner_with_the_schema_writes_json_naming_only_real_agents(
    llama: LocalModel,
) -> None:
    """json_mode="schema": the server's grammar holds the model to the plan schema, so no answer is
    malformed JSON or names an unknown agent; the run succeeds with the model's plan or, when each
    plan is refused for what a schema cannot say (a task depending on itself, a cycle), with the
    rule-based fallback, every refusal traced with its plan and problems."""
    planner = LLMPlanner(
        llama.model,
        base_url=llama.base_url,
        json_mode="schema",
        max_tokens=256,
        max_attempts=2,
        fallback=RuleBasedPlanner(),
        timeout_s=PATIENT_S,
    )
    result = Orchestrator(_team(), planner=planner, seed=1).run_sync(
        "Research message queues, then write a paragraph about them."
    )
    assert result.status == "succeeded", result.error
    calls = [c for c in _of(result.events, "llm_call") if c.purpose == "planner"]
    assert 1 <= len(calls) <= 2 and all(c.completion_tokens <= 256 for c in calls)
    rejected = _of(result.events, "plan_rejected")
    assert len(rejected) == len(calls) - (0 if rejected and rejected[-1].next == "fallback" else 1)
    for r in rejected:
        assert r.problems and r.plan is not None  # the grammar made it a JSON object
        assert not any("unknown agent" in p or "not valid JSON" in p for p in r.problems), (
            r.problems
        )
    (created,) = _of(result.events, "plan_created")
    assert {t["agent"] for t in created.plan["tasks"]} <= {"researcher", "writer"}


def test_the_planner_without_a_schema_is_repaired_or_falls_back(llama: LocalModel) -> None:
    """With no response_format every answer is capped by max_tokens; a refused plan is sent back with
    its problems (a plan_rejected each, the last saying "fallback"), and the run always gets a valid
    plan: the model's or the rule-based planner's."""
    planner = LLMPlanner(
        llama.model,
        base_url=llama.base_url,
        max_tokens=200,
        max_attempts=2,
        fallback=RuleBasedPlanner(),
        timeout_s=PATIENT_S,
    )
    result = Orchestrator(_team(), planner=planner, seed=1).run_sync(
        "Research message queues, then write a paragraph about them."
    )
    assert result.status == "succeeded", result.error
    calls = [c for c in _of(result.events, "llm_call") if c.purpose == "planner"]
    assert 1 <= len(calls) <= 2 and all(c.completion_tokens <= 200 for c in calls)
    rejected = _of(result.events, "plan_rejected")
    assert all(r.problems for r in rejected)
    assert [r.next for r in rejected] in ([], ["retry"], ["fallback"], ["retry", "fallback"])
    if len(calls) == 2:  # the correction request carried the first answer's problems
        assert rejected[0].next == "retry"
    assert _of(result.events, "plan_created")


def test_the_synthesizer_answers_from_the_results(llama: LocalModel) -> None:
    """The LLM synthesizer's streamed answer is the run's output; its call is traced as the
    synthesizer with server usage within its max_tokens."""
    synth = LLMSynthesizer(
        llama.model,
        base_url=llama.base_url,
        max_tokens=48,
        temperature=0.0,
        prices=PRICES,
        timeout_s=PATIENT_S,
    )
    plan = Plan(
        name="p",
        tasks=[
            Task(id="research", agent="researcher", prompt="{{input}}"),
            Task(id="write", agent="writer", prompt="{{research}}"),
        ],
    )
    result = Orchestrator(_team(), synthesizer=synth, seed=1).run_sync("Why use queues?", plan)
    assert result.status == "succeeded", result.error
    (call,) = [c for c in _of(result.events, "llm_call") if c.purpose == "synthesizer"]
    assert call.agent == "synthesizer" and 0 < call.completion_tokens <= 48
    streamed = "".join(d.text for d in _of(result.events, "llm_delta") if d.agent == "synthesizer")
    assert streamed == result.output and isinstance(result.output, str)


@pytest.mark.timeout(1800)  # one run of the team: on a busy machine, minutes
def test_the_workshop_workflow_runs_live_against_the_local_model(
    llama: LocalModel, tmp_path: Path
) -> None:
    """`switchboard run sample_agents/cassettes/llm-research.yaml` with OPENAI_BASE_URL at the local
    server (no key) runs for real: exit 0, a plan, three agents' llm_calls with server usage, and
    every planner call capped."""
    trace = tmp_path / "live.jsonl"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["OPENAI_BASE_URL"] = llama.base_url
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "switchboard"),
            "run",
            str(ROOT / "sample_agents" / "cassettes" / "llm-research.yaml"),
            "--trace",
            str(trace),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
    )
    assert done.returncode == 0, done.stderr
    read = read_trace(trace)
    assert read.problems == []
    events = read.events
    assert _of(events, "plan_created")
    calls = _of(events, "llm_call")
    agents = {c.agent for c in calls if c.purpose == "agent"}
    assert agents and agents <= {"researcher", "writer", "editor"}
    assert all(c.prompt_tokens > 0 and c.status == "ok" for c in calls if c.purpose == "agent")
    from sample_agents.cassettes.llm_research import PLANNER_MAX_TOKENS

    assert all(c.completion_tokens <= PLANNER_MAX_TOKENS for c in calls if c.purpose == "planner")
    json.dumps([e.model_dump(mode="json") for e in events])  # the trace is plain JSON throughout


def test_the_command_serves_until_stopped_and_takes_its_server_down(
    llama: LocalModel, tmp_path: Path
) -> None:
    """`switchboard local-model --port P` (already built: no build) serves on 127.0.0.1:P and says
    where; a SIGTERM to the command ends it with exit 0 and stops llama-server too (never orphaned)."""
    import signal

    from tests.services import Service, free_port, port_open
    from toolkit.llm import local

    port = free_port()
    out = tmp_path / "local-model.out"
    command = [str(Path(sys.executable).parent / "switchboard"), "local-model", "--port", str(port)]
    serving = f"serving {local.MODEL_NAME} at http://127.0.0.1:{port}/v1"

    def ready() -> bool:  # the command has said where it serves, and the server answers
        return (
            out.is_file()
            and serving in out.read_text()
            and local.healthy(f"http://127.0.0.1:{port}")
        )

    service = Service(command, ready, name="switchboard local-model", log=out)
    with service:
        assert service.proc is not None
        os.kill(service.pid, signal.SIGTERM)  # the command alone, not its process group
        assert service.proc.wait(timeout=60) == 0
    assert not port_open(port)


@pytest.mark.timeout(3600)  # four runs of the team, a dozen model calls each
def test_workshop_chapter_13_runs_live_against_the_local_model(
    llama: LocalModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notebooks/13_a_real_local_model with OPENAI_BASE_URL at the real server calls the model live
    (its first cell says so) and runs top to bottom: every cell ran, none failed, so each of its structural
    asserts held for the model's own plans (repaired, refused or replaced by the rule-based fallback)."""
    import jupytext
    from nbclient import NotebookClient

    kernels = tmp_path / "jupyter" / "kernels" / "switchboard-local-model"
    kernels.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Switchboard local-model tests",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OPENAI_BASE_URL", llama.base_url)
    for name in ("SWITCHBOARD_MODEL", "SWITCHBOARD_CASSETTE_MODE"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "run"
    work.mkdir()

    nb = jupytext.read(ROOT / "notebooks" / "13_a_real_local_model.py")
    NotebookClient(
        nb,
        timeout=1200,  # per cell; each run of the team is a dozen model calls
        kernel_name="switchboard-local-model",
        resources={"metadata": {"path": str(work)}},
    ).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "every code cell ran"
    printed = "\n".join(o.get("text", "") for c in code for o in c.get("outputs", []))
    assert f"live: {llama.model} at {llama.base_url}" in printed
    assert "no server: replaying" not in printed
    assert printed.count("checks passed") == 2
