"""Opening what the views show (toolkit.sources): traces, stores, workflows; every user error is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from sample_agents.scenarios import research_report
from toolkit.sources import (
    EventFeed,
    FollowSource,
    LiveRunSource,
    RecordedSource,
    SourceError,
    open_path,
    open_store,
    open_trace,
)

ROOT = Path(__file__).resolve().parents[2]
FEATURE_REVIEW = ROOT / "sample_agents" / "traces" / "feature-review.jsonl"

SWITCHBOARD = ROOT / ".venv" / "bin" / "switchboard"


def _store_with_runs(path: Path, runs: int = 2) -> list[str]:
    ids = []
    for seed in range(runs):
        orch, plan, request = research_report(seed=seed, speed=0.0)
        result = anyio.run(orch.prepare(request, plan, store=path).execute)
        ids.append(result.run_id)
    return ids


def test_a_trace_opens_with_all_its_events() -> None:
    """A good trace is a recorded source holding every event and no notice."""
    source = open_trace(FEATURE_REVIEW)
    assert isinstance(source, RecordedSource)
    assert len(source.preload()) == 38 and source.notices == []


def test_a_partly_corrupt_trace_opens_with_a_notice(tmp_path: Path) -> None:
    """Good lines are shown; the bad ones are counted in one notice, worded as the CLI's warning."""
    lines = FEATURE_REVIEW.read_text().splitlines()
    lines.insert(5, "{not json")
    lines.insert(9, '{"kind": "no_such_kind"}')
    path = tmp_path / "corrupt.jsonl"
    path.write_text("\n".join(lines) + "\n")
    source = open_trace(path)
    assert len(source.preload()) == 38
    assert source.notices[0].startswith(f"{path}: skipped 2 corrupt line(s): line 6")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such trace file"),
        ("", "the trace is empty"),
        ("garbage\nmore garbage\n", "no valid event in the file: is it a Switchboard trace"),
    ],
)
def test_unreadable_traces_are_one_line_errors(
    tmp_path: Path, content: str | None, message: str
) -> None:
    """Missing, empty and garbage files raise SourceError with a clear message."""
    path = tmp_path / "t.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError, match=message):
        open_trace(path)


def test_a_directory_is_not_a_trace(tmp_path: Path) -> None:
    """Giving a folder is a clear error, also with --follow."""
    with pytest.raises(SourceError, match="directory"):
        open_trace(tmp_path)
    with pytest.raises(SourceError, match="directory"):
        open_trace(tmp_path, follow=True)


def test_store_latest_and_by_id(tmp_path: Path) -> None:
    """--store without --run opens the newest run; with --run that run; an unknown id is an error."""
    db = tmp_path / "runs.db"
    first, second = _store_with_runs(db)
    assert open_store(db).preload()[0].run_id == second
    assert open_store(db, first).preload()[0].run_id == first
    with pytest.raises(SourceError, match="not in"):
        open_store(db, "run-unknown")
    with pytest.raises(SourceError, match="no such run store"):
        open_store(tmp_path / "missing.db")


def test_workflows_and_unknown_extensions(tmp_path: Path) -> None:
    """A valid workflow is a live source; an invalid one and an unknown extension are errors."""
    source = open_path(ROOT / "sample_agents" / "workflows" / "feature-review.yaml")
    assert isinstance(source, LiveRunSource) and source.can_cancel and source.can_rerun
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntasks: 3\n")
    with pytest.raises(SourceError, match="invalid workflow"):
        open_path(bad)
    with pytest.raises(SourceError, match="no such workflow"):
        open_path(tmp_path / "missing.yaml")
    with pytest.raises(SourceError, match="expected a workflow"):
        open_path(tmp_path / "notes.txt")


def test_follow_reads_a_growing_file_to_its_end(tmp_path: Path) -> None:
    """A followed trace yields every event, reports corrupt lines, and ends at run_finished."""
    lines = FEATURE_REVIEW.read_text().splitlines(keepends=True)
    path = tmp_path / "live.jsonl"
    path.write_text("".join(lines[:10]) + "{broken\n" + "".join(lines[10:]))
    source = FollowSource(path, poll_s=0.01)
    feed = EventFeed()
    source.produce(feed)
    events, problems = feed.drain()
    assert len(events) == 38 and len(problems) == 1 and feed.closed


def test_a_live_source_runs_and_closes_its_feed() -> None:
    """A live source runs its run into the feed; cancel after the end is harmless."""

    def factory(sinks):
        orch, plan, request = research_report(speed=0.0)
        return orch.prepare(request, plan, sinks=sinks)

    source = LiveRunSource("t", factory)
    feed = EventFeed()
    source.produce(feed)
    events, _ = feed.drain()
    assert events[-1].kind == "run_finished" and feed.closed
    source.cancel()


@pytest.mark.parametrize(
    "args",
    [
        ["tui", "missing.jsonl"],
        ["tui", "--store", "missing.db"],
        ["tui", "--run", "x", "t.jsonl"],
        ["tui"],
        ["tui", "notes.txt"],
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    """`switchboard tui` with a bad argument prints one error line, exit code 2, no traceback."""
    exe = [str(SWITCHBOARD)] if SWITCHBOARD.exists() else [sys.executable, "-m", "tui"]
    proc = subprocess.run(
        [*exe, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TERM": "dumb"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "error" in proc.stderr


def test_python_m_tui_reports_errors_the_same_way(tmp_path: Path) -> None:
    """`python -m tui` (without the console script) gives the same one-line error."""
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "tui", "missing.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        proc.returncode == 2
        and "no such trace file" in proc.stderr
        and "Traceback" not in proc.stderr
    )
