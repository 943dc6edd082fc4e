"""The orchestrator: plans checked before anything runs, the concurrency limit, data
flow between tasks, timeouts, retries, fallbacks, skipping, fail-fast, cancellation,
review loops, routing, planning and synthesis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from toolkit import (
    Directive,
    FailureSpec,
    FunctionAgent,
    MockAgent,
    Orchestrator,
    Plan,
    PlanError,
    RouterPlanner,
    RuleBasedPlanner,
    Task,
    pipeline,
    read_trace,
    review_loop,
    route,
    router,
)


def _kinds(result: Any, kind: str) -> list[Any]:
    return [e for e in result.events if e.kind == kind]


class Flaky:
    """An agent that fails its first ``failures`` calls, then answers."""

    kind = "test"
    description = "fails, then works"
    skills = ()

    def __init__(self, name: str, failures: int) -> None:
        self.name = name
        self.failures = failures
        self.calls = 0

    def card(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "skills": []}

    async def run(self, directive: Directive) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"flaky call {self.calls}")
        return f"ok after {self.calls}"


# -- plan validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (
            [Task(id="a", agent="w", depends_on=["b"]), Task(id="b", agent="w", depends_on=["a"])],
            ["tasks: dependency cycle a -> b -> a"],
        ),
        (
            [Task(id="a", agent="writr")],
            ["tasks[0] (a).agent: unknown agent 'writr' (known: w)"],
        ),
        (
            [Task(id="a", agent="w", depends_on=["ghost"])],
            ["tasks[0] (a).depends_on[0]: unknown task 'ghost' (known: a)"],
        ),
        (
            [Task(id="a", agent="w", depends_on=["a"])],
            ["tasks[0] (a).depends_on[0]: a task cannot depend on itself"],
        ),
        (
            [Task(id="a", agent="w", fallback="nobody", prompt="{{zzz}}")],
            [
                "tasks[0] (a).fallback: unknown agent 'nobody' (known: w)",
                "tasks[0] (a).prompt: unknown task 'zzz' in {{zzz}} (use {{input}} or a task id: a)",
            ],
        ),
    ],
)
def test_invalid_plans_are_rejected_before_anything_runs(
    tasks: list[Task], expected: list[str]
) -> None:
    """prepare raises PlanError listing every problem; no event is emitted, no agent called."""
    emitted: list[Any] = []
    agent = Flaky("w", 0)
    orch = Orchestrator([agent])
    with pytest.raises(PlanError) as info:
        orch.prepare("x", Plan(tasks=tasks), on_event=emitted.append)
    assert info.value.problems == expected
    assert emitted == [] and agent.calls == 0


def test_empty_plan_and_duplicate_ids_are_rejected() -> None:
    """A plan without tasks cannot run; duplicate task ids are refused on construction."""
    with pytest.raises(PlanError, match="no tasks"):
        Orchestrator([MockAgent("w")]).prepare("x", Plan(tasks=[]))
    with pytest.raises(ValueError, match="duplicate task ids: a"):
        Plan(tasks=[Task(id="a", agent="w"), Task(id="a", agent="w")])


def test_agent_registration_rules() -> None:
    """Agent names are unique and may not be a reserved participant; concurrency >= 1."""
    with pytest.raises(ValueError, match="already registered"):
        Orchestrator([MockAgent("a"), MockAgent("a")])
    for reserved in ("user", "orchestrator", "*"):
        with pytest.raises(ValueError, match="reserved"):
            Orchestrator([MockAgent(reserved)])
    with pytest.raises(ValueError, match="concurrency"):
        Orchestrator([MockAgent("a")], concurrency=0)


# -- scheduling ---------------------------------------------------------------------


class InFlight:
    """Counts how many calls run at once; each call yields to the loop a few times."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.calls = 0

    async def __call__(self, directive: Directive) -> str:
        self.now += 1
        self.calls += 1
        self.peak = max(self.peak, self.now)
        for _ in range(5):
            await anyio.sleep(0)
        self.now -= 1
        return directive.task_id


