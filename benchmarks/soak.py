"""Fault soak: many seeded runs mixing every way a run can go wrong, each checked against the rules.

Each seed makes one run: a random DAG of mock agents that raise, hang (ended by the
attempt timeout), return garbage, or succeed; tasks with retries, backoff, a fallback
agent, review loops, JSON output checks; some runs with ``fail_fast``; some cancelled
from another thread once they have reached a seeded event. Every run records to a
JSONL trace and to one shared SQLite store, and folds live through ``on_event``.

The rules checked on every run (names as reported):

- ``run_started_first``: the first event is ``run_started``.
- ``one_run_finished_last``: exactly one ``run_finished``, and it is the last event.
- ``seq_gap``: ``seq`` is 0, 1, 2, … with no gap or repeat; one run id throughout.
- ``terminal_count``: every plan task ends in exactly one terminal event:
  ``task_finished``, a ``task_failed`` with ``final`` set (an attempt that is retried or
  handed to the fallback is not final; a cancelled task is a final ``task_failed`` with
  ``error_type="cancelled"``), or ``task_skipped``.
- ``event_after_terminal``: nothing happens to a task (started, retried, failed,
  finished, reviewed) after its terminal event.
- ``start_after_stop``: once the run has decided to stop (the first cancelled
  ``task_failed``, or a ``task_skipped`` that is not a dependency skip), no attempt
  starts and none is retried.
- ``cancel_attempt``: a cancelled ``task_failed`` names the attempt that was running.
- ``task_not_ended``: in the final state no task is waiting, running or retrying.
- ``status_vs_tasks``: a ``succeeded`` run has every task done.
- ``live_vs_result``: the live fold (``on_event``) equals the result's state.
- ``trace_differs``: the JSONL trace reads back without a problem and holds the events.
- ``fold_differs``: the trace folds to the live state.
- ``store_differs``: the store holds the same events.
- ``store_row``: the store's run row has the run's final status and event count.
- ``cancel_raised``: ``Run.cancel()`` from another thread raised.
- ``hang`` (reported apart): the run did not end within the watchdog; it is then
  cancelled from outside so the soak goes on.

Usage: ``python benchmarks/soak.py [--runs 1000] [--start 0] [--watchdog 20] [-v]``;
prints runs, violations by rule (with an example seed to re-run with ``--start SEED
--runs 1 -v``) and hangs; exits 1 on any violation or hang.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from toolkit.agents import FailureSpec, LatencySpec, MockAgent
from toolkit.events import TraceEvent
from toolkit.orchestrator import Orchestrator, Run
from toolkit.plan import Plan, ReviewSpec, Task
from toolkit.recorder import read_trace
from toolkit.state import TERMINAL_STATUSES, RunState, fold
from toolkit.store import RunStore

__all__ = ["Scenario", "SoakReport", "Violation", "check_events", "main", "run_seed", "soak"]

HANG_TIMEOUT_S = 0.05
"""Attempt time limit of every task: what ends an injected hang."""


@dataclass
class Scenario:
    """What one seed makes: the agents, the plan and how the run is driven."""

    seed: int
    agents: list[MockAgent]
    plan: Plan
    fail_fast: bool
    concurrency: int
    cancel_at: int | None
    """Cancel from another thread once the run has emitted the event with this seq;
    ``-1``: as the run emits ``run_finished`` (a cancel racing the run's end)."""

    @property
    def kind(self) -> str:
        """``cancel``, ``fail_fast`` or ``plain``: the group the run is counted in."""
        if self.cancel_at is not None:
            return "cancel"
        return "fail_fast" if self.fail_fast else "plain"


def _failures(rng: random.Random) -> FailureSpec | None:
    if rng.random() < 0.25:
        return None
    return FailureSpec(
        exception=rng.choice([0.0, 0.1, 0.3, 0.5]),
        hang=rng.choice([0.0, 0.0, 0.1, 0.2]),
        malformed=rng.choice([0.0, 0.0, 0.1]),
        fail_attempts=[1] if rng.random() < 0.15 else [],
    )


def _latency(rng: random.Random) -> LatencySpec:
    if rng.random() < 0.3:
        return LatencySpec()
    return LatencySpec(dist="uniform", mean=0.002, spread=0.002)


def scenario(seed: int) -> Scenario:
    """The run that ``seed`` makes (the same every time)."""
    rng = random.Random(seed)
    workers = [MockAgent(f"w{i}", latency=_latency(rng), failures=_failures(rng)) for i in range(3)]
    workers.append(
        MockAgent("json", latency=_latency(rng), failures=_failures(rng), output_json=True)
    )
    backup = MockAgent(
        "backup", latency=_latency(rng), failures=FailureSpec(exception=rng.choice([0.0, 0.2]))
    )
    verdicts = rng.choice([["APPROVED"], ["needs tests", "APPROVED"], ["needs work"]])
    reviewer = MockAgent(
        "rev",
        reply=verdicts,
        latency=_latency(rng),
        failures=FailureSpec(exception=rng.choice([0.0, 0.0, 0.2]), hang=rng.choice([0.0, 0.1])),
    )
    tasks: list[Task] = []
    for i in range(rng.randint(1, 8)):
        agent = rng.choice(workers)
        deps = [t.id for t in tasks if rng.random() < 0.35]
        prompt = " ".join(["step", str(i), *("{{" + d + "}}" for d in deps[:1])])
        tasks.append(
            Task(
                id=f"t{i}",
                agent=agent.name,
                prompt=prompt,
                depends_on=deps[1:],
                retries=rng.choice([0, 0, 1, 2]),
                backoff_s=rng.choice([0.0, 0.0, 0.001]),
                timeout_s=HANG_TIMEOUT_S,
                fallback="backup" if rng.random() < 0.3 else None,
                output_format="json" if agent.output_json and rng.random() < 0.7 else "text",
                review=ReviewSpec(reviewer="rev", max_rounds=rng.randint(1, 3))
                if rng.random() < 0.2
                else None,
            )
        )
    roll = rng.random()
    cancel_at = (rng.randint(0, 40) if roll < 0.1 else -1) if roll < 0.15 else None
    return Scenario(
        seed=seed,
        agents=[*workers, backup, reviewer],
        plan=Plan(name=f"soak-{seed}", tasks=tasks),
        fail_fast=rng.random() < 0.2,
        concurrency=rng.choice([1, 2, 4, 16]),
        cancel_at=cancel_at,
    )


@dataclass
class Violation:
    """One broken rule in one run."""

    rule: str
    seed: int
    kind: str
    detail: str


@dataclass
class RunOutcome:
    """One soaked run: its scenario, whether it hung, and what it broke."""

    scenario: Scenario
    hung: bool
    status: str | None
    violations: list[Violation] = field(default_factory=list)


def _desc(e: TraceEvent) -> str:
    return f"{e.kind}@{e.seq}"


def _is_terminal(e: TraceEvent) -> bool:
    return e.kind in ("task_finished", "task_skipped") or (
        e.kind == "task_failed" and e.final  # type: ignore[union-attr]
    )


def _is_stop(e: TraceEvent) -> bool:
    if e.kind == "task_failed":
        return e.error_type == "cancelled"  # type: ignore[union-attr]
    if e.kind == "task_skipped":
        return not e.reason.startswith("dependency ")  # type: ignore[union-attr]
    return False


_TASK_KINDS = ("task_started", "task_retried", "task_failed", "task_finished", "review_verdict")


def check_events(events: list[TraceEvent]) -> list[tuple[str, str]]:
    """The rules a run's events must keep, as ``(rule, detail)`` for each broken one.

    Needs only the events (the plan comes from ``plan_created``), so it checks any
    recorded run.
    """
    problems: list[tuple[str, str]] = []
    if not events:
        return [("run_started_first", "the run has no events")]
    if events[0].kind != "run_started":
        problems.append(("run_started_first", f"first event is {_desc(events[0])}"))
    finished = [e for e in events if e.kind == "run_finished"]
    if len(finished) != 1 or events[-1].kind != "run_finished":
        problems.append(
            (
                "one_run_finished_last",
                f"{len(finished)} run_finished; last event {_desc(events[-1])}",
            )
        )
    run_ids = {e.run_id for e in events}
    bad_seq = next((i for i, e in enumerate(events) if e.seq != i), None)
    if bad_seq is not None or len(run_ids) != 1:
        at = f"event {bad_seq} has seq {events[bad_seq].seq}" if bad_seq is not None else ""
        problems.append(("seq_gap", f"{at} run ids {sorted(run_ids)}".strip()))

    plan_tasks: list[str] = []
    for e in events:
        if e.kind == "plan_created":
            plan_tasks += [t["id"] for t in e.plan.get("tasks", [])]  # type: ignore[union-attr]
        elif e.kind == "plan_updated":
            plan_tasks += [t["id"] for t in e.added]  # type: ignore[union-attr]
    terminals: dict[str, list[TraceEvent]] = {t: [] for t in plan_tasks}
    last_start: dict[str, int] = {}
    stop: TraceEvent | None = None
    for e in events:
        task_id = getattr(e, "task_id", None)
        if e.kind in _TASK_KINDS or e.kind == "task_skipped":
            if task_id not in terminals:
                problems.append(("terminal_count", f"{_desc(e)} for task {task_id!r} not in plan"))
                continue
            ended = terminals[task_id]
            if ended and e.kind in _TASK_KINDS:
                problems.append(
                    (
                        "event_after_terminal",
                        f"task {task_id!r}: {_desc(e)} after {_desc(ended[0])}",
                    )
                )
        if e.kind == "task_started":
            last_start[task_id] = e.attempt  # type: ignore[union-attr]
        if stop is not None and e.kind in ("task_started", "task_retried"):
            problems.append(
                ("start_after_stop", f"task {task_id!r}: {_desc(e)} after stop at {_desc(stop)}")
            )
        if _is_stop(e) and stop is None:
            stop = e
        if e.kind == "task_failed" and e.error_type == "cancelled":  # type: ignore[union-attr]
            running = last_start.get(task_id)
            if running is not None and e.attempt != running:  # type: ignore[union-attr]
                problems.append(
                    (
                        "cancel_attempt",
                        f"task {task_id!r}: cancelled attempt {e.attempt} "  # type: ignore[union-attr]
                        f"but attempt {running} was running",
                    )
                )
        if _is_terminal(e) and task_id in terminals:
            terminals[task_id].append(e)
    for task_id, ended in terminals.items():
        if len(ended) != 1:
            what = ", ".join(_desc(e) for e in ended) or "none"
            problems.append(("terminal_count", f"task {task_id!r}: {len(ended)} terminal ({what})"))

    state = fold(events)
    stuck = {t.id: t.status for t in state.tasks.values() if t.status not in TERMINAL_STATUSES}
    if stuck:
        problems.append(("task_not_ended", f"run ended with tasks {stuck}"))
    if state.status == "succeeded" and any(t.status != "done" for t in state.tasks.values()):
        problems.append(("status_vs_tasks", "succeeded with tasks not done"))
    return problems


def _execute(run: Run, watchdog_s: float) -> bool:
    """Run to the end on this thread; True when the watchdog had to stop it."""

    async def go() -> bool:
        with anyio.move_on_after(watchdog_s) as scope:
            await run.execute()
        return scope.cancelled_caught

    return anyio.run(go)


def run_seed(seed: int, workdir: Path, store_path: Path, watchdog_s: float = 20.0) -> RunOutcome:
    """Make, run and check the run of one seed."""
    sc = scenario(seed)
    orch = Orchestrator(
        sc.agents,
        concurrency=sc.concurrency,
        seed=seed,
        fail_fast=sc.fail_fast,
        default_timeout_s=HANG_TIMEOUT_S,
    )
    live = RunState()
    reached = threading.Event()
    cancel_errors: list[str] = []

    def on_event(event: TraceEvent) -> None:
        live.apply(event)
        if sc.cancel_at is None:
            return
        if event.seq >= sc.cancel_at >= 0 or (sc.cancel_at < 0 and event.kind == "run_finished"):
            reached.set()

    trace_path = workdir / f"{seed}.jsonl"
    run = orch.prepare(
        "soak request", sc.plan, trace=trace_path, store=store_path, on_event=on_event
    )

    def canceller() -> None:
        reached.wait()
        try:
            run.cancel()
        except BaseException as exc:
            cancel_errors.append(f"{type(exc).__name__}: {exc}")

    thread = None
    if sc.cancel_at is not None:
        thread = threading.Thread(target=canceller, name=f"soak-cancel-{seed}", daemon=True)
        thread.start()
    try:
        hung = _execute(run, watchdog_s)
    finally:
        reached.set()  # a run that ended before the cancel point: cancel it after the end
        if thread is not None:
            thread.join()
    result = run.result
    outcome = RunOutcome(sc, hung, result.status if result is not None else None)

    def violated(rule: str, detail: str) -> None:
        outcome.violations.append(Violation(rule, seed, sc.kind, detail))

    for error in cancel_errors:
        violated("cancel_raised", error)
    if result is None:
        violated("one_run_finished_last", "the run left no result")
        return outcome
    events = result.events
    for rule, detail in check_events(events):
        violated(rule, detail)
    if live != result.state:
        violated("live_vs_result", "the live fold differs from the result's state")
    trace = read_trace(trace_path)
    if trace.problems or trace.events != events:
        violated(
            "trace_differs",
            f"{len(trace.events)} of {len(events)} events; problems {trace.problems[:2]}",
        )
    elif fold(trace.events) != live:
        violated("fold_differs", "the trace folds to another state than the live one")
    store = RunStore(store_path)
    try:
        stored = store.events(result.run_id)
        if stored != events:
            violated("store_differs", f"{len(stored)} stored events, {len(events)} in the run")
        row = next((r for r in store.runs() if r.run_id == result.run_id), None)
        if row is None or row.status != result.status or row.event_count != len(events):
            got = (row.status, row.event_count) if row is not None else None
            violated("store_row", f"row {got}, run ({result.status}, {len(events)})")
    except Exception as exc:
        violated("store_differs", f"cannot read the run back: {type(exc).__name__}: {exc}")
    finally:
        store.disconnect()
    if not outcome.violations:
        trace_path.unlink(missing_ok=True)  # kept for a look when a rule broke
    return outcome


@dataclass
class SoakReport:
    """What a soak found."""

    outcomes: list[RunOutcome]
    seconds: float

    @property
    def violations(self) -> list[Violation]:
        return [v for o in self.outcomes for v in o.violations]

    @property
    def hangs(self) -> list[int]:
        """Seeds of the runs the watchdog had to stop."""
        return [o.scenario.seed for o in self.outcomes if o.hung]

    def broken(self, kind: str | None = None) -> list[RunOutcome]:
        """Runs (of one kind) that broke at least one rule."""
        return [
            o for o in self.outcomes if o.violations and (kind is None or o.scenario.kind == kind)
        ]

    def render(self, verbose: bool = False) -> str:
        kinds = Counter(o.scenario.kind for o in self.outcomes)
        statuses = Counter(o.status for o in self.outcomes)
        seeds = [o.scenario.seed for o in self.outcomes]
        span = f"seeds {min(seeds)}..{max(seeds)}" if seeds else "no seeds"
        lines = [
            f"soak: {len(self.outcomes)} runs ({span}) in {self.seconds:.1f} s",
            "  kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
            "  status: " + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items(), key=str)),
        ]
        broken = self.broken()
        lines.append(
            f"violations: {len(broken)} run(s) broke a rule"
            + (
                " ("
                + ", ".join(f"{k}: {len(self.broken(k))} of {n}" for k, n in sorted(kinds.items()))
                + ")"
                if broken
                else ""
            )
        )
        by_rule: dict[str, list[Violation]] = {}
        for v in self.violations:
            by_rule.setdefault(v.rule, []).append(v)
        for rule, found in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
            runs = {v.seed for v in found}
            example = found[0]
            lines.append(
                f"  {rule:<22} {len(runs):>4} run(s)  e.g. seed {example.seed} ({example.kind}): {example.detail}"
            )
        lines.append(
            f"hangs: {len(self.hangs)}" + (f" (seeds {self.hangs[:10]})" if self.hangs else "")
        )
        if verbose:
            for v in self.violations:
                lines.append(f"  seed {v.seed} [{v.kind}] {v.rule}: {v.detail}")
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.hangs


def soak(
    seeds: range | list[int], workdir: Path | None = None, watchdog_s: float = 20.0
) -> SoakReport:
    """Run and check one run per seed, all recorded into one store in ``workdir``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="switchboard-soak-") as tmp:
        where = Path(workdir or tmp)
        where.mkdir(parents=True, exist_ok=True)
        store_path = where / "soak.db"
        outcomes = [run_seed(seed, where, store_path, watchdog_s) for seed in seeds]
    return SoakReport(outcomes, time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="how many runs (default 1000)")
    parser.add_argument("--start", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument(
        "--watchdog",
        type=float,
        default=20.0,
        help="seconds a run may take before it counts as hung",
    )
    parser.add_argument("--keep", type=Path, help="keep the store (and traces of broken runs) here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every violation")
    args = parser.parse_args(argv)
    report = soak(range(args.start, args.start + args.runs), args.keep, args.watchdog)
    print(report.render(args.verbose))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
