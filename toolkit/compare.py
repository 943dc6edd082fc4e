"""Two runs side by side, task by task: whose output changed, and what it cost.

Made for re-runs (``switchboard rerun``): the fork and its source share their tasks,
so the question is which outputs changed and what the change cost in time and money.
It reads only events (through the fold), so any two runs compare: stored, traced or
in memory. No UI: ``switchboard compare`` prints it, views can render the frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.events import TraceEvent
from toolkit.state import RunState, fold

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "compare_runs", "compare_stored", "format_comparison", "task_changes"]

COLUMNS = (
    "task",
    "agent_a",
    "agent_b",
    "status_a",
    "status_b",
    "output_changed",
    "reused",
    "duration_a_s",
    "duration_b_s",
    "duration_diff_s",
    "cost_a_usd",
    "cost_b_usd",
    "cost_diff_usd",
)
"""The comparison's columns, in order."""


def _state(run: Any) -> RunState:
    if isinstance(run, RunState):
        return run
    state = getattr(run, "state", None)  # a RunResult
    if isinstance(state, RunState):
        return state
    return fold(run)


def _task_costs(state: RunState) -> dict[str, float]:
    """Each task's cost: the usage of the results answering its directives."""
    costs: dict[str, float] = {}
    for env in state.messages:
        if env.task_id is None or env.usage is None or env.kind not in ("result", "error"):
            continue
        cost = env.usage.get("cost_usd", 0.0)
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            costs[env.task_id] = costs.get(env.task_id, 0.0) + float(cost)
    return costs


def _reused(events: Any) -> set[str]:
    if isinstance(events, RunState) or not isinstance(events, Iterable):
        return set()
    for e in events:
        if e.kind == "run_forked":
            return set(e.reused)
    return set()


def task_changes(a: Any, b: Any) -> list[dict[str, Any]]:
    """One row per task of either run (``COLUMNS``), in the first run's plan order.

    Args:
        a: The first run: its events, its ``RunState`` or a ``RunResult``.
        b: The second run, likewise (a re-run's reused tasks are marked ``reused``).
    """
    sa, sb = _state(a), _state(b)
    events_b = b.events if hasattr(b, "events") and not isinstance(b, RunState) else b
    reused = _reused(events_b)
    ca, cb = _task_costs(sa), _task_costs(sb)
    ids = list(sa.tasks) + [t for t in sb.tasks if t not in sa.tasks]
    rows = []
    for task_id in ids:
        ta, tb = sa.tasks.get(task_id), sb.tasks.get(task_id)
        da = ta.duration_s if ta is not None else None
        db = tb.duration_s if tb is not None else None
        cost_a = ca.get(task_id, 0.0) if ta is not None else None
        cost_b = cb.get(task_id, 0.0) if tb is not None else None
        changed = (
            ta is None
            or tb is None
            or ta.status != tb.status
            or (ta.status == "done" and ta.output != tb.output)
        )
        rows.append(
            {
                "task": task_id,
                "agent_a": (ta.last_agent or ta.agent) if ta is not None else None,
                "agent_b": (tb.last_agent or tb.agent) if tb is not None else None,
                "status_a": ta.status if ta is not None else None,
                "status_b": tb.status if tb is not None else None,
                "output_changed": bool(changed),
                "reused": task_id in reused,
                "duration_a_s": da,
                "duration_b_s": db,
                "duration_diff_s": (db - da) if da is not None and db is not None else None,
                "cost_a_usd": cost_a,
                "cost_b_usd": cost_b,
                "cost_diff_usd": (
                    cost_b - cost_a if cost_a is not None and cost_b is not None else None
                ),
            }
        )
    return rows


def compare_runs(a: Any, b: Any) -> pd.DataFrame:
    """Per-task differences of two runs as a DataFrame (``COLUMNS``; needs pandas).

    Args:
        a: The first run: its events, its ``RunState`` or a ``RunResult``.
        b: The second run.
    """
    from toolkit.extras import needs_extra

    with needs_extra("metrics", "toolkit.compare"):
        import pandas as pd
    return pd.DataFrame(task_changes(a, b), columns=list(COLUMNS))


def compare_stored(store: str | Path | Any, run_a: str, run_b: str) -> pd.DataFrame:
    """``compare_runs`` of two runs of one run store.

    Raises:
        ResumeError: when the store or a run is not there.
    """
    from toolkit.durable import ResumeError, _open_store
    from toolkit.store import StoreError

    db = _open_store(store)
    try:
        events: list[list[TraceEvent]] = [db.read_run(r).events for r in (run_a, run_b)]
    except StoreError as exc:
        raise ResumeError(str(exc)) from None
    finally:
        db.disconnect()
    return compare_runs(events[0], events[1])


def format_comparison(frame: pd.DataFrame, run_a: str = "a", run_b: str = "b") -> str:
    """The comparison as a terminal-safe text table, with a one-line summary first."""
    from toolkit.text import safe_line

    def num(value: Any, fmt: str) -> str:
        if value is None or value != value:
            return "-"
        return format(value, fmt)

    header = ["task", "a", "b", "output", "secs a", "secs b", "Δ secs", "Δ cost"]
    rows = []
    for r in frame.itertuples(index=False):
        output = "reused" if r.reused else ("changed" if r.output_changed else "same")
        rows.append(
            [
                safe_line(r.task, 30),
                safe_line(r.status_a or "-", 10),
                safe_line(r.status_b or "-", 10),
                output,
                num(r.duration_a_s, ".3f"),
                num(r.duration_b_s, ".3f"),
                num(r.duration_diff_s, "+.3f"),
                num(r.cost_diff_usd, "+.4f"),
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [
        f"{safe_line(run_a, 60)} vs {safe_line(run_b, 60)}: "
        f"{int(frame['output_changed'].sum())} of {len(frame)} task output(s) changed, "
        f"{int(frame['reused'].sum())} reused",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
    ]
    for row in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
