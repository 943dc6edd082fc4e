"""Switchboard's terminal app: a run's event stream as a message flow, plan, agents and metrics.

Live while a run happens, and from a recorded trace or run store afterwards, through
the same code path (``toolkit.sources`` → ``toolkit.timeline`` → the views). Start it with
``switchboard demo`` or ``switchboard tui PATH``; in Python, ``SwitchboardApp(source)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["SwitchboardApp"]


def __getattr__(name: str) -> Any:
    # Textual loads on first use: the CLI's argument parsing stays fast
    if name == "SwitchboardApp":
        from tui.app import SwitchboardApp

        return SwitchboardApp
    raise AttributeError(f"module 'tui' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from tui.app import SwitchboardApp
