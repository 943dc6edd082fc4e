"""The run engine's trust rules: every run has its own id, every task ends exactly once
(also under fail_fast), every healthy sink gets every event, spans form a tree, and
``cancel`` is safe from any thread at any moment."""

from __future__ import annotations

import random
import threading
import warnings
from collections import Counter
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import Directive, FailureSpec, FunctionAgent, MockAgent, Orchestrator, Plan, Task
from toolkit.agents import LatencySpec
from toolkit.plan import ReviewSpec
from toolkit.tracing import SinkWarning

TERMINAL = ("task_finished", "task_skipped")


def _terminal(events: list[Any]) -> Counter[str]:
    """How many terminal events each task got (finished, skipped, or a final failure)."""
    return Counter(
        e.task_id for e in events if e.kind in TERMINAL or (e.kind == "task_failed" and e.final)
    )


def _check_every_task_ends_once(result: Any) -> None:
    plan_ids = [t.id for t in result.state.tasks.values()]
    assert _terminal(result.events) == Counter(plan_ids), result.events
    for task in result.state.tasks.values():
        assert task.status in ("done", "failed", "skipped"), (task.id, task.status)
    started = {e.task_id for e in result.events if e.kind == "task_started"}
    skipped = {e.task_id for e in result.events if e.kind == "task_skipped"}
    assert not started & skipped  # a task that started ends finished or failed


# -- 1. run ids ---------------------------------------------------------------------


def test_runs_with_one_seed_get_their_own_ids_in_start_order() -> None:
    """The seed decides the content, never the identity: five runs with one seed have
    five different run ids (and trace ids) that sort in the order the runs started."""
    orch = Orchestrator([MockAgent("a", latency=LatencySpec(mean=0.0))], seed=7)
    plan = Plan(tasks=[Task(id="t", agent="a")])
    results = [orch.run_sync("x", plan) for _ in range(5)]
    ids = [r.run_id for r in results]
    assert len(set(ids)) == 5 and sorted(ids) == ids
    assert len({r.events[0].trace_id for r in results}) == 5
    assert {r.output for r in results} == {"a: x"}
    assert {r.events[0].seed for r in results} == {7}


# -- 2. fail_fast -------------------------------------------------------------------


def test_fail_fast_ends_each_task_once_with_the_right_attempt() -> None:
    """fail_fast while one task runs its second attempt and another waits out a retry
    backoff: each ends in exactly one cancelled task_failed carrying its latest attempt,
    nothing starts after the stop, and the run does not wait for the backoff."""
    second_attempt = anyio.Event()
    in_backoff = anyio.Event()

    async def agent(directive: Directive) -> str:
        if directive.task_id == "busy":
            if directive.attempt == 1:
                raise RuntimeError("first attempt fails")
            second_attempt.set()
            await anyio.sleep_forever()
        if directive.task_id == "backoff":
            in_backoff.set()
            raise RuntimeError("fails, then waits out a long backoff")
        if directive.task_id == "bad":
            await second_attempt.wait()
            await in_backoff.wait()
            await anyio.sleep(0)
            raise RuntimeError("the failure that stops the run")
        return "ok"

    plan = Plan(
        tasks=[
            Task(id="busy", agent="agent", retries=1),
            Task(id="backoff", agent="agent", retries=1, backoff_s=3600),
            Task(id="bad", agent="agent"),
            Task(id="after", agent="agent", depends_on=["bad"]),
        ]
    )
    result = Orchestrator([FunctionAgent(agent)], fail_fast=True).run_sync("x", plan)
    assert result.status == "failed"
    _check_every_task_ends_once(result)
    final = {e.task_id: e for e in result.events if e.kind == "task_failed" and e.final}
    assert (final["busy"].error_type, final["busy"].attempt) == ("cancelled", 2)
    assert (final["backoff"].error_type, final["backoff"].attempt) == ("cancelled", 1)
    assert final["bad"].error_type == "exception"
    stop = final["bad"].seq
    assert not [
        e
        for e in result.events
        if e.kind in ("task_started", "message_sent")
        and e.seq > stop
        and e.envelope.sender != "orchestrator"
        if e.kind == "message_sent"
    ]
    assert not [e for e in result.events if e.kind == "task_started" and e.seq > stop]
    assert result.state.tasks["after"].status == "skipped"


