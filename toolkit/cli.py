"""The ``switchboard`` command line: run, replay, metrics, schema, runs, validate
(and resume, rerun, compare from ``toolkit.durable``).

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
from importlib import import_module
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
    """The events of a trace file, a stored run or a run in Redis, and their fold.

    What could not be read (a trace's corrupt lines, a store's damaged rows, an
    interrupted run) and the damaged events the fold skipped are reported together,
    as one warning line on stderr.
    """
    return _recorded_events(_source(args, follow=False))


def _source(args: argparse.Namespace, *, follow: bool) -> Any:
    """The source ``replay`` and ``metrics`` read: a trace, a stored run, or a URL
    (followed live with ``follow``; otherwise read as it is now)."""
    from toolkit.sources import SourceError, is_url, open_store, open_trace, open_url

    path, store, run_id = args.trace, args.store, args.run
    if store is None and path is None:
        raise CLIError("give a trace file (run.jsonl), --store DB or redis://HOST:PORT/DB")
    try:
        if store is not None:
            return open_store(store, run_id)
        if is_url(path):
            token = None
            if path.partition("://")[0].lower() in ("http", "https"):
                from toolkit.serve.cli import follower_token

                token = follower_token(args.token_env)
            return open_url(path, run_id=run_id, follow=follow, token=token)
        if run_id is not None:
            raise CLIError("--run needs --store DB or a redis:// URL")
        return open_trace(str(path))
    except SourceError as exc:
        raise CLIError(str(exc)) from None


def _followed(source: Any) -> Any:
    """The events of a following source as they arrive (what it could not read goes to
    stderr in one line when it ends)."""
    import queue
    import threading

    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done = object()

    class _Feed:
        def emit(self, event: Any) -> None:
            inbox.put([event])

        def extend(self, events: Any) -> None:
            inbox.put(list(events))

        def problem(self, text: str) -> None:
            inbox.put(text)

        def close(self) -> None:
            inbox.put(done)

    thread = threading.Thread(target=source.produce, args=(_Feed(),), daemon=True)
    thread.start()
    problems: list[str] = []
    try:
        while (item := inbox.get()) is not done:
            if isinstance(item, str):
                problems.append(item)
            else:
                yield from item
    finally:
        source.cancel()
        if problems:  # what could not be read, reported once, in one line
            _say("warning", _report(source.label, problems, "damaged message(s)"))


def cmd_run(args: argparse.Namespace) -> int:
    import anyio

    from toolkit.extras import MissingExtraError
    from toolkit.text import pretty, safe_line
    from toolkit.workflow import WorkflowError, load_workflow

    otel_sinks: list[Any] = []
    if args.otel:
        from toolkit.otel import command_sink

        otel_sinks.append(command_sink())
    try:
        event_sinks = _event_sinks(args.events or [])
        sinks = [*otel_sinks, *event_sinks]
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
            clock="simulated" if args.simulate else None,
            sinks=sinks,
            executor=executor,
        )
        # what ``switchboard resume`` and ``rerun`` need to rebuild the agents and the plan
        run.meta.update(workflow=str(Path(args.workflow).resolve()), mock=args.mock)
        if args.bus:
            from toolkit.redis_bus import redis_bus
            from toolkit.redis_streams import display_url

            try:
                run.orch.bus = redis_bus(args.bus)
            except ValueError as exc:
                raise CLIError(f"--bus {display_url(args.bus)}: {exc}") from None
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
    for sink in otel_sinks:  # the --otel sink: its spans are sent (or it says why not)
        for problem in sink.problems:
            _say("warning", problem)
        if not sink.problems:
            where = safe_line(sink.report.destination, 300)
            print(f"otel: {sink.report.spans} span(s) sent to {where}", file=out)
    for sink in event_sinks:
        print(f"events: {sink.target.shown} (run {result.run_id})", file=out)
    return 0 if result.status == "succeeded" else 1


def _event_sinks(urls: list[str]) -> list[Any]:
    """A Redis Streams sink per ``--events`` URL (checked before the run starts)."""
    from toolkit.sources import is_url

    sinks = []
    for url in urls:
        if not is_url(url) or url.partition("://")[0].lower() not in ("redis", "rediss", "unix"):
            from toolkit.redis_streams import display_url

            raise CLIError(f"--events {display_url(url)}: expected redis://HOST:PORT/DB")
        from toolkit.redis_streams import RedisStreamSink

        try:
            sinks.append(RedisStreamSink(url))
        except ValueError as exc:
            raise CLIError(f"--events {exc}") from None
    return sinks


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
    source = _source(args, follow=True)
    # a run followed live (a redis:// URL) is printed as it goes, a line at a time
    live = source.mode == "follow"
    events = _followed(source) if live else _recorded_events(source)[0]
    # a team's child run (toolkit.team) is folded apart: its lines name the team
    runs: dict[str, tuple[RunState, MessageRoles, str]] = {}
    for e in events:
        state.apply(e)
        if e.kind == "message_sent":
            env = e.envelope
            run, run_roles, team = state, roles, ""
            if e.run_id != state.run_id:
                if e.run_id not in runs:
                    paths = {s.run_id: p for p, s in state.teams()}
                    child = state.child(e.run_id)
                    if child is not None:
                        runs[e.run_id] = (
                            child,
                            MessageRoles(),
                            f"[{safe_line(paths[e.run_id], 40)}] ",
                        )
                run, run_roles, team = runs.get(e.run_id, (state, roles, ""))
            look = run_roles.look(run.messages, len(run.messages) - 1, run.tasks)
            print(
                f"{e.seq:>6}  {team}{safe_line(env.sender, 20)} → {safe_line(env.recipient, 20)}  {message_tag(env, look)}  {safe_line(env.payload, width)}",
                flush=live,
            )
        elif args.all:
            print(
                f"{e.seq:>6}  {e.kind}  {safe_line(event_summary(e, width + 40), width + 40)}",
                flush=live,
            )
    if live and state.problems:
        _say("warning", _report(source.label, state.problems, "damaged event(s)"))
    return 0


def _recorded_events(source: Any) -> tuple[list[Any], Any]:
    """A recorded source's events and their fold, with what could not be read on stderr."""
    from toolkit.state import fold

    events = source.preload()
    if source.mode == "follow":  # a served run: read to its end (now, or when it finishes)
        events = [*events, *_followed(source)]
    state = fold(events)
    notices = list(source.notices)
    if state.problems:
        notices.append(_report(source.label, state.problems, "damaged event(s)"))
    if notices:
        _say("warning", "; ".join(notices))
    return events, state


