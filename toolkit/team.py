"""Teams as agents: an orchestrator with its agents and plan (or planner), used as one
agent of another orchestrator (hierarchical delegation).

A ``TeamAgent`` runs its team as a *child run* for each directive: a run of its own
(its own run id and ``seq``) whose events go to the parent run's outlet, so they are
recorded in the same trace file and store and reach the same live views. The child's
``run_started`` names the parent run, the parent task and the team in ``meta``
(``parent_run``, ``parent_task``, ``team``); the child shares the parent's trace id, and
its run span sits under the span of the parent's attempt, so the whole hierarchy is one
trace tree. The fold (``toolkit.state``) keeps each child apart in
``RunState.children``.

Across the boundary: cancelling the parent (or a time limit on the parent's task)
cancels the child, which records ``cancelled``; a child that fails makes the attempt
fail with the child's reason (``AgentError``), so the parent's retries and fallbacks
apply; the child's token and cost totals come back as the reply's usage.

Resuming the parent (``Orchestrator.resume``, ``switchboard resume``) resumes its
unfinished children: for a team's task that runs again, the child run it left
interrupted goes on under the same child run id with its finished tasks kept
(``toolkit.durable.resume_children`` hands it to the team agent), and a child that had
succeeded before the parent recorded its task answers with its recorded output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.agents import Agent, AgentError, Directive, Reply
from toolkit.events import TraceEvent
from toolkit.session import current_session
from toolkit.tracing import Outlet, Tracer

if TYPE_CHECKING:
    from toolkit.durable import ChildResume
    from toolkit.orchestrator import Orchestrator
    from toolkit.plan import Plan
    from toolkit.run import Run
    from toolkit.state import RunState

__all__ = ["ChildOutlet", "TeamAgent"]


class ChildOutlet:
    """A child run's outlet: each event is kept for the child's result and handed to
    the parent run's outlet. Events on the child's run span get the parent's attempt
    span as their parent (the child's tree hangs under the parent task). Closing it
    closes nothing: the parent's sinks belong to the parent run."""

    __slots__ = ("_publish", "events", "parent_span")

    def __init__(self, parent: Outlet, parent_span: str | None) -> None:
        self._publish = parent.publish
        self.parent_span = parent_span
        self.events: list[TraceEvent] = []

    def publish(self, event: TraceEvent) -> None:
        if event.parent_span_id is None and self.parent_span is not None:
            event = event.model_copy(update={"parent_span_id": self.parent_span})
        self.events.append(event)
        self._publish(event)

    def close(self) -> list[str]:
        return []


class TeamAgent(Agent):
    """A team (an ``Orchestrator`` and a plan, or its planner) as one agent.

    Each call runs the team as a child run on the directive's prompt and answers with
    the child's output.

    Args:
        name: The agent's name in the parent orchestrator.
        orchestrator: The team's orchestrator (its agents, planner, limits, clock).
        plan: The team's plan; None lets the team's planner plan each request.
        description: What the team does (default: the plan's name and its agents).
        skills: The team's skills (default: its agents' skills).
    """

    kind = "team"

    def __init__(
        self,
        name: str,
        orchestrator: Orchestrator,
        plan: Plan | None = None,
        *,
        description: str = "",
        skills: list[str] | None = None,
    ) -> None:
        if plan is not None:
            plan.validate_for(orchestrator.agents)
        self.name = name
        self.orchestrator = orchestrator
        self.plan = plan
        members = ", ".join(orchestrator.agents)
        self.description = description or f"a team of {members}"
        self.skills = (
            skills
            if skills is not None
            else sorted({s for a in orchestrator.agents.values() for s in a.skills})
        )
        self.simulated_time = all(
            getattr(a, "simulated_time", False) for a in orchestrator.agents.values()
        )
        self.runs: list[Run] = []
        """Every child run this team has made, in order (the last is the latest)."""
        self.resuming: dict[tuple[str, str], ChildResume] = {}
        """(parent run, parent task) -> the stored child run a resumed parent takes up
        again for that task (set by ``toolkit.durable.resume_children``)."""

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["members"] = list(self.orchestrator.agents)
        if self.plan is not None:
            card["plan"] = self.plan.name
        return card

    def prepare(self, directive: Directive, resume: ChildResume | None = None) -> Run:
        """The child run for ``directive``, tied to the current agent call's run; with
        ``resume``, the stored interrupted child run going on under its own run id."""
        from toolkit.run import Run

        orch, session = self.orchestrator, current_session()
        carry = resume.carry if resume is not None else None
        if carry is not None:
            plan: Plan | None = carry.plan
        else:
            plan = self.plan.model_copy(deep=True) if self.plan is not None else None
        deps = plan.validate_for(orch.agents) if plan is not None else None
        ids = orch.ids()
        if session is None:  # called on its own: a run of its own
            tracer = Tracer(
                ids.run_id(), ids.trace_id(), orch.sinks, ids=ids, clock=orch.clock,
                redact=orch.redact_secrets,
            )  # fmt: skip
        else:
            parent = session.tracer
            tracer = Tracer(
                carry.run_id if carry is not None else ids.run_id(),
                parent.trace_id,
                ids=ids,
                clock=orch.clock,
                outlet=ChildOutlet(parent.outlet, session.span_id),
                redact=orch.redact_secrets,
            )
        seed = directive.seed if directive.seed is not None else orch.seed
        if resume is not None and carry is not None and resume.stored is not None:
            stored = resume.stored
            run = Run(
                orch, stored.started.request, plan, stored.started.name, tracer,
                seed=stored.started.seed, deps=deps, carry=carry,
            )  # fmt: skip
            resume.store.prime(carry.run_id, stored.state)
            run.meta = dict(stored.started.meta)
        else:
            run = Run(orch, directive.prompt, plan, None, tracer, seed=seed, deps=deps)
            if session is not None:
                run.meta = {
                    "parent_run": session.tracer.run_id,
                    "parent_task": session.task_id,
                    "team": self.name,
                    "attempt": directive.attempt,
                }
        self.runs.append(run)
        return run

    def _resumed(self, directive: Directive) -> ChildResume | None:
        """The stored child run to take up again for this call: the parent resumed with
        one for its task, and the request is the one that child was asked."""
        session = current_session()
        if session is None or session.task_id is None:
            return None
        pending = self.resuming.pop((session.tracer.run_id, session.task_id), None)
        if pending is None or pending.stored is None:
            return None
        if pending.stored.started.request != directive.prompt:
            return None  # another request (a review round's feedback): a child afresh
        return pending

    async def run(self, directive: Directive) -> Reply:
        resume = self._resumed(directive) if self.resuming else None
        if resume is not None and resume.carry is None and resume.stored is not None:
            # the child succeeded before the parent recorded its task: its answer stands
            done = resume.stored.state
            return Reply(
                output=done.output,
                tokens_in=done.tokens_in,
                tokens_out=done.tokens_out,
                cost_usd=done.cost_usd,
                meta={"run_id": resume.run_id, "resumed": True},
            )
        child = self.prepare(directive, resume)
        outlet = child.tracer.outlet
        result = await child.execute()  # cancelled with the caller: the child records it
        if isinstance(outlet, ChildOutlet):
            result.events = outlet.events
        if result.status != "succeeded":
            raise AgentError(f"team {self.name} {result.status}: {_reason(result.state)}")
        state = result.state
        return Reply(
            output=result.output,
            tokens_in=state.tokens_in,
            tokens_out=state.tokens_out,
            cost_usd=state.cost_usd,
            meta={"run_id": result.run_id},
        )


def _reason(state: RunState) -> str:
    """Why a team's run did not succeed: its error, and the error of the first of its
    tasks that failed (a team inside it names its own the same way, so the reason
    reads down to the task that failed first)."""
    reason = state.error or state.status
    failed = next((t for t in state.tasks.values() if t.status == "failed" and t.error), None)
    if failed is not None and failed.error is not None:
        cause = failed.error.removeprefix("AgentError: ")
        reason = f"{reason} ({failed.id}: {cause})"
    return reason
