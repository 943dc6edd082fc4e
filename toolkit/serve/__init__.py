"""Runs started and followed over HTTP: ``switchboard serve`` and its followers.

- ``toolkit.serve.models``: the request and answer bodies (pydantic; the OpenAPI schemas).
- ``toolkit.serve.runs``: what a server can run (``Catalog``) and the runs it holds
  (``RunRegistry``, ``RunRecord``), framework-free.
- ``toolkit.serve.app``: the Starlette app and its OpenAPI document (``create_app``).
- ``toolkit.serve.follow``: ``HttpSource``, the ``toolkit.sources`` source that follows
  a served run's event stream (``switchboard tui http://HOST:PORT/v1/runs/ID``).
- ``toolkit.serve.cli``: the ``switchboard serve`` command.

The web parts need the ``remote`` extra (starlette, uvicorn, sse-starlette, httpx); they
are imported only when used, through ``toolkit.extras.needs_extra``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "open_http", "serve"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """``toolkit.serve.app.create_app`` (see there); needs the ``remote`` extra."""
    from toolkit.extras import needs_extra

    with needs_extra("remote", "toolkit.serve"):
        from toolkit.serve.app import create_app as create

    return create(*args, **kwargs)


def open_http(*args: Any, **kwargs: Any) -> Any:
    """``toolkit.serve.follow.open_http`` (see there); needs the ``remote`` extra."""
    from toolkit.extras import needs_extra

    with needs_extra("remote", "following a run over HTTP"):
        from toolkit.serve.follow import open_http as open_

    return open_(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> Any:
    """``toolkit.serve.cli.serve`` (see there); needs the ``remote`` extra."""
    from toolkit.serve.cli import serve as run

    return run(*args, **kwargs)
