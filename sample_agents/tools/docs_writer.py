"""A docs writer without a model: writes Markdown files into one output folder, safely.

The feedback scenario ends with documents on disk: a docs page summarizing what
customers said and a blog post draft about the most requested features. The writer
renders both from the data analyst's report; it can also write files another agent
produced (a dict with ``files``) or a single Markdown text from its context. Every
file name is checked: only relative names of letters, digits, ``._-/`` inside the
output folder are written, so a task asking for ``../../etc/x`` or ``/etc/x`` is
refused with an ``AgentError``. The reply lists each file written with its size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sample_agents.tools.base import ToolAgent, context_items
from toolkit.agents import AgentError, Directive

__all__ = ["DOCUMENTS", "DocsWriter", "render_blog_post", "render_docs_page", "safe_path"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_SUFFIXES = (".md", ".markdown", ".txt")


def safe_path(output_dir: str | Path, name: str) -> Path:
    """The path for ``name`` inside ``output_dir``, or ``AgentError`` if it would leave it.

    Names are relative, made of letters, digits, ``.``, ``_``, ``-`` and ``/``, never
    start a part with a dot (no ``..``, no hidden files) and end in ``.md``,
    ``.markdown`` or ``.txt`` (``.md`` is added when there is no suffix).
    """
    raw = name.strip()
    if not raw or not _NAME.match(raw) or any(part in ("", ".", "..") for part in raw.split("/")):
        raise AgentError(
            f"refusing to write {name!r}: use a relative name of letters, digits, '.', '_', '-' and '/' "
            "inside the output folder (no '..', no absolute paths)"
        )
    if not raw.endswith(_SUFFIXES):
        if Path(raw).suffix:
            raise AgentError(f"refusing to write {name!r}: only {', '.join(_SUFFIXES)} files are written")
        raw += ".md"
    root = Path(output_dir).resolve()
    path = (root / raw).resolve()
    if not path.is_relative_to(root):
        raise AgentError(f"refusing to write {name!r}: it resolves outside the output folder {root}")
    return path


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "document"


def _title(text: str) -> str | None:
    match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def render_docs_page(report: Mapping[str, Any]) -> str:
    """A docs page from a feedback report: at a glance, themes table, requests, next steps."""
    themes = report["themes"]
    rated = [t for t in themes if t.get("avg_rating") is not None]
    worst = min(rated, key=lambda t: t["avg_rating"]) if rated else None
    span = " to ".join(report.get("date_range") or []) or "the sample period"
    lines = [
        "# What customers told us",
        "",
        f"This page summarizes {report['rows']} pieces of customer feedback ({span}), "
        f"analysed from `{report['source']}`. Themes are found with a keyword list; one "
        "response can touch several themes.",
        "",
        "## At a glance",
        "",
        f"- Average rating: **{report['average_rating']} / 5**",
    ]
    if themes:
        lines.append(f"- Most mentioned theme: **{themes[0]['theme']}** ({themes[0]['count']} mentions)")
    if worst is not None:
        lines.append(f"- Lowest rated theme: **{worst['theme']}** ({worst['avg_rating']} / 5)")
    lines.append(f"- Feature requests found: {report.get('requests_total', 0)}")
    lines += ["", "## Themes", "", "| Theme | Mentions | Share | Average rating | Rated 1-2 |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {t['theme']} | {t['count']} | {t['share']:.0%} | {t['avg_rating']} | {t['negative']} |" for t in themes]
    lines += ["", "## Top feature requests", ""]
    lines += [f"{i}. {r['request']} — asked {r['count']} times (e.g. {', '.join(r['examples'])})"
              for i, r in enumerate(report["top_requests"], 1)] or ["No feature requests were found."]
    if themes:
        lines += ["", "## Where to look next", ""]
        for t in sorted(rated, key=lambda t: (-t["negative"], t["theme"]))[:3]:
            examples = t.get("negative_examples") or []
            lines.append(f"- **{t['theme']}**: {t['negative']} of {t['count']} mentions rated 1 or 2"
                         + (f" (for example {', '.join(examples)})." if examples else "."))
    return "\n".join(lines) + "\n"


def render_blog_post(report: Mapping[str, Any]) -> str:
    """A blog post draft about the most requested features, from a feedback report."""
    requests = report["top_requests"]
    span = " and ".join(report.get("date_range") or []) or "recent months"
    lines = ["# You asked, we listened: what our customers want next", "",
             "*Draft for review: figures come from the feedback analysis.*", "",
             f"Between {span} we read {report['rows']} messages from customers: emails, chats, "
             "surveys and app store reviews. Here is what came up most."]
    if requests:
        first = requests[0]
        lines += ["", "## The most requested features", "",
                  f"The single most requested feature was **{first['request']}**, asked for "
                  f"{first['count']} times."]
        if len(requests) > 1:
            others = ", ".join(f"{r['request']} ({r['count']})" for r in requests[1:])
            lines.append(f"Close behind: {others}.")
    if report["themes"]:
        top = report["themes"][:3]
        lines += ["", "## What you talked about", "",
                  "The themes that came up most were " + ", ".join(f"{t['theme']} ({t['count']} mentions)" for t in top) + "."]
        rated = [t for t in report["themes"] if t.get("avg_rating") is not None]
        if rated:
            worst = min(rated, key=lambda t: t["avg_rating"])
            lines.append(f"Ratings were lowest when people wrote about {worst['theme']} "
                         f"(average {worst['avg_rating']} out of 5), so that is where we will look first.")
    lines += ["", "## Thank you", "",
              "Every one of these messages was read. Keep them coming: reply to any of our emails or use "
              "the feedback button in the app."]
    return "\n".join(lines) + "\n"


DOCUMENTS = {"docs-page": ("feedback-report.md", render_docs_page), "blog-post": ("blog-post.md", render_blog_post)}
"""Documents rendered from a feedback report: kind -> (file name, renderer)."""

_FILE_LINE = re.compile(r"^\s*file:\s*(\S+)\s*$", re.MULTILINE)


class DocsWriter(ToolAgent):
    """Writes Markdown files into ``output_dir`` and reports their paths and sizes.

    What it writes, in order of preference:

    1. the ``files`` mapping (name -> Markdown) of a dependency's output or a JSON prompt;
    2. the documents in ``documents`` rendered from a data analyst's report found in the
       context (``docs-page`` -> ``feedback-report.md``, ``blog-post`` -> ``blog-post.md``);
    3. the latest Markdown text in the context (else the prompt), to the file named by a
       ``file: <name>`` line in the prompt, else a name made from its first heading.

    Args:
        output_dir: The folder files are written to (created if missing).
        documents: Which documents to render from a feedback report.
        name: The agent's name in plans.
    """

    description = "Writes Markdown documents (docs pages, blog posts, reports) into an output folder."
    skills = ("write docs", "markdown", "documentation", "blog post", "files")

    def __init__(self, output_dir: str = "output", documents: Sequence[str] = ("docs-page", "blog-post"),
                 *, name: str = "docs-writer") -> None:
        unknown = [d for d in documents if d not in DOCUMENTS]
        if unknown:
            raise ValueError(f"unknown document kind(s) {unknown}; known: {', '.join(DOCUMENTS)}")
        self.name = name
        self.output_dir = str(output_dir)
        self.documents = tuple(documents)

    def plan_files(self, directive: Directive) -> dict[str, str]:
        """Name -> content of the files to write (names not yet checked)."""
        file_line = _FILE_LINE.search(directive.prompt)
        for _, value in context_items(directive):
            if isinstance(value, Mapping) and isinstance(value.get("files"), Mapping):
                return {str(k): str(v) for k, v in value["files"].items()}
        for _, value in context_items(directive):
            if isinstance(value, Mapping) and "themes" in value and "top_requests" in value:
                return {DOCUMENTS[kind][0]: DOCUMENTS[kind][1](value) for kind in self.documents}
        texts = [v for _, v in context_items(directive) if isinstance(v, str) and v.strip()]
        content = texts[-1] if texts else _FILE_LINE.sub("", directive.prompt).strip() + "\n"
        if not content.strip():
            raise AgentError("nothing to write: no files, no feedback report and no text in the context or prompt")
        name = file_line.group(1) if file_line else _slug(_title(content) or directive.task_id) + ".md"
        return {name: content}

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Check every name, then write the files; returns the paths and sizes."""
        files = self.plan_files(directive)
        root = Path(self.output_dir)
        paths = {name: safe_path(root, name) for name, _ in files.items()}  # all checked before any write

        def write() -> list[dict[str, Any]]:
            written = []
            for name, content in files.items():
                path = paths[name]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                written.append({"path": str(path), "name": name, "bytes": path.stat().st_size, "title": _title(content)})
            return written

        written = await self.use_tool(directive, "files.write", {"output_dir": self.output_dir, "files": sorted(files)}, write,
                                      summary=lambda w: [f"{f['name']} ({f['bytes']} bytes)" for f in w])
        return {"output_dir": str(root.resolve()), "files": written, "written": len(written)}
