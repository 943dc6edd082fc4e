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

__all__ = ["DEMO_PACE", "main", "pick_run", "register", "source_from_args"]

DEMO_PACE = 6.0
"""The demo's agent latencies at ``--speed 1``, as a multiple of the scenario's own.

The scenario's latencies are tuned for tests (the whole run in ~2.6 s, over before a
newcomer has read the header); six times that lets one follow each message arrive.
"""

DEMO_SECONDS = 15
"""About how long the demo run takes at ``--speed 1`` (for the help text)."""


def _cli_error(message: str) -> Exception:
    from toolkit.cli import CLIError

    return CLIError(message)


def register(subparsers: Any) -> None:
    """Add ``demo`` and ``tui`` to ``switchboard``'s subcommands."""
    demo = subparsers.add_parser(
        "demo", help="open the terminal app on the built-in demo run (mock agents, no key)"
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the mock agents: another seed, another run (failures, review rounds)",
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="how fast the run unfolds, as + and - in the app: 2 is twice as fast, 0.5 half "
        f"(at 1 the run takes about {DEMO_SECONDS:g} s)",
    )
    demo.add_argument("--input", default=None, help="the request (default: the scenario's)")
    demo.set_defaults(func=cmd_demo)

    tui = subparsers.add_parser(
        "tui",
        help="open the terminal app on a workflow (live), a trace (.jsonl) or a stored run",
        description="Run a workflow live, replay a trace or a stored run, or follow a trace "
        "being written or a run served over HTTP (http://HOST:PORT/v1/runs/ID).",
    )
    tui.add_argument(
        "path",
        nargs="?",
        help="a workflow (.yaml, .yml, .json), a trace (.jsonl), redis://HOST:PORT/DB to "
        "follow a run another process publishes (--run ID; default: the newest), or a "
        "served run (http://HOST:PORT/v1/runs/ID)",
    )
    tui.add_argument(
        "--store", help="a SQLite run store: lists its runs to pick from (one run opens at once)"
    )
    tui.add_argument(
        "--run", dest="run_id", help="open this run of --store (or of a redis:// URL) directly"
    )
    tui.add_argument(
        "--temporal",
        metavar="HOST:PORT",
        help="follow the run --run RUN_ID on this Temporal server, live (runs on Temporal)",
    )
    tui.add_argument(
        "--follow", action="store_true", help="tail a trace file that is still being written"
    )
    tui.add_argument(
        "--pick",
        action="store_true",
        help="with a redis:// URL: list the newest runs and ask which one to follow",
    )
    tui.add_argument("--seed", type=int, default=None, help="seed for a workflow's mock agents")
    tui.add_argument(
        "--input", default=None, help="the request for a workflow (default: its input)"
    )
    tui.add_argument(
        "--mock", action="store_true", help="replace every real agent by its mock stand-in"
    )
    tui.add_argument(
        "--simulate",
        action="store_true",
        help="run the workflow on simulated time and watch it at its recorded pace",
    )
    tui.add_argument(
        "--cassette", help="record or replay every LLM call of the workflow with this file"
    )
    tui.add_argument(
        "--cassette-mode",
        choices=["replay", "record", "auto"],
        default="replay",
        help="replay (no network; the default), record, or auto (replay what is there, record the rest)",
    )
    tui.add_argument(
        "--cassette-pace",
        type=float,
        default=1.0,
        help="replayed calls take their recorded time times this, streaming as they did "
        "(1: as recorded, the default; 0: at once)",
    )
    from toolkit.serve.cli import add_token_option

    add_token_option(tui)
    tui.set_defaults(func=cmd_tui)


def source_from_args(args: argparse.Namespace) -> Any:
    """The event source the arguments name.

    Raises:
        CLIError: for any user error, with a one-line message.
    """
    from toolkit.sources import (
        SourceError,
        is_url,
        is_workflow,
        open_catalog,
        open_path,
        open_store,
    )

    url = bool(args.path) and is_url(args.path)
    try:
        live_only = [
            flag
            for flag, given in (
                ("--cassette", getattr(args, "cassette", None)),
                ("--mock", getattr(args, "mock", False)),
                ("--simulate", getattr(args, "simulate", False)),
            )
            if given
        ]
        if live_only and (getattr(args, "store", None) or not is_workflow(Path(args.path or ""))):
            raise SourceError(
                f"{live_only[0]} applies to a workflow run live, not to a recorded run"
            )
        if getattr(args, "store", None):
            if args.path:
                raise SourceError("give either a PATH or --store, not both")
            if args.follow:
                raise SourceError("--follow tails a trace file; it does not apply to --store")
            if args.run_id:
                return open_store(Path(args.store), args.run_id)
            catalog = open_catalog(Path(args.store))
            runs = catalog.runs()
            top = [r for r in runs if r.depth == 0]  # a run with its teams' runs is one
            if len(top) == 1:
                return catalog.open(top[0].run_id)
            if not runs:
                raise SourceError(f"{args.store} has no runs")
            return catalog  # several: the run browser lists them
        if getattr(args, "temporal", None):
            if not args.run_id or args.path:
                raise SourceError("--temporal follows a run by id: give --run RUN_ID, no PATH")
            from toolkit.extras import needs_extra

            with needs_extra("temporal", "switchboard tui --temporal"):
                from toolkit.temporal.source import TemporalSource
            args.hard_exit = True  # the SDK's client can abort a normal exit (sdk-python#300)
            return TemporalSource(args.temporal, args.run_id)
        if args.run_id and not url:
            raise SourceError("--run needs --store DB, a redis:// URL or --temporal HOST:PORT")
        if not args.path:
            raise SourceError(
                "give a workflow (.yaml) or a trace (.jsonl), or --store DB [--run ID]"
            )
        url = "://" in args.path
        return open_path(
            args.path if url else Path(args.path),
            token=_follower_token(args) if url else None,
            follow=args.follow,
            input_text=args.input,
            seed=args.seed,
            mock=getattr(args, "mock", False),
            simulate=getattr(args, "simulate", False),
            run_id=args.run_id,
        )
    except SourceError as exc:
        raise _cli_error(str(exc)) from None


