"""Bad and hostile input at the command line (in-process, so fast): one error line and
exit 2, and no text from a file, an agent or a model reaches the terminal raw."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.core.terminal import error_lines, run_cli, unsafe_chars
from toolkit.events import RunFinished, RunStarted
from toolkit.recorder import write_trace
from toolkit.tracing import IdFactory, Tracer

ROOT = Path(__file__).parents[2]
SAMPLE_TRACE = ROOT / "sample_agents" / "traces" / "research-report.jsonl"
OSC_TITLE = "\x1b]0;pwned\x07"
OSC52 = "\x1b]52;c;ZXZpbA==\x07"
HIDDEN = "\u061c\u2028\U000e0041\u202e"


def _assert_one_error(code: int, err: str, *fragments: str) -> str:
    lines = error_lines(err)
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("switchboard: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not unsafe_chars(err)
    return lines[0]


def _hostile_trace(tmp_path: Path) -> Path:
    tracer = Tracer("run-evil", "e" * 32, ids=IdFactory(1))
    name = f"ag{OSC_TITLE}{HIDDEN}ent"
    tracer.emit(RunStarted, name=f"evil{OSC_TITLE}", agents={name: {"kind": "mock"}})
    tracer.message(
        name, "orchestrator", "result", f"pay{HIDDEN}load", span_id="s", conversation_id="c"
    )
    tracer.emit(RunFinished, status="succeeded", output=f"done{HIDDEN}")
    return write_trace(tmp_path / "evil.jsonl", tracer.events)


def test_run_prints_a_hostile_workflow_name_safely(tmp_path: Path) -> None:
    """run shows the workflow's name with its OSC title sequence made visible."""
    path = tmp_path / "evil.json"
    path.write_text(
        json.dumps(
            {
                "name": f"n{OSC_TITLE}{HIDDEN}",
                "agents": {"a": {}},
                "steps": [{"id": "s", "agent": "a"}],
            }
        )
    )
    code, out, err = run_cli("run", path)
    assert code == 0, err
    assert not unsafe_chars(out) and not unsafe_chars(err)
    assert "␛]0;pwned␇" in out


