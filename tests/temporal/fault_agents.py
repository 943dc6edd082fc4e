"""An agent for the fault tests: it records each call it starts (a side effect to count)."""

from __future__ import annotations

import os

import anyio

from toolkit.agents import Directive


async def step(directive: Directive) -> str:
    """Append ``<task id> <pid>`` to ``$SWITCHBOARD_SIDE_EFFECTS``, work ``meta.sleep`` s, answer."""
    with open(os.environ["SWITCHBOARD_SIDE_EFFECTS"], "a") as f:
        f.write(f"{directive.task_id} {os.getpid()}\n")
    await anyio.sleep(float(directive.meta.get("sleep", 0)))
    return f"{directive.task_id} done after: {directive.prompt[:40]}"
