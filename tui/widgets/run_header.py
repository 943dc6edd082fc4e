"""The header: run name, status, elapsed time and totals, at a glance."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from toolkit.state import RunState
from toolkit.text import one_line

__all__ = ["RunHeader", "header_text"]

_STATUS = {
    "pending": ("○", "dim"),
    "running": ("◐", "bold #5fafff"),
    "succeeded": ("✔", "bold #5fd75f"),
    "failed": ("✖", "bold #ff5f5f"),
    "cancelled": ("⊘", "bold #ffaf00"),
    "interrupted": ("✖", "bold #ff5f5f"),
}


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def header_text(state: RunState, source: str, status: str | None = None) -> Text:
    """The header line of a state; every value from the run is shown literally.

    ``status`` replaces the fold's status when the events cannot tell (an interrupted run).
    """
    status = status or state.status
    glyph, style = _STATUS.get(status, ("?", ""))
    counts = state.task_counts()
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" ◆ ", style="bold")
    text.append(one_line(state.name or source, 40), style="bold")
    text.append("  ")
    text.append(f"{glyph} {status} ", style=style)
    text.append(f"  {_elapsed(state.elapsed_s)}", style="bold")
    if state.simulated:
        text.append(" simulated", style="italic")
    total = len(state.tasks)
    text.append(f"  │ tasks {counts['done']}/{total}")
    if counts["failed"]:
        text.append(f" ✖{counts['failed']}", style="#ff5f5f")
    if counts["retrying"]:
        text.append(f" ↻{counts['retrying']}", style="#ffaf00")
    if counts["skipped"]:
        text.append(f" ⊘{counts['skipped']}", style="#8a8a8a")
    if counts.get("cancelled"):
        text.append(f" ⊗{counts['cancelled']}", style="#ff8700")
    retries = sum(t.retries for t in state.tasks.values())
    if retries:
        text.append(f"  retries {retries}", style="#ffaf00")
    text.append(f"  │ msgs {len(state.messages)}")
    text.append(f"  tok {_tokens(state.tokens_in + state.tokens_out)}")
    text.append(f"  ${state.cost_usd:.4f}")
    text.append(f"  │ events {state.event_count}", style="dim")
    return text


class RunHeader(Static):
    """One line (two when narrow) that sums up the run at the replay cursor."""

    DEFAULT_CSS = """
    RunHeader { height: 1; }
    """

    def show(self, state: RunState, source: str, status: str | None = None) -> None:
        """Render the header of this state; ``source`` names the run when it has no name yet.

        ``status`` replaces the fold's status when the events cannot tell (an interrupted run).
        """
        self.update(header_text(state, source, status))
        self.set_class(
            (status or state.status) in ("failed", "cancelled", "interrupted"), "-problem"
        )
        self.set_class(state.status == "succeeded", "-ok")
