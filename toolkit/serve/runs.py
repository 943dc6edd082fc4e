"""The runs a server holds: what it can run, the runs it started, their events for followers.

Framework-free (anyio, the orchestrator, the store): the HTTP layer (``toolkit.serve.app``)
only translates requests into calls of ``RunRegistry`` and its answers into JSON, so
another front end (the human-answers API of a later issue, a test) uses the same calls.

- ``Catalog``: the agents and workflows a server serves, read from workflow files once,
  each agent built once at start so a broken one is reported before anything is served.
- ``RunRecord``: one run started here. It is a sink of the run: it keeps every event
  in order and wakes the followers waiting for more, so a follower that comes late
  reads the run from its beginning and then live, and a stream ends at
  ``run_finished``.
- ``RunRegistry``: starts runs in the server's event loop (a task group opened by
  ``running()``), looks them up (in memory, else in the run store), cancels them, and
  cancels every running run when the server stops, so each is recorded as cancelled.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from toolkit.events import TraceEvent
from toolkit.loop import LoopHandle
from toolkit.plan import Plan, PlanError, Task, known_list
from toolkit.serve.models import DirectiveIn, StartRequest

if TYPE_CHECKING:
    from toolkit.bus import BusFactory
    from toolkit.run import Run
    from toolkit.state import RunState
    from toolkit.workflow import Workflow

__all__ = [
    "BUILTIN_WORKFLOWS",
    "Catalog",
    "CatalogError",
    "RunRecord",
    "RunRegistry",
    "StartError",
    "UnknownRun",
]

log = logging.getLogger("switchboard.serve")

_SAMPLES = Path(__file__).resolve().parent.parent.parent / "sample_agents" / "workflows"
BUILTIN_WORKFLOWS = (_SAMPLES / "research-report.yaml", _SAMPLES / "feature-review.yaml")
"""What ``switchboard serve`` serves when given no workflow file: two scenarios of mock
agents (researcher, writer, editor; developer, backup-dev, reviewer, tester)."""

POSTED_KINDS = frozenset({"mock"})
"""The agent kinds a workflow posted over the network may define itself. Other kinds
import code (``function``, ``tool``) or spend the server's keys (``llm``); a posted
workflow uses those only through the agents the server serves."""


class CatalogError(ValueError):
    """The served workflow files cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}" if problems else "no agents")


class StartError(Exception):
    """A start request that cannot run: an HTTP status, a reason and every problem."""

    def __init__(self, status: int, problems: Sequence[str]) -> None:
        self.status = status
        self.problems = list(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{self.problems[0]}{more}")


class UnknownRun(LookupError):
    """No run by that id on this server (nor in its store)."""


@dataclass
class Catalog:
    """The agents and workflows a server serves.

    Attributes:
        workflows: Each served workflow by name.
        agents: Each served agent's spec by name (a workflow's ``agents`` entry).
        origins: The workflows that define each agent.
        mock: Build every real agent as its mock stand-in.
    """

    workflows: dict[str, Workflow] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, list[str]] = field(default_factory=dict)
    mock: bool = False

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], *, mock: bool = False) -> Catalog:
        """Read workflow files; an agent name two files define differently is a problem.

        Every agent is built once here (and thrown away), so a bad import or option
        is reported at start, not on the first request.

        Raises:
            CatalogError: listing every problem of every file.
        """
        from toolkit.workflow import WorkflowError, load_workflow

        catalog = cls(mock=mock)
        problems: list[str] = []
        for path in paths:
            try:
                workflow = load_workflow(path)
                workflow.build_agents(mock)
            except WorkflowError as exc:
                problems.append(str(exc))
                continue
            if workflow.name in catalog.workflows:
                problems.append(f"{path}: a served workflow is already named {workflow.name!r}")
                continue
            catalog.workflows[workflow.name] = workflow
            for name, spec in workflow.agents.items():
                known = catalog.agents.get(name)
                if known is not None and known != spec:
                    first = catalog.origins[name][0]
                    problems.append(
                        f"{path}: agent {name!r} differs from the one of workflow {first!r}; "
                        "an agent name means one agent on a server"
                    )
                    continue
                catalog.agents[name] = spec
                catalog.origins.setdefault(name, []).append(workflow.name)
        if problems:
            raise CatalogError(problems)
        if not catalog.agents:
            raise CatalogError(["no agents to serve"])
        return catalog

    @classmethod
    def builtin(cls, *, mock: bool = False) -> Catalog:
        """The built-in sample scenarios (``BUILTIN_WORKFLOWS``), mock agents only."""
        return cls.from_files(BUILTIN_WORKFLOWS, mock=mock)

    def build(self, name: str) -> Any:
        """A fresh agent (mock agents count their calls: each run gets its own)."""
        spec = self.agents[name]
        return spec.stand_in(name) if self.mock else spec.build(name)


