"""Durable runs, embedded: what the store keeps for resuming, resume in Python and from
the command line (refusals included), re-run from a step, and the comparison of two
runs. Interrupted runs are made the way a dead process leaves them: a store that
took a prefix of a run's events and was closed before ``run_finished``."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from sample_agents.scenarios import feature_review
from toolkit.agents import Directive, FunctionAgent
from toolkit.compare import COLUMNS, compare_runs
from toolkit.describe import event_summary
from toolkit.durable import ResumeError, downstream, parse_edits
from toolkit.events import TraceEvent
from toolkit.orchestrator import Orchestrator
from toolkit.plan import Plan, Task
from toolkit.scheduler import Scheduler
from toolkit.state import fold
from toolkit.store import RunStore
from toolkit.timeline import CallTimeline

ROOT = Path(__file__).parents[2]
_SCRIPT = Path(sys.executable).parent / "switchboard"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "toolkit.cli"]


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=ROOT,
        timeout=120,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("switchboard: warning")]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and lines[0].startswith("switchboard: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class Counting:
    """Agents that count their calls and answer from their inputs."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def agent(self, name: str) -> FunctionAgent:
        async def work(d: Directive) -> str:
            self.calls[d.task_id or "?"] += 1
            inputs = ",".join(f"{k}={v}" for k, v in sorted(d.context.items()))
            return f"{name}:{d.task_id}({inputs})<{d.prompt[:20]}>"

        return FunctionAgent(work, name)


def diamond() -> Plan:
    return Plan(
        name="diamond",
        tasks=[
            Task(id="a", agent="w", prompt="A {{input}}"),
            Task(id="b", agent="w", prompt="B {{a}}"),
            Task(id="c", agent="v", prompt="C {{a}}"),
            Task(id="d", agent="w", prompt="D {{b}} {{c}}"),
        ],
    )


def orchestrator(counting: Counting, **kwargs: Any) -> Orchestrator:
    return Orchestrator([counting.agent("w"), counting.agent("v")], concurrency=1, **kwargs)


def interrupted_copy(events: list[TraceEvent], upto: int, path: Path) -> str:
    """A store holding ``events[:upto]`` whose writer closed before the run finished:
    what a process killed after that many stored events leaves behind."""
    store = RunStore(path)
    for e in events[:upto]:
        store.emit(e)
    store.close()
    store.disconnect()
    return events[0].run_id


def cut_after(events: list[TraceEvent], kind: str, task_id: str) -> int:
    """The number of events up to and including ``task_id``'s first event of ``kind``."""
    for i, e in enumerate(events):
        if e.kind == kind and getattr(e, "task_id", None) == task_id:
            return i + 1
    raise AssertionError(f"no {kind} of {task_id}")


# -- what the store keeps ---------------------------------------------------------------


def test_results_are_stored_with_their_events(tmp_path: Path) -> None:
    """For every prefix of a run, the store holds a result for exactly the tasks whose
    task_finished it holds, with the event's output; review rounds are kept with their
    draft and verdict."""
    orch, plan, request = feature_review(speed=0)
    result = orch.run_sync(request, plan)
    events = result.events
    finished_at = [i for i, e in enumerate(events) if e.kind in ("task_finished", "review_verdict")]
    for k, upto in enumerate([1, *[i + 1 for i in finished_at], *[i for i in finished_at]]):
        run_id = interrupted_copy(events, upto, tmp_path / f"p{k}.db")
        store = RunStore(tmp_path / f"p{k}.db")
        kept = store.results(run_id)
        done = {e.task_id: e for e in events[:upto] if e.kind == "task_finished"}
        assert set(kept) == set(done)
        for task_id, stored in kept.items():
            assert stored.output == done[task_id].output and stored.seq == done[task_id].seq
        verdicts = [e for e in events[:upto] if e.kind == "review_verdict"]
        rounds = store.rounds(run_id)
        assert [(r.task_id, r.round, r.approved) for r in rounds] == [
            (v.task_id, v.round, v.approved) for v in verdicts
        ]
        assert all(r.output for r in rounds)  # the draft the reviewer judged
        assert store.info(run_id).status == "interrupted"
        store.disconnect()


# -- resume in Python -----------------------------------------------------------------------


