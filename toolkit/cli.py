"""The ``switchboard`` command line: run, replay, metrics, schema, runs, validate.

Subcommands of packages outside the core (the terminal app's ``demo`` and ``tui``)
plug in through the ``switchboard.commands`` entry-point group, so the core never
imports the UI. A user error is one line on stderr and exit code 2, never a
traceback; a run that fails exits 1; an interrupted run is recorded as cancelled.

Whatever this module prints that came from a file, an agent or a model (names,
payloads, field names, error messages, warnings) goes through ``toolkit.text`` first,
so no escape sequence or control character reaches the terminal raw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["CLIError", "main"]


class CLIError(Exception):
    """A user error: printed as one line on stderr, exit code 2."""


def _say(kind: str, message: str) -> None:
    """One line on stderr: ``switchboard: <kind>: <message>``, terminal-safe and bounded."""
    from toolkit.text import safe_line

    print(f"switchboard: {kind}: {safe_line(message, 2000)}", file=sys.stderr)


def _report(source: str, problems: list[str], what: str = "corrupt line(s)") -> str:
    first = "; ".join(problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{source}: skipped {len(problems)} {what}: {first}{more}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CLIError(message)


def _recorded(args: argparse.Namespace) -> tuple[list[Any], Any]:
    """The events of a trace file or a stored run (``toolkit.sources``), and their fold.

    What could not be read (a trace's corrupt lines, a store's damaged rows, an
    interrupted run) and the damaged events the fold skipped are reported together,
    as one warning line on stderr.
    """
    from toolkit.sources import SourceError, open_store, open_trace
    from toolkit.state import fold

    path, store, run_id = args.trace, args.store, args.run
    if store is None and path is None:
        raise CLIError("give a trace file (run.jsonl) or --store DB")
    try:
        source = open_store(store, run_id) if store is not None else open_trace(str(path))
    except SourceError as exc:
        raise CLIError(str(exc)) from None
    events = source.preload()
    state = fold(events)
    notices = list(source.notices)
    if state.problems:
        notices.append(_report(source.label, state.problems, "damaged event(s)"))
    if notices:
        _say("warning", "; ".join(notices))
    return events, state


def cmd_run(args: argparse.Namespace) -> int:
    import anyio

    from toolkit.extras import MissingExtraError
    from toolkit.text import pretty, safe_line
    from toolkit.workflow import WorkflowError, load_workflow

    try:
        workflow = load_workflow(args.workflow)
        executor = None
        if args.executor == "temporal":  # the plan runs as a Temporal workflow
            from toolkit.temporal.commands import executor_from_args

            executor = executor_from_args(args)
        run = workflow.prepare(
            args.input,
            seed=args.seed,
            mock=args.mock,
            trace=args.trace,
            store=args.store,
            executor=executor,
        )
    except (WorkflowError, CLIError) as exc:
        raise CLIError(str(exc)) from None
    except MissingExtraError:
        raise
    except Exception as exc:  # a bad plan, a store that cannot open, a missing endpoint
        raise CLIError(f"{args.workflow}: {exc}") from None
    try:
        if args.cassette:
            from toolkit.llm.cassette import Cassette, use_cassette

            try:
                cassette = Cassette(args.cassette, args.cassette_mode)
            except Exception as exc:
                raise CLIError(f"{args.cassette}: {exc}") from None
            with use_cassette(cassette):
                result = anyio.run(run.execute)
        else:
            result = anyio.run(run.execute)
    except KeyboardInterrupt:
        print(
            "switchboard: cancelled; the trace is complete up to the interruption", file=sys.stderr
        )
        return 130
    except Exception as exc:
        if executor is None:
            raise
        raise CLIError(f"temporal: {exc}") from None  # unreachable server, a run it refuses
    out = sys.stdout
    print(f"run {result.run_id} ({safe_line(result.name, 80)}): {result.status}", file=out)
    if result.error:
        print(f"error: {safe_line(result.error, 300)}", file=out)
    print("", file=out)
    try:
        print(_summary_table(result.metrics()), file=out)
    except MissingExtraError as exc:  # the run itself needs only the core
        print(exc.for_feature("the metrics table of switchboard run"), file=sys.stderr)
    print("", file=out)
    print("result:", file=out)
    print("(no result)" if result.output is None else pretty(result.output), file=out)
    if args.trace:
        print(f"\ntrace: {safe_line(args.trace, 300)}", file=out)
    return 0 if result.status == "succeeded" else 1


def _summary_table(frame: Any) -> str:
    from toolkit.text import safe_line

    cols = [
        "agent",
        "tasks",
        "succeeded",
        "failed",
        "retries",
        "mean_s",
        "p95_s",
        "tokens_in",
        "tokens_out",
        "cost_usd",
    ]
    rows = [
        [safe_line(v, 24) if isinstance(v, str) else _num(v) for v in row]
        for row in frame[cols].itertuples(index=False)
    ]
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)
    ]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cols, widths, strict=True))
        )
    ]
    for r in rows:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _num(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def cmd_replay(args: argparse.Namespace) -> int:
    from toolkit.describe import MessageRoles, event_summary, message_tag
    from toolkit.state import RunState
    from toolkit.text import safe_line

    width = max(20, args.width)
    # the fold knows the plan: it tells a fallback from a retry, a review from a directive
    state, roles = RunState(), MessageRoles()
    for e in _recorded(args)[0]:
        state.apply(e)
        if e.kind == "message_sent":
            env = e.envelope
            look = roles.look(state.messages, len(state.messages) - 1, state.tasks)
            print(
                f"{e.seq:>6}  {safe_line(env.sender, 20)} → {safe_line(env.recipient, 20)}  {message_tag(env, look)}  {safe_line(env.payload, width)}"
            )
        elif args.all:
            print(f"{e.seq:>6}  {e.kind}  {safe_line(event_summary(e, width + 40), width + 40)}")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from toolkit.metrics import agent_metrics
    from toolkit.text import safe_line, sanitize_line

    frame = agent_metrics(_recorded(args)[1])
    to_terminal = sys.stdout.isatty()
    if args.format == "csv":
        if to_terminal:  # a file keeps the data as it is; a terminal sees it made safe
            frame["agent"] = frame["agent"].map(sanitize_line)
        sys.stdout.write(frame.to_csv(index=False))
    elif args.format == "json":
        # ASCII JSON escapes every control but DEL; escaped too, so the text stays inert
        print(frame.to_json(orient="records", indent=2).replace("\x7f", "\\u007f"))
    elif args.wide:
        frame["agent"] = frame["agent"].map(lambda name: safe_line(name, 60))
        print(frame.to_string(index=False))
    else:
        print(_summary_table(frame))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from toolkit.events import event_json_schema

    print(json.dumps(event_json_schema(), indent=2))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    import sqlite3
    from datetime import UTC, datetime

    from toolkit.store import RunStore, StoreError
    from toolkit.text import safe_line

    def cell(value: Any, width: int) -> str:
        return safe_line(value if isinstance(value, str) else str(value), width)

    if not Path(args.store).exists():
        raise CLIError(f"{args.store}: no such run store")
    try:
        runs = RunStore(args.store).runs()
    except StoreError as exc:
        raise CLIError(str(exc)) from None
    except sqlite3.Error as exc:
        raise CLIError(f"{args.store}: not a readable run store ({exc})") from None
    if not runs:
        print(f"{safe_line(args.store, 300)}: no runs yet")
        return 0

    def when(ts: Any) -> str:  # a store's values are data: any type may be in a column
        try:
            return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError, OverflowError, OSError):
            return "-" if ts is None else "?"

    def seconds(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:.2f}"
        return "-" if value is None else "?"

    print(f"{'run id':<18}  {'started (UTC)':<19}  {'status':<9}  {'events':>6}  {'secs':>7}  name")
    for r in runs:
        print(
            f"{cell(r.run_id, 40):<18}  {when(r.started_at):<19}  {cell(r.status, 20):<9}  "
            f"{cell(r.event_count, 12):>6}  {seconds(r.duration_s):>7}  {cell(r.name, 40)}"
        )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from toolkit.text import safe_line
    from toolkit.workflow import WorkflowError, load_workflow

    try:
        workflow = load_workflow(args.workflow)
    except WorkflowError as exc:
        # the list is the command's output (stdout); the error is one line on stderr
        print(f"{safe_line(exc.source, 300)}: {len(exc.problems)} problem(s):")
        for problem in exc.problems:
            print(f"  {safe_line(problem, 1000)}")
        raise CLIError(str(exc)) from None
    plan = workflow.plan()
    steps = f"{len(plan.tasks)} step(s)" if plan is not None else "steps planned at run time"
    print(f"{safe_line(args.workflow, 300)}: ok ({len(workflow.agents)} agent(s), {steps})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="switchboard", description="Build, watch and teach multi-agent orchestration."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "run", help="run a workflow file headless; print the result and per-agent metrics"
    )
    p.add_argument("workflow", help="a workflow file (.yaml, .yml or .json)")
    p.add_argument("--input", help="the request (overrides the workflow's input)")
    p.add_argument("--trace", help="record the run to this JSONL file")
    p.add_argument("--store", help="record the run to this SQLite run store")
    p.add_argument("--seed", type=int, help="seed for mock agents and ids")
    p.add_argument(
        "--mock", action="store_true", help="replace every real agent by its mock stand-in"
    )
    p.add_argument("--cassette", help="record or replay every LLM call of the run with this file")
    p.add_argument(
        "--cassette-mode",
        choices=["replay", "record", "auto"],
        default="replay",
        help="replay (no network; the default), record, or auto (replay what is there, record the rest)",
    )
    p.add_argument(
        "--executor",
        choices=["in-process", "temporal"],
        default="in-process",
        help="where the plan runs: in this process (the default) or as a Temporal workflow",
    )
    p.add_argument(
        "--temporal", metavar="HOST:PORT", help="the Temporal server (--executor temporal)"
    )
    p.add_argument("--task-queue", help="the task queue of the workers (default: switchboard)")
    p.add_argument(
        "--blobs", help="directory for payloads over Temporal's limit, shared with the workers"
    )
    p.set_defaults(func=cmd_run)

    for name, helptext, func in (
        (
            "replay",
            "print a recorded run's message flow (sender → recipient, kind, payload)",
            cmd_replay,
        ),
        ("metrics", "print a recorded run's per-agent metrics", cmd_metrics),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("trace", nargs="?", help="a JSONL trace file")
        p.add_argument("--store", help="read the run from this SQLite run store instead")
        p.add_argument("--run", help="the run id in the store (default: the newest)")
        if name == "replay":
            p.add_argument(
                "--all", action="store_true", help="also print the events that are not messages"
            )
            p.add_argument(
                "--width", type=int, default=70, help="payload characters per line (default 70)"
            )
        else:
            p.add_argument("--format", choices=["table", "csv", "json"], default="table")
            p.add_argument("--wide", action="store_true", help="table with every column")
        p.set_defaults(func=func)

    p = sub.add_parser("schema", help="print the JSON Schema of the trace events")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("runs", help="list the runs in a run store")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("validate", help="check a workflow file and list every problem")
    p.add_argument("workflow")
    p.set_defaults(func=cmd_validate)

    for ep in entry_points(group="switchboard.commands"):
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plug-in must not break the core commands
            _say("warning", f"commands from {ep.value!r} unavailable: {exc}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` console script."""
    box: dict[str, Any] = {}
    code = _main(argv, box)
    if getattr(box.get("args"), "hard_exit", False):
        # a command whose native library cannot be finalized cleanly (the Temporal SDK can
        # abort the interpreter's exit: sdk-python#300) ends here, its output flushed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: Sequence[str] | None, box: dict[str, Any]) -> int:
    from toolkit.extras import MissingExtraError, extra_for

    command = "switchboard"
    try:
        parser = build_parser()
        args = box["args"] = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        command = f"switchboard {args.command}"
        return int(args.func(args) or 0)
    except CLIError as exc:
        _say("error", str(exc))
        return 2
    except MissingExtraError as exc:  # a command whose optional part is not installed
        print(exc.for_feature(command), file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        extra = extra_for(exc.name)
        if extra is None:
            raise
        print(MissingExtraError(command, extra, exc.name), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("switchboard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
