"""Trace events: every kind survives a JSON round trip, the schema covers them all,
and a run's stream is well formed (seq without gaps, time never going back, both
ends of every message named)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any, get_args

import pytest

from sample_agents.scenarios import SCENARIOS
from toolkit import FunctionAgent, MockAgent, Orchestrator, Plan, Task
from toolkit.agents import Directive, FailureSpec
from toolkit.events import (
    SCHEMA_VERSION,
    A2AUpdate,
    BreakerChanged,
    ConflictRaised,
    ConflictResolved,
    PlanRejected,
    PlanUpdated,
    RunForked,
    RunResumed,
    Snapshot,
    TaskStarted,
    TraceEvent,
    dump_event,
    dump_line,
    event_json_schema,
    parse_event,
    trusted_maker,
)
from toolkit.tracing import IdFactory, Tracer

ALL_KINDS = {cls.model_fields["kind"].default for cls in get_args(get_args(TraceEvent)[0])}


async def _chatty(directive: Directive) -> str:
    """An agent that uses every session feature, so its run emits every session event kind."""
    session = directive.session
    session.log("looking things up", level="warning")
    session.tool_call("search", {"q": directive.prompt}, ["a", "b"], duration_s=0.001)
    session.llm_delta("partial ")
    session.llm_call(model="fake-1", prompt_tokens=3, completion_tokens=2, cost_usd=0.0001)
    await session.send("helper", {"nested": [1, {"x": "ü"}]})
    return "done"


def _session_run() -> list[Any]:
    orch = Orchestrator(
        [
            FunctionAgent(_chatty, name="chatty"),
            MockAgent("helper"),
            MockAgent("broken", failures=FailureSpec(exception=1.0)),
        ],
        seed=4,
    )
    plan = Plan(
        name="session",
        tasks=[
            Task(id="talk", agent="chatty", prompt="{{input}}"),
            Task(id="bad", agent="broken"),
            Task(id="after-bad", agent="helper", depends_on=["bad"]),
        ],
    )
    return orch.run_sync("find ünïcode", plan).events


def _extra_events() -> list[Any]:
    """The kinds a plain run never emits (planners, stores, resumes, re-runs, breakers,
    remote agents and resolvers do)."""
    tracer = Tracer("run-x", "0" * 32, ids=IdFactory(1))
    return [
        tracer.emit(
            ConflictRaised,
            task_id="resolve",
            question="ship?",
            positions=[{"agent": "a", "answer": "yes", "confidence": 0.5, "rationale": ""}],
        ),
        tracer.emit(
            ConflictResolved,
            task_id="resolve",
            strategy="vote",
            answer="yes",
            winners=["a"],
            decided_by="resolver",
            tally={"yes": 1.0},
            reason="1 of 1 votes",
        ),
        tracer.emit(PlanUpdated, added=[{"id": "t9", "agent": "a"}], reason="replanned"),
        tracer.emit(
            PlanRejected,
            planner="llm",
            attempt=1,
            max_attempts=3,
            problems=["task 'a' depends on itself"],
            plan={"tasks": [{"id": "a", "agent": "a", "depends_on": ["a"]}]},
            text='{"tasks": [...]}',
        ),
        tracer.emit(Snapshot, state={"status": "running", "tasks": {"t": {"n": 1}}}),
        tracer.emit(
            RunResumed, kept=["a"], rerun=["b"], interrupted=["b"], attempts={"b": 1}, last_seq=1
        ),
        tracer.emit(RunForked, forked_from="run-y", from_task="b", reused=["a"], rerun=["b"]),
        tracer.emit(
            BreakerChanged,
            agent="a",
            state="open",
            previous="closed",
            reason="3 consecutive failure(s)",
            failures=3,
        ),
        tracer.emit(
            A2AUpdate,
            agent="a",
            task_id="t9",
            remote_task_id="r1",
            update="artifact",
            state="",
            text="answer",
            name="answer",
            data=[{"n": 1}],
        ),
    ]


@pytest.fixture(scope="module")
def runs() -> dict[str, list[Any]]:
    """Events of every sample scenario (at 1% of their latency) and of a session-heavy run."""
    out = {}
    for name, build in SCENARIOS.items():
        orch, plan, request = build(speed=0.01)
        out[name] = orch.run_sync(request, plan).events
    out["session"] = _session_run()
    return out


def test_every_kind_round_trips_through_json(runs: dict[str, list[Any]]) -> None:
    """parse_event(dump_event(e)) == e for every event of real runs, covering every kind."""
    events = [e for evs in runs.values() for e in evs] + _extra_events()
    seen = set()
    for event in events:
        assert parse_event(dump_event(event)) == event
        seen.add(event.kind)
    assert seen == ALL_KINDS


def test_schema_is_valid_json_schema_covering_every_kind() -> None:
    """event_json_schema() is a valid JSON Schema whose discriminator names every kind."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = event_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["discriminator"]["mapping"]) == ALL_KINDS
    assert str(SCHEMA_VERSION) in schema["$comment"]


def test_recorded_events_validate_against_the_schema(runs: dict[str, list[Any]]) -> None:
    """Events as written to JSON are instances of the published schema."""
    jsonschema = pytest.importorskip("jsonschema")
    import orjson

    validator = jsonschema.Draft202012Validator(event_json_schema())
    for event in runs["feature-review"] + runs["session"]:
        validator.validate(orjson.loads(dump_event(event)))


