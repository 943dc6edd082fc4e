"""The agents: each one's state (idle, working, waiting, failed), current task and counts."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from toolkit.state import AgentView, RunState
from tui.describe import AGENT_LOOK
from tui.messages import ShowDetails
from tui.rich_text import literal
from tui.widgets.state_table import Cell, StateTable

__all__ = ["AgentsView"]


def agent_cells(agent: AgentView) -> list[Cell]:
    """The row of one agent."""
    glyph, style = AGENT_LOOK.get(agent.state, ("?", ""))
    return [
        literal(agent.name, 24, style="bold"),
        Text(f"{glyph} {agent.state}", style=style),
        literal(agent.current_task or "", 24),
        Text(str(agent.succeeded), justify="right"),
        Text(str(agent.failed), justify="right", style="#ff5f5f" if agent.failed else ""),
        Text(str(agent.retries), justify="right", style="#ffaf00" if agent.retries else ""),
        Text(str(agent.reviews), justify="right"),
        Text(f"{agent.messages_in}/{agent.messages_out}", justify="right"),
        typing_cell(agent.streaming),
    ]


TYPING = 40
"""Characters of a streamed reply shown while it arrives (its newest end)."""


def typing_cell(streaming: str) -> Text:
    """The newest end of the reply an agent is streaming ("typing"), or nothing."""
    if not streaming:
        return Text("")
    tail = streaming[-TYPING:]
    return literal(
        ("…" if len(streaming) > TYPING else "") + tail + " ✎", TYPING + 4, style="italic"
    )


class AgentsView(StateTable):
    """One row per agent; the user and the orchestrator are lanes, not agents."""

    COLUMNS = (
        ("agent", "agent"),
        ("state", "state"),
        ("task", "task"),
        ("done", "done"),
        ("failed", "fail"),
        ("retries", "retry"),
        ("reviews", "reviews"),
        ("messages", "in/out"),
        ("typing", "typing"),
    )

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "details", "Details")]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: RunState | None = None

    def show(self, state: RunState) -> None:
        """Render the agents of this state."""
        self._state = state
        agents = state.agents
        self.sync(
            [
                (
                    a.name,
                    (
                        a.state,
                        a.current_task,
                        a.succeeded,
                        a.failed,
                        a.retries,
                        a.reviews,
                        a.messages_in,
                        a.messages_out,
                        a.streaming[-TYPING:],
                    ),
                )
                for a in agents.values()
            ],
            lambda key: agent_cells(agents[key]),
        )

    def action_details(self) -> None:
        key = self.selected_key()
        if self._state is not None and key in self._state.agents:
            self.post_message(ShowDetails(self._state.agents[key]))
