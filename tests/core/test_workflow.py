"""Workflow files: a malformed workflow lists every problem with its location at once,
before anything runs; bad files (syntax, empty, missing) are one clear problem."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from toolkit import WorkflowError, load_workflow
from toolkit.workflow import parse_workflow


def _problems(path: Path) -> list[str]:
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert str(path) in str(info.value)
    return info.value.problems


def _write(tmp_path: Path, text: str, name: str = "wf.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reference_problems_are_all_listed(tmp_path: Path) -> None:
    """Unknown agents (with the known ones), unknown steps and {{refs}}, self dependency
    and duplicate ids are all reported together, each at its place in the file."""
    path = _write(
        tmp_path,
        """
name: bad
agents:
  writer: {kind: mock}
  editor: {kind: mock}
steps:
  - {id: draft, agent: writer, prompt: "{{nope}} and {{input}}", fallback: ghost}
  - {id: polish, agent: editor, depends_on: [missing, polish]}
  - {id: publish, agent: writr, review: {reviewer: critic}}
  - {id: draft, agent: writer}
""",
    )
    assert _problems(path) == [
        "steps[0].fallback: unknown agent 'ghost' (known: editor, writer)",
        "steps[0].prompt: unknown step 'nope' in {{nope}} (use {{input}} or a step id: draft, polish, publish)",
        "steps[1].depends_on[0]: unknown step 'missing' (known: draft, polish, publish)",
        "steps[1].depends_on[1]: a step cannot depend on itself",
        "steps[2].agent: unknown agent 'writr' (known: editor, writer)",
        "steps[2].review.reviewer: unknown agent 'critic' (known: editor, writer)",
        "steps[3].id: duplicate step id 'draft'",
    ]


def test_schema_problems_are_all_listed(tmp_path: Path) -> None:
    """Wrong agent kind, bad types, unknown fields, missing fields, bad values: all at once."""
    path = _write(
        tmp_path,
        """
name: bad
colour: blue
agents:
  writer: {kind: robot}
  editor: {kind: mock, latency: fast, skils: [x]}
steps:
  - {id: a, agent: writer, retries: many}
  - {agent: editor}
  - {id: c, agent: editor, timeout_s: -1, output_format: xml}
""",
    )
    problems = _problems(path)
    assert any(
        p.startswith("agents.writer: kind must be one of: mock, function, tool, llm")
        for p in problems
    )
    assert "agents.editor.skils: unknown field" in problems
    assert "colour: unknown field" in problems
    assert "steps[1].id: required field is missing" in problems
    assert "steps[2].timeout_s: Input should be greater than 0" in problems
    assert "steps[2].output_format: Input should be 'text' or 'json'" in problems
    assert any(p.startswith("steps[0].retries: Input should be a valid integer") for p in problems)
    assert any(p.startswith("agents.editor.latency: ") for p in problems)
    assert len(problems) == 8


def test_schema_and_reference_problems_together(tmp_path: Path) -> None:
    """A bad field type does not hide an unknown agent elsewhere: both are listed."""
    path = _write(
        tmp_path,
        "name: x\nagents:\n  a: {kind: mock}\nsteps:\n  - {id: s, agent: writr, retries: many}\n",
    )
    problems = _problems(path)
    assert "steps[0].agent: unknown agent 'writr' (known: a)" in problems
    assert any(p.startswith("steps[0].retries:") for p in problems)


def test_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    """A dependency cycle (declared or through {{refs}}) is named step by step."""
    path = _write(
        tmp_path,
        'name: x\nagents: {a: {kind: mock}}\nsteps:\n  - {id: a, agent: a, depends_on: [b]}\n  - {id: b, agent: a, prompt: "{{a}}"}\n',
    )
    assert _problems(path) == ["steps: dependency cycle a -> b -> a"]


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    """Broken YAML is one problem with its line and column."""
    path = _write(tmp_path, "name: x\nagents:\n  a: {kind: mock\nsteps: []\n")
    (problem,) = _problems(path)
    assert problem.startswith("line 4, column 6: invalid YAML:")


def test_json_workflow_and_json_syntax_error(tmp_path: Path) -> None:
    """A .json workflow loads; broken JSON is one problem with its line."""
    good = _write(
        tmp_path,
        '{"name": "j", "agents": {"a": {}}, "steps": [{"id": "s", "agent": "a"}]}',
        "wf.json",
    )
    assert load_workflow(good).name == "j"
    bad = _write(tmp_path, '{"name": "x",\n "agents": {"a": {}},\n "steps": [\n', "bad.json")
    assert _problems(bad) == ["line 4, column 1: invalid JSON: Expecting value"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "(top level): expected a mapping of workflow fields, got NoneType"),
        ("- just\n- a list\n", "(top level): expected a mapping of workflow fields, got list"),
        ("name: x\nagents: {a: {kind: mock}}\n", "steps: a workflow needs steps"),
    ],
)
def test_empty_or_shapeless_files(tmp_path: Path, text: str, expected: str) -> None:
    """An empty file, a file that is not a mapping, or a workflow without steps is refused."""
    (problem,) = _problems(_write(tmp_path, text))
    assert problem.startswith(expected)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing path or a directory is one problem."""
    assert _problems(tmp_path / "nope.yaml") == ["no such file"]
    assert _problems(tmp_path) == ["is a directory, not a workflow file"]


