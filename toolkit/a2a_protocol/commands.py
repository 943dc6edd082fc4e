"""``switchboard serve-a2a`` and ``switchboard health``: serve an agent over A2A, check remote agents.

Plugged into the CLI through the ``switchboard.commands`` entry-point group, so the core
CLI imports neither the SDK nor uvicorn. ``health`` works for every agent with an
``async health()`` (A2A agents, HTTP worker agents), not only A2A ones.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``serve-a2a`` and ``health`` subcommands."""
    p = subparsers.add_parser(
        "serve-a2a",
        help="serve one agent of a workflow file as an A2A server (card, JSON-RPC, streaming)",
    )
    p.add_argument("workflow", help="a workflow file (.yaml, .yml or .json)")
    p.add_argument("agent", help="the name of the agent to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument(
        "--token-env", help="environment variable holding the bearer token every call must carry"
    )
    p.add_argument(
        "--public-url",
        help="the URL clients reach the server at, for the card (default http://HOST:PORT/)",
    )
    p.add_argument("--mock", action="store_true", help="serve the agent's mock stand-in")
    p.set_defaults(func=cmd_serve_a2a)

    p = subparsers.add_parser(
        "health",
        help="check every remote agent of a workflow file (A2A, HTTP) and say which are down",
    )
    p.add_argument("workflow", help="a workflow file (.yaml, .yml or .json)")
    p.set_defaults(func=cmd_health)


def _agent(path: str, name: str, mock: bool) -> Any:
    from toolkit.cli import CLIError
    from toolkit.workflow import WorkflowError, load_workflow

    try:
        workflow = load_workflow(path)
    except WorkflowError as exc:
        raise CLIError(str(exc)) from None
    if name not in workflow.agents:
        known = ", ".join(sorted(workflow.agents))
        raise CLIError(f"{path}: no agent named {name!r} (known: {known})")
    try:
        agents = {a.name: a for a in workflow.build_agents(mock)}
    except WorkflowError as exc:
        raise CLIError(str(exc)) from None
    return agents[name]


def cmd_serve_a2a(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.extras import needs_extra
    from toolkit.text import safe_line
    from toolkit.web import TokenError, token_from_env

    if not 0 < args.port < 65536:
        raise CLIError(f"--port {args.port}: a port is 1-65535")
    token = None
    if args.token_env:
        try:
            token = token_from_env(args.token_env)
        except TokenError as exc:
            raise CLIError(str(exc)) from None
    agent = _agent(args.workflow, args.agent, args.mock)
    with needs_extra("a2a", "switchboard serve-a2a"):
        from toolkit.a2a_protocol.server import a2a_app
    with needs_extra("remote", "switchboard serve-a2a"):
        import uvicorn
    url = args.public_url or f"http://{args.host}:{args.port}/"
    app = a2a_app(agent, url=url, token=token)
    guarded = "bearer token required" if token else "no token: anyone who can connect may call it"
    print(
        f"serving agent {safe_line(agent.name, 60)} over A2A at {safe_line(url, 200)}"
        f" (card: {safe_line(url.rstrip('/'), 200)}/.well-known/agent-card.json; {guarded})",
        flush=True,
    )
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "switchboard: warning: serving beyond loopback without --token-env",
            file=sys.stderr,
            flush=True,
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    import anyio

    from toolkit.breaker import check_health
    from toolkit.cli import CLIError
    from toolkit.text import safe_line
    from toolkit.workflow import WorkflowError, load_workflow

    try:
        agents = load_workflow(args.workflow).build_agents()
    except WorkflowError as exc:
        raise CLIError(str(exc)) from None
    remote = [a for a in agents if callable(getattr(a, "health", None))]
    if not remote:
        print("no agent of this workflow has a health check (only remote agents do)")
        return 0

    async def check_all() -> list[tuple[Any, bool, str]]:
        found = []
        for agent in remote:
            ok, detail = await check_health(agent)
            found.append((agent, ok, detail))
            close = getattr(agent, "aclose", None)
            if close is not None:
                await close()
        return found

    down = 0
    for agent, ok, detail in anyio.run(check_all):
        down += not ok
        word = "ok" if ok else "DOWN"
        print(
            f"{safe_line(agent.name, 24):<24}  {safe_line(getattr(agent, 'kind', ''), 8):<8}"
            f"  {word:<4}  {safe_line(detail, 200)}"
        )
    return 1 if down else 0
