"""``switchboard answer`` and ``switchboard questions``: a person answers from a terminal.

The run waiting for the answer may be in another process: the answer goes through the
run store's ``questions``/``answers`` tables (``toolkit.human.AnswerBox``), which the
waiting ``HumanAgent`` polls.
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
        questions = AnswerBox(args.store).questions(args.run_id)
    except AnswerError as exc:
        raise CLIError(str(exc)) from None
    for q in questions:
        how = {"approve": "approve/reject", "choose": "choose: " + ", ".join(q.options)}.get(
            q.mode, "text"
        )
        print(safe_line(f"{q.task_id}\t{q.person}\t{how}\t{q.text}", 500))
    return 0


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
    p.set_defaults(func=cmd_answer)

    p = sub.add_parser("questions", help="list the open questions of a run")
    p.add_argument("run_id", help="the run")
    p.add_argument("--store", default="runs.db", help="the SQLite run store (default: runs.db)")
    p.set_defaults(func=cmd_questions)
