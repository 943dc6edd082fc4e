"""Circuit breakers for remote agents: stop calling an agent that keeps failing.

A ``CircuitBreaker`` wraps any agent (an A2A agent, an HTTP worker, a mock for a
lesson) and is an agent itself, under the same name. It counts consecutive failed
calls; after ``failures`` of them it *opens*: calls fail at once with
``CircuitOpen`` (an ``AgentUnavailable``), so the attempt policy hands the task
straight to its fallback agent instead of waiting on a dead server. After
``cooldown_s`` the next call finds it *half-open*: one probe decides (the agent's
``health()`` when it has one, then the call itself); success closes it, failure
opens it for another cool-down.

Time is the run's clock (the clock the events are stamped with, ``toolkit.clock``),
so a simulated clock moves a cool-down on without waiting; an explicit ``clock``
overrides it (and is used outside runs). Every change of state is a
``breaker_changed`` trace event of the run whose call caused it; the agent's card
(``run_started``) carries the state a run starts with, so the views show it from the
first frame. The state lives in the wrapper, across the runs of one process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.agents import Agent, AgentUnavailable, Directive
from toolkit.events import BreakerChanged, BreakerState
from toolkit.session import current_session

if TYPE_CHECKING:
    from toolkit.clock import Clock
    from toolkit.session import AgentSession

__all__ = ["BreakerSpec", "CircuitBreaker", "CircuitOpen", "check_health"]


class CircuitOpen(AgentUnavailable):
    """A call refused by an open (or probing) circuit breaker, without trying the agent."""


class BreakerSpec(BaseModel):
    """A breaker's settings, as written in a workflow file (``breaker:`` of an agent)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    failures: int = Field(default=3, ge=1, le=1000)
    """Consecutive failed calls that open the circuit."""
    cooldown_s: float = Field(default=30.0, ge=0, le=86_400, allow_inf_nan=False)
    """How long the circuit stays open before a probe call is let through."""
    probe_health: bool = True
    """Probe with the agent's ``health()`` (when it has one) before the half-open call."""

    def wrap(self, agent: Any, *, clock: Clock | None = None) -> CircuitBreaker:
        """``agent`` behind a breaker with these settings."""
        return CircuitBreaker(
            agent,
            failures=self.failures,
            cooldown_s=self.cooldown_s,
            probe_health=self.probe_health,
            clock=clock,
        )


async def check_health(agent: Any) -> tuple[bool, str]:
    """Ask ``agent.health()`` (duck-typed: any agent may have one) what it says.

    ``health()`` may return a bool, an object with ``ok`` (and ``detail``), or a mapping
    with those keys; raising means unhealthy. An agent without ``health`` is healthy.

    Returns:
        (healthy, one line saying why).
    """
    probe = getattr(agent, "health", None)
    if probe is None:
        return True, "no health check"
    try:
        answer = await probe()
    except Exception as exc:
        return False, f"health check failed: {type(exc).__name__}: {exc}"
    if isinstance(answer, bool):
        return answer, "healthy" if answer else "unhealthy"
    if isinstance(answer, dict):
        ok, detail = bool(answer.get("ok")), str(answer.get("detail", ""))
    else:
        ok, detail = bool(getattr(answer, "ok", False)), str(getattr(answer, "detail", ""))
    return ok, detail or ("healthy" if ok else "unhealthy")


