"""Answering a run on Temporal: the open questions are a query, an answer is a signal.

A run started with ``--executor temporal`` asks its human agents' questions inside its
workflow (``toolkit.temporal._workflow``), so a person answers it from anywhere that
reaches the Temporal server: ``switchboard answer RUN TASK --approve --temporal
HOST:PORT``, or the HTTP route of ``switchboard serve --temporal HOST:PORT``. The
answer is checked against the open question first (the query), so a choice that is not
an option, or a task that asks nothing, is refused here with the reason; then it is
signalled, and the workflow takes the first answer that fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.human import Answer, AnswerError, Question, QuestionClosed, make_answer
from toolkit.temporal._shapes import ANSWER_SIGNAL, QUESTIONS_QUERY, AnswerSignal

if TYPE_CHECKING:
    from temporalio.client import Client

__all__ = ["RunNotFound", "answer_on_temporal", "questions_on_temporal"]


class RunNotFound(AnswerError):
    """No run (workflow) of that id on the Temporal server."""


async def questions_on_temporal(client: Client, run_id: str) -> list[Question]:
    """The open questions of the run ``run_id`` (its workflow id), in the order asked.

    Raises:
        AnswerError: no such run on the server, or it cannot be asked (one line).
    """
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError

    handle = client.get_workflow_handle(run_id)
    try:
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            return []  # a finished run asks nothing (and needs no worker to say so)
        raw = await handle.query(QUESTIONS_QUERY, result_type=list[dict[str, Any]])
    except RPCError as exc:
        from temporalio.service import RPCStatusCode

        kind = RunNotFound if exc.status == RPCStatusCode.NOT_FOUND else AnswerError
        raise kind(f"run {run_id} on Temporal: {exc.message.splitlines()[0]}") from None
    except Exception as exc:  # the query failed in the workflow (an older worker, say)
        raise AnswerError(f"run {run_id} on Temporal: {str(exc).splitlines()[0]}") from None
    questions = [Question.model_validate(q) for q in raw]
    return sorted(questions, key=lambda q: q.asked_at)


async def answer_on_temporal(
    client: Client, run_id: str, task_id: str, answer: Answer | None = None, **fields: Any
) -> Answer:
    """Answer the open question of ``task_id`` in the run ``run_id`` on Temporal.

    Returns the answer signalled (taken unless another answer reached the workflow first).

    Raises:
        QuestionClosed: the task has no open question.
        AnswerError: the answer does not fit the question, or the run cannot be reached.
    """
    given = make_answer(answer, **fields)
    open_ = [q for q in await questions_on_temporal(client, run_id) if q.task_id == task_id]
    if not open_:
        raise QuestionClosed(f"no open question for {task_id} in run {run_id}")
    question = open_[-1]
    given.check(question)
    signal = AnswerSignal(
        task_id=task_id, question_id=question.question_id, answer=given.model_dump(mode="json")
    )
    await client.get_workflow_handle(run_id).signal(ANSWER_SIGNAL, signal)
    return given
