"""The shared HTTP guard: bearer token on every route but the open ones, body limits."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from toolkit.web import TokenError, guard, token_from_env

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-value"


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"size": len(body)})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def client(max_body: int = 1024) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/health", health)])
    guarded = guard(app, token=TOKEN, max_body=max_body)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://t")


async def test_token_required_except_on_open_paths() -> None:
    """No token or a wrong one is a 401 with a reason; health is open; the token is never echoed."""
    async with client() as c:
        assert (await c.get("/health")).status_code == 200
        missing = await c.post("/echo", content=b"x")
        assert missing.status_code == 401
        assert missing.json() == {"error": "missing bearer token"}
        wrong = await c.post("/echo", content=b"x", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json() == {"error": "invalid bearer token"}
        assert TOKEN not in wrong.text
        basic = await c.post("/echo", content=b"x", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        ok = await c.post("/echo", content=b"xyz", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"size": 3}


async def test_body_over_the_limit_is_413_declared_or_streamed() -> None:
    """A declared or a streamed body past the limit gets 413 before the app sees it whole."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with client(max_body=100) as c:
        declared = await c.post("/echo", content=b"x" * 101, headers=auth)
        assert declared.status_code == 413
        assert "over the limit of 100" in declared.json()["error"]

        async def chunks():  # no content-length: the limit is enforced while reading
            for _ in range(5):
                yield b"y" * 30

        streamed = await c.post("/echo", content=chunks(), headers=auth)
        assert streamed.status_code == 413
        assert (await c.post("/echo", content=b"x" * 100, headers=auth)).status_code == 200


def test_token_from_env_names_the_variable_never_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset or blank variable is an error naming the variable."""
    monkeypatch.delenv("SB_TEST_TOKEN", raising=False)
    with pytest.raises(TokenError, match="SB_TEST_TOKEN"):
        token_from_env("SB_TEST_TOKEN")
    monkeypatch.setenv("SB_TEST_TOKEN", "  ")
    with pytest.raises(TokenError):
        token_from_env("SB_TEST_TOKEN")
    monkeypatch.setenv("SB_TEST_TOKEN", " abc ")
    assert token_from_env("SB_TEST_TOKEN") == "abc"
