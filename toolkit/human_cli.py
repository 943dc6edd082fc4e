"""``switchboard answer`` and ``switchboard questions``: a person answers from a terminal.

The run waiting for the answer may be in another process: the answer goes through the
run store's ``questions``/``answers`` tables (``toolkit.human.AnswerBox``), which the
waiting ``HumanAgent`` polls. A run on Temporal (``switchboard run --executor temporal``)
waits in its workflow: with ``--temporal HOST:PORT`` the questions are the workflow's
query and the answer its signal (``toolkit.temporal.answers``).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def cmd_answer(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.human import AnswerBox, AnswerError
    from toolkit.text import safe_line

    fields: dict[str, Any] = {"comment": args.comment or "", "by": args.by, "via": "cli"}
    if args.approve:
        fields["approve"] = True
    elif args.reject:
        fields["approve"] = False
    elif args.choose is not None:
        fields["choice"] = args.choose
    else:
        fields["text"] = args.text
    try:
        if args.temporal:
            given = _on_temporal(args, "answer", args.run_id, args.task, **fields)
        else:
            given = AnswerBox(args.store).answer(args.run_id, args.task, **fields)
    except AnswerError as exc:
        raise CLIError(str(exc)) from None
    from toolkit.describe import answer_words

    print(safe_line(f"{args.task}: {answer_words(given.model_dump())} by {given.by}", 500))
    return 0


def cmd_questions(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.human import AnswerBox, AnswerError
    from toolkit.text import safe_line

    try:
        if args.temporal:
            questions = _on_temporal(args, "questions", args.run_id)
        else:
            questions = AnswerBox(args.store).questions(args.run_id)
    except AnswerError as exc:
        raise CLIError(str(exc)) from None
    for q in questions:
        how = {"approve": "approve/reject", "choose": "choose: " + ", ".join(q.options)}.get(
            q.mode, "text"
        )
        print(safe_line(f"{q.task_id}\t{q.person}\t{how}\t{q.text}", 500))
    return 0


def _on_temporal(args: argparse.Namespace, what: str, *call: Any, **fields: Any) -> Any:
    """List the questions of, or answer, a run on the Temporal server ``args.temporal``."""
    import anyio

    from toolkit.extras import needs_extra
    from toolkit.human import AnswerError
    from toolkit.temporal.commands import address_from_args

    address = address_from_args(args.temporal, "--temporal")
    args.hard_exit = True  # the SDK's client can abort a normal exit (sdk-python#300)
    with needs_extra("temporal", f"switchboard {what} --temporal"):
        from toolkit.temporal.answers import answer_on_temporal, questions_on_temporal
        from toolkit.temporal.worker import connect

    async def main() -> Any:
        try:
            client = await connect(address, namespace=args.namespace)
        except RuntimeError as exc:
            reason = str(exc).split(":", 1)[0]
            raise AnswerError(f"cannot reach the Temporal server at {address} ({reason})") from None
        if what == "answer":
            return await answer_on_temporal(client, *call, **fields)
        return await questions_on_temporal(client, *call)

    return anyio.run(main)


def _temporal_options(p: Any) -> None:
    p.add_argument(
        "--temporal",
        metavar="HOST:PORT",
        help="the run is on this Temporal server (--executor temporal): ask its workflow",
    )
    p.add_argument("--namespace", default="default", help="the Temporal namespace (--temporal)")


def register(sub: Any) -> None:
    """Add ``answer`` and ``questions`` to the ``switchboard`` subcommands."""
    p = sub.add_parser(
        "answer", help="answer a question a run asks a person (a human agent's task)"
    )
    p.add_argument("run_id", help="the run that asks")
    p.add_argument("task", help="the task whose question is answered")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--approve", action="store_true", help="approve")
    how.add_argument("--reject", action="store_true", help="reject")
    how.add_argument("--choose", metavar="OPTION", help="pick one of the options")
    how.add_argument("--text", metavar="TEXT", help="answer in free text")
    p.add_argument("--comment", help="why (a reviewer's feedback)")
    p.add_argument("--by", default="human", help="who answers (default: human)")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    _temporal_options(p)
    p.set_defaults(func=cmd_answer)

    p = sub.add_parser("questions", help="list the open questions of a run")
    p.add_argument("run_id", help="the run")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    _temporal_options(p)
    p.set_defaults(func=cmd_questions)
