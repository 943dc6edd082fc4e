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


def _holder(task: TaskView, state: RunState) -> str:
    """Who holds the task now: the agent working or waiting on it, else its agent."""
    if task.status in ("running", "retrying"):
        for agent in state.agents.values():
            if agent.current_task == task.id and agent.state == "working":
                return agent.name
    return task.agent


def task_cells(task: TaskView, state: RunState) -> list[Cell]:
    """The plan row of one task."""
    glyph, style = TASK_LOOK.get(task.status, ("?", ""))
    status = task.status
    if task.status == "done" and (task.retries or task.fallback_used):
        status = "done*"
    holder = _holder(task, state)
    rounds = f"{task.round}/{task.max_rounds}" if task.reviewer else ""
    deps = ", ".join(task.depends_on)
    return [
        Text(f"{glyph} {status}", style=style),
        literal(task.id, 24),
        literal(
            holder + ((" (fallback)" if holder != task.agent else " +fallback") if task.fallback_used else ""), 28
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

    def show(self, state: RunState) -> None:
        """Render the plan of this state."""
        self._state = state
        self.sync([(task.id, task_cells(task, state)) for task in state.tasks.values()])
        counts = state.task_counts()
        done = counts.get("done", 0)
        self.border_subtitle = (
            one_line(f"{done}/{len(state.tasks)} done", 40) if state.tasks else ""
        )

    def action_details(self) -> None:
        key = self.selected_key()
        if self._state is not None and key in self._state.tasks:
            self.post_message(ShowDetails(self._state.tasks[key]))
