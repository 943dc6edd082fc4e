"""Shared pytest configuration: the async backend for ``@pytest.mark.anyio`` tests, and a last
line saying whether the real-model tests ran."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Jupyter and the TUI use)."""
    return "asyncio"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly, at the end of every run, whether the real-model tests ran or why not."""
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if str(r.nodeid).startswith("tests/local_model/")
    ]
    ran = [
        r
        for kind in ("passed", "failed", "error")
        for r in terminalreporter.stats.get(kind, [])
        if str(getattr(r, "nodeid", "")).startswith("tests/local_model/")
    ]
    if skipped and not ran:
        from tests.local_model.conftest import missing

        why = missing() or "see the skip reasons (pytest -rs)"
        terminalreporter.write_line(
            f"real local model: {len(skipped)} test(s) in tests/local_model SKIPPED: {why}"
        )
    elif ran:
        terminalreporter.write_line(
            f"real local model: {len(ran)} test(s) in tests/local_model ran against llama-server"
        )
