"""Resuming a parent resumes its teams' unfinished child runs: a real ``switchboard run``
of a parent whose team is mid-run is killed with SIGKILL (where it stands is known from
the store and a gate, not timed), then resumed from the command line or with
``Orchestrator.resume``. The child goes on under its own run id, the child tasks the
store held as done are not worked again, and the answer is an uninterrupted run's."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.services import wait_until
from toolkit.state import fold
from toolkit.store import RunStore
from toolkit.workflow import load_workflow

ROOT = Path(__file__).parents[2]
_SCRIPT = Path(sys.executable).parent / "switchboard"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "toolkit.cli"]
WORKER = '{kind: function, function: "tests.core.durable_agents:gated"}'
CHILD = ["c1", "c2", "c3", "c4"]


def workflows(tmp: Path) -> Path:
    """A parent (a, the team's task t, z) whose team is a chain c1..c4 in its own file."""
    (tmp / "team.yaml").write_text(
        "name: inner\nagents:\n  worker: " + WORKER + "\nsteps:\n"
        '  - {id: c1, agent: worker, prompt: "c1 {{input}}"}\n'
        '  - {id: c2, agent: worker, prompt: "c2 {{c1}}"}\n'
        '  - {id: c3, agent: worker, prompt: "c3 {{c2}}"}\n'
        '  - {id: c4, agent: worker, prompt: "c4 {{c3}}"}\n'
    )
    parent = tmp / "parent.yaml"
    parent.write_text(
        "name: outer\ninput: go\nagents:\n  worker: " + WORKER + "\n"
        "  team: {kind: team, workflow: team.yaml}\nsteps:\n"
        '  - {id: a, agent: worker, prompt: "a {{input}}"}\n'
        '  - {id: t, agent: team, prompt: "team {{a}}"}\n'
        '  - {id: z, agent: worker, prompt: "z {{t}}"}\n'
    )
    return parent


def counts(log: Path) -> collections.Counter[str]:
    return collections.Counter(log.read_text().split()) if log.exists() else collections.Counter()


def stored_results(db: Path) -> set[str]:
    """Task ids the store holds a result for (any run), read by a reader of its own."""
    if not db.exists():
        return set()
    store = RunStore(db)
    try:
        return {t for r in store.runs() for t in store.results(r.run_id)}
    except Exception:  # the writer is creating the file's tables
        return set()
    finally:
        store.disconnect()


def killed_mid_child(tmp: Path, parent: Path) -> tuple[Path, Path]:
    """Run the parent until the team's c3 waits at its gate (c1, c2 stored), SIGKILL it."""
    db, log = tmp / "runs.db", tmp / "work.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SB_WORK_LOG": str(log),
        "SB_WORK_DELAY": "0",
        "SB_GATE_TASK": "c3",
        "SB_GATE": str(tmp / "never"),
    }
    proc = subprocess.Popen(
        [*COMMAND, "run", str(parent), "--store", str(db)],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: "c3" in counts(log) and {"a", "c1", "c2"} <= stored_results(db),
            what="the team's c3 waiting at its gate, c1 and c2 stored",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return db, log


def reference(tmp: Path, parent: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("SB_WORK_LOG", str(tmp / "reference.log"))
    monkeypatch.setenv("SB_WORK_DELAY", "0")
    result = anyio.run(load_workflow(parent).prepare().execute)
    assert result.status == "succeeded", result.error
    return result.output


def check_resumed(db: Path, log: Path, run_id: str, child_id: str, expected: object) -> None:
    work = counts(log)
    # stored as done before the kill: worked exactly once; c3 was cut off and ran again
    assert {t: work[t] for t in ["a", "c1", "c2", "c4", "z"]} == dict.fromkeys(
        ["a", "c1", "c2", "c4", "z"], 1
    ), work
    assert work["c3"] == 2 and set(work) == {"a", "z", *CHILD}
    store = RunStore(db)
    try:
        assert list(store.parents()) == [child_id]  # no second child run was made
        assert store.info(run_id).status == "succeeded"
        assert store.info(child_id).status == "succeeded"
        child = store.read_run(child_id).events
        family = store.family_events(run_id)
    finally:
        store.disconnect()
    assert [e.seq for e in child] == list(range(len(child)))
    (resumed,) = [e for e in child if e.kind == "run_resumed"]
    assert resumed.kept == ["c1", "c2"] and resumed.rerun == ["c3", "c4"]  # type: ignore[attr-defined]
    assert resumed.interrupted == ["c3"]  # type: ignore[attr-defined]
    state = fold(family)
    assert state.status == "succeeded" and not state.problems
    assert state.output == expected
    (kid,) = state.children.values()
    assert kid.status == "succeeded" and kid.parent_task == "t"
    assert {t: v.status for t, v in kid.tasks.items()} == dict.fromkeys(CHILD, "done")


def _ids(db: Path) -> tuple[str, str]:
    store = RunStore(db)
    try:
        run_id = store.latest()
        (child_id,) = store.parents()
        assert store.info(child_id).status == "interrupted"
        assert store.info(run_id).status == "interrupted"
    finally:
        store.disconnect()
    return run_id, child_id


def test_cli_resume_of_a_killed_parent_resumes_its_child_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`switchboard resume` of the parent: the child run goes on under the same id,
    c1 and c2 are not worked again, and the answer is the uninterrupted run's."""
    parent = workflows(tmp_path)
    expected = reference(tmp_path, parent, monkeypatch)
    db, log = killed_mid_child(tmp_path, parent)
    run_id, child_id = _ids(db)
    proc = subprocess.run(
        [*COMMAND, "resume", run_id, "--store", str(db)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SB_WORK_LOG": str(log), "SB_WORK_DELAY": "0"},
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"run {run_id} (outer): succeeded" in proc.stdout
    check_resumed(db, log, run_id, child_id, expected)


def test_orchestrator_resume_of_a_killed_parent_resumes_its_child_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with ``Orchestrator.resume`` in Python (the workflow's orchestrator)."""
    parent = workflows(tmp_path)
    expected = reference(tmp_path, parent, monkeypatch)
    db, log = killed_mid_child(tmp_path, parent)
    run_id, child_id = _ids(db)
    monkeypatch.setenv("SB_WORK_LOG", str(log))
    monkeypatch.delenv("SB_GATE", raising=False)
    orch = load_workflow(parent).orchestrator()
    result = anyio.run(lambda: orch.resume(run_id, store=db))
    assert result.status == "succeeded" and result.run_id == run_id, result.error
    check_resumed(db, log, run_id, child_id, expected)
