"""People answer a run's questions over HTTP: the human-in-the-loop operations.

``GET /v1/runs/{run_id}/questions`` lists what a run's human agents are waiting for;
``POST /v1/runs/{run_id}/answers`` answers one (``toolkit.human``). A run started by
this server waits in this process, so the answer is delivered in process; the answer
is validated against its question (a choice must be one of the options).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from toolkit.human import Answer, AnswerError, Question, QuestionClosed, waiting
from toolkit.human import answer as give
from toolkit.serve.app import Api, ApiError, _body, _record, json_response
from toolkit.serve.models import ErrorOut

__all__ = ["ANSWERS", "AnswerIn", "AnswerOut", "QuestionsOut"]

ANSWERS = Api("Switchboard answers", "1", "People answer the questions of a run's human agents.")


class AnswerIn(BaseModel):
    """An answer to the open question of ``task_id``: exactly one of approve, choice, text."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=200)
    approve: bool | None = None
    choice: str | None = Field(default=None, max_length=1000)
    text: str | None = Field(default=None, max_length=100_000)
    comment: str = Field(default="", max_length=100_000)
    by: str = Field(default="human", min_length=1, max_length=200)


class AnswerOut(BaseModel):
    """The answer accepted."""

    run_id: str
    task_id: str
    answer: Answer


class QuestionsOut(BaseModel):
    """The questions of a run waiting for an answer, in the order asked."""

    run_id: str
    questions: list[Question]


@ANSWERS.operation(
    "GET",
    "/v1/runs/{run_id}/questions",
    operation_id="run_questions",
    summary="The run's open questions",
    responses={200: ("the open questions", QuestionsOut), 404: ("no such run", ErrorOut)},
)
async def questions(request: Request) -> Response:
    """What the run's human agents are waiting for (empty when nothing is asked)."""
    record = await _record(request)
    return json_response(QuestionsOut(run_id=record.run_id, questions=waiting(record.run_id)))


@ANSWERS.operation(
    "POST",
    "/v1/runs/{run_id}/answers",
    operation_id="run_answer",
    summary="Answer a question of the run",
    body=AnswerIn,
    responses={
        201: ("the answer was taken", AnswerOut),
        404: ("no such run", ErrorOut),
        409: ("the task has no open question (never asked, or answered already)", ErrorOut),
        422: ("the answer does not fit the question", ErrorOut),
    },
)
async def answers(request: Request) -> Response:
    """Answer the open question of a task: approve or reject (with a comment), choose
    one of the options, or write text. The first answer wins."""
    record = await _record(request)
    body: AnswerIn = await _body(request, AnswerIn)
    fields: dict[str, Any] = body.model_dump(exclude={"task_id"}, exclude_none=True)
    try:
        taken = give(record.run_id, body.task_id, via="http", **fields)
    except QuestionClosed as exc:
        raise ApiError(409, str(exc)) from None
    except AnswerError as exc:
        raise ApiError(422, str(exc), [str(exc)]) from None
    return json_response(AnswerOut(run_id=record.run_id, task_id=body.task_id, answer=taken), 201)
