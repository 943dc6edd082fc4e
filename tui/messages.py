"""Messages shared by the app's widgets and screens.

A widget's own messages are nested in its class; the ones here cross widgets: any
view can ask for the details of what is selected in it.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

__all__ = ["ShowDetails"]


class ShowDetails(Message):
    """Show one thing whole: a message (``Envelope``), a task, an agent or an event."""

    def __init__(self, subject: Any) -> None:
        super().__init__()
        self.subject = subject
        """An ``Envelope``, ``TaskView``, ``AgentView`` or trace event."""
