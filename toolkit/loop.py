"""A way back into one event loop from any thread (``LoopHandle``).

A run is cancelled, and a follower of a served run is woken, from whatever thread the
caller is on: a Textual worker, a signal handler, a web request. The handle remembers
the loop running in the thread that bound it and calls a function there: at once when
the caller is already on that thread, else soon, through the loop's thread-safe
scheduling (asyncio's ``call_soon_threadsafe``, trio's token).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LoopHandle"]


class LoopHandle:
    """The event loop of the thread that called ``bind``, reachable from any thread."""

    __slots__ = ("_call_soon", "thread")

    def __init__(self) -> None:
        self.thread: int | None = None
        """The id of the loop's thread (None until ``bind``)."""
        self._call_soon: Callable[..., Any] | None = None

    def bind(self) -> None:
        """Remember the loop running in this thread (asyncio, else trio; none: inline only)."""
        self.thread = threading.get_ident()
        try:
            import asyncio

            self._call_soon = asyncio.get_running_loop().call_soon_threadsafe
        except RuntimeError:  # another backend, or no loop at all
            try:
                import trio  # type: ignore[import-not-found]

                self._call_soon = trio.lowlevel.current_trio_token().run_sync_soon
            except (ImportError, RuntimeError):
                self._call_soon = None

    @property
    def reachable(self) -> bool:
        """Whether a loop was bound that other threads can schedule on."""
        return self._call_soon is not None

    @property
    def here(self) -> bool:
        """Whether the caller runs on the loop's thread."""
        return threading.get_ident() == self.thread

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the loop: now on its thread, else as soon as it can.

        Never raises and never waits; once the loop has closed (the run is over), or
        when no loop is reachable from another thread, the call is dropped.
        """
        if self.here:
            fn(*args)
            return
        call_soon = self._call_soon
        if call_soon is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            call_soon(fn, *args)