def test_reserved_names_and_keys_in_workflows(tmp_path: Path) -> None:
    """An agent may not be called 'user'; api_key_env must name a variable, not hold a key."""
    path = _write(
        tmp_path,
        'name: x\nagents:\n  user: {kind: mock}\n  l: {kind: llm, model: m, api_key_env: "sk-abcdef"}\nsteps:\n  - {id: a, agent: user}\n',
    )
    problems = _problems(path)
    assert "agents.user: 'user' is a reserved participant name" in problems
    assert any(
        p.startswith("agents.l.api_key_env:") and "never put the key itself" in p for p in problems
    )
    assert not any("sk-abcdef" in p for p in problems)


def test_function_agent_that_cannot_be_imported(tmp_path: Path) -> None:
    """A function agent whose module is missing fails when the run is prepared, with its place."""
    wf = load_workflow(
        _write(
            tmp_path,
            'name: x\nagents:\n  f: {kind: function, function: "nomodule_xyz:fn"}\nsteps:\n  - {id: a, agent: f}\n',
        )
    )
    with pytest.raises(WorkflowError) as info:
        wf.prepare()
    assert info.value.problems == [
        "agents.f.function: cannot import 'nomodule_xyz' (No module named 'nomodule_xyz')"
    ]


def test_function_agent_from_a_workflow_runs(tmp_path: Path) -> None:
    """A function agent named by 'module:callable' runs, and {{step}} references flow."""
    data = {
        "name": "fn",
        "input": "abc",
        "agents": {"f": {"kind": "function", "function": "textwrap:dedent"}, "m": {}},
        "steps": [
            {"id": "s1", "agent": "f", "prompt": "  {{input}}"},
            {"id": "s2", "agent": "m", "prompt": "{{s1}}!"},
        ],
    }
    wf = parse_workflow(data)
    result = anyio.run(wf.run)
    assert result.status == "succeeded"
    assert result.output == "m: abc!"  # dedent("  abc"), then the mock
    assert [t.id for t in wf.plan().tasks] == ["s1", "s2"]
    assert wf.plan().tasks[1].all_dependencies() == ["s1"]


def test_pipeline_pattern_chains_steps(tmp_path: Path) -> None:
    """pattern: pipeline makes each step depend on the previous one and take its output."""
    wf = parse_workflow(
        {
            "name": "p",
            "pattern": "pipeline",
            "agents": {"a": {}, "b": {}},
            "steps": [{"id": "one", "agent": "a"}, {"id": "two", "agent": "b"}],
        }
    )
    plan = wf.plan()
    assert plan is not None
    assert [t.all_dependencies() for t in plan.tasks] == [[], ["one"]]
    assert plan.tasks[1].prompt == "{{one}}"