@pytest.mark.parametrize("limit", [1, 3, 8])
@pytest.mark.parametrize("shape", ["flat", "root-then-fan-out", "two-fan-outs"])
def test_concurrency_limit_is_respected_and_reached(limit: int, shape: str) -> None:
    """No more than ``concurrency`` tasks run at once, and the limit is actually used."""
    counter = InFlight()
    fan = [Task(id=f"m{i}", agent="worker") for i in range(12)]
    if shape == "root-then-fan-out":
        fan = [Task(id="root", agent="worker")] + [
            t.model_copy(update={"depends_on": ["root"]}) for t in fan
        ]
    elif shape == "two-fan-outs":
        fan = fan + [Task(id=f"n{i}", agent="worker", depends_on=[f"m{i}"]) for i in range(12)]
    orch = Orchestrator([FunctionAgent(counter, name="worker")], concurrency=limit)
    result = orch.run_sync("x", Plan(tasks=fan))
    assert result.status == "succeeded"
    assert counter.calls == len(fan)
    assert counter.peak == min(limit, 12)


def test_dependency_results_reach_context_and_prompt() -> None:
    """A task gets its dependencies' outputs in ``context`` and in ``{{id}}`` of its prompt."""
    seen: dict[str, Directive] = {}

    def record(directive: Directive) -> Any:
        seen[directive.task_id] = directive
        return {"a": {"n": 1}, "b": "bee"}.get(directive.task_id, "end")

    plan = Plan(
        tasks=[
            Task(id="a", agent="f", prompt="{{input}}!"),
            Task(id="b", agent="f", prompt="plain", goal="second"),
            Task(id="c", agent="f", prompt="A={{a}} B={{ b }} IN={{input}}", depends_on=["b"]),
            Task(id="d", agent="f", goal="only a goal", depends_on=["c"]),
        ]
    )
    orch = Orchestrator([FunctionAgent(record, name="f")], seed=9)
    result = orch.run_sync("req", plan)
    assert result.status == "succeeded"
    assert seen["a"].prompt == "req!"
    assert seen["c"].prompt == 'A={"n": 1} B=bee IN=req'
    assert seen["c"].context == {"b": "bee", "a": {"n": 1}}
    assert seen["d"].prompt == "only a goal" and seen["d"].context == {"c": "end"}
    assert seen["a"].seed == 9
    assert result.results == {"a": {"n": 1}, "b": "bee", "c": "end", "d": "end"}


def test_default_timeout_applies_to_tasks_without_their_own() -> None:
    """default_timeout_s ends a hanging attempt; a task's own timeout_s overrides it."""

    async def hang(directive: Directive) -> str:
        if directive.task_id == "slow-but-allowed":
            await anyio.sleep(0.02)
            return "made it"
        await anyio.sleep_forever()
        return "never"

    plan = Plan(
        tasks=[
            Task(id="stuck", agent="hang"),
            Task(id="slow-but-allowed", agent="hang", timeout_s=5),
        ]
    )
    orch = Orchestrator([FunctionAgent(hang)], default_timeout_s=0.005)
    result = orch.run_sync("x", plan)
    (failed,) = _kinds(result, "task_failed")
    assert (failed.task_id, failed.error_type, failed.error) == (
        "stuck",
        "timeout",
        "timed out after 0.005s",
    )
    assert result.results == {"slow-but-allowed": "made it"}


def test_retries_with_backoff() -> None:
    """A task that fails twice with 3 retries: one task_finished, 2 task_retried with a
    doubling delay, attempts numbered 1..3, and the state counts 2 retries."""
    agent = Flaky("flaky", 2)
    plan = Plan(tasks=[Task(id="t", agent="flaky", retries=3, backoff_s=0.001)])
    result = Orchestrator([agent]).run_sync("x", plan)
    assert result.status == "succeeded" and result.output == "ok after 3"
    retried = _kinds(result, "task_retried")
    assert [(r.attempt, r.delay_s) for r in retried] == [(2, 0.001), (3, 0.002)]
    assert len(_kinds(result, "task_finished")) == 1
    assert [e.attempt for e in _kinds(result, "task_started")] == [1, 2, 3]
    assert [e.final for e in _kinds(result, "task_failed")] == [False, False]
    task = result.state.tasks["t"]
    assert (task.status, task.attempt, task.retries) == ("done", 3, 2)
    assert result.state.agents["flaky"].retries == 2


