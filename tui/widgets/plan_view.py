"""The plan: every task, its dependencies, its live status and the agent holding it.

A virtual table (rows drawn only when on screen), so a plan of tens of thousands of
tasks costs no more per frame than a plan of five.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from toolkit.state import RunState, TaskView
from tui.describe import TASK_LOOK, task_holders, task_rounds, task_tries, task_worker
from tui.messages import ShowDetails
from tui.rich_text import literal
from tui.widgets.virtual_table import VirtualTable

__all__ = ["PlanView", "holders", "task_cells"]


holders = task_holders
"""Task id -> the agent working on it now (``toolkit.describe.task_holders``)."""


SHOWS_ERROR = frozenset({"failed", "retrying", "skipped"})
"""Statuses whose row shows why (the error, or the reason of a skip) instead of the goal."""


def task_cells(task: TaskView, holder: str | None) -> list[Text]:
    """The plan row of one task; ``holder`` is the agent holding it now, if any.

    The words are ``toolkit.describe``'s: the agent that does or did the work, marked
    "(fallback)" or "(reviewing)"; "try" counts the attempts made. A failed, retrying
    or skipped task shows its error (or the reason it was skipped) in place of its
    goal, so the cause is in view without opening the event log.
    """
    glyph, style = TASK_LOOK.get(task.status, ("?", ""))
    deps = ", ".join(task.depends_on)
    return [
        Text(f"{glyph} {task.status}", style=style),
        literal(task.id, 40),
        literal(task_worker(task, holder), 40),
        Text(str(task_tries(task) or ""), justify="right"),
        Text(task_rounds(task)),
        literal(task.error, 120, style="#ff5f5f")
        if task.error and task.status in SHOWS_ERROR
        else literal(task.goal, 60, style="dim"),
        literal(f"← {deps}" if deps else "", 60, style="dim"),
    ]


class PlanView(VirtualTable):
    """Tasks with their status (glyph and word), agent, attempt, review round and dependencies."""

    COLUMNS = (
        ("status", "status"),
        ("task", "task"),
        ("agent", "agent"),
        ("attempt", "try"),
        ("round", "round"),
        ("goal", "goal · why it failed"),
        ("deps", "after"),
    )

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: RunState | None = None
        self._tasks: list[TaskView] = []
        self._held: dict[str, str] = {}
        self._measured: tuple[int, int, bool, bool, int] = (-1, -1, False, False, 0)

    def show(self, state: RunState) -> None:
        """Render the plan of this state."""
        self._state = state
        self._tasks = list(state.tasks.values())
        self._held = holders(state)
        fallback = any(t.fallback_used or t.reviewer for t in self._tasks[:2000])
        cancelled = any(t.status == "cancelled" for t in self._tasks[:2000])
        failed = sum(1 for t in self._tasks[:2000] if t.error and t.status in SHOWS_ERROR)
        key = (id(state.tasks), len(self._tasks), fallback, cancelled, failed)
        widths: Sequence[int] | None = None
        if key != self._measured:
            self._measured = key
            widths = self._widths_for(self._tasks, list(state.agents), fallback)
        self.set_rows(len(self._tasks), widths)
        done = sum(1 for t in self._tasks if t.status == "done")
        self.border_subtitle = f"{done}/{len(self._tasks)} done" if self._tasks else ""

    @staticmethod
    def _widths_for(tasks: list[TaskView], agent_names: list[str], fallback: bool) -> list[int]:
        ids = max((len(t.id) for t in tasks), default=4)
        # room for the longest agent name with " (reviewing)" or " (fallback)" after it
        agents = max((len(name) for name in agent_names), default=5) + (12 if fallback else 0)
        deps = max((len(", ".join(t.depends_on)) + 2 for t in tasks[:2000]), default=0)
        goals = max(
            (
                len(t.error) if t.error and t.status in SHOWS_ERROR else len(t.goal)
                for t in tasks[:2000]
            ),
            default=0,
        )
        status = 11 if any(t.status == "cancelled" for t in tasks[:2000]) else 9
        return [status, min(ids, 24), min(agents, 24), 3, 5, min(goals, 60), min(deps, 28)]

    def row_cells(self, index: int) -> list[Text]:
        task = self._tasks[index]
        return task_cells(task, self._held.get(task.id))

    def selected_task(self) -> TaskView | None:
        """The task under the cursor."""
        return self._tasks[self.cursor] if 0 <= self.cursor < len(self._tasks) else None

    def action_details(self) -> None:
        task = self.selected_task()
        if task is not None:
            self.post_message(ShowDetails(task))
