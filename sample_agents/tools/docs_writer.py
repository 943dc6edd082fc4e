"""A docs writer without a model: writes Markdown files into one output folder, safely.

The feedback scenario ends with documents on disk: a docs page summarizing what
customers said and a blog post draft about the most requested features. The writer
renders both from the data analyst's report; it can also write files another agent
produced (a dict with ``files``) or a single Markdown text from its context. Every
file name is checked: only relative names of letters, digits, ``._-/`` inside the
output folder are written, so a task asking for ``../../etc/x`` or ``/etc/x`` is
refused with an ``AgentError``. The reply lists each file written with its size.

Checking a name is not enough when someone else can change the folder meanwhile (a
symlink swapped in between the check and the write, a hard link planted at a file's
name). So every write goes through descriptors (``write_documents``): the folder is
opened once, each subfolder is opened relative to its parent with ``O_NOFOLLOW``, the
content goes to a new file created with ``O_EXCL | O_NOFOLLOW`` in that folder and is
renamed over the name within the same folder. No link can redirect a write: a symlink
on the way is refused, an existing name that is a symlink, a hard link (``st_nlink >
1``) or not a regular file is refused, and the rename replaces a directory entry, never
the content of another file. Documents are bounded in size and number.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sample_agents.tools.base import ToolAgent, context_items
from toolkit.agents import AgentError, Directive

__all__ = [
    "DOCUMENTS",
    "MAX_DOCUMENTS",
    "MAX_DOCUMENT_BYTES",
    "DocsWriter",
    "render_blog_post",
    "render_docs_page",
    "safe_path",
    "write_documents",
]

MAX_DOCUMENT_BYTES = 1_000_000
"""Largest document written by default (UTF-8 bytes)."""
MAX_DOCUMENTS = 100
"""Most documents written by one directive by default."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_SUFFIXES = (".md", ".markdown", ".txt")


def safe_path(output_dir: str | Path, name: str) -> Path:
    """The path for ``name`` inside ``output_dir``, or ``AgentError`` if it would leave it.

    Names are relative, made of letters, digits, ``.``, ``_``, ``-`` and ``/``, never
    start a part with a dot (no ``..``, no hidden files) and end in ``.md``,
    ``.markdown`` or ``.txt`` (``.md`` is added when there is no suffix).

    A check of the name as the folder is now; the write itself (``write_documents``)
    does not rely on it, since the folder may change between the check and the write.
    """
    raw = _checked_name(name)
    try:
        root = Path(output_dir).resolve()
        path = (root / raw).resolve()
    except OSError as exc:  # the folder changed while it was being looked at
        raise AgentError(
            f"refusing to write {name!r}: its path changed while it was checked ({exc.strerror})"
        ) from None
    if not path.is_relative_to(root):
        raise AgentError(
            f"refusing to write {name!r}: it resolves outside the output folder {root}"
        )
    return path


