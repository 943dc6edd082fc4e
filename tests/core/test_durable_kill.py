"""Resume after SIGKILL: a real ``switchboard run`` is killed at seeded points of a
20-task plan, 50 times, and resumed; the work of every task the store held as done
before the kill is done exactly once, the work of any other task at most twice, and
the resumed run succeeds with a trace that folds to a complete state."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.services import wait_until
from toolkit.durable import ResumeError, workflow_resume
from toolkit.state import fold
from toolkit.store import RunStore
from toolkit.workflow import load_workflow

ROOT = Path(__file__).parents[2]
_SCRIPT = Path(sys.executable).parent / "switchboard"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "toolkit.cli"]
TASKS = 20
KILLS = 50


def twenty_task_workflow(path: Path) -> Path:
    """A 20-task DAG (a binary tree with a chain through every fourth task), two at a time."""
    lines = [
        "name: durable20",
        "input: go",
        "concurrency: 2",
        "agents:",
        '  worker: {kind: function, function: "tests.core.durable_agents:work"}',
        "steps:",
        '  - {id: t00, agent: worker, prompt: "start {{input}}"}',
    ]
    for i in range(1, TASKS):
        refs = [f"{{{{t{(i - 1) // 2:02d}}}}}"]
        if i % 4 == 0:
            refs.append(f"{{{{t{i - 1:02d}}}}}")
        lines.append(f'  - {{id: t{i:02d}, agent: worker, prompt: "step {i} {" ".join(refs)}"}}')
    path.write_text("\n".join(lines) + "\n")
    return path


# A zygote: one process that has imported the command line once and forks a child per
# ``switchboard run`` (the child runs ``toolkit.cli.main``, exactly as the console
# script does), so fifty runs do not pay fifty interpreter start-ups. The test kills
# each child with SIGKILL itself; the zygote only forks and reaps.
_ZYGOTE = r"""
import json, os, sys
import toolkit.cli, toolkit.events, toolkit.workflow, toolkit.store, toolkit.orchestrator
import tests.core.durable_agents
# what every run would build again after the fork: the workflow's and the events' validators
toolkit.workflow.load_workflow(sys.argv[1]).prepare()
toolkit.events.event_adapter
for line in sys.stdin:
    verb, _, arg = line.strip().partition(" ")
    if verb == "run":
        job = json.loads(arg)
        pid = os.fork()
        if pid == 0:
            os.environ.update(job["env"])
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os._exit(toolkit.cli.main(job["argv"]))
        print(pid, flush=True)
    elif verb == "reap":
        print(os.waitpid(int(arg), 0)[1], flush=True)
"""


class Zygote:
    """Forks ``switchboard run`` children on demand (see ``_ZYGOTE``)."""

    def __init__(self, cwd: Path, workflow: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, str(workflow)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
        )

    def _ask(self, line: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def run(self, argv: list[str], env: dict[str, str]) -> int:
        """Start ``switchboard ARGV`` in a fresh child; its pid."""
        return self._ask("run " + json.dumps({"argv": argv, "env": env}))

    def kill(self, pid: int) -> None:
        """SIGKILL the child (if it still runs) and wait until it is reaped."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._ask(f"reap {pid}")

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def stored_events(db: Path) -> int:
    """Events the store holds now (0 before the file exists), read-only."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return int(con.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def work_counts(log: Path) -> collections.Counter[str]:
    return collections.Counter(log.read_text().split()) if log.exists() else collections.Counter()


def test_sigkill_at_seeded_points_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """After each SIGKILL and resume: every task the store held a result for was worked
    exactly once, every other task at most twice, nothing is missing, the run succeeded
    under the same run id with gap-free seqs, and its answer and every task's output are
    those of an uninterrupted run (stored results fed the dependents)."""
    wf_path = twenty_task_workflow(tmp_path / "durable20.yaml")
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("SB_WORK_DELAY", "0")
    monkeypatch.setenv("SB_WORK_LOG", str(tmp_path / "reference.log"))
    reference = anyio.run(load_workflow(wf_path).prepare().execute)
    assert reference.status == "succeeded"
    expected = reference.results
    total = len(reference.events)
    rng = random.Random(20261202)
    interrupted = 0
    zygote = Zygote(tmp_path, wf_path)
    request.addfinalizer(zygote.close)
    for i in range(KILLS):
        db, log = tmp_path / f"runs{i}.db", tmp_path / f"work{i}.log"
        kill_at = rng.randint(1, total * 3 // 4)
        monkeypatch.setenv("SB_WORK_LOG", str(log))
        env = {
            "SB_WORK_LOG": str(log),
            "SB_WORK_DELAY": "0.02",
            "PYTHONPATH": str(ROOT),
        }
        pid = zygote.run(["run", str(wf_path), "--store", str(db)], env)
        wait_until(
            lambda: stored_events(db) >= kill_at,  # noqa: B023
            what=f"the store holding {kill_at} events",
        )
        zygote.kill(pid)
        store = RunStore(db)
        run_id = store.latest()
        done_before = set(store.results(run_id))
        before = store.read_run(run_id).events
        finished = {e.task_id for e in before if e.kind == "task_finished"}
        # what the store says is done is done: a result for exactly the finished tasks
        assert done_before == finished
        store.disconnect()
        if before[-1].kind == "run_finished":
            with pytest.raises(ResumeError, match="already ended"):
                workflow_resume(run_id, db)
        else:
            interrupted += 1
            if i % 25 == 0:  # as a user does it, from the command line (also in test_durable)
                proc_resume = subprocess.run(
                    [*COMMAND, "resume", run_id, "--store", str(db)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, **env, "SB_WORK_DELAY": "0"},
                    cwd=tmp_path,
                    timeout=120,
                )
                assert proc_resume.returncode == 0, proc_resume.stderr
                assert f"run {run_id} (durable20): succeeded" in proc_resume.stdout
            elif i % 2 == 0:
                result = anyio.run(workflow_resume(run_id, db).execute)
                assert result.status == "succeeded" and result.run_id == run_id
            else:
                orch = load_workflow(wf_path).orchestrator()
                result = anyio.run(lambda: orch.resume(run_id, store=db))  # noqa: B023
                assert result.status == "succeeded" and result.run_id == run_id
        counts = work_counts(log)
        ids = [f"t{k:02d}" for k in range(TASKS)]
        for task_id in ids:
            if task_id in done_before:
                assert counts[task_id] == 1, (i, kill_at, task_id, counts)
            else:
                assert 1 <= counts[task_id] <= 2, (i, kill_at, task_id, counts)
        assert set(counts) == set(ids)
        store = RunStore(db)
        events = store.read_run(run_id).events
        assert store.info(run_id).status == "succeeded"
        store.disconnect()
        assert [e.seq for e in events] == list(range(len(events)))
        assert {e.run_id for e in events} == {run_id}
        state = fold(events)
        assert state.status == "succeeded" and not state.problems
        assert {t: v.status for t, v in state.tasks.items()} == dict.fromkeys(ids, "done")
        assert {t: v.output for t, v in state.tasks.items()} == expected
        assert state.output == reference.output
        kinds = [e.kind for e in events]
        assert kinds.count("run_started") == 1 and kinds.count("run_finished") == 1
        assert kinds.count("run_resumed") == (0 if before[-1].kind == "run_finished" else 1)
    # the seeded points interrupt most runs; at the very least one was resumed for real
    assert interrupted >= 1
    print(f"\n{interrupted} of {KILLS} runs interrupted and resumed")
