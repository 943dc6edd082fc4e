"""A writer and an editor without a model, for the research → write → edit scenario.

``Writer`` turns the researcher's cited passages into a report with a fixed outline
(title, summary, key findings per source section, sources), keeping every citation
marker. ``Editor`` applies deterministic edits that any Markdown report benefits from:
one ``#`` title and no skipped heading levels, tidy heading text, duplicate sentences
removed (the summary quotes the findings), a reading-time line under the title, and a
check that every ``[n]`` marker resolves to an entry in the sources. The editing
functions are plain (``write_report``, ``edit_markdown``) so they can be used and
tested without a run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from sample_agents.tools.base import ToolAgent, context_items
from toolkit.agents import AgentError, Directive

__all__ = ["EditResult", "Editor", "Writer", "edit_markdown", "write_report"]

WORDS_PER_MINUTE = 200
"""Reading speed used for the reading-time line."""


def write_report(research: Mapping[str, Any], *, title: str | None = None) -> str:
    """A Markdown report from a ``research`` result (question, answer, passages, sources)."""
    passages = research.get("passages") or []
    if not passages:
        raise AgentError("the research result has no passages to write from")
    question = str(research.get("question") or "").strip()
    answer = str(research.get("answer") or "").split("\n\nSources:", 1)[0].strip()
    lines = [
        f"# {title or 'Research report: ' + question}",
        "",
        "## Summary",
        "",
        answer,
        "",
        "## Key findings",
        "",
    ]
    for p in passages:
        lines += [f"### {p['heading']} ({p['title']})", "", f"{p['text']} [{p['n']}]", ""]
    lines += ["## Sources", ""]
    lines += [f'[{p["n"]}] {p["source"]}, "{p["title"]} › {p["heading"]}"' for p in passages]
    return "\n".join(lines) + "\n"


class EditResult(BaseModel):
    """An edited document and what the editor did."""

    markdown: str
    changes: list[str] = Field(default_factory=list)
    """One line per edit, for the trace and for people."""
    unresolved: list[int] = Field(default_factory=list)
    """Citation markers with no matching source."""
    uncited: list[int] = Field(default_factory=list)
    """Sources no marker points to."""
    words: int = 0
    reading_minutes: int = 1


_HEADING = re.compile(r"^(#{1,6})\s*(.*?)(?:\s+#+)?\s*$")
_SOURCE = re.compile(r"^\s*\[(\d+)\]\s+\S")
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"[.!?]*[^.!?]+(?:[.!?]+|$)(?:\s*\[\d+\])*")
_READING = re.compile(r"^\*Reading time: .*\*$")


def _norm(sentence: str) -> str:
    return " ".join(_MARKER.sub("", sentence).lower().split()).strip(" .!?")


def _is_prose(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not (
        _HEADING.match(stripped)
        or _SOURCE.match(stripped)
        or stripped[0] in "|>-*+`"
        or re.match(r"^\d+\.\s", stripped)
    )


def _code_flags(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (fences included; an
    unclosed fence runs to the end)."""
    flags, inside = [], False
    for line in lines:
        fence = line.strip().startswith("```")
        flags.append(inside or fence)
        if fence:
            inside = not inside
    return flags


def _dedupe(line: str, seen: set[str]) -> tuple[str, int]:
    """The line without sentences already seen (their citation markers move to the last
    kept sentence), and how many sentences were removed."""
    kept: list[str] = []
    moved: list[str] = []
    removed = 0
    sentences = [s.strip() for s in _SENTENCE.findall(line)]
    if not any(sentences):
        return line.strip(), 0  # punctuation only: nothing to compare
    for sentence in sentences:
        if not sentence:
            continue
        key = _norm(sentence)
        if key and key in seen:
            removed += 1
            moved += [f"[{m}]" for m in _MARKER.findall(sentence)]
            continue
        seen.add(key)
        kept.append(sentence)
    if moved and kept:
        missing = list(dict.fromkeys(m for m in moved if m not in kept[-1]))
        if missing:
            kept[-1] = f"{kept[-1]} {' '.join(missing)}"
    return " ".join(kept), removed