def _random_plan(rng: random.Random) -> Plan:
    tasks = []
    for i in range(rng.randint(2, 7)):
        deps = sorted({f"t{rng.randrange(i)}" for _ in range(rng.randint(0, 2))}) if i else []
        tasks.append(
            Task(
                id=f"t{i}",
                agent=rng.choice(["ok", "flaky", "slow"]),
                depends_on=deps,
                retries=rng.randint(0, 2),
                backoff_s=rng.choice([0.0, 0.001]),
                fallback=rng.choice([None, "ok"]),
                timeout_s=0.05,  # a hanging attempt ends by its timeout
            )
        )
    return Plan(tasks=tasks)


def test_fail_fast_soak_every_task_ends_once() -> None:
    """Across seeded fail_fast runs with retries, backoffs, fallbacks, timeouts and
    concurrency: every task ends in exactly one terminal event, no task ends running or
    retrying, and nothing starts after the failure that stopped the run."""
    agents = [
        MockAgent("ok", latency=LatencySpec(dist="uniform", mean=0.001, spread=0.001)),
        MockAgent(
            "flaky",
            latency=LatencySpec(dist="uniform", mean=0.001, spread=0.001),
            failures=FailureSpec(exception=0.4, hang=0.05),
        ),
        MockAgent("slow", latency=LatencySpec(dist="uniform", mean=0.003, spread=0.003)),
    ]
    for seed in range(60):
        rng = random.Random(seed)
        orch = Orchestrator(agents, seed=seed, fail_fast=True, concurrency=rng.randint(1, 4))
        result = orch.run_sync("x", _random_plan(rng))
        _check_every_task_ends_once(result)
        stops = [
            e
            for e in result.events
            if e.kind == "task_failed" and e.final and e.error_type != "cancelled"
        ]
        if stops:
            assert not [
                e for e in result.events if e.kind == "task_started" and e.seq > stops[0].seq
            ]
            cancels = [
                e for e in result.events if e.kind == "task_failed" and e.error_type == "cancelled"
            ]
            for cancel in cancels:
                latest = [
                    e.attempt
                    for e in result.events
                    if e.kind == "task_started" and e.task_id == cancel.task_id
                ]
                assert cancel.attempt == latest[-1]


# -- 3. a failing sink --------------------------------------------------------------


def test_a_failing_sink_costs_the_other_sinks_nothing() -> None:
    """A sink that raises is detached, but the sinks after it still get every event
    (the one it failed on included); the failure is a log event and a SinkWarning."""

    class Broken:
        def emit(self, event: Any) -> None:
            if event.kind == "task_started":
                raise OSError("disk full")

        def close(self) -> None:
            pass

    seen: list[Any] = []
    orch = Orchestrator([MockAgent("a")])
    with pytest.warns(SinkWarning, match="Broken failed and was detached"):
        result = orch.run_sync(
            "x", Plan(tasks=[Task(id="t", agent="a")]), sinks=[Broken()], on_event=seen.append
        )
    assert seen == result.events
    (log,) = [e for e in result.events if e.kind == "log"]
    assert log.level == "error" and "OSError('disk full')" in log.message


# -- 4. the span tree ---------------------------------------------------------------


