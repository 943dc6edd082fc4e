"""The start API against a real ``switchboard serve``: starting runs, reading them, refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.serve.conftest import Server
from tests.services import wait_until


def finished(server: Server, run_id: str) -> dict[str, Any]:
    """The run's status once it has finished (waits on the server's state)."""
    with server.client() as client:
        box: dict[str, Any] = {}

        def done() -> bool:
            box.update(client.get(f"/v1/runs/{run_id}").json())
            return box["status"] not in ("pending", "running")

        wait_until(done, within_s=60, what=f"run {run_id} finished")
    return box


@pytest.mark.anyio
async def test_the_seeds_own_client_code_works_unchanged(server: Server) -> None:
    """The seed's call (httpx.AsyncClient().post(...) with a bearer token and its directives)
    starts a pipeline; the answer names the run and where to read its status and events."""
    token = server.token
    directives = [
        {"agent_id": "researcher", "goal": "find facts", "prompt": "how do agents coordinate?"},
        {"agent_id": "writer", "goal": "draft", "prompt": "write it up"},
    ]
    response = await httpx.AsyncClient().post(
        f"{server.base}/v1/mao/start",
        headers={"Authorization": f"Bearer {token}"},
        json={"directives": directives},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    run_id = body["run_id"]
    assert body["status_url"] == f"{server.base}/v1/runs/{run_id}"
    assert body["events_url"] == f"{server.base}/v1/runs/{run_id}/events"
    assert response.headers["location"] == body["status_url"]
    status = finished(server, run_id)
    assert status["status"] == "succeeded"
    assert [(t["id"], t["agent"], t["status"]) for t in status["tasks"]] == [
        ("step-1", "researcher", "done"),
        ("step-2", "writer", "done"),
    ]


def test_each_directive_gets_the_previous_result_as_context(server: Server) -> None:
    """Directives run in order, each prompt with the previous step's result as its context;
    the result is the last step's output, and the metrics count every agent."""
    directives = [
        {"agent_id": "researcher", "goal": "g1", "prompt": "topic"},
        {"agent_id": "writer", "goal": "g2", "prompt": "write"},
        {"agent_id": "editor", "goal": "g3", "prompt": "edit"},
    ]
    with server.client() as client:
        run_id = client.post("/v1/mao/start", json={"directives": directives}).json()["run_id"]
        finished(server, run_id)
        result = client.get(f"/v1/runs/{run_id}/result").json()
        metrics = client.get(f"/v1/runs/{run_id}/metrics").json()
    assert result["finished"] is True and result["status"] == "succeeded"
    assert result["output"] == "edited[edit|step-2: draft[write|step-1: facts[topic]]]"
    assert [a["agent"] for a in metrics["agents"]] == ["researcher", "writer", "editor"]
    assert all(a["succeeded"] == 1 for a in metrics["agents"])
    assert metrics["events"] > 0 and metrics["tokens_out"] > 0


