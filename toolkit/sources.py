"""Where a view's events come from: a live run, a trace file, a followed file, a run store.

Every view (the terminal app, the notebook widgets, the command line) reads events
through a source, so a new kind of source (a Redis stream, an HTTP event stream, a
Temporal run) is written once, here, and every view gets it. A source is small:

- ``preload()``: the events known up front (a recorded run), shown in the first frame;
- ``produce(feed)``: blocking, in a thread of the view's: put events into the ``Feed``
  as they come (``emit``/``extend``), report unreadable input (``problem``), and
  ``close`` it when there is nothing more;
- ``cancel()``: stop producing (a live run is cancelled, a follow stops).

The terminal app's feed is an ``EventFeed`` it drains once per frame into its
``Timeline``; the widget's is its throttled pusher. That is the one code path of the
design: the views never know whether the events are live or recorded.

- ``RecordedSource``: events read up front (a JSONL trace or a stored run).
- ``FollowSource``: a trace another process is still writing (``follow_trace``).
- ``LiveRunSource``: a run executed in a worker thread with its own event loop, so a
  zero-latency run that never yields cannot freeze the UI; it can be cancelled and
  run again (each run is prepared anew).
- ``toolkit.serve.follow.HttpSource``: a run of ``switchboard serve``, read from its
  server-sent event stream (``open_url``; loaded only when used).

The ``open_*`` functions build sources and raise ``SourceError`` with a one-line
message for every user error (missing or corrupt file, unknown run, invalid workflow).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from toolkit.events import TraceEvent
from toolkit.tracing import Sink

__all__ = [
    "EventFeed",
    "EventSource",
    "Feed",
    "FollowSource",
    "LiveRunSource",
    "RecordedSource",
    "RunCatalog",
    "RunEntry",
    "SourceError",
    "StoreCatalog",
    "is_url",
    "is_workflow",
    "open_catalog",
    "open_demo",
    "open_path",
    "open_store",
    "open_trace",
    "open_url",
    "open_workflow",
]

Mode = Literal["live", "replay", "follow"]


@contextlib.contextmanager
def _without_gc() -> Iterator[None]:
    """Parse without the cyclic garbage collector.

    Parsing 100,000 events allocates ~a million objects and no cycles; with the
    collector on, its repeated passes over the growing heap triple the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SourceError(Exception):
    """A source that cannot be opened; the message is one line meant for the user."""


class Feed(Protocol):
    """Where a source puts what it reads (the app's ``EventFeed``, the widget's pusher).

    Called from the source's thread; each method must be safe to call from there.
    """

    def emit(self, event: TraceEvent) -> None:
        """Take one event."""

    def extend(self, events: Sequence[TraceEvent]) -> None:
        """Take several events, in order."""

    def problem(self, text: str) -> None:
        """Take the one-line report of something that could not be read."""

    def close(self) -> None:
        """The source has nothing more."""


