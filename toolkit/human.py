"""A human in the loop: an agent whose answer comes from a person.

A task addressed to a ``HumanAgent`` asks a person a question and waits for the
answer: approve or reject with a comment (``mode="approve"``), pick one of several
options (``"choose"``) or write free text (``"text"``). The question and the answer
are traced messages (``question``: agent → person; ``answer``: person → agent), so the
message flow shows who decided and how long they took (``waited_s`` on the answer).

An answer reaches the waiting agent by one of two channels, first one wins:

- in process: ``answer(run_id, task_id, ...)`` (also ``Run.answer``), safe from any
  thread of this process (the TUI of a live run, a notebook button);
- through the run store: when the run writes to a ``RunStore`` file (or the agent is
  given ``store=``), the question is written to its ``questions`` table and the agent
  polls the ``answers`` table, so ``switchboard answer RUN_ID TASK --approve`` from
  another terminal, or ``POST /v1/runs/{id}/answers``, answers it (``AnswerBox``).

A question may have a deadline (``deadline_s``, on the run's clock) and a default
action when it passes: approve, reject, one of the options, ``fallback`` (the attempt
fails as ``unavailable`` and the task's fallback agent takes over) or ``fail``.

On simulated time the wait advances the virtual clock straight to the deadline (it is
a timer like any other) and the store is not polled (a poll is a timer too, and the
virtual clock would race past any person): answer in process, from a task of the same
run or from another thread while no deadline is pending.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toolkit.agents import Agent, AgentError, AgentUnavailable, Directive
from toolkit.events import ORCHESTRATOR, AgentStateChanged, Envelope

if TYPE_CHECKING:
    from toolkit.events import TraceEvent
    from toolkit.session import AgentSession
    from toolkit.state import RunState

__all__ = [
    "Answer",
    "AnswerBox",
    "AnswerError",
    "EscalatingReviewer",
    "HumanAgent",
    "OpenQuestion",
    "Question",
    "QuestionClosed",
    "answer",
    "open_questions",
    "question_rows",
]

Mode = Literal["approve", "choose", "text"]
Via = Literal["api", "tui", "cli", "http", "widget", "deadline"]
_STORE_POLL_S = 0.25


class AnswerError(ValueError):
    """An answer that does not fit its question, or a question that is not open."""


class QuestionClosed(AnswerError):
    """The question is not open: never asked, answered already, or its deadline passed."""


class Question(BaseModel):
    """What a person is asked: the payload of a ``question`` message."""

    model_config = ConfigDict(extra="forbid")

    question_id: str
    """Unique within the run: ``<task>/<round>/<attempt>``."""
    run_id: str
    task_id: str
    agent: str
    """The human agent that asks (the answer's recipient)."""
    person: str = "human"
    """Who is asked (the question's recipient in the message flow)."""
    mode: Mode = "approve"
    text: str
    """The question, with the task's prompt."""
    options: list[str] = Field(default_factory=list)
    """The choices (``mode="choose"``)."""
    context: dict[str, Any] = Field(default_factory=dict)
    """What the task was given (its dependencies' results, the draft under review)."""
    asked_at: float
    """When it was asked, on the run's clock."""
    deadline_at: float | None = None
    """When the default action is taken, on the run's clock (None: wait for ever)."""
    default: str | None = None
    """approve, reject, an option, fallback or fail (None: fail) when the deadline passes."""


class Answer(BaseModel):
    """A person's answer: exactly one of ``approve``, ``choice`` and ``text``.

    Validated against its question by ``Question``-aware ``check``: a choice must be one
    of the options, an approval answers an ``approve`` question, text a ``text`` one.
    """

    model_config = ConfigDict(extra="forbid")

    approve: bool | None = None
    """True to approve, False to reject (``mode="approve"``)."""
    choice: str | None = Field(default=None, max_length=1000)
    """The option picked (``mode="choose"``)."""
    text: str | None = Field(default=None, max_length=100_000)
    """Free text (``mode="text"``)."""
    comment: str = Field(default="", max_length=100_000)
    """Why (the feedback of a review)."""
    by: str = Field(default="human", min_length=1, max_length=200)
    """Who answered."""
    via: Via = "api"
    """Where the answer came from."""

    @model_validator(mode="after")
    def _one(self) -> Answer:
        given = [n for n in ("approve", "choice", "text") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of approve, choice and text")
        return self

    def check(self, question: Question) -> Answer:
        """This answer if it fits ``question``; else ``AnswerError`` saying why."""
        if question.mode == "approve" and self.approve is None:
            raise AnswerError(f"{question.task_id} asks to approve or reject")
        if question.mode == "choose":
            if self.choice is None:
                raise AnswerError(
                    f"{question.task_id} asks to choose one of: {', '.join(question.options)}"
                )
            if self.choice not in question.options:
                raise AnswerError(
                    f"{self.choice!r} is not an option of {question.task_id}"
                    f" (options: {', '.join(question.options)})"
                )
        if question.mode == "text" and self.text is None:
            raise AnswerError(f"{question.task_id} asks for text")
        return self

    def output(self) -> Any:
        """What the human agent replies: a verdict mapping, the choice, or the text."""
        if self.approve is not None:
            return {"approved": self.approve, "feedback": self.comment, "by": self.by}
        return self.choice if self.choice is not None else self.text


def make_answer(answer: Answer | None = None, **fields: Any) -> Answer:
    """An ``Answer`` from a model or from its fields (``AnswerError`` when invalid)."""
    if answer is not None:
        return answer
    try:
        return Answer.model_validate(fields)
    except ValidationError as exc:
        raise AnswerError("; ".join(e["msg"] for e in exc.errors())) from None


# -- in process -----------------------------------------------------------------------


class _Slot:
    """An open question of this process and the way to wake its waiting agent."""

    __slots__ = ("answer", "call_soon", "event", "loop_thread", "question")

    def __init__(self, question: Question) -> None:
        import asyncio

        self.question = question
        self.answer: Answer | None = None
        self.event = anyio.Event()
        self.loop_thread = threading.get_ident()
        self.call_soon = asyncio.get_running_loop().call_soon_threadsafe

    def wake(self) -> None:
        if threading.get_ident() == self.loop_thread:
            self.event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                self.call_soon(self.event.set)


_open: dict[tuple[str, str], _Slot] = {}
_lock = threading.Lock()


def answer(run_id: str, task_id: str, answer: Answer | None = None, **fields: Any) -> Answer:
    """Answer the open question of ``task_id`` in run ``run_id`` of this process.

    Give an ``Answer`` or its fields (``approve=True, comment="ok"``). Safe from any
    thread. Returns the answer accepted.

    Raises:
        AnswerError: no such open question here, it is answered already, or the
            answer does not fit it.
    """
    given = make_answer(answer, **fields)
    with _lock:
        slot = _open.get((run_id, task_id))
        if slot is None:
            raise QuestionClosed(f"no open question for {task_id} in run {run_id} in this process")
        if slot.answer is not None:
            raise QuestionClosed(f"the question of {task_id} is answered already")
        slot.answer = given.check(slot.question)
    slot.wake()
    return given


def waiting(run_id: str | None = None) -> list[Question]:
    """The questions waiting for an answer in this process (of one run, or of all)."""
    with _lock:
        return [
            s.question
            for (r, _), s in _open.items()
            if s.answer is None and (run_id is None or r == run_id)
        ]


# -- through the store --------------------------------------------------------------

_TABLES = """
CREATE TABLE IF NOT EXISTS questions (
    run_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    PRIMARY KEY (run_id, question_id)
);
CREATE TABLE IF NOT EXISTS answers (
    run_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answered_at REAL NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (run_id, question_id)
);
"""


class AnswerBox:
    """Questions and answers in a run store's file, for answers from other processes.

    The two tables sit beside the store's own; an answer is one insert under the
    question's key, so the first answer wins and a second is refused.

    Args:
        path: The run store's SQLite file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self, create: bool = False) -> sqlite3.Connection:
        if not create and not self.path.exists():
            raise AnswerError(f"{self.path}: no such run store")
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 10000")
        db.executescript(_TABLES)
        return db

    def ask(self, question: Question) -> None:
        """Record an open question (again: no change)."""
        with contextlib.closing(self._connect(create=True)) as db:
            db.execute(
                "INSERT OR IGNORE INTO questions VALUES (?, ?, ?, ?, ?)",
                (
                    question.run_id,
                    question.question_id,
                    question.task_id,
                    question.asked_at,
                    question.model_dump_json(),
                ),
            )

    def questions(self, run_id: str, *, open_only: bool = True) -> list[Question]:
        """The run's questions in the order asked (only the unanswered by default)."""
        sql = "SELECT question FROM questions q WHERE run_id = ?"
        if open_only:
            sql += (
                " AND NOT EXISTS (SELECT 1 FROM answers a"
                " WHERE a.run_id = q.run_id AND a.question_id = q.question_id)"
            )
        with contextlib.closing(self._connect()) as db:
            rows = db.execute(sql + " ORDER BY asked_at, rowid", (run_id,)).fetchall()
        return [Question.model_validate_json(r[0]) for r in rows]

    def answer(
        self, run_id: str, task_id: str, answer: Answer | None = None, **fields: Any
    ) -> Answer:
        """Answer the open question of ``task_id`` in run ``run_id``; the answer accepted.

        Raises:
            AnswerError: no open question for the task, or an answer that does not fit.
        """
        given = make_answer(answer, **fields)
        open_ = [q for q in self.questions(run_id) if q.task_id == task_id]
        if not open_:
            raise QuestionClosed(f"no open question for {task_id} in run {run_id}")
        question = open_[-1]
        given.check(question)
        with contextlib.closing(self._connect()) as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?)",
                (run_id, question.question_id, time.time(), given.model_dump_json()),
            )
            if cur.rowcount != 1:
                raise QuestionClosed(f"the question of {task_id} is answered already")
        return given

    def record(self, question: Question, answer: Answer) -> None:
        """Record the answer an agent took (from another channel), if none is recorded."""
        with contextlib.closing(self._connect(create=True)) as db:
            db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?)",
                (question.run_id, question.question_id, time.time(), answer.model_dump_json()),
            )

    def still_open(self, run_id: str, task_id: str, round_: int) -> Question | None:
        """The latest question of a task's round that a person may still be answering:
        unanswered, or answered by a person (not closed by its deadline). A resumed run
        asks it again, so an answer given while no process ran is taken."""
        if not self.path.exists():
            return None
        with contextlib.closing(self._connect()) as db:
            rows = db.execute(
                "SELECT q.question, a.answer FROM questions q LEFT JOIN answers a"
                " ON a.run_id = q.run_id AND a.question_id = q.question_id"
                " WHERE q.run_id = ? AND q.task_id = ? ORDER BY q.asked_at DESC, q.rowid DESC",
                (run_id, task_id),
            ).fetchall()
        for raw_question, raw_answer in rows:
            question = Question.model_validate_json(raw_question)
            if question.question_id.split("/")[1:2] != [str(round_)]:
                continue
            if raw_answer is None or Answer.model_validate_json(raw_answer).via != "deadline":
                return question
            return None
        return None

    def answered(self, question: Question) -> Answer | None:
        """The stored answer to ``question``, if there is one."""
        with contextlib.closing(self._connect()) as db:
            row = db.execute(
                "SELECT answer FROM answers WHERE run_id = ? AND question_id = ?",
                (question.run_id, question.question_id),
            ).fetchone()
        return None if row is None else Answer.model_validate_json(row[0])


