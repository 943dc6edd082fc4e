"""The replay bar: live or replaying, play/pause, speed, position, and a timeline scrubber.

Click anywhere on the bar (or focus it and use ←/→, shift+←/→) to jump; the whole
view shows the state at that point.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.message import Message
from textual.widget import Widget

from toolkit.timeline import Player

__all__ = ["ReplayBar"]

_LEFT = 33
"""Columns left of the scrubber (mode, position, speed)."""


class ReplayBar(Widget, can_focus=True):
    """Where the view is in the run; a scrubber to move it."""

    DEFAULT_CSS = """
    ReplayBar { height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "nudge(-1)", "Step back", show=False),
        Binding("right", "nudge(1)", "Step", show=False),
        Binding("shift+left", "nudge_fraction(-0.1)", "Back 10%", show=False),
        Binding("shift+right", "nudge_fraction(0.1)", "Forward 10%", show=False),
    ]

    class Seek(Message):
        """The user asked to move the cursor to a fraction (0..1) of the timeline."""

        def __init__(self, fraction: float | None = None, delta: int = 0) -> None:
            super().__init__()
            self.fraction = fraction
            self.delta = delta

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text()
        self._cursor, self._total = 0, 0

    def show(self, player: Player, mode: str, running: bool) -> None:
        """Render the player's position; ``mode`` is live, replay or follow."""
        self._cursor, self._total = player.cursor, player.total
        if player.playing:
            state, style = f"▶ play ×{player.speed:g}", "bold #5fd75f"
        elif player.following and mode in ("live", "follow") and running:
            state, style = "● LIVE" if mode == "live" else "● FOLLOW", "bold #ff5f5f"
        elif player.following:
            state, style = "■ end", "bold"
        else:
            state, style = f"‖ paused ×{player.speed:g}", "bold #ffaf00"
        text = Text(no_wrap=True, overflow="crop")
        text.append(f" {state:<15}", style=style)
        text.append(f"{player.cursor:>7,}/{player.total:<7,}", style="dim")
        text.append("  ")
        width = max(4, self.size.width - _LEFT - 1)
        filled = round(width * player.cursor / player.total) if player.total else width
        filled = max(0, min(width, filled))
        text.append("━" * filled, style="#5fafff")
        text.append("●" if filled < width else "", style="bold #5fafff")
        text.append("─" * max(0, width - filled - 1), style="#5f5f87")
        self._text = text
        self.refresh()

    def render(self) -> Text:
        return self._text

    def on_click(self, event: Click) -> None:
        width = max(4, self.size.width - _LEFT - 1)
        x = event.x - _LEFT
        if 0 <= x <= width:
            self.post_message(self.Seek(fraction=x / width))

    def action_nudge(self, delta: int) -> None:
        self.post_message(self.Seek(delta=delta))

    def action_nudge_fraction(self, fraction: float) -> None:
        self.post_message(self.Seek(delta=round(fraction * max(1, self._total))))