def test_resume_keeps_finished_tasks_and_continues_the_trace(tmp_path: Path) -> None:
    """A resumed run does not call agents for the tasks the store held results for, feeds
    those results to their dependents, re-runs the interrupted task with its attempt
    number going on, and continues the same run id from the next seq with run_resumed."""
    first = Counting()
    full = orchestrator(first).run_sync("go", diamond())
    upto = cut_after(full.events, "task_started", "c")  # a, b done; c running
    run_id = interrupted_copy(full.events, upto, tmp_path / "runs.db")
    again = Counting()
    result = anyio.run(
        lambda: orchestrator(again).resume(run_id, store=tmp_path / "runs.db", plan=diamond())
    )
    assert result.status == "succeeded" and result.run_id == run_id
    assert again.calls == {"c": 1, "d": 1}
    assert result.output == full.output  # stored results fed c and d as before
    assert result.events[:upto] == full.events[:upto]  # the result is the whole run
    resumed = result.events[upto]
    assert resumed.kind == "run_resumed" and resumed.seq == upto
    assert result.results == full.results
    assert resumed.kept == ["a", "b"] and resumed.rerun == ["c", "d"]
    assert resumed.interrupted == ["c"] and resumed.attempts == {"c": 1}
    started_c = [e for e in result.events if e.kind == "task_started" and e.task_id == "c"]
    assert [e.attempt for e in started_c] == [1, 2]  # the interrupted attempt, then the next
    assert "2 task(s) kept, 2 to run, 1 interrupted" in event_summary(resumed)
    store = RunStore(tmp_path / "runs.db")
    events = store.read_run(run_id).events
    assert [e.seq for e in events] == list(range(len(events)))
    assert store.info(run_id).status == "succeeded" and store.info(run_id).resumes == 1
    state = fold(events)
    assert state.status == "succeeded" and not state.problems
    assert all(t.status == "done" for t in state.tasks.values())
    assert state.resumes and state.resumes[0][3] == ["c"]
    assert state.tasks["c"].attempts == 2
    store.disconnect()


def test_resume_refuses_what_it_cannot_do_right(tmp_path: Path) -> None:
    """Resuming a finished run, a run whose writer still runs, or a run whose plan
    differs (a prompt, an agent, the dependencies) is refused with one line naming the
    difference; force resumes anyway and records what differed."""
    full = orchestrator(Counting()).run_sync("go", diamond(), store=tmp_path / "done.db")
    with pytest.raises(ResumeError, match="already ended \\(succeeded\\)"):
        orchestrator(Counting()).prepare_resume(full.run_id, store=tmp_path / "done.db")
    live = RunStore(tmp_path / "live.db")
    for e in full.events[:5]:
        live.emit(e)
    live.flush()
    with pytest.raises(ResumeError, match="still running"):
        orchestrator(Counting()).prepare_resume(full.run_id, store=tmp_path / "live.db")
    live.close()
    run_id = interrupted_copy(
        full.events, cut_after(full.events, "task_finished", "a"), tmp_path / "cut.db"
    )
    changed = diamond()
    changed.tasks[1] = Task(id="b", agent="v", prompt="B2 {{a}}")
    with pytest.raises(ResumeError) as info:
        orchestrator(Counting()).prepare_resume(run_id, store=tmp_path / "cut.db", plan=changed)
    message = str(info.value)
    assert "\n" not in message
    assert "task 'b': its prompt differs" in message and "(and 1 more)" in message
    assert "--force" in message
    result = anyio.run(
        lambda: orchestrator(Counting()).resume(
            run_id, store=tmp_path / "cut.db", plan=changed, force=True
        )
    )
    assert result.status == "succeeded"
    assert next(e for e in result.events if e.kind == "run_resumed").forced == [
        "task 'b': its prompt differs",
        "task 'b': its agent differs ('w' -> 'v')",
    ]
    with pytest.raises(ResumeError, match="not in"):
        orchestrator(Counting()).prepare_resume("run-nope", store=tmp_path / "cut.db")


# -- re-run from a step ------------------------------------------------------------------


