"""The review loop: a worker drafts, a reviewer judges, the worker revises until approval.

The loop is plain control flow over two calls the run gives it (``work`` makes a
draft, ``judge`` reviews one), so it does no I/O of its own and any executor can run
it. Reading a verdict and writing the revision prompt are here too, once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from toolkit.plan import ReviewSpec

__all__ = ["read_verdict", "review_loop", "review_prompt", "revision_prompt"]


def as_text(value: Any) -> str:
    """A value as prompt text: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def read_verdict(verdict: Any) -> tuple[bool, str]:
    """Read a reviewer's answer: a mapping with ``approved``, or text containing APPROVED."""
    if isinstance(verdict, Mapping):
        approved = bool(verdict.get("approved"))
        feedback = str(verdict.get("feedback", verdict.get("comments", "")))
        return approved, feedback
    text = as_text(verdict)
    upper = text.upper()
    approved = "APPROVED" in upper and "NOT APPROVED" not in upper
    return approved, text


def review_prompt(spec: ReviewSpec, draft: Any, request: str) -> str:
    """The reviewer's prompt for ``draft``."""
    return spec.prompt.replace("{{draft}}", as_text(draft)).replace("{{input}}", request)


def revision_prompt(prompt: str, draft: Any, feedback: str) -> str:
    """The worker's prompt for the next round."""
    return (
        f"{prompt}\n\nRevise your previous work.\nPrevious work:\n{as_text(draft)}"
        f"\n\nReviewer feedback:\n{feedback}"
    )


Work = Callable[[str, dict[str, Any], int], Awaitable[Any]]
"""Make a draft: (prompt, context, round) → the accepted output."""
Judge = Callable[[Any, int], Awaitable[tuple[bool, str]]]
"""Review a draft: (draft, round) → (approved, feedback)."""


async def review_loop(
    spec: ReviewSpec, prompt: str, context: dict[str, Any], work: Work, judge: Judge
) -> tuple[Any, int]:
    """Draft, review and revise until approved or ``spec.max_rounds`` drafts are made.

    Returns:
        The last draft (approved, or the one that stands) and the number of rounds.
    """
    draft = await work(prompt, context, 1)
    rounds = 1
    while True:
        approved, feedback = await judge(draft, rounds)
        if approved or rounds >= spec.max_rounds:
            return draft, rounds
        rounds += 1
        context = {**context, "draft": draft, "feedback": feedback}
        draft = await work(revision_prompt(prompt, draft, feedback), context, rounds)
