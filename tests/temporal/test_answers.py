"""A run on Temporal waits for a person in its workflow: the open questions are a query,
an answer is a signal; sent from Python, from `switchboard answer --temporal` and from
the HTTP route of `switchboard serve --temporal`, against the real dev server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("temporalio")

from tests.services import Service
from toolkit.agents import MockAgent
from toolkit.human import AnswerError, HumanAgent, QuestionClosed
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.temporal import TemporalExecutor, connect, make_worker
from toolkit.temporal.answers import answer_on_temporal, questions_on_temporal

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


def _agents() -> list[Any]:
    return [
        MockAgent("writer", reply="notes"),
        HumanAgent("lead", person="alice", mode="choose", options=["ship", "hold"]),
        HumanAgent("boss", person="bob"),
    ]


PLAN = Plan(
    name="asks",
    tasks=[
        Task(id="write", agent="writer"),
        Task(id="decide", agent="lead", prompt="Ship {{write}}?", depends_on=["write"]),
        Task(id="sign", agent="boss", prompt="Sign {{decide}}?", depends_on=["decide"]),
    ],
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toolkit.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


async def _asked(client: Any, run_id: str, task_id: str) -> Any:
    """The open question of ``task_id``, once the workflow has asked it."""
    with anyio.fail_after(120):
        while True:
            try:
                found = [q for q in await questions_on_temporal(client, run_id)]
            except AnswerError:
                found = []  # the workflow has not started yet
            for q in found:
                if q.task_id == task_id:
                    return q
            await anyio.sleep(0.05)


async def test_answers_reach_the_workflow_as_signals_from_python_and_the_cli(
    temporal: Service, tmp_path: Path
) -> None:
    """The choice comes from `switchboard answer --temporal` in another process (a wrong
    one is refused there in one line), the approval from Python; the run ends with both,
    each answer traced with its person and channel, and the wait in the metrics."""
    address = temporal.address  # type: ignore[attr-defined]
    client = await connect(address)
    q = f"q-{uuid.uuid4().hex[:8]}"
    box: dict[str, Any] = {}
    async with make_worker(client, _agents(), task_queue=q):
        orch = Orchestrator(_agents(), executor=TemporalExecutor(client=client, task_queue=q))
        run = orch.prepare("go", PLAN)

        async def execute() -> None:
            box["result"] = await run.execute()

        async with anyio.create_task_group() as tg:
            tg.start_soon(execute)
            asked = await _asked(client, run.run_id, "decide")
            assert (asked.person, asked.options, asked.text) == (
                "alice",
                ["ship", "hold"],
                "Ship notes?",
            )
            listed = await anyio.to_thread.run_sync(
                lambda: _cli("questions", run.run_id, "--temporal", address)
            )
            assert listed.returncode == 0 and "decide alice choose: ship, hold" in listed.stdout
            wrong = await anyio.to_thread.run_sync(
                lambda: _cli(
                    "answer", run.run_id, "decide", "--choose", "later", "--temporal", address
                )
            )
            assert wrong.returncode == 2 and "not an option" in wrong.stderr
            assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
            with pytest.raises(QuestionClosed):
                await answer_on_temporal(client, run.run_id, "sign", approve=True)
            ok = await anyio.to_thread.run_sync(
                lambda: _cli(
                    "answer", run.run_id, "decide", "--choose", "ship", "--by", "alice",
                    "--comment", "go", "--temporal", address,
                )
            )  # fmt: skip
            assert ok.returncode == 0, ok.stderr
            await _asked(client, run.run_id, "sign")
            await answer_on_temporal(
                client, run.run_id, "sign", approve=True, by="bob", via="api", comment="signed"
            )
    result = box["result"]
    assert result.status == "succeeded", result.error
    assert result.results["decide"] == "ship"
    assert result.results["sign"] == {"approved": True, "feedback": "signed", "by": "bob"}
    answers = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert [(a.sender, a.recipient, a.payload["via"]) for a in answers] == [
        ("alice", "lead", "cli"),
        ("bob", "boss", "api"),
    ]
    waited = result.metrics().set_index("agent")["waited_s"]
    assert waited["lead"] > 0 and waited["boss"] > 0 and waited["writer"] == 0
    with pytest.raises(QuestionClosed, match="no open question"):  # the run is over
        await answer_on_temporal(client, result.run_id, "decide", choice="hold")


async def test_a_deadline_on_temporal_is_a_durable_timer(temporal: Service) -> None:
    """Nobody answers: the workflow's timer takes the default action at the deadline."""
    client = await connect(temporal.address)  # type: ignore[attr-defined]
    q = f"q-{uuid.uuid4().hex[:8]}"
    agents = [HumanAgent("boss", deadline_s=0.5, default="reject")]
    async with make_worker(client, agents, task_queue=q):
        orch = Orchestrator(agents, executor=TemporalExecutor(client=client, task_queue=q))
        result = await orch.run("go", Plan(name="late", tasks=[Task(id="sign", agent="boss")]))
    assert result.status == "succeeded"
    assert result.results["sign"]["approved"] is False
    (answer,) = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert (answer.sender, answer.payload["via"]) == ("orchestrator", "deadline")
    # the timer fires at the deadline or later (how much later depends on the machine)
    assert answer.payload["waited_s"] >= 0.45


