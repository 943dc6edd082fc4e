"""The ``switchboard demo`` and ``switchboard tui`` commands.

Plugged into the core's command line through the ``switchboard.commands`` entry
point (``register``); the core never imports the app. Every user error (missing or
corrupt file, unknown run, invalid workflow) is raised as ``toolkit.cli.CLIError``
before the app starts: one line on stderr, exit code 2, no traceback.
``python -m tui`` runs the same commands without the core's CLI.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "register", "source_from_args"]


def _cli_error(message: str) -> Exception:
    from toolkit.cli import CLIError

    return CLIError(message)


def register(subparsers: Any) -> None:
    """Add ``demo`` and ``tui`` to ``switchboard``'s subcommands."""
    demo = subparsers.add_parser(
        "demo", help="open the terminal app on the built-in demo run (mock agents, no key)"
    )
    demo.add_argument("--seed", type=int, default=None, help="seed of the mock agents")
    demo.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="multiply the agents' latencies (0: as fast as possible)",
    )
    demo.add_argument("--input", default=None, help="the request (default: the scenario's)")
    demo.set_defaults(func=cmd_demo)

    tui = subparsers.add_parser(
        "tui",
        help="open the terminal app on a workflow (live), a trace (.jsonl) or a stored run",
        description="Run a workflow live, replay a trace or a stored run, or follow a trace being written.",
    )
    tui.add_argument("path", nargs="?", help="a workflow (.yaml, .yml, .json) or a trace (.jsonl)")
    tui.add_argument("--store", help="a SQLite run store to replay a run from")
    tui.add_argument("--run", dest="run_id", help="the run id in --store (default: the latest)")
    tui.add_argument(
        "--follow", action="store_true", help="tail a trace file that is still being written"
    )
    tui.add_argument("--seed", type=int, default=None, help="seed for a workflow's mock agents")
    tui.add_argument(
        "--input", default=None, help="the request for a workflow (default: its input)"
    )
    tui.set_defaults(func=cmd_tui)


def source_from_args(args: argparse.Namespace) -> Any:
    """The event source the arguments name.

    Raises:
        CLIError: for any user error, with a one-line message.
    """
    from toolkit.sources import SourceError, open_path, open_store

    try:
        if getattr(args, "store", None):
            if args.path:
                raise SourceError("give either a PATH or --store, not both")
            if args.follow:
                raise SourceError("--follow tails a trace file; it does not apply to --store")
            return open_store(Path(args.store), args.run_id)
        if args.run_id:
            raise SourceError("--run needs --store DB")
        if not args.path:
            raise SourceError(
                "give a workflow (.yaml) or a trace (.jsonl), or --store DB [--run ID]"
            )
        return open_path(Path(args.path), follow=args.follow, input_text=args.input, seed=args.seed)
    except SourceError as exc:
        raise _cli_error(str(exc)) from None


def _run_app(source: Any) -> int:
    from tui.app import SwitchboardApp

    app = SwitchboardApp(source)
    app.run()
    return app.return_code or 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``switchboard demo``: the feature-review scenario, live."""
    from toolkit.sources import open_demo

    if args.speed < 0:
        raise _cli_error("--speed must be 0 or more")
    return _run_app(open_demo(seed=args.seed, input_text=args.input, speed=args.speed))


def cmd_tui(args: argparse.Namespace) -> int:
    """``switchboard tui``: a workflow live, a trace or a stored run replayed, a trace followed."""
    return _run_app(source_from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tui demo|tui ...``: the same commands, without the core's CLI."""
    import sys

    from toolkit.cli import CLIError

    parser = argparse.ArgumentParser(prog="python -m tui")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"switchboard: error: {exc}", file=sys.stderr)
        return 2