def _store_of(session: AgentSession) -> Path | None:
    """The file of the run store the run writes to, if any."""
    from toolkit.store import RunStore

    for sink in session.tracer.sinks:
        if isinstance(sink, RunStore) and isinstance(sink.path, Path):
            return sink.path
    return None


# -- the agent ------------------------------------------------------------------------


class _Unset:
    """The type of ``_UNSET``: no value given (``None`` is a value: no default)."""


_UNSET = _Unset()


class HumanAgent(Agent):
    """An agent whose replies come from a person (see the module docstring).

    Args:
        name: The agent's name (tasks address it).
        description: What the person decides.
        skills: Keywords routers and planners match.
        person: Who is asked: the question's recipient in the message flow.
        mode: ``approve`` (reply: ``{"approved", "feedback", "by"}``, a review verdict),
            ``choose`` (reply: the option) or ``text`` (reply: the text).
        question: The question; ``{prompt}`` is replaced by the task's prompt (default:
            the prompt itself).
        options: The choices of ``mode="choose"``.
        deadline_s: Seconds of the run's clock to wait; None waits for ever.
        default: What happens when the deadline passes: ``approve``/``reject``
            (``mode="approve"``), one of the options (``choose``), ``fallback`` (the task's
            fallback agent takes over) or ``fail`` (the attempt fails; the default).
        store: A run store file to ask through (default: the run's store, if any).
    """

    kind = "human"
    simulated_time = True  # it waits on timers of the run's loop and in-process answers

    def __init__(
        self,
        name: str,
        description: str = "",
        skills: Sequence[str] = (),
        *,
        person: str = "human",
        mode: Mode = "approve",
        question: str = "{prompt}",
        options: Iterable[str] = (),
        deadline_s: float | None = None,
        default: str | None = None,
        store: str | Path | None = None,
    ) -> None:
        self.name = name
        self.description = description or f"{person} decides"
        self.skills = tuple(skills)
        self.person = person
        self.mode: Mode = mode
        self.question = question
        self.options = list(options)
        self.deadline_s = deadline_s
        self.default = default
        self.store = Path(store) if store is not None else None
        problem = _default_problem(mode, self.options, default)
        if mode == "choose" and not self.options:
            problem = "mode 'choose' needs options"
        if deadline_s is not None and not deadline_s > 0:
            problem = "deadline_s must be a positive number of seconds"
        if problem:
            raise ValueError(f"{name}: {problem}")

    def card(self) -> dict[str, Any]:
        return {
            **super().card(),
            "person": self.person,
            "mode": self.mode,
            "question": self.question,
            "options": list(self.options),
            "deadline_s": self.deadline_s,
            "default": self.default,
        }

    @classmethod
    def from_card(cls, name: str, card: dict[str, Any]) -> HumanAgent:
        """The human agent a ``card`` describes (a run on Temporal asks in its workflow)."""
        return cls(
            name,
            str(card.get("description", "")),
            tuple(card.get("skills", ())),
            person=str(card.get("person", "human")),
            mode=card.get("mode", "approve"),
            question=str(card.get("question", "{prompt}")),
            options=list(card.get("options", ())),
            deadline_s=card.get("deadline_s"),
            default=card.get("default"),
        )

    async def run(self, directive: Directive) -> Any:
        return await self.ask(directive)

    async def ask(
        self,
        directive: Directive,
        *,
        mode: Mode | None = None,
        options: Iterable[str] | None = None,
        default: str | _Unset | None = _UNSET,
    ) -> Any:
        """Ask the person this directive's question and wait for the answer (``run``).

        ``mode``, ``options`` and ``default`` replace the agent's own for this one
        question (a ``Resolver`` asks its human judge to choose among the positions
        this way); the agent itself is never changed, so one ``HumanAgent`` can be
        asked different kinds of questions at once.

        Raises:
            ValueError: the mode, options and default do not fit together.
        """
        mode = self.mode if mode is None else mode
        choices = list(self.options if options is None else options)
        fallback = self.default if isinstance(default, _Unset) else default
        problem = _default_problem(mode, choices, fallback)
        if mode == "choose" and not choices:
            problem = "mode 'choose' needs options"
        if problem:
            raise ValueError(f"{self.name}: {problem}")
        session = directive.session
        tracer = session.tracer
        run_id = tracer.run_id
        now = tracer.now()
        from toolkit.simtime import in_virtual_time

        box_path = self.store or _store_of(session)
        box = None if box_path is None or in_virtual_time() else AnswerBox(box_path)
        question = Question(
            question_id=f"{directive.task_id}/{directive.round}/{directive.attempt}",
            run_id=run_id,
            task_id=directive.task_id,
            agent=self.name,
            person=self.person,
            mode=mode,
            text=self.question.replace("{prompt}", directive.prompt),
            options=choices,
            context=directive.context,
            asked_at=now,
            deadline_at=None if self.deadline_s is None else now + self.deadline_s,
            default=fallback,
        )
        if box is not None:
            # a resumed run: the question its dead process asked is still the one open
            prior = await anyio.to_thread.run_sync(
                box.still_open, run_id, directive.task_id, directive.round
            )
            if prior is not None:
                question = prior
        conversation = session.parent_span_id or session.span_id
        asked = tracer.message(
            self.name,
            self.person,
            "question",
            question.model_dump(mode="json"),
            span_id=session.span_id,
            conversation_id=conversation,
            parent_id=session.directive_id,
            task_id=directive.task_id,
            attempt=directive.attempt,
        )
        self._state(session, "waiting", directive.task_id)
        slot = _Slot(question)
        key = (run_id, directive.task_id)
        with _lock:
            _open[key] = slot
        try:
            if box is not None:
                await anyio.to_thread.run_sync(box.ask, question)
            got = await self._wait(slot, box, tracer.now())
        finally:
            with _lock:
                if _open.get(key) is slot:
                    del _open[key]
        waited = tracer.now() - now
        action = question.default or "fail"
        if got is None and box is not None:
            closed = Answer(
                text=action, comment="no answer by the deadline", by=ORCHESTRATOR, via="deadline"
            )
            await anyio.to_thread.run_sync(box.record, question, closed)
        if got is None and action in ("fallback", "fail"):
            payload: dict[str, Any] = {"default": action, "via": "deadline", "waited_s": waited}
            self._answered(session, directive, asked, ORCHESTRATOR, payload)
            if action == "fallback":
                raise AgentUnavailable(
                    f"no answer from {self.person} by the deadline: handed to the fallback agent"
                )
            raise AgentError(f"no answer from {self.person} by the deadline")
        if got is None:
            got = self._on_deadline(action)
        elif box is not None:
            await anyio.to_thread.run_sync(box.record, question, got)
        sender = ORCHESTRATOR if got.via == "deadline" else got.by
        self._answered(
            session, directive, asked, sender, {**got.model_dump(mode="json"), "waited_s": waited}
        )
        return got.output()

    def _answered(
        self,
        session: AgentSession,
        directive: Directive,
        asked: Envelope,
        sender: str,
        payload: dict[str, Any],
    ) -> None:
        session.tracer.message(
            sender,
            self.name,
            "answer",
            payload,
            span_id=session.span_id,
            conversation_id=asked.conversation_id,
            parent_id=asked.message_id,
            task_id=directive.task_id,
            attempt=directive.attempt,
        )
        self._state(session, "working", directive.task_id)

    async def _wait(self, slot: _Slot, box: AnswerBox | None, now: float) -> Answer | None:
        """The answer, from whichever channel gives one first; None at the deadline."""
        deadline = slot.question.deadline_at
        with anyio.move_on_after(float("inf") if deadline is None else max(deadline - now, 0.0)):
            if box is None:
                await slot.event.wait()
                return slot.answer
            while True:
                with anyio.move_on_after(_STORE_POLL_S):
                    await slot.event.wait()
                if slot.answer is not None:
                    return slot.answer
                stored = await anyio.to_thread.run_sync(box.answered, slot.question)
                if stored is not None:
                    with _lock:
                        if slot.answer is None:
                            slot.answer = stored
                    return slot.answer
        with _lock:  # the deadline passed; an answer given just now still counts
            late, slot.answer = slot.answer, slot.answer or _CLOSED
        return late

    def _on_deadline(self, action: str) -> Answer:
        if action in ("approve", "reject"):
            return Answer(
                approve=action == "approve",
                comment=f"no answer by the deadline: {action}d by default",
                by=ORCHESTRATOR,
                via="deadline",
            )
        return Answer(
            choice=action,
            comment="no answer by the deadline: the default option",
            by=ORCHESTRATOR,
            via="deadline",
        )

    def _state(self, session: AgentSession, state: str, task_id: str) -> None:
        session.tracer.emit(
            AgentStateChanged,
            span_id=session.span_id,
            parent_span_id=session.parent_span_id,
            agent=self.name,
            state=state,
            task_id=task_id,
        )