@pytest.mark.parametrize("options", [("--wide",), ("--format", "csv"), ()])
def test_metrics_to_a_terminal_shows_agent_names_safely(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    """metrics --wide, --format csv (to a terminal) and the table print no raw controls."""
    code, out, err = run_cli("metrics", _hostile_trace(tmp_path), *options, tty=True)
    assert code == 0, err
    assert not unsafe_chars(out), out
    assert "␛]0;pwned␇" in out


def test_metrics_csv_to_a_file_keeps_the_data(tmp_path: Path) -> None:
    """CSV that does not go to a terminal keeps the names exactly as recorded."""
    code, out, _ = run_cli("metrics", _hostile_trace(tmp_path), "--format", "csv")
    assert code == 0
    assert f"ag{OSC_TITLE}{HIDDEN}ent" in out


def test_metrics_json_escapes_every_control(tmp_path: Path) -> None:
    """metrics --format json is inert on a terminal and still the same data as JSON."""
    code, out, _ = run_cli("metrics", _hostile_trace(tmp_path), "--format", "json", tty=True)
    assert code == 0 and not unsafe_chars(out)
    assert json.loads(out)[0]["agent"] == f"ag{OSC_TITLE}{HIDDEN}ent"


def test_replay_shows_hidden_characters_as_marks(tmp_path: Path) -> None:
    """U+061C, U+2028, tag characters and bidi overrides in names and payloads are marks."""
    for extra in ((), ("--all",)):
        code, out, err = run_cli("replay", _hostile_trace(tmp_path), *extra)
        assert code == 0, err
        assert not unsafe_chars(out), out
        assert "pay⍰" in out


@pytest.mark.parametrize("command", ["validate", "run"])
def test_unknown_field_names_are_shown_safely(tmp_path: Path, command: str) -> None:
    """An unknown field whose name holds an OSC 52 clipboard write is reported inert."""
    path = tmp_path / "evil.json"
    path.write_text(
        json.dumps({OSC52: 1, "agents": {"a": {}}, "steps": [{"id": "s", "agent": "a"}]})
    )
    code, out, err = run_cli(command, path)
    _assert_one_error(code, err, "unknown field", "␛]52;c;")
    assert not unsafe_chars(out)


def test_a_corrupt_line_with_a_hostile_kind_is_reported_safely(tmp_path: Path) -> None:
    """The warning about a corrupt line quotes its bad kind with the escapes made visible."""
    path = tmp_path / "t.jsonl"
    lines = SAMPLE_TRACE.read_text().splitlines()
    bad = json.loads(lines[1]) | {"kind": f"x{OSC_TITLE}{HIDDEN}"}
    path.write_text("\n".join([lines[0], json.dumps(bad), *lines[2:]]) + "\n")
    code, out, err = run_cli("replay", path)
    assert code == 0
    (warning,) = error_lines(err)
    assert warning.startswith("switchboard: warning: ") and "line 2" in warning
    assert not unsafe_chars(err) and not unsafe_chars(out)


def test_a_damaged_task_id_is_skipped_and_reported(tmp_path: Path) -> None:
    """metrics and replay on a trace with one damaged task_id: a warning, exit 0."""
    rows = [json.loads(line) for line in SAMPLE_TRACE.read_text().splitlines()]
    next(r for r in rows if r["kind"] == "task_finished")["task_id"] = "dam\x1baged"
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for command in ("metrics", "replay"):
        code, _out, err = run_cli(command, path)
        assert code == 0, err
        (warning,) = error_lines(err)
        assert "skipped 1 damaged event(s)" in warning and "unknown task 'dam" in warning


def test_running_a_trace_says_what_it_is(tmp_path: Path) -> None:
    """run and validate on a JSONL trace name it a trace and the commands that open it."""
    for command in ("run", "validate"):
        code, _, err = run_cli(command, SAMPLE_TRACE)
        _assert_one_error(code, err, "is a trace of a run", f"switchboard replay {SAMPLE_TRACE}")


def test_running_a_store_says_what_it_is(tmp_path: Path) -> None:
    """run on a SQLite file names it a run store and the command that lists its runs."""
    db = tmp_path / "runs.db"
    sqlite3.connect(db).execute("create table t (x)").connection.close()
    code, _, err = run_cli("run", db)
    _assert_one_error(code, err, "run store", f"switchboard runs --store {db}")


def test_a_placeholder_typo_in_a_mock_reply_is_flagged(tmp_path: Path) -> None:
    """validate flags {promt} in a mock reply template and names the placeholders there are."""
    path = tmp_path / "w.yaml"
    path.write_text("agents:\n  a: {reply: 'got {promt}'}\nsteps: [{id: s, agent: a}]\n")
    code, _out, err = run_cli("validate", path)
    _assert_one_error(code, err, "agents.a.reply: unknown placeholder {promt}", "prompt")


def test_a_tool_factory_that_makes_no_agent_is_one_error_line(tmp_path: Path) -> None:
    """A tool factory returning something that is not an agent: one error line, exit 2."""
    path = tmp_path / "w.yaml"
    path.write_text(
        "agents:\n  a: {kind: tool, factory: 'collections:OrderedDict'}\nsteps: [{id: s, agent: a}]\n"
    )
    code, _, err = run_cli("run", path)
    _assert_one_error(
        code, err, "agents.a.factory: 'collections:OrderedDict' made a OrderedDict, not an agent"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "agents: {1: {}, a: {}}\nsteps: [{id: s, agent: a}]\n",
            "agents[1]: a name here must be text",
        ),
        ("agents: {null: {}, a: {}}\nsteps: [{id: s, agent: a}]\n", "a name here must be text"),
        (
            "seed: " + "9" * 5000 + "\nagents: {a: {}}\nsteps: [{id: s, agent: a}]\n",
            "line 1, column 7: an integer of 5,000 digits",
        ),
        (
            "agents: {a: {}}\nsteps: [{id: s, agent: a, meta: {x: "
            + "[" * 500
            + "]" * 500
            + "}}]\n",
            "values nest more than 64 levels",
        ),
    ],
)
def test_validate_refuses_odd_yaml_with_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    """Integer or null agent keys, huge integers, deep nesting: one error line, exit 2."""
    path = tmp_path / "w.yaml"
    path.write_text(text)
    _assert_one_error(*run_cli("validate", path)[::2], fragment)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"seed": ' + "9" * 5000 + "}", "an integer of 5,000 digits"),
        ('{"agents": ' + "[" * 100_000 + "]" * 100_000 + "}", "nest too deeply"),
        (
            '{"agents": {"a": {}}, "meta": ' + "[" * 100 + "]" * 100 + "}",
            "values nest more than 64",
        ),
    ],
)
def test_validate_refuses_odd_json_with_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    """Huge integers and deep nesting in a JSON workflow: one error line, exit 2."""
    path = tmp_path / "w.json"
    path.write_text(text)
    _assert_one_error(*run_cli("validate", path)[::2], fragment)


def test_validate_of_dev_zero_is_one_line() -> None:
    """An endless file is refused after the size limit, not read to the end."""
    _assert_one_error(*run_cli("validate", "/dev/zero")[::2], "larger than 4 MiB")


def test_a_corrupt_line_report_is_short_and_safe(tmp_path: Path) -> None:
    """A corrupt line with a megabyte-long hostile kind is reported in a few hundred
    characters, escapes made visible, by the reader itself (every view gets it so)."""
    from toolkit.recorder import read_trace

    lines = SAMPLE_TRACE.read_text().splitlines()
    bad = json.loads(lines[1]) | {"kind": OSC_TITLE + "k" * 1_000_000}
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), *lines[2:]]) + "\n")
    (problem,) = read_trace(path).problems
    assert problem.startswith("line 2: ") and len(problem) < 400
    assert not unsafe_chars(problem) and "␛]0;pwned␇" in problem
