"""``kind: human`` in workflow files: an agent whose answers come from a person."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from toolkit.agents import Agent
from toolkit.workflow import AgentKind

__all__ = ["HumanSpec"]


class HumanSpec(AgentKind):
    """A person asked through the run (``toolkit.human.HumanAgent``).

    Example::

        agents:
          lead:
            kind: human
            person: alice
            mode: choose
            options: [ship, hold]
            deadline_s: 3600
            default: hold
    """

    kind: Literal["human"] = "human"
    person: str = Field(default="human", min_length=1, max_length=200)
    """Who is asked (the question's recipient in the message flow)."""
    mode: Literal["approve", "choose", "text"] = "approve"
    question: str = "{prompt}"
    """The question; ``{prompt}`` is the task's prompt."""
    options: list[str] = Field(default_factory=list)
    deadline_s: float | None = Field(default=None, gt=0, le=31_536_000, allow_inf_nan=False)
    """Seconds to wait for the answer (None: for ever)."""
    default: str | None = None
    """When the deadline passes: approve, reject, an option, fallback or fail."""

    @model_validator(mode="after")
    def _fits(self) -> HumanSpec:
        from toolkit.human import _default_problem

        if self.mode == "choose" and not self.options:
            raise ValueError("mode 'choose' needs options")
        problem = _default_problem(self.mode, self.options, self.default)
        if problem:
            raise ValueError(problem)
        return self

    def build(self, name: str) -> Agent:
        from toolkit.human import HumanAgent

        return HumanAgent(
            name,
            self.description,
            tuple(self.skills),
            person=self.person,
            mode=self.mode,
            question=self.question,
            options=self.options,
            deadline_s=self.deadline_s,
            default=self.default,
        )

    def stand_in(self, name: str) -> Agent:
        """Under ``--mock`` a person is still asked, unless a ``mock`` is given."""
        return self.build(name) if self.mock is None else super().stand_in(name)