class _Talker:
    """An agent that uses its session: a tool call, a model call, a log line, a message."""

    name = "talker"
    kind = "test"
    description = "talks"
    skills = ()

    def card(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "skills": []}

    async def run(self, directive: Directive) -> str:
        session = directive.session
        session.tool_call("search", {"q": "x"}, "found")
        session.llm_call(model="m", prompt_tokens=3, completion_tokens=2)
        session.llm_delta("typing")
        session.log("thinking")
        await session.send("ok", "hello")
        if directive.attempt == 1 and directive.task_id.endswith("0"):
            raise RuntimeError("first attempt fails")
        return f"talked {directive.task_id}"


@st.composite
def _span_plans(draw: st.DrawFn) -> tuple[Plan, bool]:
    n = draw(st.integers(1, 5))
    tasks = []
    for i in range(n):
        deps = (
            sorted(set(draw(st.lists(st.sampled_from([f"t{j}" for j in range(i)]), max_size=2))))
            if i
            else []
        )
        review = draw(st.sampled_from([None, ReviewSpec(reviewer="reviewer", max_rounds=2)]))
        tasks.append(
            Task(
                id=f"t{i}",
                agent=draw(st.sampled_from(["talker", "ok", "bad"])),
                depends_on=deps,
                retries=draw(st.integers(0, 1)),
                fallback=draw(st.sampled_from([None, "ok"])),
                review=review,
            )
        )
    return Plan(tasks=tasks), draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_span_plans())
def test_spans_form_a_tree(case: tuple[Plan, bool]) -> None:
    """Every parent span exists, no event is its own parent, every span has one parent,
    and every event of an attempt (its messages, tool, model calls, logs) sits under
    that attempt's span, which sits under its task's span, under the run's span."""
    plan, fail_fast = case
    agents = [
        _Talker(),
        MockAgent("ok"),
        MockAgent("bad", failures=FailureSpec(exception=1.0)),
        MockAgent("reviewer", reply=["needs work", "APPROVED"]),
    ]
    result = Orchestrator(agents, seed=1, fail_fast=fail_fast).run_sync("x", plan)
    events = result.events
    root = events[0].span_id
    parent_of: dict[str, str | None] = {}
    for e in events:
        assert e.span_id != e.parent_span_id, e
        assert (
            parent_of.setdefault(e.span_id, e.parent_span_id) == e.parent_span_id
            or e.parent_span_id is None
        ), e
    for e in events:
        if e.parent_span_id is not None:
            assert e.parent_span_id in parent_of, e
    assert parent_of[root] is None
    task_span: dict[str, str] = {}
    for e in events:
        if e.kind in ("task_finished", "task_skipped") or (e.kind == "task_failed" and e.final):
            assert e.parent_span_id == root, e
            assert task_span.setdefault(e.task_id, e.span_id) == e.span_id
    attempts: dict[str, tuple[str, int]] = {}
    for e in events:
        if e.kind == "task_started":
            assert e.parent_span_id == task_span[e.task_id], e
            attempts[e.span_id] = (e.task_id, e.attempt)
        elif e.kind == "review_verdict":
            assert e.parent_span_id == task_span[e.task_id], e
    for e in events:
        if e.kind == "message_sent" and e.envelope.task_id is not None:
            env = e.envelope
            assert e.span_id == env.message_id and e.parent_span_id == env.span_id
            if env.span_id in attempts:  # a work attempt (else the task's review span)
                assert attempts[env.span_id][0] == env.task_id
                if env.kind in ("directive", "result", "error"):
                    assert attempts[env.span_id][1] == env.attempt
            else:
                assert parent_of[env.span_id] == task_span[env.task_id]
        elif e.kind in ("tool_call", "llm_call"):
            assert attempts[e.parent_span_id][0] == e.task_id
        elif e.kind in ("llm_delta", "log") and getattr(e, "task_id", None):
            assert attempts[e.span_id][0] == e.task_id


