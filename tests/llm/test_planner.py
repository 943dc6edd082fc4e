"""The LLM planner and synthesizer end to end over real HTTP: valid plans, malformed plans, failure."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.llm.conftest import of_kind
from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.llm import LLMPlanner, LLMSynthesizer, PlanningFailed, check_plan
from toolkit.llm.testing import FakeOpenAI, Scripted


def _team() -> list[MockAgent]:
    return [
        MockAgent("researcher", "finds facts", ["research"], reply="facts about {summary}"),
        MockAgent("writer", "writes prose", ["write"], reply="an article from {context}"),
    ]


GOOD = {
    "name": "research-then-write",
    "tasks": [
        {"id": "research", "agent": "researcher", "goal": "find facts", "prompt": "{{input}}"},
        {
            "id": "write",
            "agent": "writer",
            "goal": "write it up",
            "prompt": "Write about {{research}}",
        },
    ],
}


def _planner(fake: FakeOpenAI, **options: object) -> LLMPlanner:
    return LLMPlanner("gpt-4o-mini", base_url=fake.base_url, backoff_s=0.01, **options)  # type: ignore[arg-type]


def test_a_valid_plan_runs_and_the_planner_call_is_traced(fake: FakeOpenAI) -> None:
    """The model's JSON plan becomes plan_created and runs; its call is an llm_call of the planner."""
    fake.add(json.dumps(GOOD))
    orch = Orchestrator(_team(), planner=_planner(fake), seed=2)
    result = orch.run_sync("Explain message queues")
    assert result.status == "succeeded", result.error
    (created,) = of_kind(result.events, "plan_created")
    assert [t["id"] for t in created.plan["tasks"]] == ["research", "write"]
    assert created.planner == "llm"
    (call,) = of_kind(result.events, "llm_call")
    assert (call.agent, call.purpose, call.status) == ("planner", "planner", "ok")
    assert call.prompt_tokens > 0
    assert result.state.agents["planner"].tokens_in == call.prompt_tokens
    prompt = fake.requests[0].body["messages"]
    assert prompt[0]["role"] == "system" and "JSON" in prompt[0]["content"]
    user = prompt[1]["content"]
    assert (
        "- researcher: finds facts (skills: research)" in user
        and "- writer: writes prose (skills: write)" in user
    )
    assert user.endswith("Explain message queues")


