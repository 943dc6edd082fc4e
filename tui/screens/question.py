"""The question modal (``a``): a person answers a human agent's question, keyboard only.

It shows the question, who asks whom, the task's context and the choices: approve or
reject, the options, or a text field. Up/down pick, tab moves to the comment (or the
text), enter answers, escape closes without answering. The screen only collects the
answer (an ``Answer``, validated by the core); the main screen delivers it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from toolkit.human import Answer, Question
from toolkit.text import clip, safe_line, sanitize

__all__ = ["QuestionScreen"]

_APPROVE = ("approve", "reject")


class QuestionScreen(ModalScreen[Answer | None]):
    """One open question and the fields to answer it; dismissed with the answer (or None)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Close without answering"),
        Binding("ctrl+s", "submit", "Answer", show=False),
    ]

    CSS_PATH = "question.tcss"

    def __init__(self, question: Question, by: str = "human") -> None:
        super().__init__()
        self.question = question
        self.by = by

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical(id="question"):
            yield Static(
                Text(safe_line(f"{q.agent} asks {q.person} ({q.task_id})", 200), style="bold"),
                id="question-title",
            )
            yield Static(Text(sanitize(clip(q.text, 4000))), id="question-text")
            if q.context:
                lines = [
                    safe_line(f"{key}: {value}", 200) for key, value in list(q.context.items())[:8]
                ]
                yield Static(Text("\n".join(lines), style="dim"), id="question-context")
            if q.mode != "text":
                choices = list(_APPROVE) if q.mode == "approve" else q.options
                yield OptionList(*[safe_line(c, 200) for c in choices], id="question-choices")
            placeholder = "your answer (enter sends)" if q.mode == "text" else "comment (optional)"
            yield Input(placeholder=placeholder, id="question-input", max_length=10_000)
            yield Static(
                Text("↑↓ pick · tab comment · enter answer · esc close", style="dim"),
                id="question-keys",
            )

    def on_mount(self) -> None:
        if self.question.mode == "text":
            self.query_one(Input).focus()
        else:
            choices = self.query_one(OptionList)
            choices.highlighted = 0
            choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        answer = self.answer()
        if answer is not None:
            self.dismiss(answer)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def answer(self) -> Answer | None:
        """The answer the fields hold, or None (with a notice) when it is not complete."""
        q, typed = self.question, self.query_one(Input).value
        fields: dict[str, Any] = {"by": self.by, "via": "tui"}
        if q.mode == "text":
            if not typed.strip():
                self.notify("write an answer first", severity="warning")
                return None
            fields["text"] = typed
        else:
            index = self.query_one(OptionList).highlighted
            if index is None:
                self.notify("pick one first", severity="warning")
                return None
            fields["comment"] = typed
            if q.mode == "approve":
                fields["approve"] = index == 0
            else:
                fields["choice"] = q.options[index]
        return Answer.model_validate(fields)
