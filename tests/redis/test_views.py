"""The views follow a run in Redis exactly as they show a local one: the terminal app
(``switchboard tui redis://... [--run ID]``) and the notebook's ``RunView.follow(url)``
end on the same state as a replay of the run's own trace, while the run is executed by
another process."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis.conftest import dumps, long_pipeline, mock_orchestrator
from tests.services import wait_until
from toolkit.redis_streams import RedisSource, RedisStreamSink, RedisTarget, list_runs
from toolkit.sources import open_trace
from toolkit.state import fold

ROOT = Path(__file__).resolve().parents[2]


def _tui_args(*argv: str) -> argparse.Namespace:
    from tui.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["tui", *argv])


@pytest.mark.anyio
async def test_the_tui_follows_a_run_another_process_executes(
    redis_url: str, tmp_path: Path
) -> None:
    """``switchboard tui URL --run ID`` opens a Redis source; the app shows the run's first
    events while the other process holds the run at a gate, and once it ends, every view
    (header, flow, plan, agents, metrics, events) equals the replay of the run's trace."""
    pytest.importorskip("textual")
    from tests.tui.conftest import wait_run_done
    from tests.tui.conftest import wait_until as pilot_until
    from tests.tui.test_live_equals_replay import SIZE, _views
    from tui.app import SwitchboardApp
    from tui.cli import source_from_args

    trace = tmp_path / "run.jsonl"
    publisher = subprocess.Popen(
        [sys.executable, "-m", "tests.redis.publisher", redis_url, str(trace)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: bool(list_runs(redis_url)), what="the run in the index")
        (run,) = list_runs(redis_url)
        source = source_from_args(_tui_args(redis_url, "--run", run.run_id))
        assert isinstance(source, RedisSource) and source.run_id == run.run_id
        assert run.run_id in source.label
        app = SwitchboardApp(source)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.main
            await pilot_until(
                pilot,
                lambda: any(
                    e.kind == "task_started" and e.agent == "gate" for e in screen.timeline.events
                ),
                timeout_s=120,
            )
            assert publisher.poll() is None and screen.running  # live
            target = RedisTarget.parse(redis_url)
            target.client().set(f"{target.prefix}:test-gate", 1)
            await wait_run_done(pilot)
            followed = await _views(app, pilot)
        assert publisher.wait(120) == 0
        replay = SwitchboardApp(open_trace(trace))
        async with replay.run_test(size=SIZE) as pilot:
            await pilot.pause()
            replayed = await _views(replay, pilot)
        assert followed == replayed
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()


def test_tui_arguments_for_redis() -> None:
    """The newest run by default; --run is accepted with a URL (and still refused with a
    trace file); a bad URL is one line."""
    from toolkit.cli import CLIError
    from tui.cli import source_from_args

    with pytest.raises(CLIError, match="--run needs --store DB, a redis:// URL"):
        source_from_args(_tui_args("run.jsonl", "--run", "x"))
    with pytest.raises(CLIError, match="port is not a number"):
        source_from_args(_tui_args("redis://u:pw1234@h:port/0"))


def test_runview_follow_shows_the_run_from_redis(redis_url: str) -> None:
    """``RunView.follow(url)`` reads the newest run from its first event to run_finished in
    a background thread; the view's events and state are the run's."""
    pytest.importorskip("anywidget")
    from toolkit.widgets import RunView

    sink = RedisStreamSink(redis_url)
    result = mock_orchestrator().run_sync("go", long_pipeline(20), sinks=[sink])
    view = RunView.follow(redis_url, rate_hz=1000)
    assert view.reader is not None
    view.reader.join(60)
    assert not view.reader.is_alive()
    wait_until(lambda: len(view.events) == len(result.events), what="the view catches up")
    assert dumps(view.events) == dumps(result.events)
    assert view.state.status == fold(result.events).status == "succeeded"
    assert view.following and view.cursor == len(result.events)
    other = mock_orchestrator().run_sync("again", long_pipeline(2), sinks=[sink])
    by_id = RunView.follow(redis_url, run=result.run_id)
    assert by_id.reader is not None
    by_id.reader.join(60)
    wait_until(lambda: len(by_id.events) == len(result.events), what="the view catches up")
    assert other.run_id != result.run_id and dumps(by_id.events) == dumps(result.events)


def test_pick_lists_the_runs_and_follows_the_chosen_one(redis_url: str) -> None:
    """``switchboard tui URL --pick`` lists the newest runs first, numbered; Enter picks the
    newest, a number picks that run, anything else is one clear error."""
    from toolkit.cli import CLIError
    from tui.cli import pick_run

    sink = RedisStreamSink(redis_url)
    orch = mock_orchestrator(sinks=[sink])
    first = orch.run_sync("one", long_pipeline(2))
    second = orch.run_sync("two", long_pipeline(2))
    shown: list[str] = []
    assert pick_run(redis_url, ask=lambda _: "", say=shown.append) == second.run_id
    assert shown[0].split()[:2] == ["1", second.run_id]
    assert shown[1].split()[:2] == ["2", first.run_id] and "succeeded" in shown[1]
    assert pick_run(redis_url, ask=lambda _: "2", say=shown.append) == first.run_id
    with pytest.raises(CLIError, match="pick a number from 1 to 2"):
        pick_run(redis_url, ask=lambda _: "3", say=shown.append)