def test_retries_exhausted_fail_the_task() -> None:
    """When retries run out the last failure is final and the run fails."""
    result = Orchestrator([Flaky("f", 10)]).run_sync(
        "x", Plan(tasks=[Task(id="t", agent="f", retries=1)])
    )
    assert result.status == "failed"
    assert [e.final for e in _kinds(result, "task_failed")] == [False, True]
    assert result.state.tasks["t"].status == "failed"
    assert "1 task(s) failed: t" in (result.error or "")


def test_fallback_agent_after_retries() -> None:
    """After its retries, a failing task gets one attempt on the fallback agent."""
    plan = Plan(tasks=[Task(id="t", agent="bad", retries=1, fallback="backup")])
    orch = Orchestrator(
        [MockAgent("bad", failures=FailureSpec(exception=1.0)), MockAgent("backup", reply="saved")]
    )
    result = orch.run_sync("x", plan)
    assert result.status == "succeeded" and result.output == "saved"
    retried = _kinds(result, "task_retried")
    assert [(r.agent, r.attempt, r.fallback) for r in retried] == [
        ("bad", 2, False),
        ("backup", 3, True),
    ]
    (finished,) = _kinds(result, "task_finished")
    assert (finished.agent, finished.attempt) == ("backup", 3)
    task = result.state.tasks["t"]
    assert task.fallback_used and task.last_agent == "backup"
    assert result.state.agents["bad"].failed == 2 and result.state.agents["backup"].succeeded == 1


def test_failed_task_skips_dependents_independent_branches_finish() -> None:
    """A final failure skips every transitive dependent; other branches still finish."""
    plan = Plan(
        tasks=[
            Task(id="a", agent="bad"),
            Task(id="b", agent="ok", depends_on=["a"]),
            Task(id="c", agent="ok", prompt="{{b}}"),
            Task(id="x", agent="ok"),
            Task(id="y", agent="ok", depends_on=["x"]),
        ]
    )
    orch = Orchestrator([MockAgent("bad", failures=FailureSpec(exception=1.0)), MockAgent("ok")])
    result = orch.run_sync("x", plan)
    status = {t.id: t.status for t in result.state.tasks.values()}
    assert status == {"a": "failed", "b": "skipped", "c": "skipped", "x": "done", "y": "done"}
    reasons = {e.task_id: e.reason for e in _kinds(result, "task_skipped")}
    assert reasons == {"b": "dependency 'a' failed", "c": "dependency 'b' failed"}
    assert result.status == "failed"
    started = {e.task_id for e in _kinds(result, "task_started")}
    assert started == {"a", "x", "y"}


def test_fail_fast_stops_the_run_on_the_first_failure() -> None:
    """With fail_fast, the first final failure skips everything unfinished; a skipped task
    never starts afterwards, and the run is recorded as failed (not cancelled by a user)."""
    plan = Plan(
        tasks=[
            Task(id="a", agent="bad"),
            Task(id="b", agent="ok", depends_on=["a"]),
            Task(id="c", agent="ok"),
            Task(id="d", agent="ok", depends_on=["c"]),
        ]
    )
    orch = Orchestrator(
        [MockAgent("bad", failures=FailureSpec(exception=1.0)), MockAgent("ok")],
        fail_fast=True,
        concurrency=1,
    )
    result = orch.run_sync("x", plan)
    assert result.status == "failed"
    assert "a" in (result.error or "")
    skipped = [e.task_id for e in _kinds(result, "task_skipped")]
    assert sorted(skipped) == ["b", "c", "d"]
    first_skip = min(e.seq for e in _kinds(result, "task_skipped"))
    assert not [e for e in result.events if e.kind == "task_started" and e.seq > first_skip]
    assert {t.status for t in result.state.tasks.values() if t.id != "a"} == {"skipped"}


def test_fail_fast_with_parallel_branches_never_runs_a_skipped_task() -> None:
    """fail_fast while siblings were ready: none of the skipped tasks is reported finished."""
    tasks = [Task(id="a", agent="bad")] + [Task(id=f"s{i}", agent="ok") for i in range(4)]
    orch = Orchestrator(
        [MockAgent("bad", failures=FailureSpec(exception=1.0)), MockAgent("ok")],
        fail_fast=True,
    )
    result = orch.run_sync("x", Plan(tasks=tasks))
    skipped = {e.task_id for e in _kinds(result, "task_skipped")}
    finished = {e.task_id for e in _kinds(result, "task_finished")}
    assert not skipped & finished
    assert result.status == "failed"
    for task in result.state.tasks.values():
        assert task.status in ("failed", "skipped", "done", "cancelled")