def test_messages_of_the_run_span_are_not_their_own_parent() -> None:
    """The request and the answer sit under the run's span, each on its own span."""
    result = Orchestrator([MockAgent("a")]).run_sync("x", Plan(tasks=[Task(id="t", agent="a")]))
    root = result.events[0].span_id
    user = [
        e
        for e in result.events
        if e.kind == "message_sent" and "user" in (e.envelope.sender, e.envelope.recipient)
    ]
    assert len(user) == 2
    for e in user:
        assert e.parent_span_id == root and e.span_id != root


# -- the answer of a failed run -----------------------------------------------------


def test_a_failed_run_answers_the_user_with_an_error() -> None:
    """A failed run's last message to the user is an error naming why, not a result."""
    orch = Orchestrator([MockAgent("bad", failures=FailureSpec(exception=1.0)), MockAgent("ok")])
    plan = Plan(tasks=[Task(id="a", agent="bad"), Task(id="b", agent="ok")])
    result = orch.run_sync("x", plan)
    assert result.status == "failed"
    last = [
        e.envelope
        for e in result.events
        if e.kind == "message_sent" and e.envelope.recipient == "user"
    ]
    assert [(m.kind, m.payload) for m in last] == [("error", "1 task(s) failed: a")]


# -- 6. cancel from another thread --------------------------------------------------


def test_cancel_from_another_thread_never_waits_for_a_busy_loop() -> None:
    """cancel() from another thread returns at once even while the run's loop is busy
    (here: inside a sink, as the run ends); the run still finishes normally."""
    returned = threading.Event()
    holder: dict[str, Any] = {}
    errors: list[BaseException] = []

    def call_cancel() -> None:
        try:
            holder["run"].cancel()
        except BaseException as exc:  # the rule: nothing escapes
            errors.append(exc)
        returned.set()

    class CancelOnFinish:
        def emit(self, event: Any) -> None:
            if event.kind == "run_finished":
                thread = threading.Thread(target=call_cancel, daemon=True)
                thread.start()
                # the loop is blocked right here: a cancel that waits for it never returns
                returned.wait(timeout=30)

        def close(self) -> None:
            pass

    orch = Orchestrator([MockAgent("a")])
    run = holder["run"] = orch.prepare(
        "x", Plan(tasks=[Task(id="t", agent="a")]), sinks=[CancelOnFinish()]
    )
    result = anyio.run(run.execute)
    assert returned.is_set() and errors == []
    assert result.status == "succeeded"


def test_cancel_from_another_thread_as_runs_end_never_raises() -> None:
    """Many runs end while another thread calls cancel(): cancel never raises, every run
    ends succeeded or cancelled, and every task still ends exactly once."""
    errors: list[BaseException] = []
    statuses: Counter[str] = Counter()
    agents = [MockAgent("a"), MockAgent("b", latency=0.0005)]
    plan = Plan(
        tasks=[
            Task(id="t1", agent="a"),
            Task(id="t2", agent="b", depends_on=["t1"]),
            Task(id="t3", agent="b"),
        ]
    )
    for i in range(150):
        ending = threading.Event()
        holder: dict[str, Any] = {}

        def canceller(ending: threading.Event = ending, holder: dict[str, Any] = holder) -> None:
            ending.wait()
            try:
                holder["run"].cancel()
            except BaseException as exc:  # the rule: nothing escapes
                errors.append(exc)

        def on_event(event: Any, i: int = i, ending: threading.Event = ending) -> None:
            # the canceller is released at a different point of each run, up to its end
            if event.seq >= i % 14:
                ending.set()

        thread = threading.Thread(target=canceller, daemon=True)
        thread.start()
        run = holder["run"] = Orchestrator(agents).prepare("x", plan, on_event=on_event)
        result = anyio.run(run.execute)
        ending.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        statuses[result.status] += 1
        assert result.status in ("succeeded", "cancelled")
        assert result.events[-1].kind == "run_finished"
        _check_every_task_ends_once(result)
    assert errors == []
    assert statuses["succeeded"] and statuses["cancelled"]
    # cancel after the end is harmless too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.cancel()
