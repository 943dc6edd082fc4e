"""Hostile payloads (markup, escapes, controls, long lines, megabytes) are shown literally and safely."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from toolkit.events import event_adapter
from toolkit.recorder import read_trace, write_trace
from tui.screens.details import DetailsScreen
from tui.widgets.event_list import EventList
from tui.widgets.message_flow import MessageFlow

from .conftest import FEATURE_REVIEW, HOSTILE, replay_app, screen_text, wait_until

pytestmark = pytest.mark.anyio

_RAW = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x202E}


def _raw(text: str) -> set[int]:
    """Raw control characters in a text (newlines between screen lines excepted)."""
    return {ord(c) for c in text.replace("\n", "") if ord(c) in _RAW}


def _big_trace(tmp_path: Path, payload: object) -> Path:
    """The feature-review trace with the last directive's payload replaced."""
    events = read_trace(FEATURE_REVIEW).events
    index = max(
        i
        for i, e in enumerate(events)
        if e.kind == "message_sent" and e.envelope.kind == "directive"
    )
    data = events[index].model_dump(mode="json")
    data["envelope"]["payload"] = payload
    events[index] = event_adapter.validate_python(data)
    return write_trace(tmp_path / "big.jsonl", events)


async def test_hostile_payloads_render_literally_without_raw_controls() -> None:
    """Markup is shown as typed, escapes as ␛, and no view emits a raw control character."""
    app = replay_app(HOSTILE)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        flow = app.screen.query_one(MessageFlow)
        rows = [flow.render_line(y).text for y in range(flow.size.height)]
        assert not _raw("".join(rows))
        text = screen_text(app)
        assert "hostile [red]payloads[/]" in text  # the run name, in the header
        flow_text = "\n".join(rows)
        assert "result [bold red]not bold[" in flow_text
        assert "␛[31mred?␛[0m" in flow_text
        assert "… 4,9" in flow_text  # the 5,000-character line, clipped with a count
        await pilot.press("3")
        events = app.screen.query_one(EventList)
        lines = [events.render_line(y).text for y in range(events.size.height)]
        assert not _raw("".join(lines))
        assert not _raw(app.export_screenshot())


async def test_hostile_payload_details_are_whole_and_visible() -> None:
    """The details view shows a hostile payload whole, its escapes visible, its markup as text."""
    app = replay_app(HOSTILE)
    async with app.run_test(size=(120, 40)) as pilot:
        flow = app.screen.query_one(MessageFlow)
        index = next(
            i for i, m in enumerate(flow.messages) if m.sender == "ansi" and m.kind == "result"
        )
        flow.cursor = index
        flow.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        body = app.screen.query_one("#details-body", TextArea).text
        assert body == "␛[31mred?␛[0m ␛]0;pwned title␇ ␛[2J cleared? ⍰31m"
        await pilot.press("m")  # rendered as Markdown, still no raw escape
        assert not _raw(screen_text(app))


async def test_a_multi_megabyte_payload_is_clipped_in_the_flow_and_whole_in_details(
    tmp_path: Path,
) -> None:
    """A 3 MB payload shows as one clipped row with '… N more' and opens whole in the details."""
    size = 3_000_000
    app = replay_app(_big_trace(tmp_path, "y" * size))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        flow = app.screen.query_one(MessageFlow)
        index = next(
            i
            for i, m in enumerate(flow.messages)
            if isinstance(m.payload, str) and len(m.payload) == size
        )
        flow.cursor = index
        await pilot.pause()
        row = flow.render_line(index - flow.scroll_offset.y + flow.HEADER_ROWS).text
        assert "y" * 10 in row and len(row) <= 120
        assert row.rstrip().endswith("more") and f"{size - 100:,}"[:3] in row
        flow.focus()
        await pilot.press("enter")
        assert len(app.screen.query_one("#details-body", TextArea).text) == size
        assert "3,000,000 chars" in screen_text(app)


async def test_a_big_json_payload_is_clipped_too(tmp_path: Path) -> None:
    """A large JSON payload (a list of 100,000 strings) is one bounded row in the flow."""
    payload = {"rows": ["[bold]row[/bold]\x1b[1m"] * 100_000}
    app = replay_app(_big_trace(tmp_path, payload))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        flow = app.screen.query_one(MessageFlow)
        summaries = [flow._summary(m) for m in flow.messages if isinstance(m.payload, dict)]
        assert summaries and all(len(s) < 260 and "more" in s and not _raw(s) for s in summaries)


def _damaged_task_trace(tmp_path: Path) -> Path:
    """The feature-review trace with one task_finished naming a task no plan has."""
    events = read_trace(FEATURE_REVIEW).events
    index = next(i for i, e in enumerate(events) if e.kind == "task_finished")
    data = events[index].model_dump(mode="json")
    data["task_id"] = "no-such-task"
    events[index] = event_adapter.validate_python(data)
    return write_trace(tmp_path / "damaged.jsonl", events)


async def test_a_damaged_task_id_is_drawn_and_its_skip_is_shown(tmp_path: Path) -> None:
    """`switchboard tui` on a trace with one damaged task_id draws the run (no crash) and
    says it skipped the damaged event, as the CLI's warning does."""
    app = replay_app(_damaged_task_trace(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: "damaged event" in screen_text(app))
        assert "no-such-task" in screen_text(app)


async def test_an_interrupted_store_run_is_not_shown_running(tmp_path: Path) -> None:
    """A stored run whose writer stopped before run_finished is headed `interrupted` at its
    end, not `running` (only replaying to an earlier point shows it running)."""
    from toolkit.sources import open_store
    from toolkit.store import RunStore
    from tui.app import SwitchboardApp
    from tui.widgets.run_header import RunHeader

    events = [e for e in read_trace(FEATURE_REVIEW).events if e.kind != "run_finished"]
    store = RunStore(tmp_path / "runs.db")
    for event in events:
        store.emit(event)
    store.close()
    app = SwitchboardApp(open_store(tmp_path / "runs.db", events[0].run_id))
    async with app.run_test(size=(160, 48)) as pilot:
        header = app.screen.query_one(RunHeader)
        await wait_until(pilot, lambda: "interrupted" in str(header.render()))
        assert "running" not in str(header.render())
