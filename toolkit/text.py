"""Untrusted text made safe to show: literal, visible, bounded. The one safe-text module.

Agent output, model replies, payloads and anything read from a file (a workflow's
names and field names, a trace, a store) are untrusted. They may hold terminal escape
sequences, control characters, characters that reorder or hide what a terminal shows,
markup, and megabytes of text. The CLI, the terminal app and the notebook views turn
such text into something to show with the functions here, so that:

- escape and control characters become visible placeholders (``\\x1b`` shows as ``␛``,
  other C0 controls as their Unicode "control picture", DEL as ``␡``);
- every other character a terminal may obey or hide instead of showing (C1 controls,
  bidirectional marks, overrides and isolates such as U+202E and U+061C, the line and
  paragraph separators U+2028/U+2029, Unicode tag characters, zero-width and other
  format characters, lone surrogates) shows as ``⍰``; the zero-width joiner and
  non-joiner stay, as scripts and emoji need them;
- one-line forms read only a bounded prefix of a value and end with a visible
  ``… N more`` when they cut it; the multi-line form (``pretty``, ``sanitize``) keeps
  the value whole.

Markup is never interpreted by these functions; front ends build their widgets from
the plain strings they return (never from markup).

Two one-line forms differ on purpose: ``one_line`` (the terminal app) shows a newline
as ``⏎``, so a payload's shape stays visible; ``safe_line`` (the CLI's columns)
collapses every run of whitespace into one space.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "UNKNOWN",
    "clip",
    "one_line",
    "pretty",
    "safe_line",
    "sanitize",
    "sanitize_line",
]

UNKNOWN = "\u2370"  # ⍰
"""What a character that is unsafe to show and has no control picture becomes."""

# Characters shown as ``UNKNOWN``: the Unicode categories Cc (beyond C0/DEL), Cf,
# Zl, Zp and Cs, except ZWNJ/ZWJ. Listed as ranges (a test checks them against
# ``unicodedata``) so that importing this module costs nothing.
_HIDDEN_RANGES = (
    (0x80, 0x9F),  # C1 controls (8-bit CSI and friends)
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),  # Arabic letter mark (bidi)
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200B),
    (0x200E, 0x200F),  # LRM, RLM
    (0x2028, 0x202E),  # line/paragraph separators, bidi embeddings and overrides
    (0x2060, 0x2064),
    (0x2066, 0x206F),  # bidi isolates and deprecated format characters
    (0xD800, 0xDFFF),  # lone surrogates (they cannot even be encoded for a terminal)
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),  # tag characters
)


def _table(keep_newlines: bool) -> dict[int, str]:
    table: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x7F] = "\u2421"  # ␡
    for low, high in _HIDDEN_RANGES:
        for code in range(low, high + 1):
            table[code] = UNKNOWN
    if keep_newlines:
        del table[0x0A]
        table[0x09] = "    "
    else:
        table[0x0A] = "\u23ce"  # ⏎
        table[0x09] = " "
        table[0x0D] = ""
        table[0x2028] = table[0x2029] = "\u23ce"
    return table


_MULTILINE = _table(keep_newlines=True)
_SINGLE_LINE = _table(keep_newlines=False)


def sanitize(text: str) -> str:
    """Every unsafe character made visible (see the module docstring); newlines kept."""
    return text.translate(_MULTILINE)


def sanitize_line(text: str) -> str:
    """Like ``sanitize`` but for one line: newlines show as ``⏎``, tabs as spaces."""
    return text.translate(_SINGLE_LINE)


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with a visible ``… N more`` when cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… {len(text) - limit:,} more"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        try:
            return str(value)
        except ValueError:  # an integer of more digits than Python prints
            return f"<integer of about {int(value).bit_length() * 30103 // 100000:,} digits>"
    try:
        return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _prefix(value: Any, budget: int) -> tuple[str, int]:
    """A bounded prefix of a value's text and the value's total text length.

    Long strings are sliced before anything else touches them, so a multi-megabyte
    payload costs no more than a short one in a one-line view.
    """
    text = _as_text(value)
    return text[:budget], len(text)


def one_line(value: Any, limit: int = 120) -> str:
    """A value as one safe line of at most ``limit`` characters plus ``… N more``.

    Newlines show as ``⏎``; any other value than a string is shown as one JSON line.
    """
    head, total = _prefix(value, limit + 1)
    line = sanitize_line(head[:limit])
    if total > limit:
        return f"{line}… {total - limit:,} more"
    return line


def safe_line(value: Any, limit: int = 80) -> str:
    """A value as one short, literal, terminal-safe line, whitespace runs collapsed."""
    head, total = _prefix(value, limit * 4)
    # clip before translating: a multi-megabyte payload costs only ``limit`` characters
    flat = " ".join(head.split())
    if total <= limit * 4:
        return sanitize_line(clip(flat, limit))
    return sanitize_line(f"{flat[:limit]}… {total - limit:,} more")


def pretty(value: Any) -> str:
    """A value whole, for a details view or a run's result: strings as they are,
    anything else as indented JSON; sanitized (newlines kept) but never shortened."""
    if isinstance(value, str):
        return sanitize(value)
    try:
        text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return sanitize(text)
