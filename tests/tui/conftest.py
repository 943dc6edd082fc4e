"""Shared pieces of the terminal app's tests: the recorded traces and waiting helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from toolkit.sources import open_trace
from tui.app import SwitchboardApp
from tui.screens.main import MainScreen

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "sample_agents" / "traces"
FEATURE_REVIEW = TRACES / "feature-review.jsonl"
HOSTILE = TRACES / "hostile.jsonl"
SCATTER_GATHER = TRACES / "scatter-gather.jsonl"
TEAMS = TRACES / "teams.jsonl"


@pytest.fixture
def feature_trace() -> Path:
    return FEATURE_REVIEW


def replay_app(path: Path = FEATURE_REVIEW) -> SwitchboardApp:
    """The app on a recorded trace."""
    return SwitchboardApp(open_trace(path))


def main_screen(app: SwitchboardApp) -> MainScreen:
    return app.main


async def wait_until(
    pilot: Pilot, condition, timeout_s: float = 20.0, step_s: float = 0.05
) -> None:
    """Pause the pilot until ``condition()`` holds (bounded; fails the test on timeout)."""
    loops = int(timeout_s / step_s)
    for _ in range(loops):
        if condition():
            return
        await pilot.pause(step_s)
    raise AssertionError(f"condition not met within {timeout_s}s")


async def wait_run_done(pilot: Pilot) -> MainScreen:
    """Wait until the screen's source has finished producing and the last frame is drawn."""
    screen = pilot.app.main
    await wait_until(
        pilot, lambda: not screen.running and screen.feed.closed and not screen.feed.pending
    )
    await wait_until(pilot, lambda: screen.caught_up and not screen._dirty)
    await pilot.pause()
    return screen


def screen_text(app: SwitchboardApp) -> str:
    """Everything on screen as plain text (from the SVG export's text)."""
    import html
    import re

    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(re.sub(r"<[^>]+>", "", p) for p in parts)).replace("\xa0", " ")


@pytest.fixture
def anyio_backend() -> str:
    """Textual runs on asyncio: the async tests run there too (anyio's pytest plugin)."""
    return "asyncio"
