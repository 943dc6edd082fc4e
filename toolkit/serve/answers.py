"""People answer a run's questions over HTTP: the human-in-the-loop operations.

``GET /v1/runs/{run_id}/questions`` lists what a run's human agents are waiting for;
``POST /v1/runs/{run_id}/answers`` answers one (``toolkit.human``). A run started by
this server waits in this process, so the answer is delivered in process; the answer
is validated against its question (a choice must be one of the options). A server
started with ``--temporal HOST:PORT`` also answers runs it does not hold that run on
that Temporal server (``switchboard run --executor temporal``): the questions are the
run's workflow query and the answer its signal (``toolkit.temporal.answers``).
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
from toolkit.serve.runs import UnknownRun

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
    responses={
        200: ("the open questions", QuestionsOut),
        404: ("no such run", ErrorOut),
        503: ("the Temporal server (serve --temporal) cannot be reached", ErrorOut),
    },
)
async def questions(request: Request) -> Response:
    """What the run's human agents are waiting for (empty when nothing is asked)."""
    client = await _temporal_for(request)
    if client is not None:
        from toolkit.temporal.answers import questions_on_temporal

        run_id = request.path_params["run_id"]
        try:
            asked = await questions_on_temporal(client, run_id)
        except AnswerError as exc:
            raise ApiError(_temporal_status(exc), str(exc)) from None
        return json_response(QuestionsOut(run_id=run_id, questions=asked))
    record = await _record(request)
    return json_response(QuestionsOut(run_id=record.run_id, questions=waiting(record.run_id)))


async def _temporal_for(request: Request) -> Any:
    """The Temporal client to ask when the run is not this server's and the server
    was given ``--temporal`` (connected once); None: the run is this server's to answer."""
    state = request.app.state
    address = getattr(state, "temporal", None)
    if address is None:
        return None
    try:
        await state.registry.lookup(request.path_params["run_id"])
        return None
    except UnknownRun:
        pass
    if state.temporal_client is None:
        from toolkit.temporal.worker import connect

        try:
            state.temporal_client = await connect(address)
        except RuntimeError as exc:
            reason = str(exc).split(":", 1)[0]
            raise ApiError(503, f"cannot reach the Temporal server ({reason})") from None
    return state.temporal_client


def _temporal_status(exc: AnswerError) -> int:
    from toolkit.temporal.answers import RunNotFound

    if isinstance(exc, RunNotFound):
        return 404
    return 409 if isinstance(exc, QuestionClosed) else 422


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
        503: ("the Temporal server (serve --temporal) cannot be reached", ErrorOut),
    },
)
async def answers(request: Request) -> Response:
    """Answer the open question of a task: approve or reject (with a comment), choose
    one of the options, or write text. The first answer wins."""
    client = await _temporal_for(request)
    body: AnswerIn = await _body(request, AnswerIn)
    fields: dict[str, Any] = body.model_dump(exclude={"task_id"}, exclude_none=True)
    if client is not None:
        from toolkit.temporal.answers import answer_on_temporal

        run_id = request.path_params["run_id"]
        try:
            taken = await answer_on_temporal(client, run_id, body.task_id, via="http", **fields)
        except AnswerError as exc:
            status = _temporal_status(exc)
            raise ApiError(status, str(exc), [str(exc)] if status == 422 else None) from None
        return json_response(AnswerOut(run_id=run_id, task_id=body.task_id, answer=taken), 201)
    record = await _record(request)
    try:
        taken = give(record.run_id, body.task_id, via="http", **fields)
    except QuestionClosed as exc:
        raise ApiError(409, str(exc)) from None
    except AnswerError as exc:
        raise ApiError(422, str(exc), [str(exc)]) from None
    return json_response(AnswerOut(run_id=record.run_id, task_id=body.task_id, answer=taken), 201)