def edit_markdown(text: str) -> EditResult:
    """Apply the editor's deterministic edits to a Markdown document (idempotent).

    Fenced code blocks are left exactly as they are.
    """
    changes: list[str] = []
    lines = text.splitlines()
    out: list[tuple[str, bool]] = []  # (line, is code)
    seen_h1, last_level, removed = False, 0, 0
    seen_sentences: set[str] = set()
    for line, is_code in zip(lines, _code_flags(lines), strict=True):
        if is_code:
            out.append((line, True))
            continue
        if _READING.match(line.strip()):
            continue  # rewritten below
        heading = _HEADING.match(line)
        if heading:
            level, words = len(heading.group(1)), heading.group(2)
            clean, previous = re.sub(r"\s+", " ", words), None
            while clean != previous:  # trailing punctuation can hide a closing '#' sequence
                previous, clean = clean, re.sub(r"\s+#+$", "", clean).rstrip(":.; ")
            clean = clean[:1].upper() + clean[1:]
            new_level = level
            if level == 1 and seen_h1:
                new_level = 2
            elif level > 1 and level > last_level + 1:
                new_level = max(last_level + 1, 2 if seen_h1 else 1)
            seen_h1 = seen_h1 or new_level == 1
            last_level = new_level
            new_line = f"{'#' * new_level} {clean}".rstrip()
            if new_line != line:
                changes.append(f"heading {line.strip()!r} -> {new_line!r}")
            out.append((new_line, False))
        elif _is_prose(line):
            trial = set(seen_sentences)
            kept, n = _dedupe(line, trial)
            if kept and not _is_prose(
                kept
            ):  # cutting would turn the rest into a heading, list, ...
                kept, n = line.strip(), 0
                trial = seen_sentences | {_norm(s) for s in _SENTENCE.findall(line)}
            seen_sentences = trial
            removed += n
            if kept:
                out.append((kept, False))
        else:
            out.append((line, False))
    if removed:
        changes.append(f"removed {removed} duplicate sentence(s)")

    prose = [line for line, code in out if not code]
    sources = {int(m.group(1)) for line in prose if (m := _SOURCE.match(line))}
    cited = {int(n) for line in prose if not _SOURCE.match(line) for n in _MARKER.findall(line)}
    unresolved, uncited = sorted(cited - sources), sorted(sources - cited)
    body_words = sum(len(line.split()) for line in prose if not _HEADING.match(line))
    minutes = max(1, math.ceil(body_words / WORDS_PER_MINUTE))
    reading = (f"*Reading time: about {minutes} min ({body_words} words).*", False)
    h1 = next((i for i, (line, code) in enumerate(out) if not code and line.startswith("# ")), None)
    blank = ("", False)
    if h1 is None:
        out[:0] = [reading, blank]
    else:
        out[h1 + 1 : h1 + 1] = [blank, reading, blank]

    # one blank line at most between blocks outside code; none at the ends
    final: list[str] = []
    for line, code in out:
        if not code and not line.strip() and (not final or not final[-1].strip()):
            continue
        final.append(line)
    while final and not final[-1].strip():
        final.pop()
    if unresolved:
        changes.append(
            f"citation marker(s) {', '.join(f'[{n}]' for n in unresolved)} do not resolve to a source"
        )
    return EditResult(
        markdown="\n".join(final) + "\n",
        changes=changes,
        unresolved=unresolved,
        uncited=uncited,
        words=body_words,
        reading_minutes=minutes,
    )


class Writer(ToolAgent):
    """Writes a cited Markdown report from the researcher's result in its context.

    Args:
        title: A fixed title; default ``Research report: <question>``.
        name: The agent's name in plans.
    """

    description = (
        "Writes a Markdown report with an outline and citations from a researcher's cited passages."
    )
    skills = ("write", "report", "markdown", "outline")

    def __init__(self, title: str | None = None, *, name: str = "writer") -> None:
        self.name = name
        self.title = title

    async def run(self, directive: Directive) -> str:
        """Find a research result (a dict with ``passages``) in the context and write the report."""
        research = next(
            (
                v
                for _, v in context_items(directive)
                if isinstance(v, Mapping) and v.get("passages")
            ),
            None,
        )
        if research is None:
            raise AgentError(
                "the writer needs a research result with passages in its context (a dependency on the researcher)"
            )
        return await self.use_tool(
            directive,
            "outline.write",
            {"passages": len(research["passages"]), "title": self.title},
            lambda: write_report(research, title=self.title),
            summary=lambda text: {"lines": text.count("\n"), "words": len(text.split())},
        )


class Editor(ToolAgent):
    """Edits a Markdown document: headings, duplicate sentences, reading time, citations.

    Input: the latest Markdown text in the context (a dependency's output), else the
    prompt. Output: the edited Markdown. The list of edits goes to the trace.

    Args:
        strict_citations: Fail (``AgentError``) when a citation marker does not resolve;
            otherwise an editor's note at the end lists such markers.
        name: The agent's name in plans.
    """

    description = "Edits Markdown deterministically: heading levels, duplicate sentences, reading time, citation check."
    skills = ("edit", "proofread", "markdown", "citations")

    def __init__(self, strict_citations: bool = False, *, name: str = "editor") -> None:
        self.name = name
        self.strict_citations = bool(strict_citations)

    async def run(self, directive: Directive) -> str:
        """Edit the document and return it."""
        texts = [v for _, v in context_items(directive) if isinstance(v, str) and v.strip()]
        text = texts[-1] if texts else directive.prompt
        if not text.strip():
            raise AgentError("nothing to edit: no Markdown in the context or the prompt")
        result = await self.use_tool(
            directive,
            "markdown.edit",
            {"chars": len(text), "strict_citations": self.strict_citations},
            lambda: edit_markdown(text),
            summary=lambda r: {
                "changes": r.changes,
                "unresolved": r.unresolved,
                "uncited": r.uncited,
                "reading_minutes": r.reading_minutes,
            },
        )
        if result.unresolved:
            markers = ", ".join(f"[{n}]" for n in result.unresolved)
            if self.strict_citations:
                raise AgentError(f"citation marker(s) {markers} do not resolve to a source")
            return (
                result.markdown
                + f"\n> Editor's note: citation marker(s) {markers} do not resolve to a source.\n"
            )
        return result.markdown
