"""Untrusted text made safe to show: literal, one line, bounded.

Agent output and payloads may hold terminal escape sequences, control characters,
markup and megabytes of text. Before any of it reaches a terminal it goes through
``safe_line``: escapes and controls become visible symbols (so they are shown, not
obeyed), and long text is clipped with a visible "… N more".
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["clip", "one_line", "safe_line", "visible_controls"]

_CONTROL_MAP = {i: 0x2400 + i for i in range(0x20)}  # C0 controls → ␀ … ␟
_CONTROL_MAP[0x7F] = 0x2421  # DEL → ␡
_CONTROL_MAP.update({i: 0xFFFD for i in range(0x80, 0xA0)})  # C1 controls (8-bit CSI and friends)
# bidirectional overrides and isolates would reorder what the terminal shows ("Trojan
# source"): shown as a replacement mark instead
_CONTROL_MAP.update(dict.fromkeys((0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)), 0xFFFD))


def visible_controls(text: str, keep_newlines: bool = False) -> str:
    """Replace control characters (ESC included) with visible Unicode symbols."""
    if keep_newlines:
        return "\n".join(line.translate(_CONTROL_MAP) for line in text.split("\n"))
    return text.translate(_CONTROL_MAP)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with a visible "… N more" when cut."""
    if len(text) <= limit:
        return text
    rest = len(text) - limit
    return f"{text[:limit]}… {rest:,} more"


def one_line(value: Any) -> str:
    """Any payload as a single line of text (JSON for non-strings, whitespace collapsed)."""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return " ".join(value.split())


def safe_line(value: Any, limit: int = 80) -> str:
    """A payload as one short, literal, terminal-safe line."""
    text = value if isinstance(value, str) else one_line(value)
    # clip before translating: a multi-megabyte payload costs only ``limit`` characters
    head = " ".join(text[: limit * 4].split())
    return visible_controls(
        clip(head, limit)
        if len(text) <= limit * 4
        else f"{head[:limit]}… {len(text) - limit:,} more"
    )
