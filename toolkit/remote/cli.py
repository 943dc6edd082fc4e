"""``switchboard serve-agent WORKFLOW AGENT``: serve one agent of a workflow over HTTP.

The agent is built from the workflow file as a run would build it (``--mock`` serves
its stand-in) and served by uvicorn on ``--host``/``--port`` until interrupted. With
``--token-env VAR`` every call must bear the token held by ``VAR``; without one the
worker serves loopback only. Each call is printed as one line (``--quiet``: none),
made terminal-safe; the token is never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["register"]


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> Any:
    """A listening TCP socket on ``host:port``, made as uvicorn would make it.

    Its protocol is IPPROTO_TCP, not 0 (as ``socket.create_server`` leaves it): asyncio
    turns Nagle's algorithm off only on sockets that say they are TCP, and with it on,
    each answer waits ~40 ms for the client's delayed ACK.
    """
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener


def cmd_serve_agent(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.extras import needs_extra
    from toolkit.redact import scrub
    from toolkit.text import safe_line
    from toolkit.web import TokenError, token_from_env
    from toolkit.workflow import WorkflowError, load_workflow

    with needs_extra("remote", "switchboard serve-agent"):
        import uvicorn

        from toolkit.remote.worker import worker_app

    try:
        workflow = load_workflow(args.workflow)
    except WorkflowError as exc:
        raise CLIError(str(exc)) from None
    spec = workflow.agents.get(args.agent)
    if spec is None:
        known = ", ".join(sorted(workflow.agents))
        raise CLIError(f"{args.workflow}: no agent {args.agent!r} (known: {known})")
    if not 0 < args.port < 65536:
        raise CLIError(f"--port {args.port}: a port is 1 to 65535")
    token = None
    if args.token_env:
        try:
            token = token_from_env(args.token_env)
        except TokenError as exc:
            raise CLIError(f"--token-env: {exc}") from None
    elif not _loopback(args.host):
        raise CLIError(
            f"--host {args.host} is reachable from other machines: give --token-env VAR "
            "(the variable holding the bearer token callers must send)"
        )
    try:
        agent = spec.stand_in(args.agent) if args.mock else spec.build(args.agent)
    except Exception as exc:
        raise CLIError(f"{args.workflow}: agents.{args.agent}: {exc}") from None

    def on_call(envelope: Any) -> None:
        who = f"{envelope.sender} → {envelope.recipient}"
        what = f"task {envelope.task_id} attempt {envelope.attempt}" if envelope.task_id else ""
        line = (
            f"{time.strftime('%H:%M:%S')}  {envelope.kind:<9}  {who}  {what}  "
            f"conversation {envelope.conversation_id}  trace {envelope.trace_id[:12]}…  "
            f"{envelope.payload.get('prompt', '') if isinstance(envelope.payload, dict) else envelope.payload}"
        )
        print(safe_line(scrub(line), 200), flush=True)

    try:  # bound here, so a port in use is one clear line, not uvicorn's log
        listener = _listen(args.host, args.port)
    except OSError as exc:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    app = worker_app(
        agent, token=token, max_body=args.max_body, on_call=None if args.quiet else on_call
    )
    where = f"http://{args.host}:{args.port}"
    guard_note = f"token from ${args.token_env}" if token else "no token: loopback only"
    print(
        safe_line(
            f"serving agent {args.agent} ({getattr(agent, 'kind', 'agent')}) on {where} "
            f"({guard_note}); POST /run, GET /health; Ctrl-C stops",
            300,
        ),
        flush=True,
    )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    print("switchboard: worker stopped", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``serve-agent`` to ``switchboard``'s subcommands."""
    p = sub.add_parser("serve-agent", help="serve one agent of a workflow file over HTTP")
    p.add_argument("workflow", help="a workflow file (.yaml, .yml or .json)")
    p.add_argument("agent", help="the name of the agent to serve (a key of its agents)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    p.add_argument(
        "--token-env",
        metavar="VAR",
        help="the environment variable holding the bearer token every call must bear",
    )
    p.add_argument("--mock", action="store_true", help="serve the agent's mock stand-in")
    p.add_argument(
        "--max-body",
        type=int,
        default=4 * 1024 * 1024,
        help="largest directive accepted, in bytes (default 4 MiB)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing per call")
    p.set_defaults(func=cmd_serve_agent)
