"""The shared shape of tool agents: real work off the event loop, every tool use traced.

A tool agent does its work with ordinary Python (pandas, files, subprocesses, ``ast``)
instead of a model. Blocking work runs in a worker thread so it never stalls the run's
event loop, and each piece of work is reported as a ``tool_call`` trace event when the
agent runs inside an orchestrated run (called directly, outside a run, it just works).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio

from toolkit.agents import Agent, Directive

__all__ = ["ToolAgent", "context_items", "summarize_result"]

T = TypeVar("T")


def summarize_result(value: Any, limit: int = 400) -> Any:
    """A small, JSON-friendly stand-in for a tool result, for the trace.

    Dicts and lists keep their shape when they are small; anything large becomes a
    clipped string, so a trace never carries a whole CSV or a whole document.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    if len(text) <= limit:
        return json.loads(text) if isinstance(value, (dict, list)) else value
    return text[: limit - 1] + "…"


def context_items(directive: Directive) -> list[tuple[str, Any]]:
    """The directive's context values in a stable order: dependencies first, then loop keys.

    Review loops add ``draft`` and ``feedback`` to the context; these come last so an
    agent looking for "the latest input" finds its dependencies' results first.
    """
    loop_keys = ("draft", "feedback")
    items = [(k, v) for k, v in directive.context.items() if k not in loop_keys]
    items += [(k, directive.context[k]) for k in loop_keys if k in directive.context]
    return items


class ToolAgent(Agent):
    """Base of the sample tool agents: ``kind = "tool"`` and a traced ``use_tool``."""

    kind = "tool"

    async def use_tool(
        self,
        directive: Directive,
        tool: str,
        arguments: Mapping[str, Any],
        fn: Callable[[], T],
        *,
        summary: Callable[[T], Any] | None = None,
    ) -> T:
        """Run blocking ``fn`` in a worker thread and record it as one tool call.

        Args:
            directive: The directive being served (its session, if any, gets the event).
            tool: The tool's name as shown in the trace.
            arguments: The tool's arguments as shown in the trace.
            fn: The blocking work.
            summary: Makes the traced result from the return value (default: a clipped copy).

        Returns:
            What ``fn`` returned.

        Raises:
            AgentError: re-raised from ``fn`` after the failed call is recorded.
        """
        t0 = time.perf_counter()
        try:
            result = await anyio.to_thread.run_sync(fn)
        except Exception as exc:
            self.record(
                directive,
                tool,
                arguments,
                f"{type(exc).__name__}: {exc}",
                ok=False,
                duration_s=time.perf_counter() - t0,
            )
            raise
        traced = summary(result) if summary is not None else summarize_result(result)
        self.record(
            directive, tool, arguments, traced, ok=True, duration_s=time.perf_counter() - t0
        )
        return result

    def record(
        self,
        directive: Directive,
        tool: str,
        arguments: Mapping[str, Any],
        result: Any,
        *,
        ok: bool = True,
        duration_s: float = 0.0,
    ) -> None:
        """Record a tool call on the run's trace; does nothing outside a run."""
        if not directive.in_run:
            return
        directive.session.tool_call(
            tool, dict(arguments), summarize_result(result), ok=ok, duration_s=duration_s
        )

    def log(self, directive: Directive, message: str, level: str = "info") -> None:
        """Write a log line to the run's trace; does nothing outside a run."""
        if directive.in_run:
            directive.session.log(message, level)
