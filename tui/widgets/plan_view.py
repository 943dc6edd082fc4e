"""The plan: every task, its dependencies, its live status and the agent holding it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from toolkit.state import RunState, TaskView
from tui.describe import TASK_LOOK
from tui.messages import ShowDetails
from tui.safe_text import literal, one_line
from tui.widgets.state_table import Cell, StateTable

__all__ = ["PlanView"]


def holders(state: RunState) -> dict[str, str]:
    """Task id -> the agent working on it now."""
    return {
        a.current_task: a.name
        for a in state.agents.values()
        if a.current_task and a.state == "working"
    }


def task_cells(task: TaskView, holder: str) -> list[Cell]:
    """The plan row of one task; ``holder`` is the agent holding it now."""
    glyph, style = TASK_LOOK.get(task.status, ("?", ""))
    status = task.status
    if task.status == "done" and (task.retries or task.fallback_used):
        status = "done*"
    rounds = f"{task.round}/{task.max_rounds}" if task.reviewer else ""
    deps = ", ".join(task.depends_on)
    return [
        Text(f"{glyph} {status}", style=style),
        literal(task.id, 24),
        literal(
            holder
            + (
                (" (fallback)" if holder != task.agent else " +fallback")
                if task.fallback_used
                else ""
            ),
            28,
        ),
        Text(str(task.attempt or ""), justify="right"),
        Text(rounds),
        literal(f"← {deps}" if deps else "", 30, style="dim"),
        literal(task.goal, 40, style="dim"),
    ]


class PlanView(StateTable):
    """Tasks with their status (glyph and word), agent, attempt, review round and dependencies."""

    COLUMNS = (
        ("status", "status"),
        ("task", "task"),
        ("agent", "agent"),
        ("attempt", "try"),
        ("round", "round"),
        ("deps", "after"),
        ("goal", "goal"),
    )

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "details", "Details")]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: RunState | None = None
        self.complete = True
        """False while rows of a big plan are still being added (a few hundred per frame)."""

    def show(self, state: RunState) -> None:
        """Render the plan of this state."""
        self._state = state
        held = holders(state)
        tasks = state.tasks

        def signature(task: TaskView) -> tuple[object, ...]:
            return (task.status, task.attempt, task.round, held.get(task.id), task.fallback_used)

        self.complete = self.sync(
            [(task.id, signature(task)) for task in tasks.values()],
            lambda key: task_cells(tasks[key], held.get(key, tasks[key].agent)),
        )
        counts = state.task_counts()
        done = counts.get("done", 0)
        self.border_subtitle = (
            one_line(f"{done}/{len(state.tasks)} done", 40) if state.tasks else ""
        )

    def action_details(self) -> None:
        key = self.selected_key()
        if self._state is not None and key in self._state.tasks:
            self.post_message(ShowDetails(self._state.tasks[key]))