async def test_the_http_answer_route_of_serve_temporal_signals_the_workflow(
    temporal: Service, tmp_path: Path
) -> None:
    """`switchboard serve --temporal` lists the questions of a run it does not hold from
    the run's workflow and answers it with the signal: a wrong answer is 422, a task
    that asks nothing 409, an unknown run 404, the right answer 201."""
    import httpx

    from tests.serve.conftest import start_server

    address = temporal.address  # type: ignore[attr-defined]
    client = await connect(address)
    q = f"q-{uuid.uuid4().hex[:8]}"
    agents = [MockAgent("writer", reply="notes"), HumanAgent("boss", person="bob")]
    plan = Plan(
        name="served",
        tasks=[
            Task(id="write", agent="writer"),
            Task(id="sign", agent="boss", prompt="Sign {{write}}?", depends_on=["write"]),
        ],
    )
    server = await anyio.to_thread.run_sync(lambda: start_server(tmp_path, "--temporal", address))
    box: dict[str, Any] = {}
    try:
        async with (
            make_worker(client, agents, task_queue=q),
            httpx.AsyncClient(base_url=server.base, headers=server.auth, timeout=60) as http,
        ):
            orch = Orchestrator(agents, executor=TemporalExecutor(client=client, task_queue=q))
            run = orch.prepare("go", plan)

            async def execute() -> None:
                box["result"] = await run.execute()

            async with anyio.create_task_group() as tg:
                tg.start_soon(execute)
                await _asked(client, run.run_id, "sign")
                listed = (await http.get(f"/v1/runs/{run.run_id}/questions")).json()
                assert [x["task_id"] for x in listed["questions"]] == ["sign"]
                assert listed["questions"][0]["person"] == "bob"
                url = f"/v1/runs/{run.run_id}/answers"
                wrong = await http.post(url, json={"task_id": "sign", "choice": "ship"})
                assert wrong.status_code == 422, wrong.text
                idle = await http.post(url, json={"task_id": "write", "approve": True})
                assert idle.status_code == 409, idle.text
                unknown = await http.post(
                    "/v1/runs/nope/answers", json={"task_id": "sign", "approve": True}
                )
                assert unknown.status_code == 404, unknown.text
                ok = await http.post(
                    url, json={"task_id": "sign", "approve": True, "by": "bob", "comment": "ok"}
                )
                assert ok.status_code == 201, ok.text
                assert ok.json()["answer"]["via"] == "http"
    finally:
        server.service.stop()
    result = box["result"]
    assert result.status == "succeeded"
    assert result.results["sign"] == {"approved": True, "feedback": "ok", "by": "bob"}
    (answer,) = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert (answer.sender, answer.payload["via"]) == ("bob", "http")


async def test_the_tui_modal_answers_a_run_on_temporal_with_the_signal(
    temporal: Service,
) -> None:
    """`switchboard tui --temporal HOST:PORT --run ID`: `a` opens the workflow's open
    question, enter approves, and the answer reaches the workflow as its signal."""
    from tests.tui.conftest import wait_until
    from toolkit.human import open_questions
    from toolkit.temporal.source import TemporalSource
    from tui.app import SwitchboardApp
    from tui.screens.question import QuestionScreen

    address = temporal.address  # type: ignore[attr-defined]
    client = await connect(address)
    q = f"q-{uuid.uuid4().hex[:8]}"
    agents = [HumanAgent("lead", person="alice")]
    box: dict[str, Any] = {}
    async with make_worker(client, agents, task_queue=q):
        orch = Orchestrator(agents, executor=TemporalExecutor(client=client, task_queue=q))
        run = orch.prepare("go", Plan(name="tui", tasks=[Task(id="sign", agent="lead")]))

        async def execute() -> None:
            box["result"] = await run.execute()

        async with anyio.create_task_group() as tg:
            tg.start_soon(execute)
            await _asked(client, run.run_id, "sign")
            app = SwitchboardApp(TemporalSource(address, run.run_id))
            async with app.run_test(size=(120, 40)) as pilot:
                screen = app.main
                await wait_until(
                    pilot, lambda: bool(open_questions(screen.timeline.latest)), timeout_s=60
                )
                await pilot.press("a")
                await wait_until(pilot, lambda: isinstance(app.screen, QuestionScreen))
                await pilot.press("enter")
                await wait_until(
                    pilot, lambda: screen.timeline.latest.status == "succeeded", timeout_s=60
                )
    result = box["result"]
    assert result.results["sign"]["approved"] is True
    (answer,) = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert (answer.sender, answer.payload["via"]) == ("alice", "tui")


async def test_a_waiting_run_replays_from_history_with_its_answers(temporal: Service) -> None:
    """With no workflow kept in memory, every workflow task replays the run from its
    history, signals included: the questions and answers come out the same, once each."""
    client = await connect(temporal.address)  # type: ignore[attr-defined]
    q = f"q-{uuid.uuid4().hex[:8]}"
    box: dict[str, Any] = {}
    async with make_worker(client, _agents(), task_queue=q, max_cached_workflows=0):
        orch = Orchestrator(_agents(), executor=TemporalExecutor(client=client, task_queue=q))
        run = orch.prepare("go", PLAN)

        async def execute() -> None:
            box["result"] = await run.execute()

        async with anyio.create_task_group() as tg:
            tg.start_soon(execute)
            await _asked(client, run.run_id, "decide")
            await answer_on_temporal(client, run.run_id, "decide", choice="hold", by="alice")
            await _asked(client, run.run_id, "sign")
            await answer_on_temporal(client, run.run_id, "sign", approve=False, comment="no")
    result = box["result"]
    assert result.status == "succeeded"
    assert result.results["decide"] == "hold"
    assert result.results["sign"]["approved"] is False
    kinds = [
        e.envelope.kind
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind in ("question", "answer")
    ]
    assert kinds == ["question", "answer", "question", "answer"]