class EventFeed:
    """A thread-safe inbox of events: producers append, the screen drains per frame.

    It is also a ``Sink``: ``emit`` is one list append under a lock, cheap enough for
    the run's thread at any event rate.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[TraceEvent] = []
        self._problems: list[str] = []
        self.closed = False
        """True once the producer has said it has nothing more (``close``)."""

    def emit(self, event: TraceEvent) -> None:
        with self._lock:
            self._events.append(event)

    def extend(self, events: Sequence[TraceEvent]) -> None:
        with self._lock:
            self._events.extend(events)

    def problem(self, text: str) -> None:
        """Report a line that could not be read."""
        with self._lock:
            self._problems.append(text)

    def close(self) -> None:
        self.closed = True

    @property
    def pending(self) -> bool:
        """True when events or problems wait to be drained."""
        return bool(self._events or self._problems)

    def drain(self) -> tuple[list[TraceEvent], list[str]]:
        """Take every event and problem received since the last drain."""
        with self._lock:
            events, self._events = self._events, []
            problems, self._problems = self._problems, []
        return events, problems


class EventSource:
    """Base of sources. ``produce`` runs in a worker thread and fills a feed.

    Attributes:
        label: What is shown (a file name, a workflow name).
        mode: ``live`` (a run in this process), ``replay`` or ``follow``.
        notices: Messages shown once the view is up (for example "skipped 2 corrupt lines").
        problems: Each line of the input that could not be read, one line each.
    """

    mode: Mode = "replay"
    store: Path | None = None
    """The run store the run was read from, if any (a person answers through it)."""
    can_cancel = False
    can_rerun = False
    paced = False
    """Play the events at their recorded pace as they arrive, from the first one (a run
    on simulated time produces them all at once, yet should still be watched unfold)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.notices: list[str] = []
        self.problems: list[str] = []
        self.ended: str | None = None
        """How the run ended when its events cannot say (a stored run whose process died:
        ``"interrupted"``); None when the events tell."""

    def preload(self) -> list[TraceEvent]:
        """Events known before the view starts (shown in its first frame)."""
        return []

    def produce(self, feed: Feed) -> None:
        """Fill ``feed`` until done or cancelled, then close it (blocking; runs in a thread)."""
        feed.close()

    def cancel(self) -> None:
        """Stop producing (a live run is cancelled; a follow stops)."""


class RecordedSource(EventSource):
    """Events already read, from a trace file or a run store."""

    def __init__(
        self,
        label: str,
        events: list[TraceEvent],
        notices: Sequence[str] = (),
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(label)
        self._events = events
        self.notices = list(notices)
        self.problems = list(problems)

    def preload(self) -> list[TraceEvent]:
        return self._events


class FollowSource(EventSource):
    """A trace file another process is writing, tailed until its run finishes."""

    mode: Mode = "follow"
    can_cancel = False

    def __init__(
        self, path: Path, poll_s: float = 0.1, idle_timeout_s: float | None = None
    ) -> None:
        super().__init__(path.name)
        self.path = path
        self.poll_s = poll_s
        self.idle_timeout_s = idle_timeout_s
        """Stop after this long without a new line (None: wait for ``run_finished``)."""
        self._stop = threading.Event()

    def produce(self, feed: Feed) -> None:
        from toolkit.recorder import follow_trace

        try:
            for item in follow_trace(
                self.path, poll_s=self.poll_s, stop=self._stop, idle_timeout_s=self.idle_timeout_s
            ):
                if isinstance(item, str):
                    feed.problem(item)
                else:
                    feed.extend(item)
        finally:
            feed.close()

    def cancel(self) -> None:
        self._stop.set()


RunFactory = Callable[[Sequence[Sink]], Any]
"""Prepares a fresh ``Run`` (anything with ``async execute()`` and ``cancel()``) for the given sinks."""


class LiveRunSource(EventSource):
    """A run executed live; cancel stops it, a new ``produce`` runs it again."""

    mode: Mode = "live"
    can_cancel = True
    can_rerun = True

    def __init__(self, label: str, factory: RunFactory, *, paced: bool = False) -> None:
        super().__init__(label)
        self.factory = factory
        self.paced = paced
        self._run: Any = None
        self._lock = threading.Lock()
        self._cancelled = False

    def produce(self, feed: Feed) -> None:
        import anyio

        with self._lock:
            self._cancelled = False
            run = self._run = self.factory([feed])
        try:
            if not self._cancelled:
                anyio.run(run.execute)
        finally:
            with self._lock:
                self._run = None
            feed.close()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            run = self._run
        if run is None:
            return
        # anyio's RunFinishedError (a RuntimeError): the run ended meanwhile
        with contextlib.suppress(RuntimeError):
            run.cancel()


# -- opening sources -------------------------------------------------------------------


def open_trace(
    path: str | Path,
    follow: bool = False,
    *,
    poll_s: float = 0.1,
    idle_timeout_s: float | None = None,
) -> EventSource:
    """A trace file, read whole (or tailed with ``follow``).

    Raises:
        SourceError: when the file is missing, unreadable or holds no event at all.
    """
    from toolkit.recorder import TraceReadError, read_trace

    path = Path(path)
    if follow:
        if path.is_dir():
            raise SourceError(f"{path}: is a directory, not a trace file")
        return FollowSource(path, poll_s=poll_s, idle_timeout_s=idle_timeout_s)
    try:
        with _without_gc():
            trace = read_trace(path)
    except TraceReadError as exc:
        raise SourceError(str(exc)) from None
    report = trace.report()
    if not trace.events:
        raise SourceError(report or f"{path}: the trace is empty")
    notices = [report] if report else []
    return RecordedSource(path.name, trace.events, notices, trace.problems)


def open_store(path: str | Path | Any, run_id: str | None = None) -> EventSource:
    """A run from a SQLite run store (the latest when ``run_id`` is None).

    Args:
        path: The store's file, or an open ``RunStore`` (left open).
        run_id: Which run.

    Raises:
        SourceError: when the store is missing or unusable, or the run is not in it.
    """
    from toolkit.store import RunStore, StoreError

    if isinstance(path, RunStore):
        try:
            run = run_id or path.latest()
            with _without_gc():
                return RecordedSource(f"{Path(str(path.path)).name}:{run}", path.events(run))
        except StoreError as exc:
            raise SourceError(str(exc)) from None
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such run store")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a run store")
    try:
        store = RunStore(path)
        try:
            run = run_id or store.latest()
            with _without_gc():
                stored = store.read_run(run)
                events = stored.events
                if store.parents():  # a run with teams: their child runs are shown with it
                    events = store.family_events(run)
            status = store.info(run).status
        finally:
            store.disconnect()
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    except Exception as exc:  # a corrupt row: a clear line, never a traceback
        raise SourceError(
            f"{path}: cannot read run {run_id or '(latest)'}: {type(exc).__name__}: {exc}"
        ) from None
    if not stored.events:
        raise SourceError(stored.report() or f"{path}: run {run} holds no events")
    report = stored.report()
    notices = [report] if report else []
    if status == "interrupted":
        notices.append(
            f"run {run} was interrupted: the process recording it died before it finished"
        )
    source = RecordedSource(f"{path.name}:{run}", events, notices, stored.problems)
    source.store = path
    if status == "interrupted":
        source.ended = status
    return source