def _wake(event: anyio.Event | None) -> None:
    if event is not None:
        event.set()


class RunRecord:
    """One run started by this server (or read back from its store), and its events.

    As a sink (``emit``/``close``) it is called by the run, on the server's loop (or,
    for an agent's own thread, from there: appending is atomic and the wake-up is
    handed to the loop).
    """

    def __init__(self, run_id: str, name: str, *, source: str = "live") -> None:
        self.run_id = run_id
        self.name = name
        self.source = source
        """``live`` (started here) or ``store`` (read back from the run store)."""
        self.events: list[TraceEvent] = []
        self.finished = False
        """True once ``run_finished`` is recorded (or the record is complete)."""
        self.ended: str | None = None
        """How the run ended when its events cannot say (``interrupted``)."""
        self.run: Run | None = None
        self.created = time.time()
        self._waiter: anyio.Event | None = None
        self._state: RunState | None = None
        self._folded = 0
        self._loop = LoopHandle()

    def bind_loop(self) -> None:
        """Wake followers through the event loop running in this thread (the server's)."""
        self._loop.bind()

    # -- the run's sink --------------------------------------------------------
    def emit(self, event: TraceEvent) -> None:
        self.events.append(event)
        if event.kind == "run_finished":
            self.finished = True
        self._notify()

    def close(self) -> None:
        self.finished = True
        self._notify()

    def _notify(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None:
            return
        if self._loop.reachable:
            self._loop.call(_wake, waiter)  # dropped once the loop has closed: nobody waits
        else:
            waiter.set()

    # -- reading ---------------------------------------------------------------
    def state(self) -> RunState:
        """The run's state so far (folded on demand, never on the run's path)."""
        from toolkit.state import RunState

        if self._state is None:
            self._state = RunState()
        events = self.events
        while self._folded < len(events):
            self._state.apply(events[self._folded])
            self._folded += 1
        return self._state

    @property
    def status(self) -> str:
        """pending, running, succeeded, failed, cancelled, or interrupted."""
        if self.ended is not None:
            return self.ended
        status = self.state().status
        if status == "pending" and self.run is not None:
            return "running"  # accepted, its first event not yet recorded
        return status

    async def follow(self, after: int = -1, batch: int = 512) -> AsyncIterator[list[TraceEvent]]:
        """The events with ``seq`` above ``after``: those recorded, then each as it comes.

        Ends after ``run_finished`` (or when the record is complete).
        """
        events = self.events
        pos = bisect.bisect_right(events, after, key=lambda e: e.seq) if after >= 0 else 0
        while True:
            if pos < len(events):
                chunk = events[pos : pos + batch]
                pos += len(chunk)
                yield chunk
                continue
            if self.finished:
                return
            if self._waiter is None:
                self._waiter = anyio.Event()
            waiter = self._waiter
            if pos < len(events) or self.finished:
                continue
            await waiter.wait()


class RunRegistry:
    """Starts runs from start requests, keeps them, finds them, cancels them.

    Args:
        catalog: What may be run.
        store: A SQLite run store every run is recorded to (and old runs read from).
        max_running: At most this many runs at once; one more is refused (429).
        keep: Finished runs kept in memory (older ones are still read from the store).
        bus: Makes each run's message bus (``toolkit.redis_bus.redis_bus(url)``: the
            agents message agents of other processes over Redis); default in-process.
            With one, a run at a time (an agent name is one participant of the bus).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        store: str | Path | None = None,
        max_running: int = 16,
        keep: int = 1000,
        bus: BusFactory | None = None,
    ) -> None:
        self.catalog = catalog
        self.bus = bus
        self.store = Path(store) if store is not None else None
        self.max_running = max_running
        self.keep = keep
        self.records: dict[str, RunRecord] = {}
        self._tg: Any = None

    # -- lifetime ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunRegistry]:
        """Serve runs while inside; on leaving, every running run is cancelled and recorded."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                yield self
            finally:
                self._tg = None
                for record in list(self.records.values()):
                    if not record.finished and record.run is not None:
                        record.run.cancel()

    @property
    def running_count(self) -> int:
        return sum(1 for r in self.records.values() if not r.finished)

    # -- starting ----------------------------------------------------------------
    def start(self, body: StartRequest) -> RunRecord:
        """Start the run a request describes, in the server's loop (``prepare`` + ``launch``).

        Raises:
            StartError: 422 with every problem of the request; 429 when too many runs
                are running; 503 when the server is stopping.
        """
        self.check_capacity()
        return self.launch(self.prepare(body))

    def check_capacity(self) -> None:
        """Raise the ``StartError`` a new run would get now (429, 503), if any."""
        if self._tg is None:
            raise StartError(503, ["the server is stopping: no new runs"])
        if self.bus is not None and self.running_count:
            running = next(r.run_id for r in self.records.values() if not r.finished)
            raise StartError(
                429,
                [
                    f"run {running} is running: on a message bus each agent name is one "
                    "participant, so this server runs one run at a time; wait for it to "
                    "finish, or cancel it"
                ],
            )
        if self.running_count >= self.max_running:
            raise StartError(
                429,
                [
                    f"{self.running_count} runs are running, the most this server runs at "
                    "once: wait for one to finish, or cancel one"
                ],
            )

    def prepare(self, body: StartRequest) -> RunRecord:
        """The run a request describes, prepared but not started.

        Pure computation (checking a posted workflow of thousands of steps takes
        seconds), so the server calls it in a worker thread, off its event loop.

        Raises:
            StartError: 422 with every problem of the request.
        """
        if body.directives is not None:
            return self._from_directives(body, body.directives)
        if isinstance(body.workflow, str):
            return self._from_served(body, body.workflow)
        return self._from_posted(body, body.workflow or {})

    def launch(self, record: RunRecord) -> RunRecord:
        """Start a prepared run in the server's loop (call it there).

        Raises:
            StartError: 429 or 503, as ``check_capacity``.
        """
        self.check_capacity()
        record.bind_loop()
        self.records[record.run_id] = record
        self._forget_old()
        self._tg.start_soon(self._execute, record)
        return record

    async def _execute(self, record: RunRecord) -> None:
        run = record.run
        assert run is not None
        try:
            await run.execute()
        except Exception:  # execute records every outcome; this is a bug, kept in the log
            log.exception("run %s ended with an error outside the run", record.run_id)
        finally:
            record.close()

    def _record(self, prepare: Any, noun: str = "tasks") -> RunRecord:
        """A record of the run ``prepare(sinks)`` makes (the record is one of its sinks)."""
        record = RunRecord("", "")
        try:
            run = prepare([record])
        except PlanError as exc:
            # a directive's prompt names a step that is not there: say it in the body's words
            raise StartError(
                422, [p.replace("tasks[", f"{noun}[", 1) for p in exc.problems]
            ) from None
        record.run_id, record.name, record.run = run.run_id, run.name, run
        return record

    def _from_directives(self, body: StartRequest, directives: list[DirectiveIn]) -> RunRecord:
        from toolkit.orchestrator import Orchestrator

        known = self.catalog.agents
        problems = [
            f"directives[{i}].agent_id: unknown agent {d.agent_id!r} (known: {known_list(known)})"
            for i, d in enumerate(directives)
            if d.agent_id not in known
        ]
        if problems:
            raise StartError(422, problems)
        tasks = []
        for i, d in enumerate(directives):
            tasks.append(
                Task(
                    id=f"step-{i + 1}",
                    agent=d.agent_id,
                    goal=d.goal,
                    prompt=d.prompt,
                    depends_on=[f"step-{i}"] if i else [],
                )
            )
        plan = Plan(name=body.name or "directives", tasks=tasks)
        names = list(dict.fromkeys(d.agent_id for d in directives))
        orchestrator = Orchestrator(
            [self.catalog.build(n) for n in names], seed=body.seed, bus=self.bus
        )
        first = directives[0]
        request = body.input if body.input is not None else (first.prompt or first.goal)
        return self._record(
            lambda sinks: orchestrator.prepare(
                request, plan, name=plan.name, sinks=sinks, store=self.store
            ),
            "directives",
        )

    def _from_served(self, body: StartRequest, name: str) -> RunRecord:
        workflow = self.catalog.workflows.get(name)
        if workflow is None:
            raise StartError(
                422,
                [
                    f"workflow: no served workflow {name!r} "
                    f"(served: {known_list(self.catalog.workflows) or 'none'})"
                ],
            )
        return self._run_workflow(workflow, body)

    def _from_posted(self, body: StartRequest, data: dict[str, Any]) -> RunRecord:
        from toolkit.workflow import WorkflowError, parse_workflow

        problems: list[str] = []
        own = data.get("agents")
        if isinstance(own, dict):
            for name, spec in own.items():
                kind = spec.get("kind", "mock") if isinstance(spec, dict) else None
                if kind not in POSTED_KINDS:
                    problems.append(
                        f"workflow.agents.{name}: a posted workflow's own agents must be "
                        f"kind mock, not {kind!r}; use a served agent by name instead "
                        f"(served: {known_list(self.catalog.agents)})"
                    )
        planner = data.get("planner")
        if isinstance(planner, dict) and planner.get("kind") == "llm":
            problems.append(
                "workflow.planner: an llm planner cannot be posted (it would spend the "
                "server's keys); use rule-based or router"
            )
        if problems:
            raise StartError(422, problems)
        # the served agents, as their checked specs, under the posted workflow's own
        agents = {**self.catalog.agents, **(own if isinstance(own, dict) else {})}
        try:
            workflow = parse_workflow({**data, "agents": agents}, source="workflow")
        except WorkflowError as exc:
            raise StartError(422, [f"workflow: {p}" for p in exc.problems]) from None
        return self._run_workflow(workflow, body)

    def _run_workflow(self, workflow: Workflow, body: StartRequest) -> RunRecord:
        from toolkit.workflow import WorkflowError

        try:
            orchestrator = workflow.orchestrator(seed=body.seed, mock=self.catalog.mock)
        except WorkflowError as exc:
            raise StartError(422, exc.problems) from None
        if self.bus is not None:
            orchestrator.bus = self.bus
        plan = workflow.plan()
        return self._record(
            lambda sinks: orchestrator.prepare(
                workflow.input if body.input is None else body.input,
                plan,
                name=body.name or workflow.name,
                sinks=sinks,
                store=self.store,
            )
        )

    def _forget_old(self) -> None:
        finished = [r for r in self.records.values() if r.finished]
        for record in finished[: max(0, len(finished) - self.keep)]:
            del self.records[record.run_id]

    # -- finding -----------------------------------------------------------------
    async def lookup(self, run_id: str) -> RunRecord:
        """The run: in memory, else read back from the store (complete, finished).

        Raises:
            UnknownRun: when neither has it.
        """
        record = self.records.get(run_id)
        if record is not None:
            return record
        if self.store is None or not self.store.exists():
            raise UnknownRun(run_id)
        return await anyio.to_thread.run_sync(self._from_store, run_id)

    def _from_store(self, run_id: str) -> RunRecord:
        from toolkit.store import RunStore, StoreError

        store = RunStore(self.store)  # type: ignore[arg-type]
        try:
            info = store.info(run_id)
            stored = store.read_run(run_id)
        except StoreError:
            raise UnknownRun(run_id) from None
        finally:
            store.disconnect()
        record = RunRecord(run_id, info.name, source="store")
        record.events = stored.events
        record.finished = True
        if not stored.events or stored.events[-1].kind != "run_finished":
            record.ended = "interrupted"  # its process died before the run finished
        return record

    async def listing(self) -> list[RunRecord]:
        """Every run known, newest first: those in memory, then the store's others."""
        records = sorted(self.records.values(), key=lambda r: r.created, reverse=True)
        if self.store is None or not self.store.exists():
            return records
        infos = await anyio.to_thread.run_sync(self._stored_infos)
        seen = set(self.records)
        for info in infos:
            if info.run_id in seen:
                continue
            record = RunRecord(info.run_id, info.name, source="store")
            record.finished = True
            record.ended = info.status
            record.created = info.started_at or 0.0
            records.append(record)
        return records

    def _stored_infos(self) -> list[Any]:
        from toolkit.store import RunStore, StoreError

        store = RunStore(self.store)  # type: ignore[arg-type]
        try:
            return store.runs()
        except StoreError:
            return []
        finally:
            store.disconnect()

    # -- acting ------------------------------------------------------------------
    def cancel(self, record: RunRecord) -> None:
        """Ask a running run to stop (it records the cancellation and finishes).

        Raises:
            StartError: 409 when the run has already finished.
        """
        if record.finished or record.run is None:
            raise StartError(409, [f"run {record.run_id} has already finished ({record.status})"])
        record.run.cancel()
