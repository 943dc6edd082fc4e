"""The worker pool: a bounded set of workers that start the tasks the scheduler makes ready.

A worker that finishes a task goes straight on with the next ready one, so a pipeline
runs inline with no task spawned per step (a lone ready task is not even given a task
group), and a fan-out spawns at most ``concurrency`` workers. Each task is opened,
attempted (or reviewed) and closed by ``Steps``; the pool only decides who works.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio

from toolkit.review import review_loop
from toolkit.scheduler import Scheduler
from toolkit.steps import Ended, Steps

__all__ = ["WorkerPool"]


class WorkerPool:
    """Runs ``steps`` for every task ``sched`` starts, at most ``concurrency`` at once.

    ``run`` returns when no task runs and none can start; ``cancel`` abandons the
    running work (its events are recorded by whoever stopped the run).
    """

    def __init__(self, sched: Scheduler, steps: Steps, concurrency: int) -> None:
        self.sched = sched
        self.steps = steps
        self.concurrency = concurrency
        self._scope: anyio.CancelScope | None = None
        self._tg: Any = None
        self._workers = 0
        steps.stop_work = self.cancel

    async def run(self) -> None:
        with anyio.CancelScope() as self._scope:
            if self.sched.ready <= 1:
                await self._worker()  # a lone ready task runs inline: no task spawned
            else:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    self._spawn()

    def cancel(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def _spawn(self) -> None:
        for _ in range(min(self.sched.ready, self.concurrency - self._workers)):
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        sched, steps = self.sched, self.steps
        tasks, open_task, attempts, close_task = (
            steps.tasks,
            steps.open,
            steps.attempts,
            steps.close,
        )
        try:
            while (task_id := sched.start()) is not None:
                # one task: opened and closed by plain calls, so a step costs one
                # coroutine frame of the run's own (``Steps.attempts``)
                task = tasks[task_id]
                tr, prompt, context = open_task(task)
                try:
                    if task.review is None:
                        output, rounds = await attempts(tr, prompt, context, 1), 1
                    else:
                        output, rounds = await review_loop(
                            task.review,
                            prompt,
                            context,
                            partial(attempts, tr),
                            partial(steps.judge, tr),
                        )
                except Ended:
                    pass  # its terminal event is recorded
                else:
                    close_task(tr, output, rounds)
                if sched.ready > 1:
                    if self._tg is None:
                        # the inline worker met a fan-out: go on in a task group
                        async with anyio.create_task_group() as tg:
                            self._tg = tg
                            self._spawn()
                        return
                    self._spawn()
        finally:
            if self._workers:
                self._workers -= 1