@dataclass(frozen=True)
class RunEntry:
    """One run a catalog holds: what a run browser lists."""

    run_id: str
    name: str
    status: str
    """running, succeeded, failed, cancelled, or interrupted (its process died)."""
    started_at: float | None
    duration_s: float | None
    events: int
    cost_usd: float | None = None
    forked_from: str | None = None
    """The run this one was re-run from (``switchboard rerun``), if any."""
    from_task: str | None = None
    """The task it was re-run from."""
    parent_run: str | None = None
    """The run this one is a team's child run of (``toolkit.team``), if any."""
    parent_task: str | None = None
    """The parent's task the child run works on."""
    team: str | None = None
    """The team (an agent of the parent run) whose run this is."""
    depth: int = 0
    """How deep under a listed run it sits (0: a run of its own, 1: its team's run, …)."""


def nest(
    entries: Sequence[RunEntry], parents: dict[str, tuple[str, str | None, str | None]]
) -> list[RunEntry]:
    """``entries`` (newest first) as a tree: each child run (``parents``: run id ->
    parent run, parent task, team) right under its parent, oldest child first, at any
    depth, with ``depth`` set; a child whose parent is not listed stays where it was."""
    known = {e.run_id for e in entries}
    kids: dict[str, list[RunEntry]] = {}
    for entry in entries:
        parent = parents.get(entry.run_id)
        if parent is not None and parent[0] in known and parent[0] != entry.run_id:
            kids.setdefault(parent[0], []).insert(0, entry)
    out: list[RunEntry] = []
    seen: set[str] = set()

    def add(entry: RunEntry, depth: int) -> None:
        if entry.run_id in seen:  # a damaged store naming a cycle lists each run once
            return
        seen.add(entry.run_id)
        link = parents.get(entry.run_id)
        if link is not None:
            entry = replace(
                entry, parent_run=link[0], parent_task=link[1], team=link[2], depth=depth
            )
        out.append(entry)
        for child in kids.get(entry.run_id, ()):
            add(child, depth + 1)

    for entry in entries:
        parent = parents.get(entry.run_id)
        if parent is None or parent[0] not in known or parent[0] == entry.run_id:
            add(entry, 0)
    for entry in entries:  # only a cycle leaves runs unlisted: list them flat
        if entry.run_id not in seen:
            add(entry, 0)
    return out


