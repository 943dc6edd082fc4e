"""Untrusted text: ``safe_line`` shows escapes and controls as visible symbols, keeps
markup literal, stays on one line and clips huge payloads cheaply."""

from __future__ import annotations

import pytest

from toolkit.text import clip, one_line, safe_line, visible_controls


def _is_safe(text: str) -> bool:
    return all(ord(c) >= 0x20 and ord(c) != 0x7F and not 0x80 <= ord(c) <= 0x9F for c in text)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]8;;http://x\x07link", "␛]8;;http://x␇link"),
        ("nul\x00byte", "nul␀byte"),
        ("del\x7f", "del␡"),
        ("c1\x9b31m", "c1\ufffd31m"),
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


def test_visible_controls_can_keep_newlines() -> None:
    """For multi-line output (a run's result) newlines stay, other controls do not."""
    assert visible_controls("a\x1b[1m\nb\r", keep_newlines=True) == "a␛[1m\nb␍"
    assert visible_controls("a\nb") == "a␊b"


def test_bidi_overrides_cannot_reorder_the_terminal() -> None:
    """Right-to-left overrides and isolates are shown as marks, never obeyed."""
    line = safe_line("user\u202egnp.exe\u2066x\u2069")
    assert "\u202e" not in line and "\u2066" not in line and "\u2069" not in line
    assert line == "user\ufffdgnp.exe\ufffdx\ufffd"
