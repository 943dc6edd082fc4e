"""The attempt policy: how long an attempt may take, what follows a failed one, and
which replies count as output. Data and small pure functions, no I/O and no clock,
so a durable engine can apply the same rules.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.plan import Task

__all__ = ["AttemptPolicy", "Failure", "Next", "Usage", "check_output"]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt failed: ``error_type`` is exception, timeout, malformed, cancelled or
    unavailable (the agent refused the call without trying: its circuit breaker is open)."""

    error: str
    error_type: str

    def __str__(self) -> str:
        return self.error


@dataclass(slots=True)
class Usage:
    """Tokens and cost added up over a task's calls."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Next:
    """The attempt that follows a failed one."""

    agent: str
    delay_s: float
    fallback: bool


@dataclass(slots=True)
class AttemptPolicy:
    """A task's attempt rules, read once from the task and the run's defaults."""

    timeout_s: float | None
    """Time limit of each attempt (the task's own, else the run's default)."""
    retries: int
    backoff_s: float
    fallback: str | None
    output_format: str

    @classmethod
    def of(cls, task: Task, default_timeout_s: float | None) -> AttemptPolicy:
        """The policy of ``task``: the one place the attempt timeout is decided."""
        timeout = task.timeout_s if task.timeout_s is not None else default_timeout_s
        return cls(timeout, task.retries, task.backoff_s, task.fallback, task.output_format)

    def after_failure(
        self, agent: str, retried: int, fallback_used: bool, error_type: str = "exception"
    ) -> Next | None:
        """What follows a failed attempt of ``agent``, after ``retried`` retries so far.

        Retries (with a delay doubling from ``backoff_s``) come first, then one attempt
        on the fallback agent; None means the task has failed for good. An ``unavailable``
        agent (its circuit is open) goes straight to the fallback when there is one.
        """
        can_fall_back = self.fallback is not None and self.fallback != agent and not fallback_used
        if error_type == "unavailable" and can_fall_back:
            return Next(self.fallback, 0.0, True)  # type: ignore[arg-type]
        if retried < self.retries:
            return Next(agent, self.backoff_s * (2**retried), False)
        if can_fall_back:
            return Next(self.fallback, 0.0, True)  # type: ignore[arg-type]
        return None


def check_output(output: Any, output_format: str) -> Any:
    """The output an agent's reply stands for, or the ``malformed`` ``Failure`` it is.

    Nothing (None, empty or blank text), bytes and non-finite numbers are malformed;
    with ``output_format="json"`` text must parse as JSON (and is returned parsed).
    """
    if type(output) is str and output_format == "text":  # the common case, checked first
        if output and not output.isspace():
            return output
        return Failure("malformed output: the agent returned nothing", "malformed")
    if output is None or (isinstance(output, str) and (not output or output.isspace())):
        return Failure("malformed output: the agent returned nothing", "malformed")
    if isinstance(output, bytes):
        return Failure("malformed output: the agent returned bytes, not text or JSON", "malformed")
    if output_format == "json" and isinstance(output, str):
        try:
            return json.loads(output)
        except json.JSONDecodeError as exc:
            return Failure(
                f"malformed output: not valid JSON ({exc.msg} at char {exc.pos}): {output[:80]!r}",
                "malformed",
            )
    if isinstance(output, float) and not math.isfinite(output):
        return Failure("malformed output: a non-finite number", "malformed")
    return output
