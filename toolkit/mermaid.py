"""A run as a Mermaid sequence diagram: who sent what to whom, for docs and pull requests.

GitHub, GitLab and most documentation sites render a fenced ``mermaid`` block, so a
diagram of a run can sit in a README or a pull request. Each participant is declared
once, in order of appearance, under a generated alias (``p0``, ``p1``, …); each
message is one arrow (``->>`` for a directive, ``-->>`` for a result, ``--x`` for an
error, ``-)`` for agent-to-agent messages), labelled with the one wording of
``toolkit.describe`` and the start of its payload; failures, retries, skips and review
verdicts are notes over the agent concerned.

**The escaping rule.** Names and message text come from agents, models and files, so
they are untrusted. Everything of theirs that reaches the diagram is a *label* (never
an alias, a keyword or an arrow), and in a label every character outside a small safe
set (ASCII letters and digits, space, and ``. , : _ ( ) / ' ? ! @ + = [ ]``; letters
and digits of other scripts) is written as Mermaid's numeric entity ``#NNN;``. So no
text can end its line (newlines, ``;``), open a comment (``%%``), start a directive
or an arrow (``-``, ``>``), close a Markdown fence (backticks), inject markup
(``<``, ``>``, ``&``, quotes) or hide and reorder what is shown (control, format and
bidirectional characters become visible entity codes too). Each label is cut to a bounded length before escaping.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from toolkit.describe import EventRoles, event_summary, message_tag, short
from toolkit.events import TraceEvent

__all__ = ["escape", "sequence_diagram"]

_SAFE_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:_()/'?!@+=[]"
)


def escape(text: str) -> str:
    """``text`` as a Mermaid label: every character outside the safe set as ``#NNN;``."""
    out = []
    for ch in text:
        if ch in _SAFE_ASCII or (ord(ch) > 127 and unicodedata.category(ch)[0] in "LN"):
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def _label(value: Any, limit: int) -> str:
    text = " ".join(short(value, limit).split())  # one line: whitespace runs become a space
    return escape(text)


_ARROWS = {
    "directive": "->>",
    "result": "-->>",
    "error": "--x",
    "a2a": "-)",
    "broadcast": "-)",
}


def sequence_diagram(
    events: Iterable[TraceEvent],
    *,
    width: int = 60,
    notes: bool = True,
    max_messages: int = 500,
    markdown: bool = False,
) -> str:
    """The Mermaid ``sequenceDiagram`` of a run's messages.

    Args:
        events: The run's events (any source's, in order).
        width: Characters of payload shown per arrow.
        notes: Add notes for failed attempts, retries, skipped tasks and review verdicts.
        max_messages: Arrows drawn at most (a note says how many more there were).
        markdown: Wrap the diagram in a fenced ``mermaid`` block.

    Returns:
        The diagram's text, ending with a newline.
    """
    events = list(events)
    roles = EventRoles()
    aliases: dict[str, str] = {}
    lines: list[str] = []
    declared: list[str] = []
    drawn = more = 0

    def alias(name: str) -> str:
        found = aliases.get(name)
        if found is None:
            found = aliases[name] = f"p{len(aliases)}"
            declared.append(f"    participant {found} as {_label(name, 60)}")
        return found

    for index, event in enumerate(events):
        if event.kind == "message_sent":
            look = roles.look(events, index)
            if drawn >= max_messages:
                more += 1
                continue
            env = event.envelope
            sender = alias(env.sender)
            tag = message_tag(env, look) if look is not None else env.kind
            text = f"{tag}: {short(env.payload, width)}"
            if env.recipient == "*":
                lines.append(
                    f"    Note over {sender}: {_label('to everyone: ' + text, width + 40)}"
                )
            else:
                recipient = alias(env.recipient)
                arrow = _ARROWS.get(env.kind, "->>")
                lines.append(f"    {sender}{arrow}{recipient}: {_label(text, width + 40)}")
            drawn += 1
        elif notes and event.kind in (
            "task_failed",
            "task_retried",
            "task_skipped",
            "review_verdict",
        ):
            who = event.reviewer if event.kind == "review_verdict" else event.agent
            lines.append(
                f"    Note over {alias(who)}: {_label(event_summary(event, width + 40), width + 40)}"
            )
    if more:
        lines.append(f"    Note over {alias('orchestrator')}: {more} more message(s) not drawn")
    body = ["sequenceDiagram", *declared, *lines]
    text = "\n".join(body) + "\n"
    return f"```mermaid\n{text}```\n" if markdown else text
