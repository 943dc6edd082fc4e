"""Untrusted text made safe to show: literal, visible, bounded.

Agent output and payloads are untrusted. They may hold Rich markup
(``[bold red]x[/]``, ``[link=...]``), ANSI or other terminal escape sequences,
control characters, very long lines and multi-megabyte values. Every view in the
app turns them into text with the functions here, so that:

- markup is never interpreted (``rich.text.Text`` is built from plain strings, never
  from markup);
- escape and control characters become visible placeholders (``\\x1b`` shows as
  ``␛``, other C0 controls as their Unicode "control picture", C1 controls and
  bidirectional overrides as ``⍰``), so nothing reaches the terminal raw;
- one-line views read only a bounded prefix of a value and end with a visible
  ``… N more`` when they cut it; the details view shows the value whole.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

__all__ = [
    "clip",
    "literal",
    "one_line",
    "pretty",
    "sanitize",
    "sanitize_line",
]

_ESC = "\u241b"  # ␛
_UNKNOWN = "\u2370"  # ⍰

_BIDI = {0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}


def _table(keep_newlines: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        table[code] = chr(0x2400 + code)
    table[0x1B] = _ESC
    table[0x7F] = "\u2421"  # ␡
    for code in range(0x80, 0xA0):
        table[code] = _UNKNOWN
    for code in _BIDI:
        table[code] = _UNKNOWN
    if keep_newlines:
        del table[0x0A]
        table[0x09] = "    "
    else:
        table[0x0A] = "\u23ce"  # ⏎
        table[0x09] = " "
        table[0x0D] = ""
    return table


_MULTILINE = _table(keep_newlines=True)
_SINGLE_LINE = _table(keep_newlines=False)


def sanitize(text: str) -> str:
    """Replace control, escape and bidi-override characters with visible ones; keep newlines."""
    return text.translate(_MULTILINE)


def sanitize_line(text: str) -> str:
    """Like ``sanitize`` but for one line: newlines show as ``⏎``, tabs as spaces."""
    return text.translate(_SINGLE_LINE)


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters, ending with a visible ``… N more``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… {len(text) - limit:,} more"


def _prefix(value: Any, budget: int) -> tuple[str, int]:
    """A bounded prefix of a value's text and the value's total text length.

    Long strings are sliced before anything else touches them, so a multi-megabyte
    payload costs no more than a short one in a one-line view.
    """
    if isinstance(value, str):
        return value[:budget], len(value)
    if value is None:
        return "", 0
    if isinstance(value, bool | int | float):
        text = str(value)
        return text, len(text)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text[:budget], len(text)


def one_line(value: Any, limit: int = 120) -> str:
    """A value as one safe line of at most ``limit`` characters plus ``… N more``."""
    head, total = _prefix(value, limit + 1)
    line = sanitize_line(head[:limit])
    if total > limit:
        return f"{line}… {total - limit:,} more"
    return line


def literal(value: Any, limit: int = 120, style: str = "") -> Text:
    """A value as a one-line ``Text`` shown exactly as written (no markup), clipped."""
    return Text(one_line(value, limit), style=style, no_wrap=True, overflow="ellipsis")


def pretty(value: Any) -> str:
    """A value whole, for the details view: strings as they are, anything else as indented JSON.

    The result is sanitized (newlines kept) but never shortened.
    """
    if isinstance(value, str):
        return sanitize(value)
    try:
        text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return sanitize(text)