# -- cancellation -------------------------------------------------------------------


def _cancel_plan() -> Plan:
    return Plan(
        tasks=[
            Task(id="first", agent="ok"),
            Task(id="stopper", agent="stopper", depends_on=["first"]),
            Task(id="after", agent="ok", depends_on=["stopper"]),
            Task(id="later", agent="ok", depends_on=["after"]),
        ]
    )


def _check_cancelled_trace(path: Path, events: list[Any]) -> None:
    trace = read_trace(path)
    assert trace.problems == []
    assert trace.events == events
    assert trace.events[-1].kind == "run_finished"
    assert trace.events[-1].status == "cancelled"


def test_run_cancel_from_an_agent(tmp_path: Path) -> None:
    """run.cancel() mid-run: the running task is cancelled, the rest are skipped,
    status cancelled, and the JSONL trace is complete and readable."""
    holder: dict[str, Any] = {}

    async def stopper(directive: Directive) -> str:
        holder["run"].cancel()
        await anyio.sleep_forever()
        return "never"

    orch = Orchestrator([MockAgent("ok"), FunctionAgent(stopper)])
    run = orch.prepare("x", _cancel_plan(), trace=tmp_path / "t.jsonl")
    holder["run"] = run
    result = anyio.run(run.execute)
    assert result.status == "cancelled"
    state = result.state
    assert {t.id: t.status for t in state.tasks.values()} == {
        "first": "done",
        "stopper": "cancelled",
        "after": "skipped",
        "later": "skipped",
    }
    (failed,) = _kinds(result, "task_failed")
    assert failed.error_type == "cancelled"
    _check_cancelled_trace(tmp_path / "t.jsonl", result.events)


def test_run_cancel_from_another_thread(tmp_path: Path) -> None:
    """run.cancel() is thread-safe: called from a worker thread it still stops the run."""
    holder: dict[str, Any] = {}

    def stopper(directive: Directive) -> str:
        holder["run"].cancel()
        return "finished, but the run was cancelled meanwhile"

    orch = Orchestrator([MockAgent("ok"), FunctionAgent(stopper, thread=True)])
    run = orch.prepare("x", _cancel_plan(), trace=tmp_path / "t.jsonl")
    holder["run"] = run
    result = anyio.run(run.execute)
    assert result.status == "cancelled"
    assert result.state.tasks["later"].status == "skipped"
    assert not [e for e in _kinds(result, "task_started") if e.task_id in ("after", "later")]
    _check_cancelled_trace(tmp_path / "t.jsonl", result.events)


def test_cancel_before_execute_skips_everything() -> None:
    """A run cancelled before it starts records every task as skipped."""
    orch = Orchestrator([MockAgent("ok"), MockAgent("stopper")])
    run = orch.prepare("x", _cancel_plan())
    run.cancel()
    result = anyio.run(run.execute)
    assert result.status == "cancelled"
    assert {t.status for t in result.state.tasks.values()} == {"skipped"}
    assert not _kinds(result, "task_started")


def test_cancellation_from_an_outer_scope_is_recorded(tmp_path: Path) -> None:
    """Cancelling an enclosing task group ends the run as cancelled in its trace, and
    the cancellation still propagates to the caller."""
    started = anyio.Event()

    async def stopper(directive: Directive) -> str:
        started.set()
        await anyio.sleep_forever()
        return "never"

    orch = Orchestrator([MockAgent("ok"), FunctionAgent(stopper)])
    run = orch.prepare("x", _cancel_plan(), trace=tmp_path / "t.jsonl")
    reached: list[str] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def execute() -> None:
                await run.execute()
                reached.append("returned")  # must not happen: the cancel propagates

            tg.start_soon(execute)
            await started.wait()
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert reached == []
    assert run.result is not None and run.result.status == "cancelled"
    assert run.result.state.tasks["after"].status == "skipped"
    _check_cancelled_trace(tmp_path / "t.jsonl", run.result.events)