def cmd_metrics(args: argparse.Namespace) -> int:
    from toolkit.metrics import agent_metrics
    from toolkit.text import safe_line, sanitize_line

    frame = agent_metrics(_recorded(args)[1], flatten=args.flatten)
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


def cmd_bus_worker(args: argparse.Namespace) -> int:
    """``switchboard bus-worker``: host a workflow's agents on a Redis bus until interrupted."""
    import signal

    import anyio

    from toolkit.redis_bus import BusError, serve_agents
    from toolkit.redis_streams import display_url
    from toolkit.workflow import WorkflowError, load_workflow

    try:
        workflow = load_workflow(args.workflow)
        built = {a.name: a for a in workflow.build_agents(args.mock)}
    except WorkflowError as exc:
        raise CLIError(str(exc)) from None
    unknown = [n for n in args.agents if n not in built]
    if unknown:
        raise CLIError(
            f"{args.workflow}: unknown agent(s) {', '.join(unknown)} (known: {', '.join(built)})"
        )
    sinks = _event_sinks(args.events or [])
    if args.trace:
        from toolkit.recorder import JsonlRecorder

        sinks.append(JsonlRecorder(args.trace))
    agents = {n: built[n] for n in args.agents}

    def ready(bus: Any) -> None:
        print(
            f"hosting {', '.join(agents)} on {bus.target.shown} (channel {bus.target.channel}); "
            "Ctrl-C stops",
            flush=True,
        )

    failure: list[str] = []

    async def main() -> int:
        stop = anyio.Event()
        answered = 0

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    stop.set()
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(on_signal)
            try:
                answered = await serve_agents(agents, args.bus, sinks=sinks, ready=ready, stop=stop)
            except BusError as exc:
                failure.append(str(exc))
            except ValueError as exc:  # a bad --bus URL
                failure.append(f"--bus {display_url(args.bus)}: {exc}")
            finally:
                group.cancel_scope.cancel()
        return answered

    answered = anyio.run(main)
    if failure:
        raise CLIError(failure[0])
    print(f"stopped; {answered} message(s) answered", flush=True)
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

    from toolkit.sources import SourceError, is_url

    runs: list[Any]
    parents: dict[str, tuple[str, str | None, str | None]] = {}
    where = args.store
    if is_url(args.store):
        from toolkit.redis_streams import display_url, list_runs

        where = display_url(args.store)
        try:
            runs = list_runs(args.store)
        except SourceError as exc:
            raise CLIError(str(exc)) from None
    elif not Path(args.store).exists():
        raise CLIError(f"{args.store}: no such run store")
    else:
        try:
            store = RunStore(args.store)
            runs = store.runs()
            parents = store.parents()
        except StoreError as exc:
            raise CLIError(str(exc)) from None
        except sqlite3.Error as exc:
            raise CLIError(f"{args.store}: not a readable run store ({exc})") from None
    if not runs:
        print(f"{safe_line(where, 300)}: no runs yet")
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

    def link(r: Any) -> str:
        forked_from = getattr(r, "forked_from", None)  # a Redis index keeps no fork link
        if forked_from:
            return f"  (re-run of {cell(forked_from, 40)} from {cell(getattr(r, 'from_task', None) or '?', 40)})"
        resumes = getattr(r, "resumes", 0)
        return f"  (resumed {resumes}×)" if resumes else ""

    # a team's child run is listed under its parent, indented by depth
    known = {r.run_id for r in runs}
    kids: dict[str, list[Any]] = {}
    for r in runs:
        parent = parents.get(r.run_id)
        if parent is not None and parent[0] in known:
            kids.setdefault(parent[0], []).insert(0, r)  # oldest child first

    def team(r: Any) -> str:
        _, task, name = parents[r.run_id]
        return f"  (team {cell(name or '?', 40)} of task {cell(task or '?', 40)})"

    print(f"{'run id':<18}  {'started (UTC)':<19}  {'status':<9}  {'events':>6}  {'secs':>7}  name")

    def show(r: Any, depth: int) -> None:
        indent = "  " * depth + ("└ " if depth else "")
        print(
            f"{indent}{cell(r.run_id, 40):<18}  {when(r.started_at):<19}  {cell(r.status, 20):<9}  "
            f"{cell(r.event_count, 12):>6}  {seconds(r.duration_s):>7}  {cell(r.name, 40)}"
            + (team(r) if depth else link(r))
        )
        for child in kids.get(r.run_id, ()):
            show(child, depth + 1)

    for r in runs:
        parent = parents.get(r.run_id)
        if parent is None or parent[0] not in known:
            show(r, 0)
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``switchboard`` parser: the core commands, then the plug-ins' (entry points).

    Given the arguments to parse, and when they name a core command, the plug-ins'
    commands are left out: reading the entry points loads ``importlib.metadata`` and
    scans every installed distribution, most of the time ``switchboard run --help`` took.
    """
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
    p.add_argument(
        "--events",
        action="append",
        metavar="redis://HOST:PORT/DB",
        help="publish every event of the run to Redis Streams, for followers elsewhere "
        "(switchboard tui redis://...); may be repeated",
    )
    p.add_argument(
        "--bus",
        metavar="redis://HOST:PORT/DB",
        help="carry the agents' messages over a Redis bus (agents in other processes: "
        "switchboard bus-worker)",
    )
    p.add_argument("--seed", type=int, help="seed for mock agents and ids")
    p.add_argument(
        "--mock", action="store_true", help="replace every real agent by its mock stand-in"
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="run on simulated time: latencies, time limits and backoff cost no wall time (mock and function agents)",
    )
    p.add_argument(
        "--otel",
        action="store_true",
        help="send the run live as OpenTelemetry spans (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS)",
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
        p.add_argument(
            "trace",
            nargs="?",
            help="a JSONL trace file, redis://HOST:PORT/DB for a run published there, or a "
            "served run (http://HOST:PORT/v1/runs/ID)"
            + (" (followed live until it finishes)" if name == "replay" else ""),
        )
        import_module("toolkit.serve.cli").add_token_option(p)
        p.add_argument("--store", help="read the run from this SQLite run store instead")
        p.add_argument("--run", help="the run id in the store or Redis (default: the newest)")
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
            p.add_argument(
                "--flatten",
                action="store_true",
                help="the agents inside teams (team/agent) instead of the team agents",
            )
        p.set_defaults(func=func)

    p = sub.add_parser(
        "bus-worker",
        help="host agents of a workflow in this process, reached over a Redis bus",
        description="Host agents of a workflow on a Redis message bus: each direct message "
        "to a hosted agent runs it, and its answer goes back to the sender.",
    )
    p.add_argument("workflow", help="the workflow file that defines the agents")
    p.add_argument("agents", nargs="+", metavar="AGENT", help="the agents to host")
    p.add_argument("--bus", required=True, metavar="redis://HOST:PORT/DB", help="the Redis bus")
    p.add_argument(
        "--events",
        action="append",
        metavar="redis://HOST:PORT/DB",
        help="publish this worker's events to Redis Streams (may be repeated)",
    )
    p.add_argument("--trace", help="record this worker's events to this JSONL file")
    p.add_argument("--mock", action="store_true", help="host the agents' mock stand-ins")
    p.set_defaults(func=cmd_bus_worker)

    p = sub.add_parser("schema", help="print the JSON Schema of the trace events")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("runs", help="list the runs in a run store or in Redis")
    p.add_argument(
        "--store",
        default="runs.db",
        help="the SQLite run store (default: runs.db), or redis://HOST:PORT/DB",
    )
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("validate", help="check a workflow file and list every problem")
    p.add_argument("workflow")
    p.set_defaults(func=cmd_validate)

    from toolkit.durable_cli import register as durable_commands

    durable_commands(sub)  # resume, rerun, compare

    from toolkit.human_cli import register as human_commands

    human_commands(sub)  # answer, questions

    from toolkit.remote.cli import register as remote_commands

    remote_commands(sub)  # serve-agent

    from toolkit.serve.cli import register as serve_commands

    serve_commands(sub)  # serve: the HTTP start API

    if argv and argv[0] in sub.choices:
        return parser  # a core command: the plug-ins add commands only
    from importlib.metadata import entry_points

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
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(argv)
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
    # ``python -m toolkit.cli``: run the imported module's main, so the CLIError that
    # plug-ins raise (imported from toolkit.cli) is the one main catches
    from toolkit.cli import main as _imported_main

    sys.exit(_imported_main())
