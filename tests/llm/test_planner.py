"""The LLM planner and synthesizer end to end over real HTTP: valid plans, malformed plans, failure."""

from __future__ import annotations

import json

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
    """Bad JSON, then an unknown agent, then a valid plan: two rejections logged, each correction
    request carries the errors, and the third plan runs."""
    fake.add(
        "Sure! Here is a plan: {tasks: oops",
        json.dumps({"tasks": [{"id": "a", "agent": "ghost"}]}),
        "```json\n" + json.dumps(GOOD) + "\n```",
    )
    result = Orchestrator(_team(), planner=_planner(fake), seed=2).run_sync("Explain queues")
    assert result.status == "succeeded", result.error
    assert len(fake.requests) == 3
    rejections = [e for e in of_kind(result.events, "log") if e.agent == "planner"]
    assert len(rejections) == 2
    assert "not valid JSON" in rejections[0].message
    assert "unknown agent 'ghost'" in rejections[1].message
    second = fake.requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": "Sure! Here is a plan: {tasks: oops"}
    assert "not valid JSON" in second[-1]["content"]
    third = fake.requests[2].body["messages"]
    assert "unknown agent 'ghost'" in third[-1]["content"]
    assert len(of_kind(result.events, "llm_call")) == 3


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
    """json_mode=True sends response_format json_object; temperature defaults to 0 for stable plans."""
    fake.add(json.dumps(GOOD))
    plan = anyio.run(_planner(fake, json_mode=True).plan, "x", _team())
    assert isinstance(plan, Plan)
    body = fake.requests[0].body
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0.0


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
