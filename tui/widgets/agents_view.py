"""The agents: each one's state (idle, working, waiting, failed), current task and counts,
and, once any agent of the run has a circuit breaker, a column with its breaker's state.
A team (an agent of kind ``team``) is marked ``▸``; Enter on it expands it into its own
lanes, plan and agents (``ShowTeam``), Enter on any other agent shows its details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from toolkit.state import AgentView, RunState
from tui.describe import AGENT_LOOK, BREAKER_LOOK
from tui.messages import ShowDetails, ShowTeam
from tui.rich_text import literal
from tui.widgets.state_table import Cell, StateTable

__all__ = ["AgentsView"]


def breaker_cell(agent: AgentView) -> Cell:
    """The breaker's state (``○ open``), or nothing for an agent without a breaker."""
    if not agent.breaker:
        return Text("")
    label, style = BREAKER_LOOK.get(agent.breaker, (agent.breaker, ""))
    return Text(label, style=style)


def agent_cells(agent: AgentView, breakers: bool = False) -> list[Cell]:
    """The row of one agent (with its breaker's cell when ``breakers``)."""
    glyph, style = AGENT_LOOK.get(agent.state, ("?", ""))
    name = literal(agent.name, 24, style="bold")
    if agent.kind == "team":
        name = Text.assemble(name, (" ▸", "bold #5fafff"))
    cells: list[Cell] = [
        name,
        Text(f"{glyph} {agent.state}", style=style),
        literal(agent.current_task or "", 24),
        Text(str(agent.succeeded), justify="right"),
        Text(str(agent.failed), justify="right", style="#ff5f5f" if agent.failed else ""),
        Text(str(agent.retries), justify="right", style="#ffaf00" if agent.retries else ""),
        Text(str(agent.reviews), justify="right"),
        Text(f"{agent.messages_in}/{agent.messages_out}", justify="right"),
        typing_cell(agent.streaming),
    ]
    if breakers:
        cells.append(breaker_cell(agent))
    return cells


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

    COLUMNS: Sequence[tuple[str, str]] = (
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
    BREAKER_COLUMN = ("breaker", "breaker")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "details", "Details (a team ▸: expand it)")
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._state: RunState | None = None
        self._breakers = False

    def _show_breakers(self) -> None:
        """Add the breaker column (the first time an agent with a breaker is shown)."""
        self._breakers = True
        self.COLUMNS = (*type(self).COLUMNS, self.BREAKER_COLUMN)
        self.add_column(self.BREAKER_COLUMN[1], key=self.BREAKER_COLUMN[0])
        self.clear()  # every row gets its new cell
        self._shown, self._signatures, self._order = {}, {}, []

    def show(self, state: RunState) -> None:
        """Render the agents of this state."""
        self._state = state
        agents = state.agents
        if not self._breakers and any(a.breaker for a in agents.values()):
            self._show_breakers()
        breakers = self._breakers
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
                        a.breaker,
                        a.kind,
                    ),
                )
                for a in agents.values()
            ],
            lambda key: agent_cells(agents[key], breakers),
        )

    def action_details(self) -> None:
        key = self.selected_key()
        if self._state is not None and key in self._state.agents:
            agent = self._state.agents[key]
            if agent.kind == "team" and any(c.team == key for c in self._state.children.values()):
                self.post_message(ShowTeam(key))  # its run has started: show it
            else:
                self.post_message(ShowDetails(agent))