_CLOSED = Answer(text="", by=ORCHESTRATOR, via="deadline")
"""Marks a slot closed at its deadline, so a late in-process answer is refused."""


def _default_problem(mode: Mode, options: list[str], default: str | None) -> str | None:
    if default is None or default in ("fallback", "fail"):
        return None
    if mode == "approve" and default in ("approve", "reject"):
        return None
    if mode == "choose" and default in options:
        return None
    allowed = {"approve": "approve, reject", "choose": "one of the options", "text": ""}[mode]
    return f"default {default!r} does not fit mode {mode!r} (use {allowed + ', ' if allowed else ''}fallback or fail)"


class EscalatingReviewer(Agent):
    """A reviewer agent that asks a person only when it and the worker still disagree.

    For review loops (``review.reviewer``): ``reviewer`` judges each draft; from round
    ``after_rounds`` on, a draft it does not approve goes to ``human``, whose verdict
    stands (approve, or reject with the comment the worker revises against). Earlier
    rounds never disturb the person.

    Args:
        name: The name the review loop addresses.
        reviewer: The agent that reviews first.
        human: The person asked after ``after_rounds`` rounds of disagreement.
        after_rounds: The first round in which a rejection is escalated.
    """

    kind = "escalating-reviewer"

    def __init__(
        self, name: str, reviewer: Agent, human: HumanAgent, *, after_rounds: int = 2
    ) -> None:
        if after_rounds < 1:
            raise ValueError(f"{name}: after_rounds must be at least 1")
        self.name = name
        self.description = f"{reviewer.name}, then {human.person} after {after_rounds} round(s)"
        self.reviewer = reviewer
        self.human = human
        self.after_rounds = after_rounds
        self.simulated_time = bool(getattr(reviewer, "simulated_time", False))

    async def run(self, directive: Directive) -> Any:
        from toolkit.agents import Reply
        from toolkit.review import read_verdict

        verdict = await self.reviewer.run(directive)
        output = verdict.output if isinstance(verdict, Reply) else verdict
        approved, feedback = read_verdict(output)
        if approved or directive.round < self.after_rounds:
            return verdict
        if directive.in_run:
            directive.session.log(
                f"{self.reviewer.name} still rejects in round {directive.round}:"
                f" asking {self.human.person}"
            )
        prompt = (
            f"{self.reviewer.name} and the worker still disagree after {directive.round}"
            f" round(s).\n{self.reviewer.name} says: {feedback}\n\n{directive.prompt}"
        )
        return await self.human.run(directive.model_copy(update={"prompt": prompt}))