def test_a_run_executes_once() -> None:
    """Executing the same Run twice is an error."""
    run = Orchestrator([MockAgent("a")]).prepare("x", Plan(tasks=[Task(id="t", agent="a")]))
    anyio.run(run.execute)
    with pytest.raises(RuntimeError, match="executes once"):
        anyio.run(run.execute)


# -- review loops -----------------------------------------------------------------


def test_review_loop_stops_when_approved() -> None:
    """Worker drafts, reviewer asks for changes, worker revises with the feedback in its
    context, reviewer approves: two rounds, two verdicts, one task_finished."""
    seen: list[Directive] = []

    def worker(directive: Directive) -> str:
        seen.append(directive)
        return f"draft {directive.round}"

    reviewer = MockAgent("reviewer", reply=["add tests", "APPROVED, thanks"])
    orch = Orchestrator([FunctionAgent(worker), reviewer])
    result = orch.run_sync("build it", review_loop("worker", "reviewer", max_rounds=5))
    verdicts = _kinds(result, "review_verdict")
    assert [(v.round, v.approved, v.feedback) for v in verdicts] == [
        (1, False, "add tests"),
        (2, True, "APPROVED, thanks"),
    ]
    assert [d.round for d in seen] == [1, 2]
    assert seen[1].context["feedback"] == "add tests"
    assert seen[1].context["draft"] == "draft 1"
    assert "Reviewer feedback:\nadd tests" in seen[1].prompt
    (finished,) = _kinds(result, "task_finished")
    assert (finished.rounds, finished.output) == (2, "draft 2")
    task = result.state.tasks["work"]
    assert (task.round, task.max_rounds, task.reviewer) == (2, 5, "reviewer")
    assert task.verdicts == [(1, False, "add tests"), (2, True, "APPROVED, thanks")]


def test_review_loop_stops_at_max_rounds() -> None:
    """A reviewer that never approves: exactly max_rounds drafts, the last one stands."""
    orch = Orchestrator(
        [MockAgent("w", reply="draft {round}"), MockAgent("r", reply="NOT APPROVED: no")]
    )
    result = orch.run_sync("x", review_loop("w", "r", max_rounds=3))
    assert [v.approved for v in _kinds(result, "review_verdict")] == [False, False, False]
    assert result.status == "succeeded" and result.output == "draft 3"


def test_review_verdict_from_a_mapping() -> None:
    """A reviewer may answer {'approved': bool, 'feedback': str}."""
    orch = Orchestrator(
        [
            MockAgent("w"),
            MockAgent("r", reply=[{"approved": False, "feedback": "more"}, {"approved": True}]),
        ]
    )
    result = orch.run_sync("x", review_loop("w", "r"))
    assert [(v.approved, v.feedback) for v in _kinds(result, "review_verdict")] == [
        (False, "more"),
        (True, ""),
    ]


def test_failing_reviewer_fails_the_task() -> None:
    """If the reviewer fails, the reviewed task fails for good."""
    orch = Orchestrator([MockAgent("w"), MockAgent("r", failures=FailureSpec(exception=1.0))])
    result = orch.run_sync("x", review_loop("w", "r"))
    assert result.status == "failed"
    (failed,) = _kinds(result, "task_failed")
    assert failed.agent == "r" and failed.error.startswith("reviewer failed")


# -- routing, planning, synthesis ---------------------------------------------------


def _specialists() -> list[MockAgent]:
    return [
        MockAgent("researcher", "Finds facts", ["research", "sources"]),
        MockAgent("writer", "Writes prose", ["write", "draft"]),
        MockAgent("editor", "Edits text", ["edit", "proofread"]),
    ]


def test_route_chooses_by_skills() -> None:
    """route() scores skills (x3) above description words; the router plan uses the best."""
    agents = _specialists()
    best, scores = route("please proofread and edit my essay", agents)
    assert best.name == "editor"
    assert scores == {"researcher": 0, "writer": 0, "editor": 3 + 3 + 1}
    assert route("find sources", agents)[0].name == "researcher"
    plan = router("draft a note", agents)
    assert [(t.id, t.agent) for t in plan.tasks] == [("route", "writer")]
    assert plan.tasks[0].meta["route_scores"]["writer"] == 3
    with pytest.raises(ValueError, match="no agents"):
        route("x", [])


