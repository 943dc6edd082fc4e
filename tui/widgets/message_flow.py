"""The message flow: a sequence diagram, one lane per participant, one arrow per message.

It is a virtual list (Textual's line API): only the rows on screen are drawn, so a
run with a hundred thousand messages scrolls as fast as one with ten. The first row
names the lanes and stays put. Each message row draws the lanes, an arrow from the
sender's lane to the recipient's, and a label column with the kind's glyph and word
and a short, literal summary of the payload. Kinds differ by glyph, word and shaft
character, and by colour on top.

When a lane is too narrow for a name, the names take two header rows, every other
lane on the second, so each name gets the width of two lanes and stays readable
(``orchestrator``, not ``orches``); a name longer still ends in "…", never silently cut.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip

from toolkit.describe import MessageRoles, message_tag
from toolkit.events import Envelope
from toolkit.state import TaskView
from toolkit.text import sanitize_line
from tui.describe import message_look, message_summary
from tui.messages import ShowDetails
from tui.widgets.cursor_list import CursorList

__all__ = ["MessageFlow"]

_LANE = "│"
_LANE_STYLE = Style(color="#5f5f87")
_HEADER_STYLE = Style(bold=True)
_SELECTED = Style(reverse=True)
_RESUMED_STYLE = Style(color="#ffaf00", bold=True)


@lru_cache(maxsize=64)
def _style(spec: str) -> Style:
    return Style.parse(spec)


class MessageFlow(CursorList):
    """A sequence diagram of a run's messages, scrolling with the run."""

    DEFAULT_CSS = """
    MessageFlow { height: 1fr; }
    """

    HEADER_ROWS = 1
    """1, or 2 when the lane names need two rows (set by ``show``)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._messages: list[Envelope] = []
        self._lanes: list[str] = []
        self._summaries: dict[tuple[str, int], str] = {}
        self._roles = MessageRoles()
        """Each message's role in its task (retry, fallback, review, …)."""
        self._tasks: Mapping[str, TaskView] = {}
        self._resumed: frozenset[int] = frozenset()
        """Indexes of the first message after each resume (the run's process had died)."""

    @property
    def messages(self) -> list[Envelope]:
        return self._messages

    def show(
        self,
        messages: list[Envelope],
        participants: list[str],
        tasks: Mapping[str, TaskView] | None = None,
        resumed_at: Collection[int] = (),
    ) -> None:
        """Render these messages between these lanes (call once per frame).

        ``tasks`` (the fold's) tell a fallback from a retry and a review from a directive;
        ``resumed_at`` are the indexes of the messages sent first after a resume
        (``RunState.resumes``), marked "⟳ resumed".
        """
        self._resumed = frozenset(resumed_at)
        self._messages = messages
        self._lanes = participants
        self._tasks = tasks if tasks is not None else {}
        width = self.scrollable_content_region.width
        lane_w, _ = self._layout(width)
        longest = max((len(sanitize_line(name)) for name in participants), default=0)
        self.HEADER_ROWS = 1 if longest <= lane_w - 1 else 2
        self.virtual_size = Size(width, len(messages) + self.HEADER_ROWS)
        self.follow()

    def row_total(self) -> int:
        return len(self._messages)

    # -- geometry ----------------------------------------------------------------------
    def _layout(self, width: int) -> tuple[int, int]:
        """(lane width, diagram width) for this many lanes in this width."""
        n = max(1, len(self._lanes))
        label_min = min(48, max(24, width * 2 // 5))
        lane_w = max(4, min(16, (width - label_min) // n))
        return lane_w, lane_w * n

    def _summary(self, env: Envelope, room: int = 200) -> str:
        """The payload's summary, fitted to ``room`` cells with its "… N more" visible."""
        key = (env.message_id, room)
        text = self._summaries.get(key)
        if text is None:
            if len(self._summaries) > 50_000:
                self._summaries.clear()
            text, limit = message_summary(env, room), room
            while len(text) > room and limit > 4:  # keep the count of what was cut on screen
                limit = max(4, limit - (len(text) - room))
                text = message_summary(env, limit)
            self._summaries[key] = text
        return text

    # -- drawing -----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < self.HEADER_ROWS:
            return self._header(width, y)
        index = self.scroll_offset.y + y - self.HEADER_ROWS
        if index < 0 or index >= len(self._messages):
            return self._lanes_only(width)
        return self._row(index, width)

    def header_names(self, width: int) -> list[list[tuple[int, str]]]:
        """(start column, label) of the lane names on each header row."""
        lane_w, _ = self._layout(width)
        rows = self.HEADER_ROWS
        room = lane_w - 1 if rows == 1 else 2 * lane_w - 1
        placed: list[list[tuple[int, str]]] = [[] for _ in range(rows)]
        for i, name in enumerate(self._lanes):
            label = sanitize_line(name)
            if len(label) > room:
                label = label[: max(1, room - 1)] + "…"
            center = i * lane_w + lane_w // 2
            start = max(0, min(center - len(label) // 2, width - len(label)))
            placed[i % rows].append((start, label))
        return placed

    def _header(self, width: int, row: int = 0) -> Strip:
        lane_w, diagram = self._layout(width)
        cells = [" "] * max(width, diagram)
        for start, label in self.header_names(width)[row]:
            for j, ch in enumerate(label):
                if start + j < len(cells):
                    cells[start + j] = ch
        if row == 1:
            for i in range(0, len(self._lanes), 2):  # the first row's lanes lead down
                x = i * lane_w + lane_w // 2
                if x < len(cells) and cells[x] == " ":
                    cells[x] = _LANE
        text = "".join(cells).rstrip()
        if row == self.HEADER_ROWS - 1:
            text = text.ljust(max(diagram, len(text))) + " message"
        parts = text.split(_LANE)
        segments = [Segment(parts[0], _HEADER_STYLE)]
        for part in parts[1:]:
            segments += [Segment(_LANE, _LANE_STYLE), Segment(part, _HEADER_STYLE)]
        return Strip(segments).crop_extend(0, width, None)

    def _lanes_only(self, width: int) -> Strip:
        lane_w, _ = self._layout(width)
        segments: list[Segment] = []
        for _lane in self._lanes:
            segments.append(Segment(" " * (lane_w // 2)))
            segments.append(Segment(_LANE, _LANE_STYLE))
            segments.append(Segment(" " * (lane_w - lane_w // 2 - 1)))
        return Strip(segments).crop_extend(0, width, None)

    def _row(self, index: int, width: int) -> Strip:
        env = self._messages[index]
        look = message_look(env, self._roles.role(self._messages, index, self._tasks))
        lane_w, diagram = self._layout(width)
        lanes = {name: i * lane_w + lane_w // 2 for i, name in enumerate(self._lanes)}
        cells = [" "] * diagram
        styles: list[Style | None] = [None] * diagram
        for x in lanes.values():
            cells[x] = _LANE
            styles[x] = _LANE_STYLE
        arrow = _style(look.style)
        src = lanes.get(env.sender)
        dst = lanes.get(env.recipient)
        if src is not None and (dst is None or env.recipient == "*"):
            # a broadcast or a topic: a shaft over every lane, a mark on each receiver
            lo, hi = 0, diagram - 1
            for x in range(lo, hi + 1):
                if x not in lanes.values():
                    cells[x], styles[x] = look.line, arrow
            for x in lanes.values():
                cells[x], styles[x] = ("●" if x == src else look.glyph), arrow
        elif src is not None and dst is not None:
            if src == dst:
                cells[src], styles[src] = "↺", arrow
            else:
                lo, hi = min(src, dst), max(src, dst)
                for x in range(lo + 1, hi):
                    cells[x], styles[x] = look.line, arrow
                cells[src], styles[src] = "●", arrow
                cells[dst], styles[dst] = ("▶" if dst > src else "◀"), arrow
        segments: list[Segment] = []
        run_text, run_style = "", styles[0] if styles else None
        for ch, st in zip(cells, styles, strict=True):
            if st is not run_style:
                if run_text:
                    segments.append(Segment(run_text, run_style))
                run_text, run_style = "", st
            run_text += ch
        if run_text:
            segments.append(Segment(run_text, run_style))
        if index in self._resumed:
            segments.append(Segment(" ⟳ resumed", _RESUMED_STYLE))
        segments.append(Segment(" " + message_tag(env, look), arrow))
        where = f" {sanitize_line(env.task_id)}" if env.task_id and width >= 100 else ""
        if env.recipient == "*" or env.recipient.startswith("topic:"):
            where += f" → {sanitize_line(env.recipient)}"
        segments.append(Segment(where + " ", Style(dim=True)))
        used = sum(segment.cell_length for segment in segments)
        segments.append(Segment(self._summary(env, max(8, width - used))))
        strip = Strip(segments).crop_extend(0, width, None)
        if index == self.cursor:
            strip = strip.apply_style(_SELECTED)
        return strip

    # -- selection ---------------------------------------------------------------------
    def action_details(self) -> None:
        if 0 <= self.cursor < len(self._messages):
            self.post_message(ShowDetails(self._messages[self.cursor]))
