"""A human in the loop: questions, answers, deadlines, review loops and the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.services import wait_until
from toolkit import Orchestrator
from toolkit.agents import FunctionAgent, MockAgent
from toolkit.human import AnswerBox, AnswerError, HumanAgent, question_rows, waiting
from toolkit.plan import Plan, ReviewSpec, Task
from toolkit.workflow import load_workflow

ROOT = Path(__file__).resolve().parents[2]


def _plan(*tasks: Task) -> Plan:
    return Plan(name="human", tasks=list(tasks))


def _messages(result: Any, kind: str) -> list[Any]:
    return [
        e.envelope for e in result.events if e.kind == "message_sent" and e.envelope.kind == kind
    ]


async def _answer_when_asked(run: Any, task_id: str, **fields: Any) -> None:
    while not any(q.task_id == task_id for q in waiting(run.run_id)):
        await anyio.sleep(0.005)
    run.answer(task_id, **fields)


def test_question_and_answer_are_traced_messages_with_the_person() -> None:
    """A human task sends a question agent → person and gets an answer person → agent;
    the choice is the task's output and the answer records who decided and the wait."""
    orch = Orchestrator(
        [
            MockAgent("writer", reply="draft"),
            HumanAgent("boss", person="alice", mode="choose", options=["ship", "hold"]),
        ]
    )
    plan = _plan(
        Task(id="write", agent="writer"),
        Task(id="decide", agent="boss", prompt="Ship {{write}}?", depends_on=["write"]),
    )

    async def main() -> Any:
        run = orch.prepare("go", plan)
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: _answer_when_asked(run, "decide", choice="ship", comment="ok", by="alice")
            )
            return await run.execute()

    result = anyio.run(main)
    assert result.status == "succeeded"
    assert result.results["decide"] == "ship"
    (question,) = _messages(result, "question")
    (answer,) = _messages(result, "answer")
    assert (question.sender, question.recipient) == ("boss", "alice")
    assert question.payload["text"] == "Ship draft?"
    assert question.payload["options"] == ["ship", "hold"]
    assert (answer.sender, answer.recipient, answer.parent_id) == (
        "alice",
        "boss",
        question.message_id,
    )
    assert "alice" in result.state.participants
    (row,) = question_rows(result.events)
    assert row["answer"] == "ship" and row["by"] == "alice" and row["waited_s"] >= 0


def test_an_answer_that_does_not_fit_is_refused_and_the_question_stays_open() -> None:
    """A choice outside the options, or an approval of a choose question, raises
    AnswerError; the question stays open and a valid answer then ends it."""
    orch = Orchestrator([HumanAgent("boss", mode="choose", options=["a", "b"])])
    refusals: list[str] = []

    async def answer(run: Any) -> None:
        while not waiting(run.run_id):
            await anyio.sleep(0.005)
        for bad in ({"choice": "c"}, {"approve": True}, {"choice": "a", "text": "x"}):
            with pytest.raises(AnswerError) as info:
                run.answer("pick", **bad)
            refusals.append(str(info.value))
        assert waiting(run.run_id)
        run.answer("pick", choice="b")
        with pytest.raises(AnswerError, match=r"answered already|no open question"):
            run.answer("pick", choice="a")

    async def main() -> Any:
        run = orch.prepare("go", _plan(Task(id="pick", agent="boss")))
        async with anyio.create_task_group() as tg:
            tg.start_soon(answer, run)
            return await run.execute()

    result = anyio.run(main)
    assert result.results == {"pick": "b"}
    assert (
        "not an option" in refusals[0] and "choose" in refusals[1] and "exactly one" in refusals[2]
    )


def test_an_answer_from_another_thread_wakes_the_run() -> None:
    """Run.answer is safe from another thread (a TUI or a notebook button)."""
    orch = Orchestrator([HumanAgent("boss", mode="text")])
    run = orch.prepare("go", _plan(Task(id="say", agent="boss", prompt="Say something")))
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(anyio.run(run.execute)))
    thread.start()
    wait_until(lambda: bool(waiting(run.run_id)), what="the question")
    run.answer("say", text="hello")
    thread.join(30)
    assert out[0].results == {"say": "hello"}