def test_router_planner_runs_the_best_specialist() -> None:
    """With RouterPlanner and no plan, the run's one task goes to the best match."""
    orch = Orchestrator(_specialists(), planner=RouterPlanner())
    result = orch.run_sync("research the sources of this claim")
    (created,) = _kinds(result, "plan_created")
    assert created.planner == "router"
    assert [e.agent for e in _kinds(result, "task_started")] == ["researcher"]


def test_rule_based_planner_orders_by_mention() -> None:
    """Tasks follow the order the request mentions the skills, chained as a pipeline."""
    plan = anyio.run(
        RuleBasedPlanner().plan, "Edit the text after you research and write it", _specialists()
    )
    assert [t.agent for t in plan.tasks] == ["editor", "researcher", "writer"]
    assert [t.all_dependencies() for t in plan.tasks] == [[], ["1-edit"], ["2-research"]]
    assert plan.synthesize == "last"


def test_rule_based_planner_parallel_and_fallback() -> None:
    """'in parallel' gives independent tasks synthesized together; no match routes."""
    planner = RuleBasedPlanner()
    side = anyio.run(planner.plan, "research and write in parallel", _specialists())
    assert [t.agent for t in side.tasks] == ["researcher", "writer"]
    assert all(not t.all_dependencies() for t in side.tasks) and side.synthesize == "all"
    none = anyio.run(planner.plan, "sing a song about facts", _specialists())
    assert [t.agent for t in none.tasks] == ["researcher"]


def test_default_planner_is_rule_based() -> None:
    """A run without a plan uses the RuleBasedPlanner and traces its plan."""
    result = Orchestrator(_specialists()).run_sync("write then edit")
    (created,) = _kinds(result, "plan_created")
    assert created.planner == "rule-based"
    assert [t["agent"] for t in created.plan["tasks"]] == ["writer", "editor"]
    assert result.status == "succeeded"


def _three_tasks(synthesize: str) -> Plan:
    plan = pipeline("a", "b")
    plan.tasks.append(Task(id="c", agent="a"))
    plan.synthesize = synthesize  # type: ignore[assignment]
    return plan


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("last", "## 2-b\nb: B\n\n## c\na: C"),
        ("all", "## 1-a\na: A\n\n## 2-b\nb: B\n\n## c\na: C"),
        ("none", None),
    ],
)
def test_default_synthesizer_modes(mode: str, expected: str | None) -> None:
    """last: the sink tasks' outputs; all: every output; none: no answer."""
    agents = [MockAgent("a", reply={"1-a": "a: A", "c": "a: C"}), MockAgent("b", reply="b: B")]
    result = Orchestrator(agents).run_sync("x", _three_tasks(mode))
    assert result.output == expected
    answer = [e.envelope for e in _kinds(result, "message_sent")][-1]
    assert (answer.sender, answer.recipient, answer.payload) == ("orchestrator", "user", expected)


def test_single_sink_output_is_the_answer_as_is() -> None:
    """One sink task: its output (even JSON) is the answer unchanged."""
    orch = Orchestrator([FunctionAgent(lambda d: {"k": [1, 2]}, name="f")])
    assert orch.run_sync("x", Plan(tasks=[Task(id="t", agent="f")])).output == {"k": [1, 2]}


def test_custom_synthesizer_gets_results_and_a_session() -> None:
    """A synthesizer receives request, plan and results, and can trace through its session."""

    async def synth(request: str, plan: Plan, results: Any, session: Any) -> str:
        session.log("combining")
        return f"{request}: " + "+".join(str(results[t.id]) for t in plan.tasks)

    orch = Orchestrator([MockAgent("a", reply="{task_id}")], synthesizer=synth)
    result = orch.run_sync("q", pipeline("a", "a"))
    assert result.output == "q: 1-a+2-a"
    assert [e.message for e in _kinds(result, "log")] == ["combining"]


def test_run_sync_inside_a_running_event_loop() -> None:
    """run_sync called where an event loop already runs (as in Jupyter) still works."""
    orch = Orchestrator([MockAgent("a")])

    async def notebook_cell() -> Any:
        return orch.run_sync("x", Plan(tasks=[Task(id="t", agent="a")]))

    result = anyio.run(notebook_cell)
    assert result.status == "succeeded" and result.output == "a: x"


