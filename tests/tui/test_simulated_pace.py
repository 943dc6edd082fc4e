"""A run on simulated time, watched in the terminal app, unfolds at its recorded pace."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.sources import SourceError, open_workflow
from tui.app import SwitchboardApp

from .conftest import screen_text, wait_run_done, wait_until

pytestmark = pytest.mark.anyio

SIZE = (120, 40)


def slow_workflow(tmp_path: Path, steps: int = 20) -> Path:
    """A pipeline of mock agents that each take a minute (virtual time)."""
    lines = ["name: slow-pipeline", "pattern: pipeline", "agents:"]
    lines += [f"  a{i}: {{kind: mock, latency: 60}}" for i in range(steps)]
    lines += ["steps:"] + [f"  - {{id: s{i}, agent: a{i}}}" for i in range(steps)]
    path = tmp_path / "slow.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_simulated_run_is_played_from_its_first_event(tmp_path: Path) -> None:
    """Twenty one-minute steps finish at once on simulated time; the view plays them, then ends."""
    source = open_workflow(slow_workflow(tmp_path), simulate=True)
    assert source.paced
    app = SwitchboardApp(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main
        assert screen.player.playing and not screen.player.following
        await wait_run_done(pilot)
        # every event is in, yet the replay is still on its way through 20 recorded
        # minutes (each pause of a replay lasts at most one second)
        assert screen.player.total > 0
        assert screen.player.cursor < screen.player.total
        await pilot.press("G")  # to the end, as a person would
        await wait_until(pilot, lambda: screen.player.at_end)
        state = screen.player.state()
        assert state.status == "succeeded" and state.simulated
        assert state.elapsed_s == 20 * 60.0


def test_real_agents_are_refused_when_the_source_opens() -> None:
    """``--simulate`` on a workflow with real agents is refused at once, in one line."""
    path = Path(__file__).resolve().parents[2] / "sample_agents/workflows/research-report-real.yaml"
    with pytest.raises(SourceError, match="simulated time runs only mock and function agents"):
        open_workflow(path, simulate=True)
    assert open_workflow(path, simulate=True, mock=True).paced  # their stand-ins may


async def test_header_says_the_time_is_simulated(tmp_path: Path) -> None:
    """The header marks a run's time as simulated, so nobody mistakes it for wall time."""
    app = SwitchboardApp(open_workflow(slow_workflow(tmp_path, steps=2), simulate=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_run_done(pilot)
        await pilot.press("G")
        await wait_until(pilot, lambda: app.main.player.at_end)
        await pilot.pause()
        assert "02:00.0 simulated" in screen_text(app)
