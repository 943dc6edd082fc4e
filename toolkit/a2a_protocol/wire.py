"""What a Switchboard client and a Switchboard server add to plain A2A messages.

Any A2A client can call a served agent with a text message, and an ``A2AAgent`` can
call any A2A server; between two Switchboard ends the message's metadata also carries
the directive (task id, goal, attempt, round, context) under ``switchboard``, the
output artifact carries the call's usage, and a status message names the kind of
session event it came from (``llm_delta``: the agent typing). Everything is optional
on the way in: a foreign peer's messages are read as plain text and data parts.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON_MEDIA_TYPE", "META_KEY", "OUTPUT_ARTIFACT", "jsonable"]

META_KEY = "switchboard"
"""The metadata key under which Switchboard ends exchange their extras."""
OUTPUT_ARTIFACT = "output"
"""The name of the artifact holding a served agent's answer."""
JSON_MEDIA_TYPE = "application/json"
"""A text part holding JSON (kept exact: protobuf data parts turn integers into floats)."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (anything else becomes its ``str``)."""
    return json.loads(json.dumps(value, default=str))