def test_a_served_workflow_by_name_and_a_posted_workflow(server: Server) -> None:
    """``workflow`` names a served workflow (with another input), or is a whole workflow
    whose own mock agents work beside the served ones."""
    posted = {
        "name": "posted",
        "agents": {"shouter": {"kind": "mock", "reply": "LOUD[{context}]"}},
        "steps": [
            {"id": "notes", "agent": "researcher", "prompt": "{{input}}"},
            {"id": "shout", "agent": "shouter", "depends_on": ["notes"]},
        ],
    }
    with server.client() as client:
        named = client.post("/v1/mao/start", json={"workflow": "team", "input": "bees"}).json()
        whole = client.post(
            "/v1/mao/start", json={"workflow": posted, "input": "ants", "name": "mine"}
        ).json()
        finished(server, named["run_id"])
        finished(server, whole["run_id"])
        named_result = client.get(f"/v1/runs/{named['run_id']}/result").json()
        whole_result = client.get(f"/v1/runs/{whole['run_id']}/result").json()
    assert named["name"] == "team"
    assert named_result["output"] == "draft[write from the notes|research: facts[bees]]"
    assert whole["name"] == "mine"
    assert whole_result["output"] == "LOUD[notes: facts[ants]]"


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b'{"directives": [', 400, "not valid JSON"),
        (
            {"directives": [{"agent_id": "nobody", "prompt": "x"}]},
            422,
            "directives[0].agent_id: unknown agent 'nobody' (known: editor, researcher, writer)",
        ),
        ({"directives": []}, 422, "directives: List should have at least 1 item"),
        ({"directives": [{"prompt": "x"}]}, 422, "directives[0].agent_id: Field required"),
        ({"directives": [{"agent_id": "writer", "promt": "x"}]}, 422, "promt: Extra inputs"),
        ({}, 422, "give exactly one of 'directives' and 'workflow'"),
        (
            {"directives": [{"agent_id": "writer"}], "workflow": "team"},
            422,
            "give exactly one of 'directives' and 'workflow'",
        ),
        ({"workflow": "nope"}, 422, "no served workflow 'nope' (served: team)"),
        (
            {"directives": [{"agent_id": "writer", "prompt": "{{draft}}"}]},
            422,
            "directives[0] (step-1).prompt: unknown task 'draft'",
        ),
        (
            {"workflow": {"agents": {"x": {"kind": "function", "function": "os:system"}}}},
            422,
            "own agents must be kind mock, not 'function'",
        ),
        (
            {
                "workflow": {
                    "planner": {"kind": "llm", "model": "m"},
                    "agents": {"a": {"kind": "mock"}},
                }
            },
            422,
            "an llm planner cannot be posted",
        ),
        ({"workflow": {"agents": {"a": {}}, "steps": [{"id": "s", "agent": "b"}]}}, 422, "'b'"),
        ({"directives": [{"agent_id": "writer"}], "seed": True}, 422, "seed"),
    ],
)
def test_bad_bodies_are_4xx_with_a_reason(
    server: Server, body: Any, status: int, reason: str
) -> None:
    """Every body that describes no run is a 4xx whose error says what is wrong."""
    with server.client() as client:
        if isinstance(body, bytes):
            answer = client.post(
                "/v1/mao/start", content=body, headers={"Content-Type": "application/json"}
            )
        else:
            answer = client.post("/v1/mao/start", json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert reason in error["error"] or any(reason in p for p in error["problems"]), error


def test_size_and_content_type_limits(server: Server) -> None:
    """A body past the limit is 413 before it is read; a form body is 415, naming JSON."""
    with server.client() as client:
        huge = client.post(
            "/v1/mao/start",
            content=b'{"directives": [{"agent_id": "writer", "prompt": "'
            + b"x" * (5 << 20)
            + b'"}]}',
            headers={"Content-Type": "application/json"},
        )
        form = client.post("/v1/mao/start", data={"directives": "x"})
    assert huge.status_code == 413 and "over the limit" in huge.json()["error"]
    assert form.status_code == 415
    assert "Content-Type: application/json" in form.json()["error"]


def test_unknown_runs_paths_and_methods(server: Server) -> None:
    """An unknown run is 404 naming it; an unknown path 404; a wrong method 405 with Allow."""
    with server.client() as client:
        for path in ("", "/result", "/metrics", "/events"):
            missing = client.get(f"/v1/runs/run-nope{path}")
            assert missing.status_code == 404
            assert "no run 'run-nope'" in missing.json()["error"]
        assert client.post("/v1/runs/run-nope/cancel").status_code == 404
        assert client.get("/v1/nothing").status_code == 404
        wrong = client.delete("/v1/mao/start")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


def test_cancel_a_running_run_then_again(server: Server) -> None:
    """Cancelling a running run ends it as cancelled (its task recorded as cancelled);
    cancelling it again is 409."""
    with server.client() as client:
        # the posted workflow's own mock agent takes an hour: it is running when cancelled
        slow = {
            "agents": {"slow": {"kind": "mock", "latency": 3600}},
            "steps": [{"id": "s", "agent": "slow"}],
        }
        run_id = client.post("/v1/mao/start", json={"workflow": slow}).json()["run_id"]
        wait_until(
            lambda: client.get(f"/v1/runs/{run_id}").json()["task_counts"]["running"] == 1,
            within_s=60,
            what="the slow task running",
        )
        cancel = client.post(f"/v1/runs/{run_id}/cancel")
        assert cancel.status_code == 202 and cancel.json()["run_id"] == run_id
        status = finished(server, run_id)
        again = client.post(f"/v1/runs/{run_id}/cancel")
    assert status["status"] == "cancelled"
    assert status["tasks"][0]["status"] == "cancelled"
    assert again.status_code == 409 and "already finished (cancelled)" in again.json()["error"]


def test_runs_agents_health_and_the_openapi_document(server: Server) -> None:
    """The run list, the served agents and the OpenAPI document are served; health is open
    and needs no token; the document names the served agents as agent_id's values."""
    with server.client() as client:
        run_id = client.post("/v1/mao/start", json={"directives": [{"agent_id": "writer"}]}).json()[
            "run_id"
        ]
        runs = client.get("/v1/runs").json()["runs"]
        agents = client.get("/v1/agents").json()
        document = client.get("/openapi.json").json()
    assert run_id in [r["run_id"] for r in runs]
    assert [a["name"] for a in agents["agents"]] == ["editor", "researcher", "writer"]
    assert [w["name"] for w in agents["workflows"]] == ["team"]
    health = httpx.get(f"{server.base}/health")
    assert health.status_code == 200 and health.json()["ok"] is True
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    assert schemas["DirectiveIn"]["properties"]["agent_id"]["enum"] == [
        "editor",
        "researcher",
        "writer",
    ]
    assert document["paths"]["/health"]["get"]["security"] == []
