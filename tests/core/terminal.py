"""Helpers for CLI tests: run ``switchboard`` in-process, find what a terminal would obey."""

from __future__ import annotations

import contextlib
import io
import unicodedata
from pathlib import Path

from toolkit.cli import main

_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}
_KEPT = {"\n", "\u200c", "\u200d"}


def unsafe_chars(text: str) -> set[str]:
    """Characters a terminal would obey or hide instead of showing (newline allowed)."""
    return {c for c in text if c not in _KEPT and unicodedata.category(c) in _UNSAFE}


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run_cli(*args: str | Path, tty: bool = False) -> tuple[int, str, str]:
    """``switchboard ARGS`` in this process: (exit code, stdout, stderr)."""
    out: io.StringIO = Terminal() if tty else io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def error_lines(stderr: str) -> list[str]:
    """stderr lines, without the warning a half-installed plug-in package may print."""
    return [
        line
        for line in stderr.splitlines()
        if not line.startswith("switchboard: warning: commands from")
    ]
