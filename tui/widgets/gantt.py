"""The timeline: each agent call as a bar on its agent's lane, over the run's time.

The message flow shows order; this shows overlap. Bars come from the core's
``CallTimeline`` (the pairing of a directive with its answer that the notebook's Gantt
and ``toolkit.metrics.timeline`` read too), so every view agrees on what a call was.
Kinds are told apart by glyph, not colour alone: a finished call is ``█``, a failed
attempt ``▓`` ending in ``✖``, a call still running ``░``; a bar opens with ``↻`` for a
retry, ``↪`` for a fallback, ``◇`` for a review and ``✎`` for a revision. Time a
human agent waited for a person is its own span over the call: ``╌`` (``CallTimeline.waits``),
ending in ``⌛`` when the deadline closed the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from toolkit.state import RunState
from toolkit.text import one_line

__all__ = ["GanttChart", "gantt_lines"]

LABEL = 16
"""Columns of an agent's name at the start of its lane."""

LEGEND = "█ call  ▓✖ failed attempt  ░ running  ↻ retry  ↪ fallback  ◇ review  ✎ revision"

_LOOK = {"ok": ("█", "#5fd787"), "error": ("▓", "#ff5f5f"), "unfinished": ("░", "#ffaf00")}

WAIT_LEGEND = "  ╌ human wait"
_WAIT = ("╌", "#87afff")


def _marks(bars: Sequence[dict[str, Any]]) -> list[str]:
    """The opening glyph of each bar: what kind of call it was within its task.

    A task's workers are its first agent and whoever took over by retry or fallback
    (attempt > 1); another agent's call at attempt 1 is a review; a worker called again
    at attempt 1 starts a new round (a revision).
    """
    primary: dict[str, str] = {}
    workers: dict[str, set[str]] = {}
    marks = []
    for bar in bars:
        task, agent, attempt = bar["task"], bar["agent"], bar["attempt"] or 1
        first = primary.setdefault(task, agent)
        known = workers.setdefault(task, set())
        if attempt > 1:
            mark = "↻" if agent == first else "↪"
        elif agent not in known and agent != first:
            mark = "◇"
        elif agent in known:
            mark = "✎"
        else:
            mark = ""
        if attempt > 1 or agent == first:
            known.add(agent)
        marks.append(mark)
    return marks


def _ruler(span_s: float, width: int) -> Text:
    """The time axis: a tick label every 14 columns."""
    line = [" "] * width
    step = 14
    for col in range(0, width - 4, step):
        label = f"{span_s * col / width:.3g}s"
        for i, ch in enumerate(label):
            if col + i < width:
                line[col + i] = ch
    return Text(" " * (LABEL + 1) + "".join(line), style="dim", no_wrap=True)


def gantt_lines(
    bars: Sequence[dict[str, Any]],
    lanes: Sequence[str],
    width: int,
    now_s: float,
    waits: Sequence[dict[str, Any]] = (),
) -> list[Text]:
    """The chart as lines of ``width`` columns: a ruler, one lane per agent, a legend.

    Args:
        bars: ``CallTimeline`` bars (agent, task, attempt, start_s, end_s, outcome).
        lanes: Agent names, in the order their lanes are drawn (every bar's agent is
            added at the end if missing).
        width: Total columns.
        now_s: Seconds since the run started at the cursor (where running bars end).
        waits: ``CallTimeline.waits`` spans, drawn over the bars of their agent's lane.
    """
    order = list(dict.fromkeys([*lanes, *(b["agent"] for b in [*bars, *waits])]))
    chart = max(8, width - LABEL - 2)
    spans = [*bars, *waits]
    span = (
        max(now_s, *(b["end_s"] or b["start_s"] for b in spans), 1e-9)
        if spans
        else max(now_s, 1e-9)
    )
    scale = chart / span
    rows: dict[str, list[tuple[str, str]]] = {a: [(" ", "")] * chart for a in order}
    for bar, mark in zip(bars, _marks(bars), strict=True):
        glyph, style = _LOOK.get(bar["outcome"], ("?", ""))
        end_s = bar["end_s"] if bar["end_s"] is not None else now_s
        start = min(chart - 1, round(bar["start_s"] * scale))
        end = max(start + 1, min(chart, round(end_s * scale)))
        cells = rows[bar["agent"]]
        for col in range(start, end):
            cells[col] = (glyph, style)
        if bar["outcome"] == "error":
            cells[end - 1] = ("✖", style)
        if mark:
            cells[start] = (mark, style)
    for wait in waits:
        end_s = wait["end_s"] if wait["end_s"] is not None else now_s
        start = min(chart - 1, round(wait["start_s"] * scale))
        end = max(start + 1, min(chart, round(end_s * scale)))
        cells = rows[wait["agent"]]
        for col in range(start, end):
            cells[col] = _WAIT
        if wait["outcome"] == "deadline":
            cells[end - 1] = ("⌛", _WAIT[1])
    legend = LEGEND + (WAIT_LEGEND if waits else "")
    lines = [_ruler(span, chart)]
    for agent in order:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(one_line(agent, LABEL).ljust(LABEL)[:LABEL], style="bold")
        text.append("│")
        for glyph, style in rows[agent]:
            text.append(glyph, style=style)
        text.append("│")
        lines.append(text)
    lines.append(Text(legend if len(legend) <= width else legend[: width - 1] + "…", style="dim"))
    return lines


class GanttChart(VerticalScroll):
    """Agent lanes over time; scrolls when the agents outnumber the rows."""

    DEFAULT_CSS = """
    GanttChart > Static { width: 1fr; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="gantt-body")

    _shown: tuple[Sequence[dict[str, Any]], RunState, Sequence[dict[str, Any]]] | None = None

    def show(
        self,
        bars: Sequence[dict[str, Any]],
        state: RunState,
        waits: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Draw the bars of this state (``CallTimeline.bars_at`` the cursor) and the
        time human agents waited for a person (``CallTimeline.waits_at``)."""
        self._shown = (bars, state, waits)
        if not self.size.width:
            return  # not laid out yet: drawn on the first resize
        now_s = 0.0
        if state.started_at is not None and state.last_ts is not None:
            now_s = max(0.0, state.last_ts - state.started_at)
        if state.finished_at is not None and state.started_at is not None:
            now_s = max(now_s, state.finished_at - state.started_at)
        lanes = [name for name in state.agents]
        width = max(40, self.scrollable_content_region.width)
        body = Text("\n", no_wrap=True, overflow="ellipsis").join(
            gantt_lines(bars, lanes, width, now_s, waits)
        )
        if not bars:
            body = Text("no agent calls yet", style="dim")
        self.query_one("#gantt-body", Static).update(body)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)