def test_a_broken_sink_is_detached_and_reported() -> None:
    """A sink that raises never breaks the run: it is detached, and a log event and a
    warning say so."""

    class Broken:
        def emit(self, event: Any) -> None:
            raise OSError("disk full")

        def close(self) -> None:
            pass

    with pytest.warns(RuntimeWarning, match="Broken failed and was detached"):
        result = Orchestrator([MockAgent("a")]).run_sync(
            "x", Plan(tasks=[Task(id="t", agent="a")]), sinks=[Broken()]
        )
    assert result.status == "succeeded"
    logs = _kinds(result, "log")
    assert len(logs) == 1 and "Broken failed and was detached" in logs[0].message


def test_agent_exception_in_planner_is_recorded() -> None:
    """A planner that raises ends the run as failed with the error recorded."""

    class BadPlanner:
        name = "bad"

        async def plan(self, request: str, agents: Any, session: Any = None) -> Plan:
            raise RuntimeError("no idea")

    result = Orchestrator([MockAgent("a")], planner=BadPlanner()).run_sync("x")
    assert result.status == "failed"
    assert result.error == "RuntimeError: no idea"
    assert result.events[-1].kind == "run_finished"


def test_a_plan_run_again_unchanged_is_checked_once_and_a_changed_one_again() -> None:
    """``prepare`` remembers a plan's check by its content: the same plan (or an equal
    one) shares one check, a plan changed in place is checked (and recorded) anew, and
    a plan that became invalid is refused."""

    async def echo(text: str) -> str:
        return text + "!"

    orch = Orchestrator([FunctionAgent(echo, "a")])
    plan = Plan(tasks=[Task(id="t1", agent="a", prompt="{{input}}")])
    first = plan.check_for(orch.agents)
    assert Plan.model_validate(plan.model_dump()).check_for(orch.agents) is first
    assert anyio.run(orch.run, "x", plan).output == "x!"
    assert plan.check_for(orch.agents) is first
    plan.tasks.append(Task(id="t2", agent="a", prompt="{{t1}}?"))
    result = anyio.run(orch.run, "x", plan)
    assert result.output == "x!?!"
    (created,) = _kinds(result, "plan_created")
    assert [t["id"] for t in created.plan["tasks"]] == ["t1", "t2"]
    plan.tasks[1].agent = "nobody"
    with pytest.raises(PlanError, match="unknown agent 'nobody'"):
        orch.prepare("x", plan)


def test_a_remembered_plan_is_recorded_scrubbed_only_where_the_run_redacts() -> None:
    """One plan content shared by a redacting and a non-redacting orchestrator: each
    run's ``plan_created`` follows its own orchestrator's setting."""
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2

    async def echo(text: str) -> str:
        return "ok"

    plan = Plan(tasks=[Task(id="t1", agent="a", prompt=f"use {key}")])
    for redact, shown in ((True, "use sk-***"), (False, f"use {key}"), (True, "use sk-***")):
        orch = Orchestrator([FunctionAgent(echo, "a")], redact_secrets=redact)
        (created,) = _kinds(anyio.run(orch.run, "x", plan), "plan_created")
        assert created.plan["tasks"][0]["prompt"] == shown


def test_remembered_plans_are_bounded_by_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plans ``check_for`` remembers hold a bounded amount of memory: the oldest go
    first once their JSON passes the budget, and a plan bigger than it is never held."""
    import toolkit.plan as plans

    monkeypatch.setattr(plans, "_CHECKED", type(plans._CHECKED)())
    monkeypatch.setattr(plans, "_checked_chars", 0)
    small = [Plan(name=f"p{i}", tasks=[Task(id="t", agent="a")]) for i in range(3)]
    monkeypatch.setattr(plans, "_CHECKED_CHARS", 2 * len(small[0].model_dump_json()) + 1)
    checks = [p.check_for(["a"]) for p in small]
    assert small[2].check_for(["a"]) is checks[2] and small[1].check_for(["a"]) is checks[1]
    assert small[0].check_for(["a"]) is not checks[0]  # evicted by the third
    big = Plan(tasks=[Task(id=f"t{i}", agent="a") for i in range(20)])
    assert big.check_for(["a"]) is not big.check_for(["a"])
    assert plans._checked_chars == sum(len(text) for text, _ in plans._CHECKED)