def test_rerun_reuses_what_is_upstream_and_compares(tmp_path: Path) -> None:
    """A re-run from a task calls no agent for the tasks not downstream of it (their
    stored results are recorded at zero cost), executes the task (edited) and its
    dependents, records where it was forked from, and the comparison shows which
    outputs changed."""
    db = tmp_path / "runs.db"
    full = orchestrator(Counting()).run_sync("go", diamond(), store=db)
    again = Counting()
    fork = anyio.run(
        lambda: orchestrator(again).rerun(
            full.run_id, "c", store=db, edits={"c.prompt": "C again {{a}}"}
        )
    )
    assert fork.status == "succeeded" and fork.run_id != full.run_id
    assert again.calls == {"c": 1, "d": 1}
    forked = next(e for e in fork.events if e.kind == "run_forked")
    assert (forked.forked_from, forked.from_task) == (full.run_id, "c")
    assert forked.reused == ["a", "b"] and forked.rerun == ["c", "d"]
    assert forked.edits == {"c.prompt": "C again {{a}}"}
    state = fold(fork.events)
    assert state.forked_from == full.run_id and state.reused == ["a", "b"]
    assert state.tasks["a"].output == full.state.tasks["a"].output
    info = RunStore(db).info(fork.run_id)
    assert (info.forked_from, info.from_task) == (full.run_id, "c")
    frame = compare_runs(full, fork)
    assert list(frame.columns) == list(COLUMNS)
    rows = {r.task: r for r in frame.itertuples(index=False)}
    assert [t for t, r in rows.items() if r.output_changed] == ["c", "d"]
    assert [t for t, r in rows.items() if r.reused] == ["a", "b"]
    assert rows["a"].duration_b_s == 0.0 and rows["a"].cost_b_usd == 0.0
    other = anyio.run(
        lambda: orchestrator(Counting()).rerun(
            full.run_id, "d", store=db, edits={"d.agent": "v"}, seed=5
        )
    )
    forked = next(e for e in other.events if e.kind == "run_forked")
    assert forked.edits == {"d.agent": "v", "seed": "5"} and other.events[0].seed == 5
    assert forked.reused == ["a", "b", "c"]
    assert other.state.tasks["d"].last_agent == "v"
    with pytest.raises(ResumeError, match="reused from run"):
        orchestrator(Counting()).prepare_rerun(full.run_id, "c", store=db, edits={"a.prompt": "x"})
    with pytest.raises(ResumeError, match="no task 'zz'"):
        orchestrator(Counting()).prepare_rerun(full.run_id, "zz", store=db)
    with pytest.raises(ResumeError, match=r"TASK\.FIELD=VALUE"):
        parse_edits(["prompt"])


# -- the command line -------------------------------------------------------------------


WORKFLOW = """\
name: cli-durable
input: go
agents:
  worker: {kind: function, function: "tests.core.durable_agents:work"}
steps:
  - {id: a, agent: worker, prompt: "A {{input}}"}
  - {id: b, agent: worker, prompt: "B {{a}}"}
  - {id: c, agent: worker, prompt: "C {{b}}"}
"""


