"""Scatter-gather over data chunks: one agent counts a slice of rows, another adds them up.

The map step (``ChunkSummarizer``) reads a directive like ``rows 1-50`` and counts
themes, ratings and feature requests in those rows of the feedback CSV; the reduce step
(``Aggregator``) merges every chunk's counts and writes the same report the
``DataAnalyst`` writes for the whole file. Counts are sums, never averages of averages,
so the gathered report equals the whole-file report exactly (the tests check this).
"""

from __future__ import annotations

import re
from typing import Any

from sample_agents.tools.analyst import (
    DEFAULT_FEEDBACK,
    count_chunk,
    load_feedback,
    merge_counts,
    report_from_counts,
)
from sample_agents.tools.base import ToolAgent, context_items
from toolkit.agents import AgentError, Directive

__all__ = ["Aggregator", "ChunkSummarizer", "chunk_prompts", "parse_rows"]

_ROWS = re.compile(r"rows?\s+(\d+)\s*(?:-|–|to|\.\.)\s*(\d+)", re.IGNORECASE)


def chunk_prompts(rows: int = 200, size: int = 50) -> list[str]:
    """Map prompts ``rows 1-50``, ``rows 51-100``, … covering ``rows`` rows (1-based, inclusive)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [f"rows {start}-{min(start + size - 1, rows)}" for start in range(1, rows + 1, size)]


def parse_rows(text: str) -> tuple[int, int]:
    """The 1-based inclusive row range named in ``text`` (``rows 1-50``).

    Raises:
        AgentError: no range, or an empty one.
    """
    match = _ROWS.search(text)
    if match is None:
        raise AgentError(
            f"no row range in the directive (expected e.g. 'rows 1-50'): {text[:80]!r}"
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first < 1 or last < first:
        raise AgentError(
            f"bad row range {first}-{last}: rows start at 1 and the range must not be empty"
        )
    return first, last


class ChunkSummarizer(ToolAgent):
    """The map step: counts themes, ratings and requests in one range of feedback rows.

    Args:
        csv_path: The feedback file (default: the bundled ``feedback.csv``).
        name: The agent's name in plans.
    """

    description = (
        "Counts themes, ratings and feature requests in one chunk (row range) of a feedback CSV."
    )
    skills = ("map", "chunk", "counting", "feedback")

    def __init__(self, csv_path: str | None = None, *, name: str = "chunk-summarizer") -> None:
        self.name = name
        self.csv_path = str(csv_path) if csv_path else str(DEFAULT_FEEDBACK)

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Count the rows named in the prompt; the result carries its ``range``."""
        first, last = parse_rows(directive.prompt)

        def work() -> dict[str, Any]:
            df = load_feedback(self.csv_path)
            if first > len(df):
                raise AgentError(
                    f"rows {first}-{last} are past the end of the file ({len(df)} rows)"
                )
            counts = count_chunk(df.iloc[first - 1 : last])
            counts["range"] = [first, min(last, len(df))]
            return counts

        return await self.use_tool(
            directive,
            "count_chunk",
            {"path": self.csv_path, "rows": f"{first}-{last}"},
            work,
            summary=lambda c: {
                "rows": c["rows"],
                "themes": {k: v["count"] for k, v in c["themes"].items()},
            },
        )


class Aggregator(ToolAgent):
    """The reduce step: merges chunk counts into one feedback report (with Markdown).

    Args:
        top: How many feature requests to list.
        name: The agent's name in plans.
    """

    description = "Merges per-chunk feedback counts into one report: themes, ratings, top requests."
    skills = ("reduce", "aggregate", "merge", "feedback")

    def __init__(self, *, top: int = 5, name: str = "aggregator") -> None:
        self.name = name
        self.top = top

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Merge every chunk result found in the context (in row order)."""
        parts = [
            v
            for _, v in context_items(directive)
            if isinstance(v, dict) and "themes" in v and "rows" in v and "range" in v
        ]
        if not parts:
            raise AgentError(
                "no chunk results to aggregate: the context holds no ChunkSummarizer output"
            )
        parts.sort(key=lambda p: p["range"][0])
        report = await self.use_tool(
            directive,
            "merge_counts",
            {"chunks": [f"{p['range'][0]}-{p['range'][1]}" for p in parts]},
            lambda: report_from_counts(
                merge_counts(parts), source=f"{len(parts)} chunks", top=self.top
            ),
            summary=lambda r: {
                "rows": r["rows"],
                "themes": {t["theme"]: t["count"] for t in r["themes"]},
            },
        )
        report["chunks"] = [p["range"] for p in parts]
        return report