def _checked_name(name: str) -> str:
    """``name`` as written (a ``.md`` suffix added when it has none), or ``AgentError``."""
    raw = name.strip()
    if not raw or not _NAME.match(raw) or any(part in ("", ".", "..") for part in raw.split("/")):
        raise AgentError(
            f"refusing to write {name!r}: use a relative name of letters, digits, '.', '_', '-' and '/' "
            "inside the output folder (no '..', no absolute paths)"
        )
    if not raw.endswith(_SUFFIXES):
        if Path(raw).suffix:
            raise AgentError(
                f"refusing to write {name!r}: only {', '.join(_SUFFIXES)} files are written"
            )
        raw += ".md"
    return raw


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_folder(parent_fd: int, part: str, name: str) -> int:
    """The descriptor of subfolder ``part`` of ``parent_fd`` (made if missing), never through a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(part, 0o755, dir_fd=parent_fd)
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:  # ELOOP / ENOTDIR: a symlink or a file where a folder should be
        raise AgentError(
            f"refusing to write {name!r}: {part!r} in its path is not a plain folder inside the output folder"
            f" ({exc.strerror})"
        ) from None


def write_documents(
    output_dir: str | Path,
    files: Mapping[str, str],
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_files: int = MAX_DOCUMENTS,
) -> list[dict[str, Any]]:
    """Write ``files`` (name -> text) into ``output_dir`` so that no link can redirect a write.

    Every name and size is checked before anything is written. The output folder
    itself is opened as given (it may be a link the user chose); everything inside it
    is reached through descriptors without following links (see the module docstring).

    Returns:
        One dict per file: ``path``, ``name``, ``bytes``, ``title``.

    Raises:
        AgentError: a bad name, too many or too large documents, or a link or hard link
            where a folder or file of the output is to be written.
    """
    if len(files) > max_files:
        raise AgentError(f"refusing to write {len(files)} documents: at most {max_files} at once")
    planned = []
    for name, content in files.items():
        data = content.encode("utf-8")
        if len(data) > max_bytes:
            raise AgentError(
                f"refusing to write {name!r}: {len(data)} bytes is more than the limit of {max_bytes}"
            )
        planned.append((name, _checked_name(name), data, content))
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    shown = root.resolve()
    written = []
    try:
        for name, checked, data, content in planned:
            *folders, leaf = checked.split("/")
            fds = [root_fd]
            try:
                for part in folders:
                    fds.append(_open_folder(fds[-1], part, name))
                _replace_file(fds[-1], leaf, data, name)
            finally:
                for fd in fds[1:]:
                    os.close(fd)
            written.append(
                {
                    "path": str(shown / checked),
                    "name": name,
                    "bytes": len(data),
                    "title": _title(content),
                }
            )
    finally:
        os.close(root_fd)
    return written


def _replace_file(folder_fd: int, leaf: str, data: bytes, name: str) -> None:
    """Put ``data`` at ``leaf`` in the folder: a fresh file, renamed over the name."""
    try:
        st = os.stat(leaf, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is not None and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
        what = (
            "a symlink"
            if stat.S_ISLNK(st.st_mode)
            else "a hard link"
            if stat.S_ISREG(st.st_mode)
            else "not a file"
        )
        raise AgentError(
            f"refusing to write {name!r}: the existing {leaf!r} is {what}, which could point outside the output folder"
        )
    tmp = f".{leaf}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, _NEW_FILE_FLAGS, 0o644, dir_fd=folder_fd)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.rename(tmp, leaf, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder_fd)
        raise


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
        lines.append(
            f"- Most mentioned theme: **{themes[0]['theme']}** ({themes[0]['count']} mentions)"
        )
    if worst is not None:
        lines.append(f"- Lowest rated theme: **{worst['theme']}** ({worst['avg_rating']} / 5)")
    lines.append(f"- Feature requests found: {report.get('requests_total', 0)}")
    lines += [
        "",
        "## Themes",
        "",
        "| Theme | Mentions | Share | Average rating | Rated 1-2 |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {t['theme']} | {t['count']} | {t['share']:.0%} | {t['avg_rating']} | {t['negative']} |"
        for t in themes
    ]
    lines += ["", "## Top feature requests", ""]
    lines += [
        f"{i}. {r['request']} — asked {r['count']} times (e.g. {', '.join(r['examples'])})"
        for i, r in enumerate(report["top_requests"], 1)
    ] or ["No feature requests were found."]
    if themes:
        lines += ["", "## Where to look next", ""]
        for t in sorted(rated, key=lambda t: (-t["negative"], t["theme"]))[:3]:
            examples = t.get("negative_examples") or []
            lines.append(
                f"- **{t['theme']}**: {t['negative']} of {t['count']} mentions rated 1 or 2"
                + (f" (for example {', '.join(examples)})." if examples else ".")
            )
    return "\n".join(lines) + "\n"


def render_blog_post(report: Mapping[str, Any]) -> str:
    """A blog post draft about the most requested features, from a feedback report."""
    requests = report["top_requests"]
    span = " and ".join(report.get("date_range") or []) or "recent months"
    lines = [
        "# You asked, we listened: what our customers want next",
        "",
        "*Draft for review: figures come from the feedback analysis.*",
        "",
        f"Between {span} we read {report['rows']} messages from customers: emails, chats, "
        "surveys and app store reviews. Here is what came up most.",
    ]
    if requests:
        first = requests[0]
        lines += [
            "",
            "## The most requested features",
            "",
            f"The single most requested feature was **{first['request']}**, asked for "
            f"{first['count']} times.",
        ]
        if len(requests) > 1:
            others = ", ".join(f"{r['request']} ({r['count']})" for r in requests[1:])
            lines.append(f"Close behind: {others}.")
    if report["themes"]:
        top = report["themes"][:3]
        lines += [
            "",
            "## What you talked about",
            "",
            "The themes that came up most were "
            + ", ".join(f"{t['theme']} ({t['count']} mentions)" for t in top)
            + ".",
        ]
        rated = [t for t in report["themes"] if t.get("avg_rating") is not None]
        if rated:
            worst = min(rated, key=lambda t: t["avg_rating"])
            lines.append(
                f"Ratings were lowest when people wrote about {worst['theme']} "
                f"(average {worst['avg_rating']} out of 5), so that is where we will look first."
            )
    lines += [
        "",
        "## Thank you",
        "",
        "Every one of these messages was read. Keep them coming: reply to any of our emails or use "
        "the feedback button in the app.",
    ]
    return "\n".join(lines) + "\n"


DOCUMENTS = {
    "docs-page": ("feedback-report.md", render_docs_page),
    "blog-post": ("blog-post.md", render_blog_post),
}
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
        max_bytes: Largest document written (UTF-8 bytes).
        max_files: Most documents written for one directive.
        name: The agent's name in plans.
    """

    description = (
        "Writes Markdown documents (docs pages, blog posts, reports) into an output folder."
    )
    skills = ("write docs", "markdown", "documentation", "blog post", "files")

    def __init__(
        self,
        output_dir: str = "output",
        documents: Sequence[str] = ("docs-page", "blog-post"),
        *,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        max_files: int = MAX_DOCUMENTS,
        name: str = "docs-writer",
    ) -> None:
        unknown = [d for d in documents if d not in DOCUMENTS]
        if unknown:
            raise ValueError(f"unknown document kind(s) {unknown}; known: {', '.join(DOCUMENTS)}")
        if max_bytes < 1 or max_files < 1:
            raise ValueError("max_bytes and max_files must be at least 1")
        self.max_bytes = int(max_bytes)
        self.max_files = int(max_files)
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
            raise AgentError(
                "nothing to write: no files, no feedback report and no text in the context or prompt"
            )
        name = (
            file_line.group(1) if file_line else _slug(_title(content) or directive.task_id) + ".md"
        )
        return {name: content}

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Check every name, then write the files; returns the paths and sizes."""
        files = self.plan_files(directive)
        root = Path(self.output_dir)
        for name in files:  # all names checked before any write (and before the folder is made)
            _checked_name(name)

        def write() -> list[dict[str, Any]]:
            return write_documents(root, files, max_bytes=self.max_bytes, max_files=self.max_files)

        written = await self.use_tool(
            directive,
            "files.write",
            {"output_dir": self.output_dir, "files": sorted(files)},
            write,
            summary=lambda w: [f"{f['name']} ({f['bytes']} bytes)" for f in w],
        )
        return {"output_dir": str(root.resolve()), "files": written, "written": len(written)}
