"""The ``switchboard serve`` command: the start API on uvicorn.

``register(sub)`` adds the command to ``switchboard``'s parser; this module imports
only argparse at load, the web stack when the command runs. Every user error (a bad
workflow file, an unset token variable, a port in use) is a ``CLIError``: one line on
stderr, exit code 2. The token is read from the environment variable named by
``--token-env`` and is never printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_TOKEN_ENV",
    "add_token_option",
    "follower_token",
    "register",
    "serve",
]

DEFAULT_PORT = 8001
DEFAULT_TOKEN_ENV = "SWITCHBOARD_TOKEN"
"""The variable that holds the token when ``--token-env`` is not given (server and
followers alike)."""


def _cli_error(message: str) -> Exception:
    from toolkit.cli import CLIError

    return CLIError(message)


def add_token_option(parser: Any) -> None:
    """``--token-env VAR`` on a command that follows runs over HTTP."""
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help="for an http(s):// run: the environment variable holding the server's token "
        f"(default {DEFAULT_TOKEN_ENV}, when set)",
    )


def follower_token(var: str | None) -> str | None:
    """The token a follower sends: the variable ``--token-env`` names, else
    ``SWITCHBOARD_TOKEN`` when it is set, else none.

    Raises:
        CLIError: when the named variable is unset or empty (naming it, never a value).
    """
    import os

    from toolkit.web import TokenError, token_from_env

    if var is None:
        return os.environ.get(DEFAULT_TOKEN_ENV, "").strip() or None
    try:
        return token_from_env(var)
    except TokenError as exc:
        raise _cli_error(str(exc)) from None


def register(sub: Any) -> None:
    """Add ``serve`` to ``switchboard``'s subcommands."""
    p = sub.add_parser(
        "serve",
        help="serve the HTTP start API: start runs, read and follow them, cancel them",
        description="Start runs over HTTP (POST /v1/mao/start), read their status, result and "
        "metrics, follow their events as server-sent events, cancel them. Every route but "
        "/health needs the bearer token held by --token-env.",
    )
    p.add_argument(
        "workflows",
        nargs="*",
        metavar="WORKFLOW",
        help="workflow files whose agents and workflows are served "
        "(default: the bundled research-report and feature-review scenarios, mock agents)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    p.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="VAR",
        help=f"environment variable holding the bearer token (default {DEFAULT_TOKEN_ENV})",
    )
    p.add_argument("--store", help="record every run to this SQLite run store (and serve old runs)")
    p.add_argument(
        "--mock", action="store_true", help="replace every real agent by its mock stand-in"
    )
    p.add_argument(
        "--bus",
        metavar="redis://HOST:PORT/DB",
        help="carry each run's agent-to-agent messages over this Redis bus (agents in other "
        "processes: switchboard bus-worker)",
    )
    p.add_argument(
        "--max-running", type=int, default=16, help="runs at once; one more is refused (429)"
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=4 * 1024 * 1024,
        help="largest request body in bytes (default 4 MiB)",
    )
    p.add_argument(
        "--temporal",
        metavar="HOST:PORT",
        help="also take answers for runs on this Temporal server (--executor temporal): "
        "the questions and answers routes of a run this server does not hold ask its workflow",
    )
    p.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        default="info",
        help="uvicorn's log level (info logs each request line; never a header)",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    return serve(
        args.workflows,
        host=args.host,
        port=args.port,
        token_env=args.token_env,
        store=args.store,
        mock=args.mock,
        bus=args.bus,
        max_running=args.max_running,
        max_body=args.max_body,
        log_level=args.log_level,
        temporal=args.temporal,
    )


def serve(
    workflows: Sequence[str | Path] = (),
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token_env: str = DEFAULT_TOKEN_ENV,
    store: str | Path | None = None,
    mock: bool = False,
    bus: str | None = None,
    max_running: int = 16,
    max_body: int = 4 * 1024 * 1024,
    log_level: str = "info",
    temporal: str | None = None,
) -> int:
    """Serve the start API until interrupted (SIGINT/SIGTERM: running runs are cancelled
    and recorded as such).

    Raises:
        CLIError: for every user error, before anything is served.
    """
    from toolkit.extras import needs_extra
    from toolkit.web import TokenError, token_from_env

    with needs_extra("remote", "switchboard serve"):
        import uvicorn

        from toolkit.serve.app import create_app
    from toolkit.serve.runs import Catalog, CatalogError, RunRegistry

    if max_running < 1:
        raise _cli_error("--max-running must be at least 1")
    if max_body < 1:
        raise _cli_error("--max-body must be at least 1")
    try:
        token = token_from_env(token_env)
    except TokenError as exc:
        raise _cli_error(f"{exc} (or name another with --token-env VAR)") from None
    try:
        catalog = (
            Catalog.from_files(workflows, mock=mock) if workflows else Catalog.builtin(mock=mock)
        )
    except CatalogError as exc:
        raise _cli_error(str(exc)) from None
    if store is not None:
        folder = Path(store).resolve().parent
        if not folder.is_dir():
            raise _cli_error(f"{store}: no folder {folder} for the run store")
    bus_factory = None
    if bus is not None:
        from toolkit.redis_streams import display_url

        with needs_extra("redis", "switchboard serve --bus"):
            import redis  # noqa: F401  (the bus needs it: say so now, not in a run)
        from toolkit.redis_bus import redis_bus

        try:
            bus_factory = redis_bus(bus)
        except ValueError as exc:
            raise _cli_error(f"--bus {display_url(bus)}: {exc}") from None
    if temporal is not None:
        from toolkit.temporal.commands import address_from_args

        address_from_args(temporal, "--temporal")
        with needs_extra("temporal", "switchboard serve --temporal"):
            import temporalio  # noqa: F401
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    registry = RunRegistry(catalog, store=store, max_running=max_running, bus=bus_factory)
    app = create_app(registry, token=token, max_body=max_body, temporal=temporal)
    shown = f"[{host}]" if ":" in host else host
    served = ", ".join(sorted(catalog.agents))
    print(
        f"switchboard serve: http://{shown}:{bound} — agents: {served}; "
        f"workflows: {', '.join(catalog.workflows)}; token from ${token_env}"
        + (f"; store {store}" if store else "")
        + (f"; bus {display_url(bus)}" if bus else ""),
        file=sys.stderr,
        flush=True,
    )
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(
            "switchboard serve: warning: plain HTTP beyond this machine: put a TLS proxy in "
            "front, or the token travels in clear",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening on ``host:port``, or a one-line error."""
    import socket  # here: every ``switchboard`` command loads this module for its options

    if not 0 <= port <= 65535:
        raise _cli_error(f"--port {port}: must be 0 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _cli_error(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise _cli_error(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