def test_malformed_plans_are_sent_back_with_their_errors_until_one_is_valid(
    fake: FakeOpenAI,
) -> None:
    """Bad JSON, then an unknown agent, then a valid plan: two plan_rejected events (each with the
    problems, the plan when it was JSON, and "retry"), each correction request carries the errors
    and only the latest rejected answer, and the third plan runs."""
    fake.add(
        "Sure! Here is a plan: {tasks: oops",
        json.dumps({"tasks": [{"id": "a", "agent": "ghost"}]}),
        "```json\n" + json.dumps(GOOD) + "\n```",
    )
    result = Orchestrator(_team(), planner=_planner(fake), seed=2).run_sync("Explain queues")
    assert result.status == "succeeded", result.error
    assert len(fake.requests) == 3
    rejections = of_kind(result.events, "plan_rejected")
    assert [(r.attempt, r.max_attempts, r.next, r.planner) for r in rejections] == [
        (1, 3, "retry", "llm"),
        (2, 3, "retry", "llm"),
    ]
    assert any("not valid JSON" in p for p in rejections[0].problems)
    assert rejections[0].plan is None and rejections[0].text.startswith("Sure!")
    assert any("unknown agent 'ghost'" in p for p in rejections[1].problems)
    assert rejections[1].plan == {"tasks": [{"id": "a", "agent": "ghost"}]}
    second = fake.requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": "Sure! Here is a plan: {tasks: oops"}
    assert "not valid JSON" in second[-1]["content"]
    third = fake.requests[2].body["messages"]
    assert "unknown agent 'ghost'" in third[-1]["content"]
    assert len(third) == 4 and "oops" not in json.dumps(third)  # the first bad answer is gone
    assert len(of_kind(result.events, "llm_call")) == 3
    # the fold keeps each rejection, worded once, among the run's warnings
    warned = [m for _, level, m in result.state.logs if level == "warning"]
    assert any("llm plan rejected (attempt 2 of 3; asking again)" in m for m in warned)


def test_a_model_that_never_plans_validly_fails_with_what_it_returned(fake: FakeOpenAI) -> None:
    """After max_attempts invalid plans (here: a cycle each time) planning fails with PlanningFailed,
    whose message lists the errors and shows the model's output; the run fails with it."""
    cyclic = json.dumps(
        {
            "tasks": [
                {"id": "a", "agent": "researcher", "depends_on": ["b"]},
                {"id": "b", "agent": "writer", "depends_on": ["a"]},
            ]
        }
    )
    fake.add(cyclic, cyclic)
    planner = _planner(fake, max_attempts=2)
    with pytest.raises(PlanningFailed) as info:
        anyio.run(planner.plan, "x", _team())
    message = str(info.value)
    assert "gave no valid plan in 2 attempt(s)" in message
    assert "dependency cycle a -> b -> a" in message
    assert '"depends_on": ["b"]' in message
    assert info.value.last_output == cyclic

    fake.add(cyclic, cyclic)
    result = Orchestrator(_team(), planner=_planner(fake, max_attempts=2), seed=1).run_sync("x")
    assert result.status == "failed"
    assert "PlanningFailed" in (result.error or "") and "dependency cycle" in (result.error or "")


def test_json_mode_asks_the_server_for_a_json_object(fake: FakeOpenAI) -> None:
    """json_mode=True sends response_format json_object; temperature defaults to 0 for stable plans,
    and every plan request is capped (max_tokens 512 by default)."""
    fake.add(json.dumps(GOOD))
    plan = anyio.run(_planner(fake, json_mode=True).plan, "x", _team())
    assert isinstance(plan, Plan)
    body = fake.requests[0].body
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0.0
    assert body["max_tokens"] == 512


def test_schema_mode_sends_the_plan_schema_naming_only_the_agents_at_hand(
    fake: FakeOpenAI,
) -> None:
    """json_mode="schema" sends response_format json_schema whose agent field is an enum of the
    registered agents, and whose shape the plan checker accepts."""
    fake.add(json.dumps({**GOOD, "synthesize": "last"}))
    plan = anyio.run(_planner(fake, json_mode="schema", max_tokens=300).plan, "x", _team())
    assert [t.agent for t in plan.tasks] == ["researcher", "writer"]
    body = fake.requests[0].body
    assert body["max_tokens"] == 300
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "plan"
    task = fmt["json_schema"]["schema"]["properties"]["tasks"]["items"]
    assert task["properties"]["agent"]["enum"] == ["researcher", "writer"]
    with pytest.raises(ValueError, match="json_mode"):
        _planner(fake, json_mode="yaml")


def test_fallback_planner_makes_the_plan_after_the_last_rejection(fake: FakeOpenAI) -> None:
    """With fallback=RuleBasedPlanner(), max_attempts bad plans end in a plan_rejected saying
    "fallback" (naming the fallback) and the rule-based plan runs, its plan_created naming the
    planner that made it."""
    from toolkit.planning import RuleBasedPlanner

    selfish = json.dumps({"tasks": [{"id": "a", "agent": "writer", "depends_on": ["a"]}]})
    fake.add(selfish, selfish)
    planner = _planner(fake, max_attempts=2, fallback=RuleBasedPlanner())
    result = Orchestrator(_team(), planner=planner, seed=1).run_sync("research queues, then write")
    assert result.status == "succeeded", result.error
    rejections = of_kind(result.events, "plan_rejected")
    assert [(r.next, r.fallback) for r in rejections] == [
        ("retry", None),
        ("fallback", "rule-based"),
    ]
    (created,) = of_kind(result.events, "plan_created")
    assert [t["agent"] for t in created.plan["tasks"]] == ["researcher", "writer"]
    assert created.planner == "rule-based (fallback of llm)" == result.state.planner
    assert len(fake.requests) == 2


def test_fallback_also_covers_a_planner_call_that_fails_for_good(fake: FakeOpenAI) -> None:
    """A 400 (say, the context is full) is not retried; with a fallback, one plan_rejected (attempt
    1, the model error as its problem) and the fallback's plan; without, the run fails with it."""
    from toolkit.planning import RuleBasedPlanner

    fake.add(Scripted(status=400, error="the request exceeds the available context size"))
    planner = _planner(fake, fallback=RuleBasedPlanner())
    result = Orchestrator(_team(), planner=planner, seed=1).run_sync("write about queues")
    assert result.status == "succeeded", result.error
    (rejected,) = of_kind(result.events, "plan_rejected")
    assert (rejected.attempt, rejected.next, rejected.fallback) == (1, "fallback", "rule-based")
    assert (
        "request rejected (400)" in rejected.problems[0] and "context size" in rejected.problems[0]
    )
    fake.add(Scripted(status=400, error="the request exceeds the available context size"))
    failed = Orchestrator(_team(), planner=_planner(fake), seed=1).run_sync("write about queues")
    assert failed.status == "failed" and "400" in (failed.error or "")


def test_a_call_failing_after_a_refused_plan_is_the_next_numbered_attempt(fake: FakeOpenAI) -> None:
    """A refused plan, then a model call that fails for good: two plan_rejected events numbered 1
    and 2 (as every refusal is, whatever its cause), the second the failure, then the fallback."""
    from toolkit.planning import RuleBasedPlanner

    selfish = json.dumps({"tasks": [{"id": "a", "agent": "writer", "depends_on": ["a"]}]})
    fake.add(selfish, Scripted(status=400, error="the request exceeds the available context size"))
    planner = _planner(fake, max_attempts=3, fallback=RuleBasedPlanner())
    result = Orchestrator(_team(), planner=planner, seed=1).run_sync("write about queues")
    assert result.status == "succeeded", result.error
    rejections = of_kind(result.events, "plan_rejected")
    assert [(r.attempt, r.next) for r in rejections] == [(1, "retry"), (2, "fallback")]
    assert "the model call failed" in rejections[1].problems[0]
    assert result.state.planner == "rule-based (fallback of llm)"


def test_a_workflow_file_configures_the_planner_cap_schema_and_fallback(tmp_path: Path) -> None:
    """planner: {kind: llm, fallback: rules, json_mode: schema, max_tokens: 256} builds an
    LLMPlanner with those settings and a rule-based fallback; a wrong value is refused."""
    from toolkit.planning import RuleBasedPlanner
    from toolkit.workflow import WorkflowError, load_workflow

    text = (
        "name: w\npattern: planner\n"
        "planner: {kind: llm, model: m, base_url: 'http://127.0.0.1:9/v1', fallback: rules, "
        "json_mode: schema, max_tokens: 256}\n"
        "agents:\n  writer: {kind: mock}\n"
    )
    path = tmp_path / "w.yaml"
    path.write_text(text)
    planner = load_workflow(path).orchestrator().planner
    assert isinstance(planner, LLMPlanner)
    assert (planner.json_mode, planner.max_tokens) == ("schema", 256)
    assert isinstance(planner.fallback, RuleBasedPlanner)
    path.write_text(text.replace("fallback: rules", "fallback: magic"))
    with pytest.raises(WorkflowError, match="fallback"):
        load_workflow(path)


def test_planner_model_errors_are_not_plan_rejections(fake: FakeOpenAI) -> None:
    """A 500 on the planner's call is retried as a model error, not counted as a bad plan."""
    fake.add(Scripted(status=500), json.dumps(GOOD))
    result = Orchestrator(_team(), planner=_planner(fake), seed=1).run_sync("x")
    assert result.status == "succeeded"
    (call,) = of_kind(result.events, "llm_call")
    assert call.attempts == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1, 2", "not valid JSON"),
        ('"just a string"', "expected a JSON object"),
        (json.dumps({"tasks": [{"id": "a"}]}), "tasks.0.agent: Field required"),
        (
            json.dumps({"tasks": [{"id": "a", "agent": "writer", "colour": "red"}]}),
            "tasks.0.colour: Extra inputs are not permitted",
        ),
        (json.dumps({"tasks": []}), "the plan has no tasks"),
        (
            json.dumps({"tasks": [{"id": "a", "agent": "writer", "prompt": "{{zzz}}"}]}),
            "unknown task 'zzz'",
        ),
    ],
)
def test_check_plan_reports_each_kind_of_problem(text: str, error: str) -> None:
    """check_plan rejects bad JSON, wrong shapes, schema errors and invalid DAGs with a located message."""
    plan, errors = check_plan(text, ["writer"])
    assert plan is None
    assert any(error in e for e in errors), errors