def test_run_started_carries_schema_version_and_agents(runs: dict[str, list[Any]]) -> None:
    """The first event is run_started with the schema version and each agent's card."""
    for events in runs.values():
        first = events[0]
        assert first.kind == "run_started"
        assert first.schema_version == SCHEMA_VERSION
        assert first.agents and all("kind" in card for card in first.agents.values())


def test_stream_is_well_formed(runs: dict[str, list[Any]]) -> None:
    """Per run: seq is 0..n-1 without gaps and run_finished is last and once; ts never
    decreases; one trace id; every run but the first is a team's child run naming a run
    of the stream as its parent (``toolkit.team``), and the first run ends the stream."""
    for name, events in runs.items():
        by_run: dict[str, list[Any]] = {}
        for e in events:
            by_run.setdefault(e.run_id, []).append(e)
        for run_events in by_run.values():
            assert [e.seq for e in run_events] == list(range(len(run_events))), name
            assert run_events[-1].kind == "run_finished"
            assert sum(e.kind == "run_finished" for e in run_events) == 1
        for run_id, run_events in by_run.items():
            if run_id != events[0].run_id:
                assert run_events[0].meta["parent_run"] in by_run, name
        assert all(a.ts <= b.ts for a, b in pairwise(events)), name
        assert {e.trace_id for e in events} == {events[0].trace_id}, name
        assert events[-1].kind == "run_finished" and events[-1].run_id == events[0].run_id


def test_every_message_names_sender_and_recipient(runs: dict[str, list[Any]]) -> None:
    """Each message_sent envelope has a non-empty sender and recipient that are participants."""
    for events in runs.values():
        # a team's child run (toolkit.team) has agents of its own
        agents = {a for e in events if e.kind == "run_started" for a in e.agents}
        participants = agents | {"user", "orchestrator"}
        for e in events:
            if e.kind != "message_sent":
                continue
            env = e.envelope
            assert env.sender in participants
            assert env.recipient in participants | {"*"} or env.recipient.startswith("topic:")


def test_session_run_messages_and_usage(runs: dict[str, list[Any]]) -> None:
    """The user's request opens the flow and the answer closes it; agent replies carry usage."""
    events = runs["session"]
    messages = [e.envelope for e in events if e.kind == "message_sent"]
    assert (messages[0].sender, messages[0].recipient) == ("user", "orchestrator")
    assert (messages[-1].sender, messages[-1].recipient) == ("orchestrator", "user")
    a2a = [m for m in messages if m.kind == "a2a"]
    assert [(m.sender, m.recipient, m.payload) for m in a2a] == [
        ("chatty", "helper", {"nested": [1, {"x": "ü"}]})
    ]
    replies = [m for m in messages if m.kind in ("result", "error") and m.task_id]
    assert replies and all(m.usage is not None and "duration_s" in m.usage for m in replies)


def test_parse_event_rejects_unknown_kind_and_missing_fields() -> None:
    """parse_event refuses an unknown kind and an event without its required fields."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        parse_event(
            b'{"kind": "nope", "run_id": "r", "seq": 0, "ts": 0, "trace_id": "t", "span_id": "s"}'
        )
    with pytest.raises(ValidationError):
        parse_event(b'{"kind": "task_started", "run_id": "r", "seq": 0}')


def test_events_serialize_exactly_as_validated_ones(runs: dict[str, list[Any]]) -> None:
    """The tracer's unvalidated events write the same bytes as pydantic's own
    serializer writes for the validated event: same fields, order and values."""
    for event in [e for evs in runs.values() for e in evs] + _extra_events():
        validated = parse_event(dump_event(event))
        assert dump_event(event) == validated.model_dump_json().encode()


def test_trusted_maker_builds_what_validation_builds() -> None:
    """The one unvalidated builder makes the event validation makes (defaults and
    default factories filled, fields in the model's order, the same bytes written),
    gives each event fresh lists, and refuses an event without a required field."""
    make = trusted_maker(PlanUpdated)
    assert trusted_maker(PlanUpdated) is make  # made once per class
    fields: dict[str, Any] = {
        "run_id": "r",
        "seq": 3,
        "ts": 1.5,
        "trace_id": "t" * 32,
        "span_id": "s1",
    }
    event = make(**fields, reason="why")
    expected = PlanUpdated(**fields, reason="why")
    assert event == expected
    assert list(event.__dict__) == list(PlanUpdated.model_fields)
    assert dump_event(event) == expected.model_dump_json().encode()
    assert make(**fields).added is not event.added
    started = trusted_maker(TaskStarted)(**fields | {"task_id": "t1", "agent": "a1", "round": 2})
    assert started == TaskStarted(**fields | {"task_id": "t1", "agent": "a1", "round": 2})
    with pytest.raises(TypeError, match="task_id"):
        trusted_maker(TaskStarted)(**fields | {"agent": "a1"})


def test_dump_line_writes_each_event_as_dump_event_does(runs: dict[str, list[Any]]) -> None:
    """The recorder's line writer gives, for every event, dump_event's JSON and a
    newline, also for a payload orjson refuses (an integer beyond 64 bits)."""
    tracer = Tracer("run-x", "0" * 32, ids=IdFactory(1))
    odd = tracer.message("a", "b", "a2a", {"n": 2**70}, span_id="s", conversation_id="c")
    events = [*runs["session"], tracer.events[-1]]
    assert odd.payload == {"n": 2**70}
    assert [dump_line(e) for e in events] == [dump_event(e) + b"\n" for e in events]