@pytest.mark.parametrize(
    ("default", "status", "output"),
    [
        ("approve", "succeeded", {"approved": True}),
        ("reject", "succeeded", {"approved": False}),
        ("fail", "failed", None),
    ],
)
def test_the_deadline_takes_the_default_action_on_the_simulated_clock(
    default: str, status: str, output: Any
) -> None:
    """With nobody answering, the default action is taken exactly at the deadline of
    the run's (simulated) clock, and the orchestrator is the sender of that answer."""
    orch = Orchestrator([HumanAgent("boss", deadline_s=3600, default=default)], clock="simulated")
    result = orch.run_sync("go", _plan(Task(id="ok", agent="boss")))
    assert result.status == status
    (question,) = _messages(result, "question")
    (answer,) = _messages(result, "answer")
    assert answer.sender == "orchestrator"
    assert answer.sent_at - question.sent_at == pytest.approx(3600)
    assert answer.payload["via"] == "deadline"
    if output is not None:
        assert result.results["ok"]["approved"] is output["approved"]


def test_the_deadline_can_hand_the_task_to_its_fallback_agent() -> None:
    """default: fallback fails the attempt as unavailable and the task's fallback answers."""
    orch = Orchestrator(
        [
            HumanAgent("boss", deadline_s=60, default="fallback"),
            MockAgent("auto", reply="auto-approved"),
        ],
        clock="simulated",
    )
    result = orch.run_sync("go", _plan(Task(id="ok", agent="boss", fallback="auto")))
    assert result.status == "succeeded"
    assert result.results == {"ok": "auto-approved"}
    assert result.state.tasks["ok"].fallback_used


def test_on_simulated_time_an_answer_in_the_run_beats_the_deadline() -> None:
    """On simulated time a person answering after 30 virtual seconds (a task of the same
    run) is heard before a 60-second deadline; the wait shows as 30 s."""
    holder: dict[str, Any] = {}

    async def person(text: str) -> str:
        await anyio.sleep(30)
        await _answer_when_asked(holder["run"], "ok", approve=False, comment="too short")
        return "answered"

    orch = Orchestrator(
        [HumanAgent("boss", deadline_s=60, default="approve"), FunctionAgent(person, "person")],
        clock="simulated",
    )
    run = holder["run"] = orch.prepare(
        "go", _plan(Task(id="ok", agent="boss"), Task(id="p", agent="person"))
    )
    result = anyio.run(run.execute)
    assert result.results["ok"] == {"approved": False, "feedback": "too short", "by": "human"}
    (row,) = question_rows(result.events)
    assert row["waited_s"] == pytest.approx(30)
    assert row["via"] == "api"


def test_a_human_reviewer_drives_a_review_loop() -> None:
    """A HumanAgent as review.reviewer: a rejection's comment is the worker's feedback
    for the next round, and an approval ends the loop."""
    orch = Orchestrator([MockAgent("dev", reply=["v1", "v2"]), HumanAgent("lead")])
    plan = _plan(Task(id="build", agent="dev", review=ReviewSpec(reviewer="lead", max_rounds=3)))
    prompts: list[str] = []

    async def person(run: Any) -> None:
        for approve, comment in ((False, "add tests"), (True, "good")):
            while not waiting(run.run_id):
                await anyio.sleep(0.005)
            prompts.append(waiting(run.run_id)[0].text)
            run.answer("build", approve=approve, comment=comment)
            while waiting(run.run_id):
                await anyio.sleep(0.005)

    async def main() -> Any:
        run = orch.prepare("go", plan)
        async with anyio.create_task_group() as tg:
            tg.start_soon(person, run)
            return await run.execute()

    result = anyio.run(main)
    assert result.results == {"build": "v2"}
    assert [v[:2] for v in result.state.tasks["build"].verdicts] == [(1, False), (2, True)]
    assert "v1" in prompts[0] and "v2" in prompts[1]
    revisions = [e for e in _messages(result, "directive") if e.recipient == "dev"]
    assert "add tests" in revisions[1].payload


def test_a_human_agent_refuses_defaults_that_do_not_fit() -> None:
    """A default that does not fit the mode is refused when the agent is made."""
    with pytest.raises(ValueError, match="does not fit"):
        HumanAgent("x", mode="text", default="approve")
    with pytest.raises(ValueError, match="needs options"):
        HumanAgent("x", mode="choose")
    with pytest.raises(ValueError, match="does not fit"):
        HumanAgent("x", mode="choose", options=["a"], default="b")


