"""``switchboard resume``, ``rerun`` and ``compare``: durable runs from a terminal.

Only the subcommands' arguments live here, so that building the parser (``switchboard
--help``, ``switchboard run ...``) loads neither ``toolkit.durable`` nor the event and
plan models it needs: each command imports what it runs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.run import Run

__all__ = ["register"]


def _execute(run: Run) -> int:
    import anyio

    from toolkit.text import pretty, safe_line

    try:
        result = anyio.run(run.execute)
    except KeyboardInterrupt:
        print(
            "switchboard: cancelled; the trace is complete up to the interruption", file=sys.stderr
        )
        return 130
    print(f"run {result.run_id} ({safe_line(result.name, 80)}): {result.status}")
    if result.error:
        print(f"error: {safe_line(result.error, 300)}")
    print("\nresult:")
    print("(no result)" if result.output is None else pretty(result.output))
    return 0 if result.status == "succeeded" else 1


def _cli_error(exc: Exception) -> Exception:
    from toolkit.cli import CLIError

    return CLIError(str(exc))


def cmd_resume(args: argparse.Namespace) -> int:
    from toolkit.durable import ResumeError, workflow_resume
    from toolkit.text import safe_line
    from toolkit.workflow import WorkflowError

    try:
        run = workflow_resume(args.run_id, args.store, workflow=args.workflow, force=args.force)
    except (ResumeError, WorkflowError) as exc:
        raise _cli_error(exc) from None
    carry = run._carry
    assert carry is not None
    kept, rerun = carry.resumed_fields["kept"], carry.resumed_fields["rerun"]
    print(
        f"resuming run {safe_line(args.run_id, 60)}: {len(kept)} task(s) kept,"
        f" {len(rerun)} to run"
        + (
            f" (forced: {safe_line(carry.resumed_fields['forced'][0], 200)})"
            if args.force and carry.resumed_fields["forced"]
            else ""
        )
    )
    return _execute(run)


def cmd_rerun(args: argparse.Namespace) -> int:
    from toolkit.durable import ResumeError, parse_edits, workflow_rerun
    from toolkit.text import safe_line
    from toolkit.workflow import WorkflowError

    try:
        edits = parse_edits(args.set or [])
        options: dict[str, Any] = {} if args.seed is None else {"seed": args.seed}
        run = workflow_rerun(
            args.run_id,
            args.from_task,
            args.store,
            workflow=args.workflow,
            edits=edits,
            trace=args.trace,
            **options,
        )
    except (ResumeError, WorkflowError) as exc:
        raise _cli_error(exc) from None
    carry = run._carry
    assert carry is not None and carry.forked_fields is not None
    print(
        f"re-running {safe_line(args.run_id, 60)} from {safe_line(args.from_task, 60)}:"
        f" {len(carry.forked_fields['reused'])} result(s) reused,"
        f" {len(carry.forked_fields['rerun'])} task(s) to run"
    )
    return _execute(run)


def cmd_compare(args: argparse.Namespace) -> int:
    from toolkit.compare import compare_stored, format_comparison
    from toolkit.durable import ResumeError

    try:
        frame = compare_stored(args.store, args.run_a, args.run_b)
    except ResumeError as exc:
        raise _cli_error(exc) from None
    if args.format == "csv":
        from toolkit.text import sanitize_line

        if sys.stdout.isatty():
            frame["task"] = frame["task"].map(sanitize_line)
        sys.stdout.write(frame.to_csv(index=False))
    elif args.format == "json":
        print(frame.to_json(orient="records", indent=2).replace("\x7f", "\\u007f"))
    else:
        print(format_comparison(frame, args.run_a, args.run_b))
    return 0


def register(sub: Any) -> None:
    """Add ``resume``, ``rerun`` and ``compare`` to the ``switchboard`` subcommands."""
    p = sub.add_parser(
        "resume", help="continue an interrupted run from its store (finished tasks are kept)"
    )
    p.add_argument("run_id", help="the interrupted run")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    p.add_argument(
        "--workflow", help="the workflow file it started from (default: the one it recorded)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="resume even when the plan or the agents differ from the run's",
    )
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser(
        "rerun",
        help="a new run from a stored one: reuse the results before TASK, execute TASK and after",
    )
    p.add_argument("run_id", help="the stored run")
    p.add_argument(
        "--from",
        dest="from_task",
        required=True,
        metavar="TASK",
        help="the first task executed again (it and everything that depends on it run)",
    )
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    p.add_argument(
        "--set",
        action="append",
        metavar="TASK.FIELD=VALUE",
        help="change a re-run task (prompt, agent, goal, ...); repeatable",
    )
    p.add_argument("--seed", type=int, help="another seed for the mock agents")
    p.add_argument("--workflow", help="the workflow file (default: the one the run recorded)")
    p.add_argument("--trace", help="also record the new run to this JSONL file")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser(
        "compare", help="compare two stored runs task by task (output changed, time, cost)"
    )
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_compare)
