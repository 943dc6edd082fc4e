"""Messages shared by the app's widgets and screens.

A widget's own messages are nested in its class; the ones here cross widgets: any
view can ask for the details of what is selected in it.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

__all__ = ["ShowDetails", "ShowTeam"]


class ShowDetails(Message):
    """Show one thing whole: a message (``Envelope``), a task, an agent or an event."""

    def __init__(self, subject: Any) -> None:
        super().__init__()
        self.subject = subject
        """An ``Envelope``, ``TaskView``, ``AgentView`` or trace event."""


class ShowTeam(Message):
    """Expand a team (an agent of kind ``team``) of the run shown into its own lanes,
    plan and agents: the team's child run (``toolkit.team``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        """The team agent's name in the run shown."""
