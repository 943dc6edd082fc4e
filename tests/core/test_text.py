"""Untrusted text: ``safe_line`` shows escapes and controls as visible symbols, keeps
markup literal, stays on one line and clips huge payloads cheaply."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.text import UNKNOWN, clip, one_line, pretty, safe_line, sanitize, sanitize_line


def _is_safe(text: str) -> bool:
    return all(ord(c) >= 0x20 and ord(c) != 0x7F and not 0x80 <= ord(c) <= 0x9F for c in text)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]8;;http://x\x07link", "␛]8;;http://x␇link"),
        ("nul\x00byte", "nul␀byte"),
        ("del\x7f", "del␡"),
        ("c1\x9b31m", "c1⍰31m"),
        ("[bold red]x[/]", "[bold red]x[/]"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_escapes_and_controls_become_visible(raw: str, shown: str) -> None:
    """ESC, BEL, NUL, DEL and C1 controls become symbols; markup and HTML stay literal."""
    assert safe_line(raw) == shown
    assert _is_safe(safe_line(raw))


def test_one_line_whitespace_and_carriage_returns() -> None:
    """Newlines, tabs and CR collapse to single spaces: a payload is one line."""
    assert safe_line("a\nb\r\nc\td\r\re") == "a b c d e"
    assert one_line({"k": ["ü", 1]}) == '{"k": ["ü", 1]}'
    assert safe_line({"k": "\x1b[2J"}) == '{"k": "\\u001b[2J"}'  # JSON escapes it


def test_clip_says_how_much_is_left() -> None:
    """Long text is cut with a visible '… N more'; short text is unchanged."""
    assert clip("abcdef", 10) == "abcdef"
    assert clip("abcdefghij" * 3, 10) == "abcdefghij… 20 more"
    line = safe_line("word " * 100, 20)
    assert line.startswith("word word") and line.endswith("more")
    assert len(line) < 40


def test_huge_payload_gives_a_short_safe_line() -> None:
    """A 5 MB payload full of escapes comes back short, safe and with the count of the rest."""
    payload = ("\x1b[31mX" * 5) + "y" * (5 * 1024 * 1024)
    line = safe_line(payload, 80)
    assert len(line) < 120
    assert _is_safe(line)
    assert line.endswith(f"… {len(payload) - 80:,} more")


def test_sanitize_can_keep_newlines() -> None:
    """For multi-line output (a run's result) newlines stay, other controls do not."""
    assert sanitize("a\x1b[1m\nb\r") == "a␛[1m\nb␍"
    assert sanitize_line("a\nb") == "a⏎b"


def test_bidi_overrides_cannot_reorder_the_terminal() -> None:
    """Right-to-left overrides and isolates are shown as marks, never obeyed."""
    line = safe_line("user\u202egnp.exe\u2066x\u2069")
    assert "\u202e" not in line and "\u2066" not in line and "\u2069" not in line
    assert line == "user⍰gnp.exe⍰x⍰"


_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
_KEPT = {0x09, 0x0A, 0x0D, 0x200C, 0x200D}  # tab/newline/CR handled per form; ZWNJ/ZWJ kept


def _unsafe(text: str) -> set[str]:
    return {
        c for c in text if unicodedata.category(c) in _UNSAFE_CATEGORIES and ord(c) not in _KEPT
    }


@pytest.mark.parametrize(
    "raw",
    ["arabic\u061cmark", "line\u2028sep\u2029para", "tag\U000e0041\U000e007fs", "lone\ud800x"],
)
def test_hidden_and_reordering_characters_are_shown_as_marks(raw: str) -> None:
    """U+061C, U+2028/2029, tag characters and lone surrogates never pass through any form."""
    for shown in (safe_line(raw), one_line(raw), sanitize_line(raw), sanitize(raw), pretty(raw)):
        assert not _unsafe(shown), shown
        shown.encode("utf-8")  # printable on a UTF-8 terminal


def test_every_unsafe_character_of_this_python_is_covered() -> None:
    """The table covers every Cc, Cf, Zl, Zp and Cs character of the running Unicode database."""
    missing = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in _UNSAFE_CATEGORIES
        and code not in _KEPT
        and sanitize_line(chr(code)) == chr(code)
    ]
    assert missing == []
    assert sanitize_line("\u202e") == UNKNOWN


def test_zero_width_joiners_stay() -> None:
    """ZWJ and ZWNJ are part of scripts and emoji sequences: shown as they are."""
    assert sanitize_line("👩\u200d💻 \u0645\u200c\u06cc") == "👩\u200d💻 \u0645\u200c\u06cc"


def test_huge_integer_is_shown_without_an_error() -> None:
    """An integer of 100,000 digits (more than Python will print) gives a short line."""
    line = safe_line(10**100_000)
    assert "digits" in line and len(line) < 80


@given(st.text())
def test_no_unsafe_character_survives_any_form(text: str) -> None:
    """For any text, no form lets an unsafe character through (newlines only in sanitize)."""
    assert not _unsafe(safe_line(text, 50))
    assert not _unsafe(one_line(text, 50))
    assert not (_unsafe(sanitize(text)) - {"\n"})