class CircuitBreaker(Agent):
    """An agent behind a circuit breaker (closed → open → half-open → closed).

    Args:
        agent: The agent to guard; its name, description and skills are this one's.
        failures: Consecutive failed calls (the agent raised) that open the circuit.
        cooldown_s: Seconds the circuit stays open before one probe is let through.
        probe_health: Probe with ``agent.health()`` first when half-open (if it has one).
        clock: Where time comes from; default: the running call's run clock, else the
            wall clock.

    A call that raises counts as a failure, whatever the reason (the server is gone,
    it answered with an error, the agent's own timeout fired); a call cancelled from
    outside (the task's ``timeout_s``, a cancelled run) counts neither way. Malformed
    output is the policy's business: the agent answered.
    """

    def __init__(
        self,
        agent: Any,
        *,
        failures: int = 3,
        cooldown_s: float = 30.0,
        probe_health: bool = True,
        clock: Clock | None = None,
    ) -> None:
        BreakerSpec(failures=failures, cooldown_s=cooldown_s)  # the same limits as in a file
        self.agent = agent
        self.name: str = agent.name
        self.description: str = getattr(agent, "description", "")
        self.skills: Sequence[str] = tuple(getattr(agent, "skills", ()))
        self.kind: str = getattr(agent, "kind", "agent")
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.probe_health = probe_health
        self.clock = clock
        self.state: BreakerState = "closed"
        """closed, open or half_open."""
        self.failures = 0
        """Consecutive failed calls so far."""
        self.opened_at: float | None = None
        """When the circuit last opened (the clock's time)."""
        self.last_error = ""
        """The last failure seen (one line)."""
        self._probing = False

    # -- the agent ---------------------------------------------------------------
    def card(self) -> dict[str, Any]:
        card = dict(self.agent.card()) if hasattr(self.agent, "card") else {}
        card.setdefault("kind", self.kind)
        card.setdefault("description", self.description)
        card.setdefault("skills", list(self.skills))
        card["breaker"] = {
            "state": self.state,
            "failures": self.failures,
            "threshold": self.threshold,
            "cooldown_s": self.cooldown_s,
        }
        return card

    def __getattr__(self, name: str) -> Any:
        # what else the guarded agent offers (its health check, url, aclose) stays
        # reachable, and only when it does offer it (``hasattr`` stays true to it)
        if name == "agent":
            raise AttributeError(name)
        return getattr(self.agent, name)

    async def run(self, directive: Directive) -> Any:
        session = current_session()
        probe = self._admit(session, directive)
        try:
            if probe and self.probe_health and hasattr(self.agent, "health"):
                ok, detail = await check_health(self.agent)
                if not ok:
                    self._failed(session, directive, f"probe {detail}")
                    raise CircuitOpen(self._refusal())
            result = await self.agent.run(directive)
        except CircuitOpen:
            raise
        except Exception as exc:
            self._failed(session, directive, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if probe:
                self._probing = False
        self._succeeded(session, directive)
        return result

    # -- the state machine ---------------------------------------------------------
    def _now(self, session: AgentSession | None) -> float:
        if self.clock is not None:
            return self.clock.now()
        if session is not None:
            return session.tracer.now()
        return time.time()

    def remaining_s(self, now: float) -> float:
        """Seconds of cool-down left at ``now`` (0 when not open)."""
        if self.state != "open" or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_s - now)

    def _refusal(self) -> str:
        why = f"{self.failures} consecutive failure(s)"
        if self.last_error:
            why += f", the last: {_line(self.last_error)}"
        return f"circuit open for agent {self.name!r} ({why}); not called"

    def _admit(self, session: AgentSession | None, directive: Directive) -> bool:
        """Let the call through (True: as the half-open probe), or raise ``CircuitOpen``."""
        if self.state == "closed":
            return False
        now = self._now(session)
        if self.state == "open":
            left = self.remaining_s(now)
            if left > 0:
                raise CircuitOpen(f"{self._refusal()}; next probe in {left:.3g}s")
            self._change(
                session, directive, "half_open", f"cool-down of {self.cooldown_s:g}s over: probing"
            )
        if self._probing:  # half-open: one probe at a time, the others are refused
            raise CircuitOpen(f"circuit half-open for agent {self.name!r}: a probe is in flight")
        self._probing = True
        return True

    def _failed(self, session: AgentSession | None, directive: Directive, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self.state == "half_open":
            self.opened_at = self._now(session)
            self._change(session, directive, "open", f"probe failed: {_line(error)}")
        elif self.state == "closed" and self.failures >= self.threshold:
            self.opened_at = self._now(session)
            self._change(
                session,
                directive,
                "open",
                f"{self.failures} consecutive failure(s), the last: {_line(error)}",
            )

    def _succeeded(self, session: AgentSession | None, directive: Directive) -> None:
        self.failures = 0
        self.last_error = ""
        if self.state != "closed":
            self._change(session, directive, "closed", "probe succeeded")

    def _change(
        self,
        session: AgentSession | None,
        directive: Directive,
        state: BreakerState,
        reason: str,
    ) -> None:
        previous, self.state = self.state, state
        if session is None:
            return
        session.tracer.emit(
            BreakerChanged,
            span_id=session.span_id,
            parent_span_id=session.parent_span_id,
            agent=self.name,
            state=state,
            previous=previous,
            reason=reason,
            failures=self.failures,
            task_id=directive.task_id,
        )

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.agent!r}, state={self.state!r})"


def _line(text: str, n: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= n else line[: n - 1] + "…"
