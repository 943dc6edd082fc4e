"""``switchboard serve --store``: runs recorded as they go, served again after a restart,
and a run whose server died shown as interrupted, never as running."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.serve.conftest import SWITCHBOARD, TEAM, Server, start_server
from tests.serve.test_follow import SLOW, Follower, running_task, start
from tests.services import wait_until
from toolkit.events import dump_event
from toolkit.sources import open_url
from toolkit.store import RunStore


def stored_kinds(store: Path, run_id: str) -> list[str]:
    if not store.exists():
        return []
    reader = RunStore(store)
    try:
        return [e.kind for e in reader.read_run(run_id).events]
    except Exception:
        return []
    finally:
        reader.disconnect()


def serve_store(tmp: Path, store: Path) -> Server:
    return start_server(tmp, workflows=(str(TEAM), str(SLOW)), store=store)


def test_a_stopped_server_cancels_its_runs_and_a_new_one_serves_them(tmp_path: Path) -> None:
    """SIGTERM records each running run as cancelled before the server exits; a server
    started on the same store serves the finished run and the cancelled one (status,
    result and the whole event stream), as ``switchboard runs`` lists them."""
    store = tmp_path / "runs.db"
    first = serve_store(tmp_path, store)
    try:
        done = start(first, "researcher", "writer")
        with first.client() as client:
            wait_until(
                lambda: client.get(f"/v1/runs/{done}").json()["status"] == "succeeded",
                within_s=60,
                what="the first run done",
            )
            live_events = client.get(f"/v1/runs/{done}/events").text
        going = start(first, "researcher", "sleeper")
        running_task(first, going, "step-2")
    finally:
        first.service.stop()
    assert "Finished server process" in first.log.read_text()  # a clean shutdown
    assert stored_kinds(store, going)[-1] == "run_finished"

    second = serve_store(tmp_path, store)
    try:
        with second.client() as client:
            status = client.get(f"/v1/runs/{going}").json()
            result = client.get(f"/v1/runs/{done}/result").json()
            runs = {r["run_id"]: r for r in client.get("/v1/runs").json()["runs"]}
            replayed = client.get(f"/v1/runs/{done}/events").text
        assert status["source"] == "store" and status["status"] == "cancelled"
        assert [t["status"] for t in status["tasks"]] == ["done", "cancelled"]
        assert (
            result["finished"]
            and result["output"] == "draft[to writer|step-1: facts[to researcher]]"
        )
        assert runs[done]["status"] == "succeeded" and runs[going]["status"] == "cancelled"
        assert replayed == live_events  # the same bytes, read back from the store
        follower = Follower(open_url(f"{second.base}/v1/runs/{done}", token=second.token))
        events = follower.finish()
        assert events[-1].kind == "run_finished" and follower.problems == []
        reader = RunStore(store)
        assert [dump_event(e) for e in reader.read_run(done).events] == [
            dump_event(e) for e in events
        ]
        reader.disconnect()
    finally:
        second.service.stop()
    listed = subprocess.run(
        [SWITCHBOARD, "runs", "--store", str(store)], capture_output=True, text=True, timeout=60
    )
    assert "cancelled" in listed.stdout and "succeeded" in listed.stdout


def test_a_killed_server_leaves_its_run_interrupted(tmp_path: Path) -> None:
    """kill -9 while a run goes on: a new server on the store says the run was
    interrupted, and a follower's stream ends with it marked so."""
    store = tmp_path / "runs.db"
    first = serve_store(tmp_path, store)
    try:
        run_id = start(first, "researcher", "sleeper")
        wait_until(
            lambda: stored_kinds(store, run_id).count("task_started") == 2,
            within_s=60,
            what="the store holding the sleeping step",
        )
    finally:
        first.service.kill(signal.SIGKILL)
    second = serve_store(tmp_path, store)
    try:
        with second.client() as client:
            status = client.get(f"/v1/runs/{run_id}").json()
        assert status["status"] == "interrupted" and status["source"] == "store"
        source = open_url(f"{second.base}/v1/runs/{run_id}", token=second.token)
        assert any("interrupted" in n for n in source.notices)
        follower = Follower(source)
        events = follower.finish()
        assert events and events[-1].kind != "run_finished"
        assert source.ended == "interrupted" and source.status == "interrupted"
    finally:
        second.service.stop()
