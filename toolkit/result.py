"""What a run produced: its answer, its status and every event (``RunResult``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.events import TraceEvent
from toolkit.review import as_text

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.state import RunState

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """What a run produced: its answer, its status and every event."""

    run_id: str
    name: str
    status: str
    """succeeded, failed or cancelled."""
    output: Any
    error: str | None
    events: list[TraceEvent]
    trace_path: Path | None = None

    @cached_property
    def state(self) -> RunState:
        """The run's final state, folded from its events."""
        from toolkit.state import fold  # loaded on first use: importing it is ~4 ms

        return fold(self.events)

    @property
    def results(self) -> dict[str, Any]:
        """Each finished task's output, by task id."""
        return {t.id: t.output for t in self.state.tasks.values() if t.status == "done"}

    def metrics(self) -> pd.DataFrame:
        """Per-agent metrics (see ``toolkit.metrics.agent_metrics``)."""
        from toolkit.metrics import agent_metrics

        return agent_metrics(self.events)

    def task_metrics(self) -> pd.DataFrame:
        from toolkit.metrics import task_metrics

        return task_metrics(self.events)

    def timeline(self) -> pd.DataFrame:
        from toolkit.metrics import timeline

        return timeline(self.events)

    def __repr__(self) -> str:
        return f"RunResult(run_id={self.run_id!r}, status={self.status!r}, events={len(self.events)}, output={_short(self.output)!r})"


def _short(value: Any, n: int = 60) -> str:
    text = as_text(value)
    return text if len(text) <= n else text[: n - 1] + "…"