def test_kind_human_in_a_workflow_file() -> None:
    """`kind: human` builds HumanAgents with their person, mode, options and deadline."""
    wf = load_workflow(ROOT / "sample_agents/workflows/human/human-approval.yaml")
    agents = {a.name: a for a in wf.build_agents()}
    lead = agents["lead"]
    assert isinstance(lead, HumanAgent)
    assert (lead.person, lead.mode, lead.options, lead.deadline_s, lead.default) == (
        "alice",
        "choose",
        ["ship", "hold"],
        3600,
        "hold",
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_switchboard_answer_from_another_process_through_the_store(tmp_path: Path) -> None:
    """A run recording to a store waits; `switchboard answer` in another process answers
    it through the store; a wrong answer and an unknown task are one-line errors (exit 2)."""
    db = tmp_path / "runs.db"
    orch = Orchestrator(
        [
            MockAgent("writer", reply="notes"),
            HumanAgent("lead", mode="choose", options=["ship", "hold"]),
        ]
    )
    plan = _plan(
        Task(id="write", agent="writer"),
        Task(id="decide", agent="lead", prompt="{{write}}", depends_on=["write"]),
    )
    run = orch.prepare("go", plan, store=db)
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(anyio.run(run.execute)))
    thread.start()
    try:
        wait_until(
            lambda: db.exists() and bool(AnswerBox(db).questions(run.run_id)),
            what="the stored question",
        )
        listed = _cli("questions", run.run_id, "--store", str(db))
        assert (
            listed.returncode == 0 and "decide" in listed.stdout and "ship, hold" in listed.stdout
        )
        wrong = _cli("answer", run.run_id, "decide", "--choose", "later", "--store", str(db))
        assert wrong.returncode == 2 and "not an option" in wrong.stderr
        assert "Traceback" not in wrong.stderr and len(wrong.stderr.splitlines()) == 1
        missing = _cli("answer", run.run_id, "nope", "--approve", "--store", str(db))
        assert missing.returncode == 2 and "no open question" in missing.stderr
        ok = _cli(
            "answer",
            run.run_id,
            "decide",
            "--choose",
            "ship",
            "--comment",
            "go",
            "--by",
            "bob",
            "--store",
            str(db),
        )
        assert ok.returncode == 0, ok.stderr
    finally:
        if thread.is_alive() and not out:
            thread.join(30)
        if thread.is_alive():
            run.cancel()
            thread.join(30)
    result = out[0]
    assert result.results["decide"] == "ship"
    (answer,) = _messages(result, "answer")
    assert (answer.sender, answer.payload["via"], answer.payload["comment"]) == ("bob", "cli", "go")
    again = _cli("answer", run.run_id, "decide", "--choose", "hold", "--store", str(db))
    assert again.returncode == 2


def test_a_person_is_asked_only_after_n_rounds_of_disagreement() -> None:
    """EscalatingReviewer: the reviewer agent alone judges round 1; its rejection in
    round 2 goes to the person, whose approval ends the loop (one question in all)."""
    from toolkit.human import EscalatingReviewer

    human = HumanAgent("lead", person="alice")
    critic = MockAgent("critic", reply="needs more work")
    orch = Orchestrator(
        [
            MockAgent("dev", reply=["v1", "v2", "v3"]),
            EscalatingReviewer("review", critic, human, after_rounds=2),
        ]
    )
    plan = _plan(Task(id="build", agent="dev", review=ReviewSpec(reviewer="review", max_rounds=4)))

    async def main() -> Any:
        run = orch.prepare("go", plan)
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: _answer_when_asked(
                    run, "build", approve=True, comment="ship it", by="alice"
                )
            )
            return await run.execute()

    result = anyio.run(main)
    assert result.results == {"build": "v2"}
    assert [v[:2] for v in result.state.tasks["build"].verdicts] == [(1, False), (2, True)]
    (question,) = _messages(result, "question")
    assert "still disagree after 2 round(s)" in question.payload["text"]
    assert "needs more work" in question.payload["text"]


WAITING_WORKFLOW = """\
name: waiting
input: notes
agents:
  writer: {kind: mock, reply: "draft"}
  lead: {kind: human, person: alice, mode: choose, options: [ship, hold]}
steps:
  - {id: write, agent: writer}
  - {id: decide, agent: lead, prompt: "Ship {{write}}?", depends_on: [write]}
synthesize: last
"""


