"""The key help (``?``): every key of the app, read from the bindings themselves.

The list is built from the ``BINDINGS`` of the app, the main screen and each view,
so it cannot fall out of date with what the keys do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen", "KeyGroup"]

KeyGroup = tuple[str, Sequence[BindingType]]
"""(where the keys work, their bindings)."""

_KEY_NAMES = {
    "question_mark": "?",
    "full_stop": ".",
    "comma": ",",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "slash": "/",
    "space": "space",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def _key(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))


def _bindings(items: Sequence[BindingType]) -> list[Binding]:
    found: list[Binding] = []
    for item in items:
        if isinstance(item, Binding):
            found.append(item)
        else:
            key, action, *rest = item
            found.append(Binding(key, action, rest[0] if rest else ""))
    return found


class HelpScreen(ModalScreen[None]):
    """Every key, grouped by where it works."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    CSS_PATH = "help.tcss"

    def __init__(self, groups: Sequence[KeyGroup]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold #5fafff", justify="right", no_wrap=True)
        table.add_column()
        for title, items in self.groups:
            table.add_row(Text(""), Text(""))
            table.add_row(Text(""), Text(title, style="bold underline"))
            seen: set[str] = set()
            for binding in _bindings(items):
                if binding.system or not binding.description:
                    continue
                label = _key(binding)
                if label in seen:
                    continue
                seen.add(label)
                table.add_row(Text(label), Text(binding.description))
        with VerticalScroll(id="help"):
            yield Static(Text("Keys  (esc closes)", style="bold"), id="help-title")
            yield Static(table, id="help-keys")
