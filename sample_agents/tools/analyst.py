"""A data analyst without a model: pandas over a customer-feedback CSV.

It answers the questions a product team asks of feedback: which themes come up, how
often, how unhappy each theme's customers are, and what people ask for. Themes are
found with a keyword dictionary (``THEMES``), feature requests with the phrasings
customers use ("I wish", "please add", "would love", ...). The result is a JSON-able
report plus a Markdown summary, which the docs writer and the aggregator reuse.

The analysis functions (``load_feedback``, ``analyze``, ``count_chunk``,
``merge_counts``, ``render_markdown``) are plain functions so the scatter-gather agents
and the tests use exactly the same code as the agent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sample_agents.tools.base import ToolAgent
from toolkit.agents import AgentError, Directive

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_FEEDBACK",
    "REQUIRED_COLUMNS",
    "THEMES",
    "DataAnalyst",
    "analyze",
    "count_chunk",
    "extract_request",
    "load_feedback",
    "merge_counts",
    "render_markdown",
    "report_from_counts",
    "themes_of",
]

DEFAULT_FEEDBACK = Path(__file__).resolve().parent.parent / "data" / "feedback.csv"
"""The bundled sample: 200 rows made by ``sample_agents/data/make_feedback.py``."""

REQUIRED_COLUMNS = ("id", "rating", "text")
"""Columns the analysis cannot do without; ``date``, ``channel``, ``plan`` are used when present."""

THEMES: dict[str, tuple[str, ...]] = {
    "performance": (
        "slow",
        "lag",
        "load",
        "loads",
        "loading",
        "speed",
        "fast",
        "quick",
        "freez",
        "ages",
    ),
    "pricing": ("price", "pricing", "expensive", "cost", "billing", "charged", "invoice", "value"),
    "onboarding": (
        "onboarding",
        "setup",
        "set up",
        "getting started",
        "tutorial",
        "wizard",
        "invite",
    ),
    "integrations": (
        "integration",
        "slack",
        "github",
        "jira",
        "calendar",
        "api",
        "sync",
        "import",
        "webhook",
    ),
    "reliability": (
        "crash",
        "bug",
        "error",
        "outage",
        "downtime",
        "reliable",
        "stable",
        "lost",
        "went wrong",
    ),
    "usability": (
        "ui",
        "interface",
        "intuitive",
        "layout",
        "clicks",
        "confusing",
        "cluttered",
        "font",
        "contrast",
        "design",
        "drag and drop",
        "dark mode",
    ),
    "support": ("support", "help center", "helpful", "replied", "answered"),
    "mobile": ("mobile", "android", "ios", "phone", "app store", "notification", "offline"),
    "reporting": ("report", "export", "excel", "csv", "chart", "analytics", "dashboard", "gantt"),
    "security": (
        "security",
        "sso",
        "single sign-on",
        "okta",
        "two-factor",
        "2fa",
        "audit log",
        "password",
        "compliance",
    ),
}
"""Theme -> keywords (matched at word starts, case-insensitively)."""

_THEME_PATTERNS = {
    theme: re.compile(r"\b(?:" + "|".join(re.escape(k) for k in words) + r")", re.IGNORECASE)
    for theme, words in THEMES.items()
}

_REQUEST = re.compile(
    r"(?:i wish (?:you had|there (?:was|were)|it had)?|please add|would love(?: to see| to have)?|"
    r"it would be (?:great|nice) to have|can you add|could you add|feature request:|we (?:really )?need)"
    r"\s+(?P<what>[^.!?\n]+)",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:an?|the|some|support for|to have)\s+", re.IGNORECASE)


def themes_of(text: str) -> list[str]:
    """The themes a piece of feedback touches, in ``THEMES`` order."""
    return [theme for theme, pattern in _THEME_PATTERNS.items() if pattern.search(text)]


def extract_request(text: str) -> str | None:
    """The feature a piece of feedback asks for, normalized ("dark mode"), or None."""
    match = _REQUEST.search(text)
    if match is None:
        return None
    what = match.group("what").strip().rstrip(",;:").lower()
    what = _LEADING.sub("", what)
    return what or None


def load_feedback(path: str | Path) -> pd.DataFrame:
    """Read and check a feedback CSV.

    Raises:
        AgentError: the file is missing or unreadable, empty, has no rows, or lacks a
            required column.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise AgentError(f"feedback file not found: {path}")
    try:
        df = pd.read_csv(path, dtype={"id": str})
    except pd.errors.EmptyDataError:
        raise AgentError(f"the feedback file is empty: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AgentError(f"cannot parse the feedback file {path}: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise AgentError(
            f"the feedback file {path} lacks column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns)) or 'none'})"
        )
    if df.empty:
        raise AgentError(f"the feedback file has a header but no rows: {path}")
    df["rating"] = pd.to_numeric(df["rating"], errors="coerce")
    df["text"] = df["text"].fillna("").astype(str)
    return df


def count_chunk(df: pd.DataFrame) -> dict[str, Any]:
    """Additive counts over some feedback rows: merge them with ``merge_counts``.

    Sums, not averages, so counts of chunks add up to the counts of the whole file.
    """
    themes: dict[str, dict[str, Any]] = {}
    requests: Counter[str] = Counter()
    request_ids: dict[str, list[str]] = {}
    untagged = 0
    rated = df["rating"].notna()
    for row_id, rating, text in zip(df["id"].astype(str), df["rating"], df["text"], strict=True):
        found = themes_of(text)
        if not found:
            untagged += 1
        for theme in found:
            slot = themes.setdefault(
                theme,
                {
                    "count": 0,
                    "rated": 0,
                    "rating_sum": 0.0,
                    "negative": 0,
                    "ids": [],
                    "negative_ids": [],
                },
            )
            slot["count"] += 1
            slot["ids"].append(row_id)
            if rating == rating:  # not NaN
                slot["rated"] += 1
                slot["rating_sum"] += float(rating)
                if rating <= 2:
                    slot["negative"] += 1
                    slot["negative_ids"].append(row_id)
        request = extract_request(text)
        if request:
            requests[request] += 1
            request_ids.setdefault(request, []).append(row_id)
    channels = df["channel"].value_counts().to_dict() if "channel" in df.columns else {}
    ratings = df.loc[rated, "rating"].astype(int).value_counts().to_dict()
    dates = sorted(df["date"].dropna().astype(str)) if "date" in df.columns else []
    return {
        "rows": len(df),
        "rated": int(rated.sum()),
        "rating_sum": float(df.loc[rated, "rating"].sum()),
        "untagged": untagged,
        "themes": themes,
        "requests": {k: {"count": v, "ids": request_ids[k]} for k, v in requests.items()},
        "channels": {str(k): int(v) for k, v in channels.items()},
        "ratings": {str(k): int(v) for k, v in ratings.items()},
        "dates": [dates[0], dates[-1]] if dates else [],
    }


def merge_counts(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up ``count_chunk`` results (the reduce step of scatter-gather)."""
    total: dict[str, Any] = {
        "rows": 0,
        "rated": 0,
        "rating_sum": 0.0,
        "untagged": 0,
        "themes": {},
        "requests": {},
        "channels": {},
        "ratings": {},
        "dates": [],
    }
    for part in parts:
        for key in ("rows", "rated", "rating_sum", "untagged"):
            total[key] += part[key]
        for theme, slot in part["themes"].items():
            into = total["themes"].setdefault(
                theme,
                {
                    "count": 0,
                    "rated": 0,
                    "rating_sum": 0.0,
                    "negative": 0,
                    "ids": [],
                    "negative_ids": [],
                },
            )
            for key in ("count", "rated", "rating_sum", "negative"):
                into[key] += slot[key]
            into["ids"] = [*into["ids"], *slot["ids"]]
            into["negative_ids"] = [*into["negative_ids"], *slot["negative_ids"]]
        for request, slot in part["requests"].items():
            into = total["requests"].setdefault(request, {"count": 0, "ids": []})
            into["count"] += slot["count"]
            into["ids"] = [*into["ids"], *slot["ids"]]
        for key in ("channels", "ratings"):
            for name, n in part[key].items():
                total[key][name] = total[key].get(name, 0) + n
        if part["dates"]:
            dates = [*total["dates"], *part["dates"]]
            total["dates"] = [min(dates), max(dates)]
    return total


def report_from_counts(counts: Mapping[str, Any], *, source: str, top: int = 5) -> dict[str, Any]:
    """Turn counts into the analyst's report: themes ranked, averages, top requests, Markdown."""
    rows = counts["rows"]
    themes = []
    for theme, slot in counts["themes"].items():
        themes.append(
            {
                "theme": theme,
                "count": slot["count"],
                "share": round(slot["count"] / rows, 3) if rows else 0.0,
                "avg_rating": round(slot["rating_sum"] / slot["rated"], 2)
                if slot["rated"]
                else None,
                "negative": slot["negative"],
                "examples": slot["ids"][:3],
                "negative_examples": slot["negative_ids"][:3],
            }
        )
    themes.sort(key=lambda t: (-t["count"], t["theme"]))
    requests = sorted(counts["requests"].items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    report: dict[str, Any] = {
        "source": source,
        "rows": rows,
        "date_range": counts["dates"],
        "average_rating": round(counts["rating_sum"] / counts["rated"], 2)
        if counts["rated"]
        else None,
        "ratings": dict(sorted(counts["ratings"].items())),
        "channels": dict(sorted(counts["channels"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "themes": themes,
        "untagged": counts["untagged"],
        "top_requests": [
            {"request": name, "count": slot["count"], "examples": slot["ids"][:3]}
            for name, slot in requests[:top]
        ],
        "requests_total": sum(slot["count"] for slot in counts["requests"].values()),
    }
    report["markdown"] = render_markdown(report)
    return report


def analyze(df: pd.DataFrame, *, source: str = "feedback.csv", top: int = 5) -> dict[str, Any]:
    """The full report for a feedback table (see ``report_from_counts``)."""
    return report_from_counts(count_chunk(df), source=source, top=top)


def render_markdown(report: Mapping[str, Any]) -> str:
    """A short Markdown summary of a report, with a theme table and the top requests."""
    lines = [f"## Customer feedback: {report['rows']} responses"]
    if report.get("date_range"):
        lines.append(
            f"From {report['date_range'][0]} to {report['date_range'][1]}; "
            f"average rating {report['average_rating']} / 5."
        )
    lines += [
        "",
        "| theme | mentions | share | avg rating | rated 1-2 |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in report["themes"]:
        lines.append(
            f"| {t['theme']} | {t['count']} | {t['share']:.0%} | {t['avg_rating']} | {t['negative']} |"
        )
    if report["themes"]:
        worst = min(
            (t for t in report["themes"] if t["avg_rating"] is not None),
            key=lambda t: t["avg_rating"],
            default=None,
        )
        if worst is not None:
            lines += [
                "",
                f"Most mentioned: **{report['themes'][0]['theme']}**. "
                f"Lowest rated: **{worst['theme']}** ({worst['avg_rating']} / 5).",
            ]
    lines += ["", "### Top feature requests"]
    if report["top_requests"]:
        lines += [
            f"{i}. {r['request']} ({r['count']})" for i, r in enumerate(report["top_requests"], 1)
        ]
    else:
        lines.append("No feature requests found.")
    return "\n".join(lines) + "\n"


class DataAnalyst(ToolAgent):
    """Analyses a customer-feedback CSV with pandas: themes, counts, ratings, requests.

    Args:
        csv_path: The feedback file (default: the bundled ``feedback.csv``). A directive
            may name another file with a line ``file: <path>`` in its prompt.
        top: How many feature requests to list.
        name: The agent's name in plans.
    """

    description = "Analyses customer feedback (CSV) with pandas: themes, counts, ratings, top feature requests."
    skills = ("data analysis", "pandas", "feedback", "csv", "statistics")

    def __init__(self, csv_path: str | None = None, *, top: int = 5, name: str = "analyst") -> None:
        self.name = name
        self.csv_path = str(csv_path) if csv_path else str(DEFAULT_FEEDBACK)
        self.top = top

    def _path(self, directive: Directive) -> Path:
        match = re.search(r"^\s*file:\s*(\S+)\s*$", directive.prompt, re.MULTILINE)
        return Path(match.group(1)) if match else Path(self.csv_path)

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Read the CSV, tag themes, count, and return the report (with ``markdown``)."""
        path = self._path(directive)
        df = await self.use_tool(
            directive,
            "pandas.read_csv",
            {"path": str(path)},
            lambda: load_feedback(path),
            summary=lambda d: {"rows": len(d), "columns": list(map(str, d.columns))},
        )
        report = await self.use_tool(
            directive,
            "analyze_feedback",
            {"rows": len(df), "themes": len(THEMES), "top": self.top},
            lambda: analyze(df, source=path.name, top=self.top),
            summary=lambda r: {
                "themes": {t["theme"]: t["count"] for t in r["themes"]},
                "top_requests": [x["request"] for x in r["top_requests"]],
            },
        )
        return report
