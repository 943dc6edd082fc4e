"""The orchestrator: request → plan → scheduled agent calls → synthesized answer, all traced.

``Orchestrator`` holds the agents and the run-wide settings and makes ``Run``s. The
run itself (``toolkit.run``) composes the parts of the engine, each behind a small
interface: the pure ``Scheduler`` (``toolkit.scheduler``), the attempt policy
(``toolkit.policy``: timeouts, retries with backoff, fallback, output checks), the
review loop (``toolkit.review``), the ``Executor`` that performs agent calls
(``toolkit.executor``, in process by default), and the injected clock
(``toolkit.clock``), id source (``toolkit.ids``), bus (``toolkit.bus``) and event
outlet (``toolkit.tracing``).

Every step is a trace event handed to the sinks as it happens; a run that fails or is
cancelled still ends with ``run_finished`` and closed sinks, so its trace is complete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from toolkit.agents import Agent
from toolkit.bus import BusFactory, MessageBus
from toolkit.clock import Clock, ClockName, clock_named, is_simulated
from toolkit.events import TraceEvent
from toolkit.executor import Executor, InProcessExecutor
from toolkit.ids import IdSource, RandomIds
from toolkit.plan import Plan, reserved_name_problem
from toolkit.review import as_text
from toolkit.run import Run, RunResult
from toolkit.tracing import CallbackSink, Outlet, Sink, Tracer

if TYPE_CHECKING:
    from toolkit.durable import Carryover
    from toolkit.session import AgentSession

__all__ = [
    "Orchestrator",
    "Planner",
    "Run",
    "RunResult",
    "Synthesizer",
    "default_synthesizer",
]


class Planner(Protocol):
    """Turns a request into a plan for the given agents.

    ``session`` is the planner's link to the run (its model calls and notes are traced
    through it, as the ``planner``); a planner that needs none ignores it.
    """

    name: str

    async def plan(
        self, request: str, agents: Sequence[Agent], session: AgentSession | None = None
    ) -> Plan: ...


class Synthesizer(Protocol):
    """Makes the run's answer from the tasks' results."""

    async def __call__(
        self, request: str, plan: Plan, results: Mapping[str, Any], session: AgentSession
    ) -> Any: ...


async def default_synthesizer(
    request: str, plan: Plan, results: Mapping[str, Any], session: AgentSession
) -> Any:
    """The sink tasks' outputs (``synthesize: last``) or every output (``all``).

    One output is the answer as it is; several are joined under ``## <task id>`` headings.
    """
    if plan.synthesize == "none":
        return None
    ids = plan.sinks() if plan.synthesize == "last" else [t.id for t in plan.tasks]
    outputs = [(i, results[i]) for i in ids if i in results]
    if len(outputs) == 1:
        return outputs[0][1]
    return "\n\n".join(f"## {i}\n{as_text(v)}" for i, v in outputs)


class Orchestrator:
    """Runs agents over plans and traces every step.

    Args:
        agents: The agents it may use (names must be unique).
        planner: Turns a bare request into a plan; default: a ``RuleBasedPlanner``.
        synthesizer: Makes the answer from the results; default: ``default_synthesizer``.
        concurrency: At most this many tasks run at once.
        seed: Seed for mock agents, so a run's content is reproducible (never its
            identity: every run gets a new run id).
        sinks: Consumers of every run's events (recorders, live views).
        default_timeout_s: Attempt time limit for tasks that set none.
        fail_fast: Cancel the remaining tasks when one fails for good.
        executor: Performs agent calls (default: ``InProcessExecutor`` over ``agents``).
        clock: The runs' time (default: the real clock).
        ids: Makes each run's id source (default: ``RandomIds``).
        bus: Makes each run's message bus (default: ``MessageBus``).
        outlet: Makes each run's event outlet from its sinks and ``keep_events``
            (default: ``SinkOutlet``).
        redact_secrets: Mask well-known key shapes (``sk-…``, ``AKIA…``, ``ghp_…``,
            bearer tokens, ``user:pass@`` in URLs, …) in every event before any sink
            sees it, whoever typed them; agents still get their input unchanged.
    """

    def __init__(
        self,
        agents: Iterable[Agent] = (),
        *,
        planner: Planner | None = None,
        synthesizer: Synthesizer | None = None,
        concurrency: int = 16,
        seed: int | None = None,
        sinks: Iterable[Sink] = (),
        default_timeout_s: float | None = None,
        fail_fast: bool = False,
        executor: Executor | None = None,
        clock: Clock | ClockName | None = None,
        ids: Callable[[], IdSource] | None = None,
        bus: BusFactory | None = None,
        outlet: Callable[[list[Sink], bool], Outlet] | None = None,
        redact_secrets: bool = True,
    ) -> None:
        self.agents: dict[str, Agent] = {}
        for agent in agents:
            self.add(agent)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.planner = planner
        self.synthesizer = synthesizer or default_synthesizer
        self.concurrency = concurrency
        self.seed = seed
        self.sinks: list[Sink] = list(sinks)
        self.default_timeout_s = default_timeout_s
        self.fail_fast = fail_fast
        self.redact_secrets = redact_secrets
        self.executor: Executor = executor or InProcessExecutor(self.agents)
        self.clock: Clock = clock_named(clock)
        self.ids: Callable[[], IdSource] = ids or RandomIds
        self.bus: BusFactory = bus or MessageBus
        self.outlet = outlet

    def subscribe(self, sink: Sink) -> Callable[[], None]:
        """Give ``sink`` the events of every run prepared from now on (a live view, a recorder).

        Subscribing the same sink twice gives it each event once.

        Returns:
            A function that unsubscribes it again (runs already prepared keep it).
        """
        if sink not in self.sinks:
            self.sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self.sinks:
                self.sinks.remove(sink)

        return unsubscribe

    def add(self, agent: Agent) -> Agent:
        """Register an agent; its name must be new."""
        if agent.name in self.agents:
            raise ValueError(f"an agent named {agent.name!r} is already registered")
        if (reserved := reserved_name_problem(agent.name)) is not None:
            raise ValueError(reserved)
        self.agents[agent.name] = agent
        return agent

    def prepare(
        self,
        request: str = "",
        plan: Plan | None = None,
        *,
        name: str | None = None,
        sinks: Iterable[Sink] = (),
        trace: str | Path | None = None,
        store: str | Path | Any | None = None,
        on_event: Callable[[TraceEvent], Any] | None = None,
        seed: int | None = None,
        keep_events: bool = True,
        carry: Carryover | None = None,
    ) -> Run:
        """Make a ``Run`` that can be executed once and cancelled.

        Args:
            request: The user's request; fills ``{{input}}``.
            plan: The plan; when None the planner makes one from the request.
            name: The run's name (default: the plan's name).
            sinks: Extra consumers of this run's events.
            trace: A JSONL file to record the run to.
            store: A SQLite run store (path or ``RunStore``) to record the run to.
            on_event: A function called with every event.
            seed: Overrides the orchestrator's seed for this run.
            keep_events: Keep events in memory for the result (off for huge runs).
            carry: What the run takes over from a stored one (made by ``prepare_resume``
                and ``prepare_rerun``; a resumed run keeps its run id and trace).

        Raises:
            PlanError: when the plan cannot run (unknown agents, cycles, …).
        """
        checked = plan.check_for(self.agents) if plan is not None else None
        if is_simulated(self.clock):
            check_simulatable(self.agents.values(), self.planner)
        all_sinks = [*self.sinks, *sinks]
        trace_path = None
        if trace is not None:
            from toolkit.recorder import JsonlRecorder

            trace_path = Path(trace)
            all_sinks.append(JsonlRecorder(trace_path))
        if store is not None:
            from toolkit.store import RunStore

            all_sinks.append(store if isinstance(store, RunStore) else RunStore(store))
        if on_event is not None:
            all_sinks.append(CallbackSink(on_event))
        ids = self.ids()
        if carry is not None and carry.resumed:  # the same run goes on
            run_id, trace_id = carry.run_id, carry.trace_id
        else:
            run_id, trace_id = ids.run_id(), ids.trace_id()
        tracer = Tracer(
            run_id,
            trace_id,
            ids=ids,
            clock=self.clock,
            outlet=self.outlet(all_sinks, keep_events) if self.outlet else None,
            sinks=all_sinks,
            keep=keep_events,
            redact=self.redact_secrets,
        )
        return Run(
            self,
            request,
            plan,
            name,
            tracer,
            trace_path=trace_path,
            seed=self.seed if seed is None else seed,
            checked=checked,  # the scheduler need not parse the plan again, nor the run dump it
            carry=carry,
        )

    def prepare_resume(
        self,
        run_id: str,
        *,
        store: str | Path | Any,
        plan: Plan | None = None,
        force: bool = False,
        **options: Any,
    ) -> Run:
        """Make a ``Run`` that continues an interrupted stored run (see ``resume``).

        Raises:
            ResumeError: when the run cannot be resumed (it ended, its process still
                runs, or its plan or agents differ and ``force`` is off).
        """
        from toolkit.durable import prepare_resume

        return prepare_resume(self, run_id, store=store, plan=plan, force=force, **options)

    async def resume(
        self,
        run_id: str,
        *,
        store: str | Path | Any,
        plan: Plan | None = None,
        force: bool = False,
        **options: Any,
    ) -> RunResult:
        """Continue a run whose process died, from what the store holds.

        Finished tasks are not run again (their stored results feed their dependents);
        unfinished ones start afresh, their attempt numbers going on; the trace goes on
        under the same run id, from the next seq, with a ``run_resumed`` event first.

        Args:
            run_id: The interrupted run.
            store: Its run store (path or ``RunStore``); the continuation is recorded there.
            plan: The plan it started from (default: the plan the store recorded).
            force: Resume even when the plan or the agents differ from the stored ones.
            options: As for ``prepare`` (``trace``, ``sinks``, ``on_event``, …).
        """
        return await self.prepare_resume(
            run_id, store=store, plan=plan, force=force, **options
        ).execute()

    def prepare_rerun(
        self,
        run_id: str,
        from_task: str,
        *,
        store: str | Path | Any,
        plan: Plan | None = None,
        edits: dict[str, str] | None = None,
        **options: Any,
    ) -> Run:
        """Make a new ``Run`` that re-executes ``from_task`` and its dependents (see ``rerun``)."""
        from toolkit.durable import prepare_rerun

        return prepare_rerun(
            self, run_id, from_task, store=store, plan=plan, edits=edits, **options
        )

    async def rerun(
        self,
        run_id: str,
        from_task: str,
        *,
        store: str | Path | Any,
        plan: Plan | None = None,
        edits: dict[str, str] | None = None,
        **options: Any,
    ) -> RunResult:
        """A new run that reuses the stored results of everything not downstream of
        ``from_task`` and executes ``from_task`` and what depends on it.

        No agent is called for a reused task. The new run records that it was forked
        from ``run_id`` at ``from_task`` (a ``run_forked`` event; ``switchboard runs``
        shows the link).

        Args:
            run_id: The stored run to start from.
            from_task: The first task executed again.
            store: The run store holding ``run_id``; the new run is recorded there too.
            plan: The plan (default: the stored run's).
            edits: Changes for the re-run: ``{"TASK.prompt": "...", "TASK.agent": "..."}``
                (any task field of a re-run task).
            options: As for ``prepare`` (``seed``, ``trace``, ``sinks``, …).
        """
        return await self.prepare_rerun(
            run_id, from_task, store=store, plan=plan, edits=edits, **options
        ).execute()

    async def aclose(self) -> None:
        """Release the executor's resources (connections, workers)."""
        await self.executor.aclose()

    async def run(self, request: str = "", plan: Plan | None = None, **options: Any) -> RunResult:
        """Run a request or a plan and wait for the result (see ``prepare`` for options)."""
        return await self.prepare(request, plan, **options).execute()

    def run_sync(self, request: str = "", plan: Plan | None = None, **options: Any) -> RunResult:
        """``run`` from synchronous code, including a notebook cell whose loop is running.

        Where an event loop already runs in this thread (Jupyter), the run goes to a
        fresh thread with its own loop, so there is no "event loop is already running".
        """
        run = self.prepare(request, plan, **options)
        if not _loop_running():
            return anyio.run(run.execute)
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = anyio.run(run.execute)
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, name="switchboard-run", daemon=True)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]


class SimulationError(ValueError):
    """A run on simulated time was given an agent or planner that does real work."""


def check_simulatable(agents: Iterable[Agent], planner: Planner | None) -> None:
    """Refuse real agents (LLM, tools, remote) and model planners on simulated time.

    Their waits are real (a model's answer, a process, a socket), so virtual time
    would jump past them and time them out. An agent class that does no real I/O says
    so with ``simulated_time = True`` (``MockAgent`` and ``FunctionAgent`` do).

    Raises:
        SimulationError: naming every agent (and the planner) that cannot run.
    """
    real = [
        f"{agent.name} ({type(agent).__name__})"
        for agent in agents
        if getattr(agent, "simulated_time", False) is not True
    ]
    if planner is not None and getattr(planner, "simulated_time", False) is not True:
        real.append(f"the planner ({type(planner).__name__})")
    if real:
        raise SimulationError(
            "simulated time runs only mock and function agents; these do real work: "
            + ", ".join(real)
            + " (use --mock for their stand-ins, or the real clock)"
        )


def _loop_running() -> bool:
    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
