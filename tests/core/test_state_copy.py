"""RunState.copy(): a copy the fold can go on with, sharing nothing it mutates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from tests.widgets.conftest import demo_events
from toolkit.state import APPEND_ONLY, AgentView, RunState, TaskView, fold


def _containers(obj: object) -> list[tuple[str, object]]:
    """Every list, dict and set reachable from a state, its records included."""
    found: list[tuple[str, object]] = []
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, list | dict | set):
            found.append((f.name, value))
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, TaskView | AgentView):
                    found.extend((f"{f.name}[{key}].{n}", v) for n, v in _containers(item))
    return found


def test_a_copy_shares_no_container_with_the_original() -> None:
    """Every container of the copy (the state's, each task's, each agent's) is a new object."""
    state = fold(demo_events())
    clone = state.copy()
    assert asdict(clone) == asdict(state)
    originals = {id(v) for _, v in _containers(state)}
    assert not [name for name, v in _containers(clone) if id(v) in originals]


def test_folding_into_a_copy_leaves_the_original_alone() -> None:
    """Folding the rest of a run into a copy of its prefix never changes the prefix's state."""
    events = demo_events()
    half = fold(events[: len(events) // 2])
    before = asdict(half)
    clone = half.copy()
    clone.apply_all(events[len(events) // 2 :])
    assert asdict(half) == before
    assert asdict(clone) == asdict(fold(events))


@dataclass(slots=True)
class _TaskWithNotes(TaskView):
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _StateWithMarks(RunState):
    marks: list[int] = field(default_factory=list)
    by_task: dict[str, _TaskWithNotes] = field(default_factory=dict)


def test_a_new_list_field_is_copied_without_being_named() -> None:
    """A list field added to the state (or to a task record) is copied too: no aliasing between copies."""
    state = _StateWithMarks()
    state.marks.append(1)
    state.by_task["t"] = _TaskWithNotes(id="t", agent="a", notes=["x"])
    clone = state.copy()
    clone.marks.append(2)
    clone.by_task["t"].notes.append("y")
    assert state.marks == [1]
    assert state.by_task["t"].notes == ["x"]
    assert type(clone) is _StateWithMarks and type(clone.by_task["t"]) is _TaskWithNotes


def test_empty_leaves_the_append_only_lists_out() -> None:
    """copy(empty=APPEND_ONLY) leaves messages and logs empty and copies the rest."""
    state = fold(demo_events())
    assert set(APPEND_ONLY) == {"messages", "logs"}
    clone = state.copy(empty=APPEND_ONLY)
    assert clone.messages == [] and clone.logs == [] and state.messages
    assert asdict(clone)["tasks"] == asdict(state)["tasks"]
