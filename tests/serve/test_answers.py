"""People answer a served run's questions over HTTP, against a real `switchboard serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import wait_until

from .conftest import TEAM, Server, start_server

HUMAN = Path(__file__).parent / "human.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server for the human workflow, stopped afterwards."""
    tmp = tmp_path_factory.mktemp("serve-human")
    running = start_server(tmp, workflows=(str(HUMAN), str(TEAM)))
    try:
        yield running
    finally:
        running.service.stop()


def test_a_served_run_waits_for_an_answer_given_over_http(server: Server) -> None:
    """A run with a human task lists its open question; a wrong answer is 422, an
    unknown task 409, the right one 201; the run then finishes with the choice, the
    answer traced as alice's with via http; a second answer is 409."""
    with server.client() as client:
        run_id = client.post("/v1/mao/start", json={"workflow": "human"}).json()["run_id"]
        box: dict = {}

        def asked() -> bool:
            box.update(client.get(f"/v1/runs/{run_id}/questions").json())
            return bool(box["questions"])

        wait_until(asked, what="the question")
        (question,) = box["questions"]
        assert question["task_id"] == "decide" and question["options"] == ["ship", "hold"]
        assert question["text"] == "Ship notes[release notes]?"
        url = f"/v1/runs/{run_id}/answers"
        wrong = client.post(url, json={"task_id": "decide", "choice": "later"})
        assert wrong.status_code == 422 and "not an option" in wrong.json()["error"]
        two = client.post(url, json={"task_id": "decide", "choice": "ship", "text": "x"})
        assert two.status_code == 422
        unknown = client.post(url, json={"task_id": "write", "approve": True})
        assert unknown.status_code == 409
        ok = client.post(
            url, json={"task_id": "decide", "choice": "ship", "by": "alice", "comment": "go"}
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["answer"]["via"] == "http"

        def done() -> bool:
            box.update(client.get(f"/v1/runs/{run_id}").json())
            return box["status"] not in ("pending", "running")

        wait_until(done, what="the run's end")
        assert box["status"] == "succeeded"
        assert client.get(f"/v1/runs/{run_id}/result").json()["output"] == "ship"
        again = client.post(url, json={"task_id": "decide", "choice": "hold"})
        assert again.status_code == 409
        assert (
            client.post("/v1/runs/nope/answers", json={"task_id": "x", "approve": True}).status_code
            == 404
        )


def test_answers_need_the_token_and_are_documented(server: Server) -> None:
    """The answer operations need the bearer token and are in the OpenAPI document."""
    import httpx

    assert httpx.post(f"{server.base}/v1/runs/x/answers", json={}).status_code == 401
    with server.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/v1/runs/{run_id}/answers"]
    assert "get" in paths["/v1/runs/{run_id}/questions"]
