"""Shared pytest configuration: the async backend for ``@pytest.mark.anyio`` tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Jupyter and the TUI use)."""
    return "asyncio"
