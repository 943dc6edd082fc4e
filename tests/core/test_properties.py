"""Property tests: for any DAG and any concurrency the scheduler runs each runnable task
exactly once and only after its dependencies; the recorded trace folds to the live
state; any payload survives the event JSON round trip. Derandomized: same examples on
every run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import Directive, FunctionAgent, Orchestrator, Plan, RunState, Task, fold, read_trace
from toolkit.events import Log, ToolCall, dump_event, parse_event
from toolkit.tracing import IdFactory, Tracer

PROPERTY = settings(derandomize=True, max_examples=50, deadline=None)


@st.composite
def dags(draw: st.DrawFn) -> dict[str, Any]:
    """A random DAG: task i depends only on lower indexes; some tasks fail; a yield count
    per task shuffles the interleaving."""
    n = draw(st.integers(1, 14))
    deps = [sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)]
    return {
        "deps": deps,
        "fails": draw(st.sets(st.integers(0, n - 1), max_size=2)),
        "yields": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        "concurrency": draw(st.integers(1, 8)),
        "via_prompt": draw(st.booleans()),
    }


@PROPERTY
@given(dags())
def test_any_dag_runs_each_task_once_after_its_dependencies(dag: dict[str, Any]) -> None:
    """Every task whose dependencies all succeed runs exactly once, starts only after each
    dependency finished, and sees their results; the others are skipped and never start;
    the live fold, the result's state and the fold of the JSONL trace are equal."""
    deps, fails = dag["deps"], dag["fails"]
    contexts: dict[str, dict[str, Any]] = {}

    async def work(directive: Directive) -> str:
        i = int(directive.task_id[1:])
        contexts[directive.task_id] = dict(directive.context)
        for _ in range(dag["yields"][i]):
            await anyio.sleep(0)
        if i in fails:
            raise RuntimeError(f"task {i} fails")
        return f"out{i}"

    tasks = []
    for i, ds in enumerate(deps):
        if dag["via_prompt"]:
            tasks.append(
                Task(id=f"t{i}", agent="work", prompt=" ".join(f"{{{{t{d}}}}}" for d in ds))
            )
        else:
            tasks.append(Task(id=f"t{i}", agent="work", depends_on=[f"t{d}" for d in ds]))
    orch = Orchestrator([FunctionAgent(work)], concurrency=dag["concurrency"], seed=0)
    live = RunState()
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "t.jsonl"
        result = orch.run_sync("go", Plan(tasks=tasks), trace=trace, on_event=live.apply)
        recorded = read_trace(trace)

    runnable: set[int] = set()
    for i, ds in enumerate(deps):  # dependencies have lower indexes: one pass suffices
        if all(d in runnable and d not in fails for d in ds):
            runnable.add(i)
    started = [e for e in result.events if e.kind == "task_started"]
    assert sorted(e.task_id for e in started) == sorted(f"t{i}" for i in runnable)
    finished_at = {e.task_id: e.seq for e in result.events if e.kind == "task_finished"}
    assert set(finished_at) == {f"t{i}" for i in runnable - fails}
    for e in started:
        for d in deps[int(e.task_id[1:])]:
            assert finished_at[f"t{d}"] < e.seq
        assert contexts[e.task_id] == {f"t{d}": f"out{d}" for d in deps[int(e.task_id[1:])]}
    statuses = {t.id: t.status for t in result.state.tasks.values()}
    for i in range(len(deps)):
        expected = "skipped" if i not in runnable else ("failed" if i in fails else "done")
        assert statuses[f"t{i}"] == expected
    assert result.status == (
        "failed" if runnable & fails or len(runnable) < len(deps) else "succeeded"
    )
    assert recorded.problems == []
    assert fold(recorded.events) == result.state == live


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
TEXT = st.text(st.characters(codec="utf-8"))  # control characters, ESC, NUL, emoji…


@PROPERTY
@given(payload=JSON, text=TEXT, arguments=st.dictionaries(st.text(), JSON, max_size=3))
def test_generated_payloads_round_trip_through_event_json(
    payload: Any, text: str, arguments: dict[str, Any]
) -> None:
    """Messages, logs and tool calls with any text and nested JSON survive dump/parse unchanged."""
    tracer = Tracer("run-p", "b" * 32, ids=IdFactory(1))
    tracer.message(
        text or "agent", "orchestrator", "result", payload, span_id="s", conversation_id="c"
    )
    tracer.emit(Log, message=text, agent=text)
    tracer.emit(ToolCall, agent="a", tool=text, arguments=arguments, result=payload)
    for event in tracer.events:
        line = dump_event(event)
        assert b"\n" not in line  # one event, one JSONL line, whatever the text holds
        assert parse_event(line) == event


@PROPERTY
@given(
    st.integers(2**64, 2**80) | st.integers(-(2**80), -(2**63) - 1),
    st.text(min_size=1).filter(lambda k: k != "7"),
)
def test_values_beyond_orjson_still_make_a_readable_line(big: int, key: str) -> None:
    """Integers beyond 64 bits and non-string keys are still written as a parseable line."""
    tracer = Tracer("run-p", "b" * 32, ids=IdFactory(1))
    tracer.message("a", "b", "a2a", {key: big, 7: "int key"}, span_id="s", conversation_id="c")
    (event,) = tracer.events
    parsed = parse_event(dump_event(event))
    assert parsed.envelope.payload == {key: big, "7": "int key"}