def test_check_plan_accepts_the_issue_vocabulary_and_a_bare_task_list() -> None:
    """``input`` and ``dependencies`` are read as prompt and depends_on; a bare list is the task list."""
    text = json.dumps(
        [
            {"id": "a", "agent": "writer", "input": "{{input}}"},
            {"id": "b", "agent": "writer", "input": "polish", "dependencies": "a"},
        ]
    )
    plan, errors = check_plan(text, ["writer"])
    assert errors == [] and plan is not None
    assert plan.task("b").depends_on == ["a"] and plan.task("a").prompt == "{{input}}"


def test_synthesizer_answers_from_every_result_and_is_traced(fake: FakeOpenAI) -> None:
    """The LLM synthesizer gets the request and each task's result in plan order; its streamed
    answer is the run's output, traced as llm_call and llm_delta of the synthesizer."""
    fake.add("Queues let services work at their own pace, buffering bursts.")
    plan = Plan(
        name="p",
        tasks=[
            Task(id="research", agent="researcher", goal="facts"),
            Task(id="write", agent="writer", prompt="{{research}}"),
        ],
    )
    synth = LLMSynthesizer("gpt-4o-mini", base_url=fake.base_url, system="Answer in one sentence.")
    result = Orchestrator(_team(), synthesizer=synth, seed=1).run_sync("Why queues?", plan)
    assert result.status == "succeeded"
    assert result.output == "Queues let services work at their own pace, buffering bursts."
    user = fake.requests[0].body["messages"][1]["content"]
    assert user.startswith("Request:\nWhy queues?")
    assert user.index("## research (researcher: facts)\nfacts about facts") < user.index(
        "## write (writer)"
    )
    (call,) = of_kind(result.events, "llm_call")
    assert (call.agent, call.purpose) == ("synthesizer", "synthesizer")
    assert (
        "".join(d.text for d in of_kind(result.events, "llm_delta") if d.agent == "synthesizer")
        == result.output
    )
    final = [m for m in result.state.messages if m.recipient == "user"][-1]
    assert final.payload == result.output


def test_synthesizer_respects_synthesize_none_and_marks_missing_results(fake: FakeOpenAI) -> None:
    """synthesize: none makes no call; a task without a result is shown to the model as missing."""
    synth = LLMSynthesizer("gpt-4o-mini", base_url=fake.base_url)
    plan = Plan(tasks=[Task(id="a", agent="writer")], synthesize="none")
    assert anyio.run(synth.__call__, "x", plan, {}, None) is None
    assert fake.requests == []
    messages = synth.messages("x", Plan(tasks=[Task(id="a", agent="writer")]), {})
    assert "(no result: the task failed or was skipped)" in messages[1]["content"]
