"""Untrusted text as Rich ``Text``: built from plain strings, so markup is never read.

The sanitizing itself lives in ``toolkit.text`` (the one safe-text module shared by
the CLI, this app and the notebook views); this module only wraps its one-line form
in the Rich object the widgets draw.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from toolkit.text import one_line

__all__ = ["literal"]


def literal(value: Any, limit: int = 120, style: str = "") -> Text:
    """A value as a one-line ``Text`` shown exactly as written (no markup), clipped."""
    return Text(one_line(value, limit), style=style, no_wrap=True, overflow="ellipsis")