def _follower_token(args: argparse.Namespace) -> str | None:
    from toolkit.serve.cli import follower_token

    return follower_token(getattr(args, "token_env", None))


def cassette_from_args(args: argparse.Namespace) -> Any:
    """The ``Cassette`` that ``--cassette``/``--cassette-mode``/``--cassette-pace`` name, or None.

    Raises:
        CLIError: for a negative pace or a cassette that cannot be read.
    """
    if not getattr(args, "cassette", None):
        return None
    from toolkit.llm.cassette import Cassette

    if args.cassette_pace < 0:
        raise _cli_error("--cassette-pace must be 0 or more")
    try:
        return Cassette(args.cassette, args.cassette_mode, pace=args.cassette_pace)
    except Exception as exc:  # missing or invalid file: one line, no traceback
        raise _cli_error(f"{args.cassette}: {exc}") from None


def _run_app(source: Any, cassette: Any = None) -> int:
    from tui.app import SwitchboardApp

    app = SwitchboardApp(source)
    if cassette is None:
        app.run()
    else:
        from toolkit.llm.cassette import use_cassette

        # process-wide, so the run's worker thread answers from it too
        with use_cassette(cassette):
            app.run()
    return app.return_code or 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``switchboard demo``: the feature-review scenario, live."""
    return _run_app(demo_source(args))


def demo_source(args: argparse.Namespace) -> Any:
    """The demo's live source: ``--speed`` is how fast it unfolds (higher is faster).

    Raises:
        CLIError: for a speed that is not a positive number.
    """
    from toolkit.sources import open_demo

    if not args.speed > 0 or args.speed == float("inf"):
        raise _cli_error("--speed must be a positive number (2: twice as fast, 0.5: half)")
    return open_demo(seed=args.seed, input_text=args.input, speed=DEMO_PACE / args.speed)


def pick_run(url: str, ask: Any = input, say: Any = print) -> str:
    """List the newest runs at a Redis URL and ask which one to follow (Enter: the newest).

    Raises:
        CLIError: when there are no runs, Redis cannot be reached, or the answer is not
            a number from the list.
    """
    from toolkit.redis_streams import list_runs
    from toolkit.sources import SourceError
    from toolkit.text import safe_line

    try:
        runs = list_runs(url, limit=20)
    except SourceError as exc:
        raise _cli_error(str(exc)) from None
    if not runs:
        from toolkit.redis_streams import display_url

        raise _cli_error(f"{display_url(url)}: no runs yet")
    for number, run in enumerate(runs, 1):
        say(
            f"{number:>3}  {safe_line(run.run_id, 40)}  {safe_line(run.status, 12):<9}  "
            f"{run.event_count or 0:>7} events  {safe_line(run.name, 40)}"
        )
    try:
        answer = str(ask(f"run to follow [1-{len(runs)}, Enter: 1]: ")).strip() or "1"
    except EOFError:
        answer = "1"
    if not answer.isdigit() or not 1 <= int(answer) <= len(runs):
        raise _cli_error(f"{safe_line(answer, 20)}: pick a number from 1 to {len(runs)}")
    return runs[int(answer) - 1].run_id


def cmd_tui(args: argparse.Namespace) -> int:
    """``switchboard tui``: a workflow live, a trace or a stored run replayed, a trace followed."""
    if getattr(args, "pick", False):
        from toolkit.sources import is_url

        if not args.path or not is_url(args.path) or args.run_id:
            raise _cli_error("--pick lists the runs at a redis:// URL; give the URL without --run")
        args.run_id = pick_run(args.path)
    source = source_from_args(args)
    return _run_app(source, cassette_from_args(args))


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
