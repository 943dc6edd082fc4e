"""Agents for the durable-run tests: each call appends a line to a work log (the work
is done), then answers with a digest of its inputs, so a result that fed the wrong
inputs changes the run's final answer."""

from __future__ import annotations

import hashlib
import os

import anyio

from toolkit.agents import Directive


async def work(directive: Directive) -> str:
    """Log ``task_id`` to ``$SB_WORK_LOG`` (one ``write`` of one line), wait
    ``$SB_WORK_DELAY`` seconds, answer ``task_id:digest-of-the-inputs``."""
    with open(os.environ["SB_WORK_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{directive.task_id}\n")
    delay = float(os.environ.get("SB_WORK_DELAY", "0"))
    if delay:
        await anyio.sleep(delay)
    inputs = "|".join(f"{k}={v}" for k, v in sorted(directive.context.items()))
    digest = hashlib.sha256(f"{directive.prompt}|{inputs}".encode()).hexdigest()[:12]
    return f"{directive.task_id}:{digest}"


async def gated(directive: Directive) -> str:
    """As ``work``; the task named by ``$SB_GATE_TASK`` then waits until the file
    ``$SB_GATE`` exists (a test kills the process while it waits, so where the run
    stands is known, not timed)."""
    task, gate = os.environ.get("SB_GATE_TASK"), os.environ.get("SB_GATE")
    if gate and directive.task_id == task:
        with open(os.environ["SB_WORK_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{directive.task_id}\n")
        while not os.path.exists(gate):
            await anyio.sleep(0.01)
        inputs = "|".join(f"{k}={v}" for k, v in sorted(directive.context.items()))
        digest = hashlib.sha256(f"{directive.prompt}|{inputs}".encode()).hexdigest()[:12]
        return f"{directive.task_id}:{digest}"
    return await work(directive)