class RunCatalog:
    """Where several runs are kept (a run store, a Redis index, an HTTP API): a view
    lists them and opens one. Subclasses implement ``runs`` and ``open``."""

    label: str = "runs"

    def runs(self) -> list[RunEntry]:
        """Every run, newest first; a team's child run right under its parent
        (``nest``)."""
        raise NotImplementedError

    def open(self, run_id: str) -> EventSource:
        """The source of one run.

        Raises:
            SourceError: when the run cannot be read.
        """
        raise NotImplementedError


class StoreCatalog(RunCatalog):
    """The runs of a SQLite run store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = path.name

    def runs(self) -> list[RunEntry]:
        from toolkit.store import RunStore, StoreError

        try:
            store = RunStore(self.path)
            try:
                entries = []
                for info in store.runs():
                    snap = store.snapshot(info.run_id) or {}
                    cost = snap.get("cost_usd")
                    entries.append(
                        RunEntry(
                            run_id=info.run_id,
                            name=info.name,
                            status=info.status,
                            started_at=info.started_at,
                            duration_s=info.duration_s,
                            events=info.event_count,
                            cost_usd=cost if isinstance(cost, int | float) else None,
                            forked_from=getattr(info, "forked_from", None),
                            from_task=getattr(info, "from_task", None),
                        )
                    )
                return nest(entries, store.parents())
            finally:
                store.disconnect()
        except StoreError as exc:
            raise SourceError(str(exc)) from None
        except Exception as exc:  # a corrupt store: one clear line
            raise SourceError(
                f"{self.path}: cannot list runs: {type(exc).__name__}: {exc}"
            ) from None

    def open(self, run_id: str) -> EventSource:
        return open_store(self.path, run_id)


def open_catalog(path: Path) -> RunCatalog:
    """The catalog of runs at ``path`` (a SQLite run store).

    Raises:
        SourceError: when there is no such store.
    """
    if not path.exists():
        raise SourceError(f"{path}: no such run store")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a run store")
    return StoreCatalog(path)


def open_workflow(
    path: Path,
    input_text: str | None = None,
    seed: int | None = None,
    mock: bool = False,
    simulate: bool = False,
) -> EventSource:
    """A workflow file (YAML or JSON), run live (``mock``: every real agent by its stand-in).

    On simulated time (``simulate``, or ``clock: simulated`` in the file) the run takes
    no time, so the source is ``paced``: views play it at its recorded pace.

    Raises:
        SourceError: when the file is missing or the workflow fails validation.
    """
    if not path.exists():
        raise SourceError(f"{path}: no such workflow file")
    try:
        from toolkit.workflow import WorkflowError, load_workflow
    except ImportError as exc:  # the core's workflow module is not installed
        raise SourceError(f"cannot load workflows: {exc}") from None
    try:
        workflow = load_workflow(path)
    except WorkflowError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SourceError(f"{path}: invalid workflow: {problems[0]}{more}") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None

    clock: Literal["simulated"] | None = "simulated" if simulate else None

    def factory(sinks: Sequence[Sink]) -> Any:
        run = workflow.prepare(input=input_text, seed=seed, sinks=sinks, mock=mock, clock=clock)
        # as ``switchboard run`` does: a stored run can be resumed from its file
        run.meta.update(workflow=str(path.resolve()), mock=mock)
        return run

    paced = simulate or workflow.clock == "simulated"
    if paced:  # refuse real agents now, in one line, not when the run starts
        from toolkit.orchestrator import check_simulatable

        try:
            orch = workflow.orchestrator(seed=seed, mock=mock, clock="simulated")
            check_simulatable(orch.agents.values(), orch.planner)
        except (WorkflowError, ValueError) as exc:
            raise SourceError(f"{path}: {exc}") from None
    return LiveRunSource(getattr(workflow, "name", path.stem), factory, paced=paced)


WORKFLOW_SUFFIXES = (".yaml", ".yml", ".json")
"""The extensions ``open_path`` opens as a workflow (run live)."""
TRACE_SUFFIXES = (".jsonl", ".ndjson")
"""The extensions ``open_path`` opens as a recorded trace."""


def is_workflow(path: Path) -> bool:
    """True when ``open_path`` opens ``path`` as a workflow (by its extension)."""
    return path.suffix.lower() in WORKFLOW_SUFFIXES


def is_url(text: str | Path) -> bool:
    """True when ``text`` is a URL (``scheme://...``) rather than a file's path."""
    scheme, sep, _ = str(text).partition("://")
    return isinstance(text, str) and bool(sep) and scheme.isalpha()


def open_url(
    url: str, *, run_id: str | None = None, follow: bool = True, token: str | None = None
) -> EventSource:
    """A run read from a service, by the URL's scheme:

    - ``redis://`` (``rediss://``, ``unix://``): a run's Redis stream (the newest run
      when ``run_id`` is None), followed live from its first event, or read as it is
      now with ``follow=False``;
    - ``http(s)://HOST:PORT/v1/runs/ID``: a run of ``switchboard serve``, from its
      beginning, then live to its end (``token``: the server's bearer token).

    Raises:
        SourceError: for an unknown scheme or any error of the opener.
    """
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        from toolkit.redis_streams import open_redis

        return open_redis(url, run_id, follow=follow)
    if scheme in ("http", "https"):
        from toolkit.extras import needs_extra

        with needs_extra("remote", "following a run over HTTP"):
            from toolkit.serve.follow import open_http
        return open_http(url, token=token)
    raise SourceError(
        f"{scheme}://: not a source this version can read (redis://HOST:PORT/DB or "
        "http://HOST:PORT/v1/runs/ID)"
    )


def open_path(
    path: str | Path,
    *,
    follow: bool = False,
    input_text: str | None = None,
    seed: int | None = None,
    mock: bool = False,
    simulate: bool = False,
    token: str | None = None,
    run_id: str | None = None,
) -> EventSource:
    """A trace (``.jsonl``) or a workflow (``.yaml``, ``.yml``, ``.json``), by extension,
    or a run at a URL (``open_url``; ``run_id`` picks the run, ``token`` is a server's).

    Raises:
        SourceError: for an unknown extension or any error of the opener.
    """
    if is_url(path):
        return open_url(str(path), run_id=run_id, token=token)
    path = Path(path)
    if follow or path.suffix.lower() in TRACE_SUFFIXES:
        return open_trace(path, follow=follow)
    if is_workflow(path):
        return open_workflow(path, input_text, seed, mock, simulate)
    raise SourceError(f"{path}: expected a workflow (.yaml, .yml, .json) or a trace (.jsonl)")


def open_demo(
    seed: int | None = None, input_text: str | None = None, speed: float = 1.0
) -> EventSource:
    """The built-in demo: the feature-building scenario with its review loop and a failing agent.

    Args:
        seed: Seed of the mock agents (the scenario's own seed when None).
        input_text: A request instead of the scenario's.
        speed: Multiplies the agents' latencies (0 runs as fast as possible).
    """
    from sample_agents.scenarios import feature_review

    def factory(sinks: Sequence[Sink]) -> Any:
        # a fresh scenario per run: mock agents count their calls
        orchestrator, plan, request = (
            feature_review(speed=speed) if seed is None else feature_review(seed=seed, speed=speed)
        )
        return orchestrator.prepare(input_text or request, plan, sinks=sinks)

    return LiveRunSource("demo: feature review", factory)
