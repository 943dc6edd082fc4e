"""The bearer token: required on every operation the OpenAPI document lists, but health."""

from __future__ import annotations

import httpx

from tests.serve.conftest import Server


def test_every_operation_needs_the_token_and_never_echoes_it(server: Server) -> None:
    """Each documented operation answers 401 without a token, with a wrong one and with
    another scheme; only /health is open. Neither token ever appears in an answer or in
    the server's log."""
    with server.client() as client:
        run_id = client.post("/v1/mao/start", json={"directives": [{"agent_id": "writer"}]}).json()[
            "run_id"
        ]
        document = client.get("/openapi.json").json()
    wrong = "wrong-" + server.token[::-1]
    operations = [
        (method.upper(), path.replace("{run_id}", run_id))
        for path, item in document["paths"].items()
        for method in item
    ]
    assert len(operations) >= 9
    seen_open = []
    for method, path in operations:
        url = server.base + path
        bare = httpx.request(method, url, json={} if method == "POST" else None)
        if path == "/health":
            seen_open.append(path)
            assert bare.status_code == 200
            continue
        assert bare.status_code == 401, (method, path, bare.status_code)
        assert bare.json() == {"error": "missing bearer token"}
        assert bare.headers["www-authenticate"].startswith("Bearer")
        for header in (f"Bearer {wrong}", f"Basic {server.token}", f"Bearer {server.token}x"):
            refused = httpx.request(method, url, headers={"Authorization": header})
            assert refused.status_code == 401, (method, path, header[:6])
            assert server.token not in refused.text and wrong not in refused.text
    assert seen_open == ["/health"]
    server.service.stop()  # the log is complete once the server has stopped
    log = server.log.read_text()
    assert "401" in log  # the refusals were logged (as request lines) ...
    assert server.token not in log and wrong not in log  # ... without any token
