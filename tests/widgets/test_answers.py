"""The dashboard's questions part, in Python: open questions in the snapshot, and the
page's answer messages delivered to the run (in process, or through the run store)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio

from tests.services import wait_until
from tests.widgets.conftest import HOSTILE
from toolkit import Orchestrator
from toolkit.agents import MockAgent
from toolkit.human import HumanAgent
from toolkit.plan import Plan, Task
from toolkit.sources import SourceError
from toolkit.widgets import RunView

ROOT = Path(__file__).resolve().parents[2]


def _orchestrator() -> tuple[Orchestrator, Plan]:
    orch = Orchestrator(
        [
            MockAgent("writer", reply=HOSTILE),
            HumanAgent("lead", person="alice"),
            HumanAgent("pm", person="bob", mode="choose", options=["ship", "<b>hold</b>"]),
            HumanAgent("scribe", person="carol", mode="text"),
        ]
    )
    plan = Plan(
        name="asks",
        tasks=[
            Task(id="write", agent="writer"),
            Task(id="approve", agent="lead", prompt="Approve {{write}}?", depends_on=["write"]),
            Task(id="pick", agent="pm", prompt="Ship it?", depends_on=["write"]),
            Task(id="note", agent="scribe", prompt="Release notes?", depends_on=["write"]),
        ],
    )
    return orch, plan


def _card(view: RunView, task: str) -> dict[str, Any]:
    return next(q for q in view.snapshot.get("questions", []) if q["task_id"] == task)


def test_open_questions_are_in_the_snapshot_and_answers_from_the_page_reach_the_run() -> None:
    orch, plan = _orchestrator()
    view = RunView(rate_hz=1000)
    run = orch.prepare("go", plan, sinks=[view])
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(anyio.run(run.execute)))
    thread.start()
    try:
        wait_until(lambda: len(view.snapshot.get("questions", [])) == 3, what="three questions")
        approve, pick, note = (_card(view, t) for t in ("approve", "pick", "note"))
        assert approve["mode"] == "approve" and approve["person"] == "alice"
        assert approve["text"] == f"Approve {HOSTILE}?"  # carried as data, literally
        assert approve["context"] == {"write": " ".join(HOSTILE.split())}
        assert pick["options"] == ["ship", "<b>hold</b>"]
        assert note["mode"] == "text"
        # an answer that does not fit is refused with the reason; the question stays open
        wrong = {"type": "answer", "task_id": "pick", "question_id": pick["question_id"]}
        refused = view.answer_from_page({**wrong, "choice": "later"})
        assert not refused["ok"] and "not an option" in refused["message"]
        assert view.answer_note["ok"] is False
        stale = view.answer_from_page({**wrong, "question_id": "pick/9/9", "choice": "ship"})
        assert not stale["ok"] and "not open" in stale["message"]
        sent = [
            {"question_id": approve["question_id"], "task_id": "approve", "approve": False,
             "comment": "too <i>short</i>"},
            {"question_id": pick["question_id"], "task_id": "pick", "choice": "<b>hold</b>"},
            {"question_id": note["question_id"], "task_id": "note", "text": "v2: faster"},
        ]  # fmt: skip
        notes = [view.answer_from_page({"type": "answer", **m}) for m in sent]
        assert [n["ok"] for n in notes] == [True, True, True], notes
        assert notes[0]["message"] == "approve: rejected"
        thread.join(30)
    finally:
        if thread.is_alive():
            run.cancel()
            thread.join(30)
    (result,) = out
    assert result.status == "succeeded"
    assert result.results["approve"] == {
        "approved": False,
        "feedback": "too <i>short</i>",
        "by": "alice",
    }
    assert result.results["pick"] == "<b>hold</b>"
    assert result.results["note"] == "v2: faster"
    answers = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert {(a.sender, a.payload["via"]) for a in answers} == {
        ("alice", "widget"),
        ("bob", "widget"),
        ("carol", "widget"),
    }
    view.close()
    wait_until(lambda: not view.snapshot.get("questions"), what="the questions closed")
    again = view.answer_from_page({"type": "answer", **sent[1]})
    assert not again["ok"] and "not open" in again["message"]


RUN_ELSEWHERE = """
import sys
from toolkit import Orchestrator
from toolkit.agents import MockAgent
from toolkit.human import HumanAgent
from toolkit.plan import Plan, Task

orch = Orchestrator([MockAgent("writer", reply="notes"),
                     HumanAgent("lead", person="alice", mode="choose", options=["ship", "hold"])])
plan = Plan(name="elsewhere", tasks=[Task(id="write", agent="writer"),
            Task(id="decide", agent="lead", prompt="{{write}}", depends_on=["write"])])
result = orch.run_sync("go", plan, store=sys.argv[1])
print(result.status, result.results["decide"])
"""


def test_a_view_of_a_stored_run_answers_through_the_store(tmp_path: Path) -> None:
    """The run is in another process: the view opened from its store answers through
    the store's answer box, and that process's run takes the answer."""
    db = tmp_path / "runs.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_ELSEWHERE, str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        holder: dict[str, Any] = {}

        def asked() -> bool:
            assert proc.poll() is None, proc.communicate()
            if not db.exists():
                return False
            try:
                holder["view"] = RunView.from_store(db)
            except SourceError:
                return False  # the run is not recorded yet
            return bool(holder["view"].snapshot.get("questions"))

        wait_until(asked, what="the stored question")
        view = holder["view"]
        assert view.answer_store == db
        (card,) = view.snapshot["questions"]
        note = view.answer_from_page(
            {"type": "answer", "task_id": "decide", "question_id": card["question_id"],
             "choice": "hold", "comment": "wait a week"}
        )  # fmt: skip
        assert note["ok"], note
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert stdout.split() == ["succeeded", "hold"]
