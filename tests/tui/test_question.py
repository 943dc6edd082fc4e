"""Pilot tests of the question modal: a person answers a human agent from the TUI."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.services import wait_until as wait_state
from toolkit import Orchestrator
from toolkit.agents import MockAgent
from toolkit.human import AnswerBox, HumanAgent, open_questions
from toolkit.plan import Plan, ReviewSpec, Task
from toolkit.sources import LiveRunSource, open_store
from toolkit.state import fold
from toolkit.store import RunStore, StoreError
from tui.app import SwitchboardApp
from tui.screens.main import MainScreen
from tui.screens.question import QuestionScreen

from .conftest import screen_text, wait_run_done, wait_until

pytestmark = pytest.mark.anyio

SIZE = (120, 40)


def _review_source() -> LiveRunSource:
    def factory(sinks: Any) -> Any:
        orch = Orchestrator(
            [MockAgent("dev", reply=["v1", "v2"]), HumanAgent("lead", person="alice")]
        )
        plan = Plan(
            name="review",
            tasks=[Task(id="build", agent="dev", review=ReviewSpec(reviewer="lead", max_rounds=3))],
        )
        return orch.prepare("build it", plan, sinks=sinks)

    return LiveRunSource("review", factory)


async def test_the_modal_answers_a_live_run_with_the_keyboard() -> None:
    """`a` opens the open question (text and context shown); down + enter rejects with
    the comment typed after tab, the worker revises; enter approves the next draft."""
    app = SwitchboardApp(_review_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await wait_until(pilot, lambda: bool(open_questions(screen.timeline.latest)))
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionScreen))
        text = screen_text(app)
        assert "lead asks alice (build)" in text and "v1" in text and "reject" in text
        await pilot.press("down", "tab", *"needs tests", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_until(
            pilot,
            lambda: any("v2" in q.text for q in open_questions(screen.timeline.latest)),
        )
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionScreen))
        await pilot.press("enter")
        screen = await wait_run_done(pilot)
        state = screen.timeline.latest
        assert state.status == "succeeded"
        assert state.output == "v2" or "v2" in str(state.output)
        assert [v[:3] for v in state.tasks["build"].verdicts] == [
            (1, False, "needs tests"),
            (2, True, ""),
        ]
        answers = [m for m in state.messages if m.kind == "answer"]
        assert [(m.sender, m.payload["via"]) for m in answers] == [("alice", "tui")] * 2


async def test_escape_closes_without_answering_and_a_is_quiet_without_a_question() -> None:
    """Escape leaves the question open; `a` with no open question only says so."""
    app = SwitchboardApp(_review_source())
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        await wait_until(pilot, lambda: bool(open_questions(screen.timeline.latest)))
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert open_questions(screen.timeline.latest)
        screen.source.cancel()
        screen = await wait_run_done(pilot)
        assert screen.timeline.latest.status == "cancelled"
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


def _stored_question(db: Path, run_id: str) -> bool:
    try:
        return bool(open_questions(fold(RunStore(db).events(run_id))))
    except StoreError:
        return False  # not flushed yet


async def test_the_modal_answers_a_stored_run_through_the_store(tmp_path: Path) -> None:
    """A run of another thread recording to a store, opened from the store: the modal's
    choice goes through the store and the run takes it."""
    db = tmp_path / "runs.db"
    orch = Orchestrator([HumanAgent("lead", mode="choose", options=["ship", "hold"])])
    run = orch.prepare("go", Plan(name="p", tasks=[Task(id="decide", agent="lead")]), store=db)
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(anyio.run(run.execute)))
    thread.start()
    try:
        wait_state(lambda: db.exists() and bool(AnswerBox(db).questions(run.run_id)))
        # the question event reaches the store with the store's next batch
        wait_state(lambda: _stored_question(db, run.run_id), what="the stored question event")
        app = SwitchboardApp(open_store(db, run.run_id))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: bool(open_questions(screen.timeline.latest)))
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, QuestionScreen))
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
        thread.join(30)
    finally:
        if thread.is_alive():
            run.cancel()
            thread.join(30)
    assert out[0].results == {"decide": "hold"}
    (answer,) = [
        e.envelope
        for e in out[0].events
        if e.kind == "message_sent" and e.envelope.kind == "answer"
    ]
    assert answer.payload["via"] == "tui"
