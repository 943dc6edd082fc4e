"""Untrusted text is shown literally, visibly and bounded (toolkit.text, tui.rich_text)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from toolkit.text import clip, one_line, pretty, sanitize, sanitize_line
from tui.rich_text import literal

_FORBIDDEN = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x202E}


def _raw_controls(text: str, allow_newline: bool = False) -> set[int]:
    return {ord(c) for c in text if ord(c) in _FORBIDDEN and not (allow_newline and c == "\n")}


def test_escape_and_controls_become_visible_symbols() -> None:
    """ESC shows as ␛, BEL as ␇, NUL as ␀, C1 CSI and bidi overrides as ⍰; nothing raw remains."""
    text = sanitize_line("\x1b[31mred\x07\x00\x9b1m\u202eabc")
    assert text == "␛[31mred␇␀⍰1m⍰abc"
    assert not _raw_controls(text)


def test_markup_stays_literal() -> None:
    """Rich markup in a payload is kept as text, never interpreted."""
    rendered = literal("[bold red]x[/] [link=https://e.invalid]y[/link]")
    assert rendered.plain == "[bold red]x[/] [link=https://e.invalid]y[/link]"
    assert not rendered.spans


def test_long_values_are_clipped_with_a_visible_count() -> None:
    """A 3 MB string becomes a short line ending in '… N more', N being what was cut."""
    big = "a" * 3_000_000
    line = one_line(big, 100)
    assert line == "a" * 100 + f"… {3_000_000 - 100:,} more"
    assert clip("abcdef", 3) == "abc… 3 more"
    assert clip("abc", 3) == "abc"


def test_structured_payloads_are_one_json_line() -> None:
    """A dict payload shows as one JSON line (its strings JSON-escaped)."""
    assert one_line({"a": "x\ny", "b": [1]}) == '{"a": "x\\ny", "b": [1]}'


def test_pretty_keeps_newlines_and_everything_else() -> None:
    """The details view gets the whole value, newlines kept, controls made visible."""
    assert pretty("a\nb\x1b") == "a\nb␛"
    assert pretty({"k": [1, 2]}) == '{\n  "k": [\n    1,\n    2\n  ]\n}'
    assert len(pretty("z" * 2_000_000)) == 2_000_000


@given(st.text())
def test_no_raw_control_character_survives(text: str) -> None:
    """For any text, the one-line form has no control characters and is bounded."""
    line = one_line(text, 50)
    assert not _raw_controls(line)
    assert len(line) <= 50 + len("… 99,999,999,999 more")
    assert not _raw_controls(sanitize(text), allow_newline=True)
