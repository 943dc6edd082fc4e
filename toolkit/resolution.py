"""Conflict resolution as a pattern: agents take positions, a resolver decides.

The plan is ordinary data the scheduler runs (``patterns.conflict``): one task per
agent asked the same question, side by side, then one ``resolve`` task on a
``Resolver`` agent that reads their answers from its context. The resolver records
the disagreement as a ``conflict`` event (every position, with its confidence) and
its decision as a ``resolution`` event (the winning answer, whose positions won, the
tally, who decided and why), so the views draw both and the per-agent metrics count
how often each agent's position won (``won``).

Strategies:
    ``vote``: the answer most agents gave; a tie goes to the ``tie_breaker`` (an agent
        whose position wins ties; by default the first agent of the plan).
    ``weighted``: the answer with the largest summed confidence (an agent that gives
        none counts 1.0); ties as for ``vote``.
    ``judge``: a judge agent reads every position and names the winner.
    ``human``: a person decides: the judge is a ``toolkit.human.HumanAgent``, asked to
        choose one of the agents whose positions are listed in the question.
An ``escalate_to`` agent (a judge) can take over when a vote is tied instead of the
tie-breaker.

A position is an agent's output: a mapping with ``answer`` (or ``position`` or
``choice``), ``confidence`` and ``rationale``; or text, where lines ``ANSWER: ...``
and ``CONFIDENCE: 0.8`` are read when present and the whole text is the answer
otherwise. Answers are compared with case and surrounding space ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from toolkit.agents import Agent, AgentError, Directive, Reply
from toolkit.events import ConflictRaised, ConflictResolved

__all__ = ["STRATEGIES", "Position", "Resolver", "Strategy", "read_position", "tally"]

Strategy = Literal["vote", "weighted", "judge", "human"]
STRATEGIES: tuple[str, ...] = ("vote", "weighted", "judge", "human")

POSITIONS_META = "positions"
"""The resolve task's ``meta`` key naming each position's task and agent."""

_LINE = re.compile(r"^\s*(answer|position|choice|confidence|rationale)\s*:\s*(.*)$", re.I | re.M)


@dataclass(frozen=True)
class Position:
    """One agent's side of a conflict."""

    agent: str
    answer: str
    confidence: float | None = None
    rationale: str = ""

    @property
    def key(self) -> str:
        """The answer as compared: case and surrounding space ignored."""
        return " ".join(self.answer.split()).casefold()

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "answer": self.answer,
            "confidence": self.confidence,
            "rationale": self.rationale,
        }