def test_a_question_survives_its_process_and_resume_takes_the_answer(tmp_path: Path) -> None:
    """A run waiting for a person is killed; the person answers from another process
    while no process runs it; `switchboard resume` asks the same question again, takes
    that answer and finishes with it."""
    from tests.services import Service
    from toolkit.store import RunStore

    workflow = tmp_path / "waiting.yaml"
    workflow.write_text(WAITING_WORKFLOW)
    db = tmp_path / "runs.db"
    box = AnswerBox(db)

    def asked() -> bool:
        try:
            runs = RunStore(db).runs()
            return bool(runs) and bool(box.questions(runs[0].run_id))
        except Exception:
            return False  # the store is not written yet

    service = Service(
        [sys.executable, "-m", "toolkit.cli", "run", str(workflow), "--store", str(db)],
        asked,
        name="switchboard run",
        log=tmp_path / "run.log",
    ).start()
    try:
        run_id = RunStore(db).runs()[0].run_id
        (question,) = box.questions(run_id)
    finally:
        service.kill()
    wait_until(lambda: RunStore(db).info(run_id).status == "interrupted", what="interrupted")
    ok = _cli("answer", run_id, "decide", "--choose", "hold", "--by", "alice", "--store", str(db))
    assert ok.returncode == 0, ok.stderr
    resumed = _cli("resume", run_id, "--store", str(db))
    assert resumed.returncode == 0, resumed.stderr
    stored = RunStore(db)
    assert stored.info(run_id).status == "succeeded"
    events = stored.events(run_id)
    questions = [
        e.envelope for e in events if e.kind == "message_sent" and e.envelope.kind == "question"
    ]
    answers = [
        e.envelope for e in events if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert len(questions) == 2
    assert questions[1].payload["question_id"] == question.question_id
    (answer,) = answers
    assert (answer.sender, answer.payload["choice"], answer.payload["via"]) == (
        "alice",
        "hold",
        "cli",
    )
    assert stored.results(run_id)["decide"].output == "hold"


def test_the_conflict_resolver_lets_a_person_decide() -> None:
    """Resolver(strategy="human"): the person is asked to choose among the agents whose
    positions are listed; the chosen position wins and the resolution names the person."""
    from toolkit.patterns import conflict
    from toolkit.resolution import Resolver

    person = HumanAgent("chair", person="alice")
    orch = Orchestrator(
        [
            MockAgent("a", reply="ANSWER: red"),
            MockAgent("b", reply="ANSWER: blue"),
            Resolver("resolver", strategy="human", judge=person),
        ]
    )
    plan = conflict(["a", "b"])
    holder: dict[str, Any] = {}

    async def main() -> Any:
        run = holder["run"] = orch.prepare("which colour?", plan)
        async with anyio.create_task_group() as tg:

            async def alice() -> None:
                while not waiting(run.run_id):
                    await anyio.sleep(0.005)
                (q,) = waiting(run.run_id)
                holder["options"], holder["text"] = q.options, q.text
                run.answer(q.task_id, choice="b", by="alice")

            tg.start_soon(alice)
            return await run.execute()

    result = anyio.run(main)
    assert holder["options"] == ["a", "b"]
    assert "1. a: red" in holder["text"] and "2. b: blue" in holder["text"]
    (resolved,) = [e for e in result.events if e.kind == "resolution"]
    assert (
        resolved.answer == "blue" and resolved.decided_by == "alice" and resolved.winners == ["b"]
    )
    with pytest.raises(ValueError, match="needs a human agent"):
        Resolver("r", strategy="human", judge=MockAgent("j"))


def test_the_human_resolver_asks_per_question_and_leaves_its_judge_as_it_is() -> None:
    """The resolver's human judge is asked to choose for that question only: the same
    HumanAgent, asked to approve a task of the same run at the same time, still asks to
    approve, and its own mode, options and default are unchanged afterwards."""
    from toolkit.patterns import conflict
    from toolkit.resolution import Resolver

    chair = HumanAgent("chair", person="alice", mode="approve", default="approve", deadline_s=600)
    orch = Orchestrator(
        [
            MockAgent("a", reply="ANSWER: red"),
            MockAgent("b", reply="ANSWER: blue"),
            Resolver("resolver", strategy="human", judge=chair),
            chair,
        ]
    )
    base = conflict(["a", "b"])
    plan = Plan(name="both", tasks=[*base.tasks, Task(id="sign", agent="chair", prompt="Sign?")])
    asked: dict[str, Any] = {}

    async def main() -> Any:
        run = orch.prepare("which colour?", plan)
        async with anyio.create_task_group() as tg:

            async def alice() -> None:
                while len(waiting(run.run_id)) < 2:
                    await anyio.sleep(0.005)
                for q in waiting(run.run_id):
                    asked[q.task_id] = (q.mode, q.options, q.default)
                    if q.mode == "choose":
                        run.answer(q.task_id, choice="b", by="alice")
                    else:
                        run.answer(q.task_id, approve=True, by="alice")

            tg.start_soon(alice)
            return await run.execute()

    result = anyio.run(main)
    assert result.status == "succeeded"
    resolve = next(t.id for t in base.tasks if t.agent == "resolver")
    assert asked[resolve] == ("choose", ["a", "b"], None)
    assert asked["sign"] == ("approve", [], "approve")
    assert (chair.mode, chair.options, chair.default) == ("approve", [], "approve")
    assert result.results["sign"]["approved"] is True
    assert result.results[resolve] == "blue"
    with pytest.raises(ValueError, match="needs options"):
        anyio.run(lambda: chair.ask(None, mode="choose", options=[]))  # type: ignore[arg-type]
