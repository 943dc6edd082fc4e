"""The scheduler: the pure state machine of a plan's tasks.

It knows which tasks wait, which are ready, running, done, failed or skipped; which
task to start next; what a failure means for the tasks after it (``fail_fast`` or
not); and when the run is over. It does no I/O, reads no clock, awaits nothing and
emits nothing: it returns decisions, and the caller (``toolkit.run.Run`` in process,
a Temporal workflow elsewhere) acts on them and records the events. The same calls in
the same order always give the same decisions.

Every task ends exactly once: after ``finish``, ``fail`` or a ``stop`` has ended a
task, later reports about it are refused (``finish`` returns False), so a task that
was cancelled cannot also record its own outcome.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Cancel", "Decision", "Scheduler", "Skip"]

WAITING, READY, RUNNING, DONE, FAILED, SKIPPED = (
    "waiting",
    "ready",
    "running",
    "done",
    "failed",
    "skipped",
)
_ENDED = frozenset((DONE, FAILED, SKIPPED))


@dataclass(frozen=True, slots=True)
class Skip:
    """Record this task as skipped: it will never start."""

    task_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """End this running task as cancelled (its current attempt is abandoned)."""

    task_id: str
    reason: str


Decision = Skip | Cancel


class Scheduler:
    """The states of a plan's tasks and the rules that move them.

    Args:
        tasks: Task ids in plan order (ready tasks start in this order).
        deps: Each task's dependencies (``Plan.dependency_map()``), already checked.
        fail_fast: A final failure stops the run: running tasks are cancelled and
            every task not yet ended is skipped. Otherwise only its dependents are.
    """

    __slots__ = (
        "_dependents",
        "_ready",
        "_waiting",
        "fail_fast",
        "running",
        "status",
        "stop_reason",
    )

    def __init__(
        self, tasks: Sequence[str], deps: Mapping[str, Sequence[str]], *, fail_fast: bool = False
    ) -> None:
        self.fail_fast = fail_fast
        self.status: dict[str, str] = {}
        """Each task's state: waiting, ready, running, done, failed or skipped."""
        self.running = 0
        """How many tasks are running."""
        self.stop_reason: str | None = None
        """Why the run stopped starting tasks (a fail_fast failure or a cancel), if it did."""
        self._waiting: dict[str, int] = {}
        self._dependents: dict[str, list[str]] = {t: [] for t in tasks}
        self._ready: deque[str] = deque()
        for task_id in tasks:
            task_deps = deps[task_id]
            self._waiting[task_id] = len(task_deps)
            for dep in task_deps:
                self._dependents[dep].append(task_id)
            if task_deps:
                self.status[task_id] = WAITING
            else:
                self.status[task_id] = READY
                self._ready.append(task_id)

    # -- reading -----------------------------------------------------------------
    @property
    def ready(self) -> int:
        """How many tasks could start now."""
        return 0 if self.stop_reason is not None else len(self._ready)

    @property
    def over(self) -> bool:
        """Nothing runs and nothing more will start."""
        return self.running == 0 and (self.stop_reason is not None or not self._ready)

    def is_running(self, task_id: str) -> bool:
        return self.status.get(task_id) == RUNNING

    def with_status(self, status: str) -> list[str]:
        """Task ids in ``status``, in plan order."""
        return [t for t, s in self.status.items() if s == status]

    # -- moving --------------------------------------------------------------------
    def start(self) -> str | None:
        """The next task to start (now marked running), or None when none may start."""
        if self.stop_reason is not None or not self._ready:
            return None
        task_id = self._ready.popleft()
        self.status[task_id] = RUNNING
        self.running += 1
        return task_id

    def finish(self, task_id: str) -> bool:
        """The task produced its output. False when it had already ended (drop the output)."""
        if self.status.get(task_id) != RUNNING:
            return False
        self.status[task_id] = DONE
        self.running -= 1
        waiting = self._waiting
        for dep_id in self._dependents[task_id]:
            waiting[dep_id] -= 1
            if waiting[dep_id] == 0 and self.status[dep_id] == WAITING:
                self.status[dep_id] = READY
                self._ready.append(dep_id)
        return True

    def resume(self, done: Iterable[str]) -> list[str]:
        """Mark tasks done before anything starts: they finished in an earlier execution.

        For a resumed run (and a re-run reusing stored results): their dependents become
        ready as if each had finished here, in plan order. Ids not in the plan or not
        waiting or ready are ignored.

        Returns:
            The ids marked done, in plan order.
        """
        wanted = set(done)
        marked: list[str] = []
        # plan order, dependencies first: a task is marked once all it waits for is
        for task_id in list(self.status):
            if task_id not in wanted or self.status[task_id] not in (WAITING, READY):
                continue
            self.status[task_id] = RUNNING
            self.running += 1
            self.finish(task_id)
            marked.append(task_id)
        if marked:
            self._ready = deque(t for t in self._ready if self.status[t] == READY)
        return marked

    def fail(self, task_id: str) -> list[Decision] | None:
        """The task failed for good.

        Returns:
            What follows from it (skipped dependents, or with ``fail_fast`` the whole
            stop), or None when the task had already ended (record nothing).
        """
        if self.status.get(task_id) != RUNNING:
            return None
        self.status[task_id] = FAILED
        self.running -= 1
        if self.fail_fast:
            return self.stop(f"task {task_id!r} failed and fail_fast is on")
        decisions: list[Decision] = []
        stack = [(d, task_id) for d in reversed(self._dependents[task_id])]
        while stack:
            dep_id, cause = stack.pop()
            if self.status[dep_id] in _ENDED:
                continue
            self.status[dep_id] = SKIPPED
            decisions.append(Skip(dep_id, f"dependency {cause!r} failed"))
            stack.extend((d, dep_id) for d in reversed(self._dependents[dep_id]))
        return decisions

    def stop(self, reason: str) -> list[Decision]:
        """Start nothing more: cancel what runs, skip what has not started.

        Calling it again ends only what the first call could not (nothing, unless
        tasks were added); the first reason stays ``stop_reason``.
        """
        if self.stop_reason is None:
            self.stop_reason = reason
        decisions: list[Decision] = []
        for task_id, status in self.status.items():
            if status == RUNNING:
                self.status[task_id] = FAILED
                self.running -= 1
                decisions.append(Cancel(task_id, reason))
            elif status in (WAITING, READY):
                self.status[task_id] = SKIPPED
                decisions.append(Skip(task_id, reason))
        self._ready.clear()
        return decisions

    def drive(self, outcomes: Mapping[str, bool]) -> Iterable[tuple[str, list[Decision] | None]]:
        """Run the plan to the end one task at a time, each outcome given (True: done).

        A helper for simulations and tests: yields each started task with what its
        outcome decided (None for a success).
        """
        while (task_id := self.start()) is not None:
            if outcomes.get(task_id, True):
                self.finish(task_id)
                yield task_id, None
            else:
                yield task_id, self.fail(task_id)
