"""A workflow file is bounded: its size, how far it expands (YAML aliases included) and
how deep it nests; values no run can finish with are refused; checking it is linear."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.plan import Task
from toolkit.workflow import WorkflowError, load_workflow, parse_workflow, reference_problems


def _problems(tmp_path: Path, text: str, suffix: str = ".yaml") -> list[str]:
    path = tmp_path / f"w{suffix}"
    path.write_text(text)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    return info.value.problems


BOMB = """\
agents: {a: {}}
steps:
  - id: s
    agent: a
    meta:
      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""


def test_an_alias_bomb_in_a_free_form_field_is_refused_with_its_line(tmp_path: Path) -> None:
    """Aliases that expand to millions of values are refused where the expansion passes
    the limit, without being expanded."""
    (problem,) = _problems(tmp_path, BOMB)
    assert problem.startswith("line 11, column 10: this value expands to more than 500,000 values")


def test_a_long_string_repeated_by_aliases_is_refused(tmp_path: Path) -> None:
    """Text counts with every use of an alias: 64 uses of a 1 MiB string pass 16 MiB."""
    text = "agents: {a: {}}\nsteps:\n  - id: s\n    agent: a\n    meta:\n"
    text += f"      x: &x '{'y' * (1024 * 1024)}'\n      all: [{', '.join(['*x'] * 64)}]\n"
    (problem,) = _problems(tmp_path, text)
    assert "MiB of text" in problem and problem.startswith("line 7")


def test_an_alias_inside_its_own_value_is_refused(tmp_path: Path) -> None:
    """A value that contains itself (it would never end when written out) is refused."""
    (problem,) = _problems(tmp_path, "agents: {a: &x {meta: [*x]}}\nsteps: [{id: s, agent: a}]\n")
    assert "an alias inside the value it names" in problem


def test_a_file_above_the_size_limit_is_refused(tmp_path: Path) -> None:
    """A file of more than 4 MiB is refused before it is parsed."""
    (problem,) = _problems(tmp_path, "# " + "x" * (4 * 1024 * 1024))
    assert problem.startswith("larger than 4 MiB")


@pytest.mark.parametrize(
    ("step", "place"),
    [
        ("{id: s, agent: a, retries: 1.0e18}", "steps[0].retries"),
        ("{id: s, agent: a, backoff_s: 1.0e308}", "steps[0].backoff_s"),
        ("{id: s, agent: a, timeout_s: .inf}", "steps[0].timeout_s"),
        ("{id: s, agent: a, backoff_s: .nan}", "steps[0].backoff_s"),
        (
            "{id: s, agent: a, retries: 40, backoff_s: 1}",
            "steps[0]: backoff_s 1 doubled over 40 retries",
        ),
    ],
)
def test_values_no_run_can_finish_with_are_refused(tmp_path: Path, step: str, place: str) -> None:
    """Endless retries, delays and time limits are refused with their location."""
    problems = _problems(tmp_path, f"agents: {{a: {{}}}}\nsteps: [{step}]\n")
    assert any(p.startswith(place) for p in problems), problems


@pytest.mark.parametrize("latency", [".inf", "1.0e308", "{mean: .inf}", "{mean: 1, spread: .inf}"])
def test_an_endless_mock_latency_is_refused(tmp_path: Path, latency: str) -> None:
    """A mock agent's latency must be finite and at most a day."""
    problems = _problems(
        tmp_path, f"agents: {{a: {{latency: {latency}}}}}\nsteps: [{{id: s, agent: a}}]\n"
    )
    assert any(p.startswith("agents.a.latency") for p in problems), problems


def test_plans_made_in_python_have_the_same_limits() -> None:
    """The limits are the Task's own, so a plan built in Python cannot hold them either."""
    with pytest.raises(ValueError, match="retries"):
        Task(id="a", agent="w", retries=10**18)
    with pytest.raises(ValueError, match="finite"):
        Task(id="a", agent="w", timeout_s=float("inf"))


class _CountingId(str):
    """A step id that counts how often it is compared (the cost of the checks)."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountingId.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _comparisons(steps: int) -> int:
    data = {
        "agents": {"a": {}},
        "steps": [
            {"id": _CountingId(f"s{i}"), "agent": "a", "depends_on": [f"s{i - 1}"] if i else []}
            for i in range(steps)
        ],
    }
    _CountingId.compared = 0
    assert reference_problems(data) == []
    return _CountingId.compared


def test_checking_the_steps_is_linear() -> None:
    """Ten times the steps cost at most about ten times the id comparisons (not a hundred)."""
    small, large = _comparisons(300), _comparisons(3000)
    assert large <= 12 * max(small, 1), (small, large)


def test_twenty_thousand_steps_validate() -> None:
    """A 20,000-step pipeline passes validation (the check the quadratic code took 10 s for)."""
    data = {
        "agents": {"a": {}},
        "pattern": "pipeline",
        "steps": [{"id": f"s{i}", "agent": "a"} for i in range(20_000)],
    }
    workflow = parse_workflow(data)
    assert len(workflow.plan().tasks) == 20_000


@pytest.mark.parametrize("count", ["1e18", "1.0e18", "2.5"])
def test_a_retry_count_written_as_a_number_gets_the_range_message(
    tmp_path: Path, count: str
) -> None:
    """A retry count in number notation (YAML reads `1e18` as text) is judged as a number:
    too many retries is a range message at its location, a fraction says it is not whole."""
    problems = _problems(
        tmp_path, f"agents: {{a: {{}}}}\nsteps: [{{id: s, agent: a, retries: {count}}}]\n"
    )
    (problem,) = [p for p in problems if p.startswith("steps[0].retries")]
    assert "unable to parse string" not in problem, problem
    assert ("less than or equal to 100" in problem) or ("fractional" in problem), problem