# -- reading questions from a run's events --------------------------------------------


@dataclass(slots=True)
class OpenQuestion:
    """A question of a run and its answer so far, read from the run's messages."""

    question: Question
    message_id: str
    answer: dict[str, Any] | None = None
    """The answer message's payload (with ``waited_s``), None while open."""
    answered_by: str | None = None


def _questions(messages: Iterable[Envelope]) -> list[OpenQuestion]:
    found: dict[str, OpenQuestion] = {}
    for env in messages:
        if env.kind == "question" and isinstance(env.payload, dict):
            try:
                q = Question.model_validate(env.payload)
            except ValidationError:
                continue
            found[env.message_id] = OpenQuestion(q, env.message_id)
        elif env.kind == "answer" and env.parent_id in found:
            item = found[env.parent_id]
            item.answer = env.payload if isinstance(env.payload, dict) else {"text": env.payload}
            item.answered_by = env.sender
    return list(found.values())


def open_questions(state: RunState) -> list[Question]:
    """The questions of a run still waiting for an answer, from its folded state.

    A question is open while it has no answer, its task runs and the run goes on (a
    cancelled or finished run asks nothing any more).
    """
    if state.status in ("succeeded", "failed", "cancelled") or not state.questions_asked:
        return []  # (a run that never asked costs no scan of its messages)
    found = []
    for item in _questions(state.messages):
        task = state.tasks.get(item.question.task_id)
        if item.answer is None and (task is None or task.status in ("running", "retrying")):
            found.append(item.question)
    return found


def question_rows(source: Iterable[TraceEvent] | RunState) -> list[dict[str, Any]]:
    """One row per question: task, agent, person, mode, answer, by, via, waited_s.

    ``waited_s`` is the time from question to answer on the run's clock (None while
    the question is open): the waiting time a person added to the run.
    """
    from toolkit.state import RunState, fold

    state = source if isinstance(source, RunState) else fold(source)
    rows = []
    for item in _questions(state.messages):
        q, a = item.question, item.answer or {}
        decided = (
            ("approved" if a.get("approve") else "rejected")
            if a.get("approve") is not None
            else a.get("choice", a.get("text"))
        )
        rows.append(
            {
                "task": q.task_id,
                "agent": q.agent,
                "person": q.person,
                "mode": q.mode,
                "answer": decided,
                "comment": a.get("comment"),
                "by": item.answered_by,
                "via": a.get("via"),
                "waited_s": a.get("waited_s"),
            }
        )
    return rows