def test_cli_resume_rerun_runs_and_compare(tmp_path: Path) -> None:
    """switchboard resume continues an interrupted workflow run, refuses a changed
    workflow in one line unless --force; switchboard rerun forks it; runs shows the
    link; compare prints which outputs changed, terminal-safe."""
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    log = tmp_path / "work.log"
    env = {"SB_WORK_LOG": str(log)}
    proc = cli("run", wf, "--store", tmp_path / "full.db", env=env)
    assert proc.returncode == 0, proc.stderr
    store = RunStore(tmp_path / "full.db")
    run_id = store.latest()
    events = store.read_run(run_id).events
    store.disconnect()
    db = tmp_path / "cut.db"
    interrupted_copy(events, cut_after(events, "task_finished", "a"), db)
    wf.write_text(WORKFLOW.replace("B {{a}}", "B changed {{a}}"))
    one_error_line(cli("resume", run_id, "--store", db, env=env), "task 'b': its prompt differs")
    wf.write_text(WORKFLOW)
    log.write_text("")
    proc = cli("resume", run_id, "--store", db, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 task(s) kept, 2 to run" in proc.stdout and f"run {run_id}" in proc.stdout
    assert log.read_text().split() == ["b", "c"]
    one_error_line(cli("resume", run_id, "--store", db, env=env), "already ended (succeeded)")
    log.write_text("")
    proc = cli(
        "rerun",
        run_id,
        "--from",
        "b",
        "--store",
        db,
        "--set",
        "b.prompt=B \x1b[31mred {{a}}",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().split() == ["b", "c"]
    store = RunStore(db)
    fork_id = store.latest()
    store.disconnect()
    runs = cli("runs", "--store", db)
    assert f"(re-run of {run_id} from b)" in runs.stdout and "(resumed 1×)" in runs.stdout
    proc = cli("compare", run_id, fork_id, "--store", db)
    assert proc.returncode == 0, proc.stderr
    assert "2 of 3 task output(s) changed, 1 reused" in proc.stdout
    assert "\x1b" not in proc.stdout
    one_error_line(cli("compare", run_id, "run-nope", "--store", db), "not in")
    one_error_line(
        cli("rerun", run_id, "--from", "b", "--store", db, "--set", "a.prompt=x"), "reused"
    )
    one_error_line(cli("resume", "run-x", "--store", tmp_path / "none.db"), "no such run store")


# -- the pure parts and the views ----------------------------------------------------------


def test_scheduler_resume_marks_done_and_readies_dependents() -> None:
    """Tasks marked done before the start never start; their dependents are ready as if
    they had finished, and the plan ends the same way."""
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
    sched = Scheduler(list(deps), deps)
    assert sched.resume(["b", "a", "zz"]) == ["a", "b"]
    started = [task for task, _ in sched.drive({})]
    assert started == ["e", "c", "d"]
    assert sched.over and all(s == "done" for s in sched.status.values())
    assert downstream(deps, "b") == {"b", "d"}


def test_views_show_the_interruption(tmp_path: Path) -> None:
    """In the fold, a task under way at the interruption is waiting again after
    run_resumed (the agent idle); on the timeline its call ends as interrupted at the
    last stored event."""
    full = orchestrator(Counting()).run_sync("go", diamond())
    upto = cut_after(full.events, "task_started", "c") + 1  # c's directive sent
    run_id = interrupted_copy(full.events, upto, tmp_path / "runs.db")
    result = anyio.run(lambda: orchestrator(Counting()).resume(run_id, store=tmp_path / "runs.db"))
    before = full.events[:upto]
    state = fold(before)
    assert state.tasks["c"].status == "running"
    state.apply(result.events[upto])
    assert state.tasks["c"].status == "waiting" and state.agents["v"].state == "idle"
    assert state.status == "running"
    bars = CallTimeline()
    for i, e in enumerate(result.events):
        bars.add(i, e)
    outcomes = [(b["task"], b["outcome"]) for b in bars.bars]
    assert outcomes == [("a", "ok"), ("b", "ok"), ("c", "interrupted"), ("c", "ok"), ("d", "ok")]
    assert len(bars.resumes) == 1


def test_a_resumed_run_killed_again_resumes_again(tmp_path: Path) -> None:
    """A run interrupted twice is resumed twice: the second resume keeps what the first
    finished, attempt numbers keep going on, and the trace stays one gap-free run."""
    db = tmp_path / "runs.db"
    full = orchestrator(Counting()).run_sync("go", diamond())
    run_id = interrupted_copy(full.events, cut_after(full.events, "task_started", "b"), db)
    first = anyio.run(lambda: orchestrator(Counting()).resume(run_id, store=db))
    # the first continuation dies too, while d runs
    again_at = cut_after(first.events, "task_started", "d")
    interrupted_copy(first.events, again_at, tmp_path / "twice.db")
    calls = Counting()
    second = anyio.run(lambda: orchestrator(calls).resume(run_id, store=tmp_path / "twice.db"))
    assert second.status == "succeeded" and calls.calls == {"d": 1}
    resumes = [e for e in second.events if e.kind == "run_resumed"]
    assert [r.kept for r in resumes] == [["a"], ["a", "b", "c"]]
    assert resumes[1].attempts == {"d": 1}
    assert [e.seq for e in second.events] == list(range(len(second.events)))
    assert second.output == full.output
    assert RunStore(tmp_path / "twice.db").info(run_id).resumes == 2
    assert len(fold(second.events).resumes) == 2


def test_a_store_without_results_resumes_from_its_events(tmp_path: Path) -> None:
    """A run recorded before the store kept results is resumed from its task_finished
    events: the tasks they name are kept, not run again."""

    class OlderStore(RunStore):
        def _results(self, batch: list[TraceEvent]) -> list[tuple[Any, ...]]:
            return []

    full = orchestrator(Counting()).run_sync("go", diamond())
    db = tmp_path / "old.db"
    old = OlderStore(db)
    for e in full.events[: cut_after(full.events, "task_finished", "b")]:
        old.emit(e)
    old.close()
    assert RunStore(db).results(full.run_id) == {}
    calls = Counting()
    result = anyio.run(lambda: orchestrator(calls).resume(full.run_id, store=db))
    assert result.status == "succeeded" and calls.calls == {"c": 1, "d": 1}
    assert result.output == full.output