def _confidence(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


def read_position(agent: str, output: Any) -> Position:
    """An agent's output read as a position (see the module's docstring)."""
    if isinstance(output, Reply):
        output = output.output
    if isinstance(output, Mapping):
        answer = next((output[k] for k in ("answer", "position", "choice") if k in output), None)
        return Position(
            agent,
            str(answer if answer is not None else output),
            _confidence(output.get("confidence")),
            str(output.get("rationale", output.get("reason", ""))),
        )
    text = str(output) if output is not None else ""
    fields = {m.group(1).lower(): m.group(2).strip() for m in _LINE.finditer(text)}
    answer = fields.get("answer") or fields.get("position") or fields.get("choice")
    return Position(
        agent,
        answer if answer else text.strip(),
        _confidence(fields.get("confidence")),
        fields.get("rationale", ""),
    )


def tally(positions: Sequence[Position], weighted: bool) -> dict[str, float]:
    """Votes (or summed confidence) per answer key, in order of first appearance."""
    counts: dict[str, float] = {}
    for p in positions:
        weight = (p.confidence if p.confidence is not None else 1.0) if weighted else 1.0
        counts[p.key] = counts.get(p.key, 0.0) + weight
    return counts


class Resolver(Agent):
    """Decides a conflict between the positions in its context (see the module docstring).

    Args:
        name: The resolver's name in the plan.
        strategy: ``vote``, ``weighted``, ``judge`` or ``human``.
        tie_breaker: The agent whose position wins a tie (default: the first position).
        judge: The agent that decides (``judge``), or takes over a tie (``escalate_to``).
        escalate_to: Call ``judge`` instead of the tie-breaker when a vote is tied.
    """

    kind = "resolver"

    def __init__(
        self,
        name: str = "resolver",
        *,
        strategy: Strategy = "vote",
        tie_breaker: str | None = None,
        judge: Agent | None = None,
        escalate_to: bool = False,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
        if strategy == "human":
            from toolkit.human import HumanAgent

            if not isinstance(judge, HumanAgent):
                raise ValueError(
                    "strategy 'human' needs a human agent as its judge (toolkit.human.HumanAgent)"
                )
        if (strategy == "judge" or escalate_to) and judge is None:
            raise ValueError(f"strategy {strategy!r} needs a judge agent")
        self.name = name
        self.description = f"resolves conflicts between agents ({strategy})"
        self.skills = ("resolve", strategy)
        self.strategy = strategy
        self.tie_breaker = tie_breaker
        self.judge = judge
        self.escalate_to = escalate_to
        self.simulated_time = judge is None or getattr(judge, "simulated_time", False) is True

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["strategy"] = self.strategy
        return card

    async def run(self, directive: Directive) -> Any:
        named = directive.meta.get(POSITIONS_META)
        if not isinstance(named, Mapping) or not named:
            raise AgentError("a resolver needs the positions' tasks in its task's meta")
        positions = [
            read_position(str(agent), directive.context.get(task_id))
            for task_id, agent in named.items()
            if task_id in directive.context
        ]
        if not positions:
            raise AgentError("no position arrived: every position task failed")
        session = directive.session if directive.in_run else None
        if session is not None:
            session.tracer.emit(
                ConflictRaised,
                span_id=session.tracer.ids.span_id(),
                parent_span_id=session.span_id,
                task_id=directive.task_id,
                question=directive.goal or "",
                positions=[p.as_dict() for p in positions],
                strategy=self.strategy,
            )
        if self.strategy == "judge":
            assert self.judge is not None
            key, reason = await self._ask_judge(directive, positions)
            counts = tally(positions, weighted=False)
            decided_by, how = self.judge.name, "judge"
        elif self.strategy == "human":
            key, reason, decided_by = await self._ask_person(directive, positions)
            counts = tally(positions, weighted=False)
            how = "human"
        else:
            counts = tally(positions, weighted=self.strategy == "weighted")
            best = max(counts.values())
            leaders = [k for k, v in counts.items() if v == best]
            noun = "confidence" if self.strategy == "weighted" else "votes"
            if len(leaders) == 1:
                key, decided_by, how = leaders[0], self.name, self.strategy
                reason = f"{_num(best)} of {_num(sum(counts.values()))} {noun}"
            elif self.escalate_to:
                assert self.judge is not None
                tied = [p for p in positions if p.key in leaders]
                key, reason = await self._ask_judge(directive, tied)
                decided_by, how = self.judge.name, "judge"
                reason = f"tied at {_num(best)} {noun}; the judge chose: {reason}"
            else:
                key, decided_by = self._break_tie(positions, leaders)
                how = "tie-breaker"
                reason = f"tied at {_num(best)} {noun}; {decided_by}'s position breaks the tie"
        winners = [p.agent for p in positions if p.key == key]
        answer = next(p.answer for p in positions if p.key == key)
        if session is not None:
            session.tracer.emit(
                ConflictResolved,
                span_id=session.tracer.ids.span_id(),
                parent_span_id=session.span_id,
                task_id=directive.task_id,
                strategy=how,
                answer=answer,
                winners=winners,
                decided_by=decided_by,
                tally={
                    next(p.answer for p in positions if p.key == k): v for k, v in counts.items()
                },
                reason=reason,
            )
        return answer

    async def _ask_person(
        self, directive: Directive, positions: Sequence[Position]
    ) -> tuple[str, str, str]:
        """A person's pick among ``positions``: (key, reason, who decided).

        The judge is asked to choose one of the agents for this question only
        (``HumanAgent.ask``): the agent's own mode, options and default stay as they are.
        """
        from toolkit.human import HumanAgent

        judge = self.judge
        assert isinstance(judge, HumanAgent)
        options = list(dict.fromkeys(p.agent for p in positions))
        default = judge.default if judge.default in (*options, "fallback", "fail") else None
        ask = _judge_directive(
            directive,
            judge.name,
            positions,
            "Choose the agent whose position should win.",
            confidence=False,
        )
        chosen = str(await judge.ask(ask, mode="choose", options=options, default=default))
        key = next(p.key for p in positions if p.agent == chosen)
        return key, f"{judge.person} chose {chosen}'s position", judge.person

    def _break_tie(self, positions: Sequence[Position], leaders: list[str]) -> tuple[str, str]:
        if self.tie_breaker is not None:
            for p in positions:
                if p.agent == self.tie_breaker and p.key in leaders:
                    return p.key, p.agent
        first = next(p for p in positions if p.key in leaders)  # the plan's order
        return first.key, first.agent

    async def _ask_judge(
        self, directive: Directive, positions: Sequence[Position]
    ) -> tuple[str, str]:
        """The judge's pick among ``positions`` (a key) and its words."""
        judge = self.judge
        assert judge is not None
        ask = _judge_directive(
            directive,
            judge.name,
            positions,
            "Answer with the number or the agent of the position that should win, and why.",
            confidence=True,
        )
        prompt = ask.prompt
        session = directive.session if directive.in_run else None
        sent = None
        if session is not None:
            sent = session.tracer.message(
                self.name,
                judge.name,
                "directive",
                prompt,
                span_id=session.span_id,
                conversation_id=session.parent_span_id or session.span_id,
                task_id=directive.task_id,
            )
        verdict = await judge.run(ask)
        text = str(verdict.output if isinstance(verdict, Reply) else verdict)
        if session is not None and sent is not None:
            session.tracer.message(
                judge.name,
                self.name,
                "result",
                text,
                span_id=session.span_id,
                conversation_id=session.parent_span_id or session.span_id,
                parent_id=sent.message_id,
                task_id=directive.task_id,
            )
        return _pick(text, positions), " ".join(text.split())[:200]


def _judge_directive(
    directive: Directive,
    judge: str,
    positions: Sequence[Position],
    instruction: str,
    *,
    confidence: bool,
) -> Directive:
    """The directive that asks ``judge`` (an agent or a person) to decide between the
    numbered ``positions``: the question, each position (with its confidence when
    ``confidence``), ``instruction``; the positions by agent as its context."""
    listing = "\n".join(
        f"{i}. {p.agent}: {p.answer}"
        + (f" (confidence {p.confidence:g})" if confidence and p.confidence is not None else "")
        for i, p in enumerate(positions, 1)
    )
    prompt = (
        f"Agents disagree on: {directive.goal or directive.prompt}\n\n{listing}\n\n{instruction}"
    )
    return directive.model_copy(
        update={"agent": judge, "prompt": prompt, "context": {p.agent: p.answer for p in positions}}
    )


def _pick(text: str, positions: Sequence[Position]) -> str:
    """Which position a judge's words name: a number, an agent, or an answer; else the first."""
    number = re.search(r"\b(\d+)\b", text)
    if number and 1 <= int(number.group(1)) <= len(positions):
        return positions[int(number.group(1)) - 1].key
    lowered = text.casefold()
    for p in positions:
        if p.agent.casefold() in lowered:
            return p.key
    for p in positions:
        if p.key and p.key in lowered:
            return p.key
    raise AgentError(f"the judge named no position: {text[:120]!r}")


def _num(value: float) -> str:
    return f"{value:g}"
