"""The dashboard's questions part: open questions of a human agent, answered from the page.

The snapshot carries the run's open questions (``toolkit.human.open_questions`` of the
newest state, whatever the replay cursor shows: a question is answered now, not in
the past). The page's buttons send one comm message per answer
(``{"type": "answer", "run_id", "task_id", "question_id", "approve" | "choice" |
"text", "comment"}``); ``deliver`` checks it against the question still open and
hands it to the run: in this process (``toolkit.human.answer``), else through the run
store's answer box when the view knows the store (``RunView.from_store``, or
``answer_store=``). The outcome comes back in the ``answer_note`` trait, so the page
says why an answer was refused (answered already, the deadline passed, not an option).

Question text, context and options are untrusted: they go to the page as data and are
set there as text, never as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.human import AnswerBox, AnswerError, Question, answer, open_questions, waiting
from toolkit.state import RunState

__all__ = ["MAX_QUESTIONS", "deliver", "question_cards"]

MAX_QUESTIONS = 20
"""Open questions shown at once (the oldest first)."""
_TEXT = 4000
_CONTEXT = 300


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def question_cards(state: RunState) -> list[dict[str, Any]]:
    """The open questions of ``state`` as the page draws them (newlines kept, text cut)."""
    from toolkit.widgets.projection import clip

    return [
        {
            "run_id": q.run_id,
            "task_id": q.task_id,
            "question_id": q.question_id,
            "agent": q.agent,
            "person": q.person,
            "mode": q.mode,
            "text": _cut(q.text, _TEXT),
            "options": [clip(o, 200) for o in q.options],
            "context": {clip(k, 80): clip(v, _CONTEXT) for k, v in list(q.context.items())[:10]},
            "deadline_s": None if q.deadline_at is None else round(q.deadline_at - q.asked_at, 3),
            "default": q.default,
        }
        for q in open_questions(state)[:MAX_QUESTIONS]
    ]


def _fields(content: dict[str, Any]) -> dict[str, Any]:
    """The answer's fields from a page message (only those an ``Answer`` has)."""
    fields: dict[str, Any] = {"comment": str(content.get("comment") or ""), "via": "widget"}
    if "approve" in content:
        fields["approve"] = bool(content["approve"])
    if "choice" in content:
        fields["choice"] = str(content["choice"])
    if "text" in content:
        fields["text"] = str(content["text"])
    return fields


def deliver(
    content: dict[str, Any], state: RunState, store: str | Path | None = None
) -> dict[str, Any]:
    """Hand a page's answer to the run; the note the page shows (``ok``, ``message``).

    Args:
        content: The page's message (see the module docstring).
        state: The view's newest state (where the question must still be open).
        store: The run store to answer through when the run is not in this process.
    """
    task_id = str(content.get("task_id", ""))
    question_id = str(content.get("question_id", ""))
    note: dict[str, Any] = {"task_id": task_id, "question_id": question_id, "ok": False}
    asked: Question | None = next(
        (q for q in open_questions(state) if q.question_id == question_id), None
    )
    if asked is None:
        return {**note, "message": f"the question of {task_id} is not open any more"}
    fields = {**_fields(content), "by": asked.person}
    try:
        if any(q.question_id == question_id for q in waiting(asked.run_id)):
            given = answer(asked.run_id, asked.task_id, **fields)
        elif store is not None:
            box = AnswerBox(store)
            if not any(q.question_id == question_id for q in box.questions(asked.run_id)):
                raise AnswerError(f"the question of {task_id} is not open any more")
            given = box.answer(asked.run_id, asked.task_id, **fields)
        else:
            raise AnswerError(
                f"the run of {task_id} is not in this kernel: answer with"
                f" `switchboard answer {asked.run_id} {task_id} ...`, or open the view"
                " with RunView.from_store"
            )
    except AnswerError as exc:
        return {**note, "message": str(exc)}
    decided = (
        ("approved" if given.approve else "rejected")
        if given.approve is not None
        else (given.choice if given.choice is not None else "answered")
    )
    return {**note, "ok": True, "message": f"{task_id}: {decided}"}
