"""The ``switchboard`` command line, run as a user runs it (a subprocess): the commands
work end to end, every bad input is one ``switchboard: error:`` line with exit code 2
and no traceback, and hostile payloads never reach the terminal raw."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from toolkit import read_trace
from toolkit.events import RunFinished, RunStarted, event_json_schema
from toolkit.recorder import write_trace
from toolkit.tracing import IdFactory, Tracer

ROOT = Path(__file__).parents[2]
WORKFLOWS = ROOT / "sample_agents" / "workflows"
_SCRIPT = Path(sys.executable).parent / "switchboard"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "toolkit.cli"]
PLUGIN_WARNING = "switchboard: warning: commands from"


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="backslashreplace",
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


def stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the warning a half-installed plug-in package may print."""
    return [line for line in proc.stderr.splitlines() if not line.startswith(PLUGIN_WARNING)]


def assert_user_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2, exactly one stderr line starting 'switchboard: error:', no traceback."""
    lines = stderr_lines(proc)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(lines) == 1, lines
    assert lines[0].startswith("switchboard: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One `switchboard run` of the feature-review workflow, recorded to a trace and a store."""
    tmp = tmp_path_factory.mktemp("cli")
    trace, store = tmp / "run.jsonl", tmp / "runs.db"
    proc = cli("run", WORKFLOWS / "feature-review.yaml", "--trace", trace, "--store", store)
    return {"proc": proc, "trace": trace, "store": store, "tmp": tmp}


def test_no_plugin_warning() -> None:
    """The installed plug-in commands (the TUI's) load without a warning."""
    proc = cli("--help")
    assert proc.returncode == 0
    assert PLUGIN_WARNING not in proc.stderr
    for command in ("run", "replay", "metrics", "schema", "runs", "validate"):
        assert command in proc.stdout


def test_run_prints_result_and_table_and_records(recorded: dict[str, Any]) -> None:
    """run exits 0, prints status, the per-agent table and the result, and writes the
    trace and the store (same events in both)."""
    proc = recorded["proc"]
    assert proc.returncode == 0, proc.stderr
    assert stderr_lines(proc) == []
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("run run-") and lines[0].endswith("(feature-review): succeeded")
    header = lines[2].split()
    assert header[:5] == ["agent", "tasks", "succeeded", "failed", "retries"]
    rows = {line.split()[0]: line.split() for line in lines[3:7]}
    assert set(rows) == {"developer", "backup-dev", "reviewer", "tester"}
    assert rows["developer"][1:5] == ["0", "0", "2", "2"]
    assert "result:" in lines and "12 passed, 0 failed" in proc.stdout
    assert f"trace: {recorded['trace']}" in proc.stdout
    trace = read_trace(recorded["trace"])
    assert trace.problems == [] and trace.events[-1].kind == "run_finished"
    from toolkit import RunStore

    assert RunStore(recorded["store"]).events(trace.events[0].run_id) == trace.events


def test_replay_prints_the_message_flow_in_order(recorded: dict[str, Any]) -> None:
    """replay prints one 'sender → recipient' line per message, in trace order; --store
    replays the same run from the store."""
    proc = cli("replay", recorded["trace"])
    assert proc.returncode == 0 and stderr_lines(proc) == []
    events = read_trace(recorded["trace"]).events
    expected = [
        (e.envelope.sender, e.envelope.recipient) for e in events if e.kind == "message_sent"
    ]
    got = []
    for line in proc.stdout.splitlines():
        _seq, sender, arrow, recipient, *_ = line.split()
        assert arrow == "→"
        got.append((sender, recipient))
    assert got == expected
    assert got[0] == ("user", "orchestrator") and got[-1] == ("orchestrator", "user")
    assert "↻ retry #2" in proc.stdout  # toolkit.describe's words, as in the TUI and the widgets
    from_store = cli("replay", "--store", recorded["store"])
    assert from_store.returncode == 0 and from_store.stdout == proc.stdout
    every = cli("replay", recorded["trace"], "--all")
    assert len(every.stdout.splitlines()) == len(events)


def test_metrics_formats(recorded: dict[str, Any]) -> None:
    """metrics prints a table, CSV that pandas reads, or JSON records, with the same numbers."""
    import pandas as pd

    from toolkit import agent_metrics

    expected = agent_metrics(read_trace(recorded["trace"]).events)
    table = cli("metrics", recorded["trace"])
    assert table.returncode == 0 and table.stdout.split()[0] == "agent"
    csv = cli("metrics", recorded["trace"], "--format", "csv")
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == list(expected.columns)
    assert frame[["agent", "tasks", "failed", "retries", "tokens_in"]].equals(
        expected[["agent", "tasks", "failed", "retries", "tokens_in"]]
    )
    as_json = json.loads(cli("metrics", recorded["trace"], "--format", "json").stdout)
    assert [r["agent"] for r in as_json] == list(expected["agent"])
    assert [r["messages_in"] for r in as_json] == list(expected["messages_in"])
    wide = cli("metrics", "--store", recorded["store"], "--wide")
    assert wide.returncode == 0 and "messages_in" in wide.stdout


def test_schema_prints_the_event_schema() -> None:
    """schema prints valid JSON equal to event_json_schema()."""
    proc = cli("schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == event_json_schema()


def test_runs_lists_the_store(recorded: dict[str, Any]) -> None:
    """runs --store lists each stored run with its status and event count."""
    proc = cli("runs", "--store", recorded["store"])
    assert proc.returncode == 0
    run_id = read_trace(recorded["trace"]).events[0].run_id
    (row,) = [line for line in proc.stdout.splitlines() if line.startswith(run_id)]
    assert "succeeded" in row and row.endswith("feature-review")


def test_validate_good_and_bad(tmp_path: Path) -> None:
    """validate says ok for a sample; for a bad file it lists every problem on stdout and
    gives one error line on stderr, exit 2."""
    ok = cli("validate", WORKFLOWS / "research-report.yaml")
    assert ok.returncode == 0 and "ok (3 agent(s), 3 step(s))" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: b\nagents: {writer: {}, editor: {}}\nsteps:\n"
        "  - {id: a, agent: writr}\n  - {id: b, agent: editor, depends_on: [zz]}\n"
    )
    proc = cli("validate", bad)
    assert_user_error(proc, f"{bad}: 2 problems: steps[0].agent: unknown agent 'writr'")
    assert proc.stdout.splitlines() == [
        f"{bad}: 2 problem(s):",
        "  steps[0].agent: unknown agent 'writr' (known: editor, writer)",
        "  steps[1].depends_on[0]: unknown step 'zz' (known: a, b)",
    ]


BAD_WORKFLOWS = {
    "syntax": "name: x\nagents:\n  a: {kind: mock\n",
    "unknown-agent": "name: x\nagents: {writer: {}, editor: {}}\nsteps:\n  - {id: a, agent: writr}\n",
    "cycle": "name: x\nagents: {a: {}}\nsteps:\n  - {id: p, agent: a, depends_on: [q]}\n  - {id: q, agent: a, depends_on: [p]}\n",
    "bad-type": "name: x\nagents: {a: {latency: slow}}\nsteps:\n  - {id: p, agent: a}\n",
}


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("syntax", "line 4, column 1: invalid YAML"),
        ("unknown-agent", "steps[0].agent: unknown agent 'writr' (known: editor, writer)"),
        ("cycle", "steps: dependency cycle p -> q -> p"),
        ("bad-type", "agents.a.latency:"),
    ],
)
def test_run_of_a_malformed_workflow_is_one_error_line(
    tmp_path: Path, name: str, fragment: str
) -> None:
    """run refuses a malformed workflow before anything runs: one error line, exit 2."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(BAD_WORKFLOWS[name])
    assert_user_error(cli("run", path, "--trace", tmp_path / "t.jsonl"), str(path), fragment)
    assert not (tmp_path / "t.jsonl").exists()


def _garbage_trace(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.jsonl"
    path.write_text("this is not\na trace\n")
    return path


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("run", "missing.yaml"), ("missing.yaml: 1 problem: no such file",)),
        (("replay", "missing.jsonl"), ("missing.jsonl: no such trace file",)),
        (("metrics", "missing.jsonl"), ("no such trace file",)),
        (("replay", "{tmp}"), ("is a directory",)),
        (("replay", "{garbage}"), ("skipped 2 corrupt line(s)", "no valid event in the file")),
        (("replay", "--store", "{store}", "--run", "run-nope"), ("'run-nope' is not in",)),
        (("metrics", "--store", "missing.db"), ("missing.db: no such run store",)),
        (("runs", "--store", "missing.db"), ("missing.db: no such run store",)),
        (("replay",), ("give a trace file",)),
        (("run", "--bogus", "x.yaml"), ("unrecognized arguments: --bogus",)),
        (("metrics", "x.jsonl", "--format", "xml"), ("invalid choice: 'xml'",)),
        (("frobnicate",), ("invalid choice: 'frobnicate'",)),
        (("run",), ("the following arguments are required: workflow",)),
    ],
)
def test_bad_inputs_are_one_error_line(
    tmp_path: Path, recorded: dict[str, Any], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    """Every bad input exits 2 with exactly one 'switchboard: error:' line, no traceback."""
    names = {"tmp": tmp_path, "garbage": _garbage_trace(tmp_path), "store": recorded["store"]}
    argv = [a.format(**names) for a in args]
    assert_user_error(cli(*argv, cwd=tmp_path), *fragments)


def test_corrupt_trace_with_good_lines_warns_and_still_prints(
    tmp_path: Path, recorded: dict[str, Any]
) -> None:
    """Some corrupt lines: one warning line on stderr, every good message still printed."""
    lines = recorded["trace"].read_text().splitlines()
    path = tmp_path / "corrupt.jsonl"
    path.write_text("\n".join([lines[0], "garbage{", *lines[1:-1], lines[-1][:30]]))
    full = cli("replay", recorded["trace"])
    proc = cli("replay", path)
    assert proc.returncode == 0
    (warning,) = stderr_lines(proc)
    assert warning.startswith("switchboard: warning: ") and "skipped 2 corrupt line(s)" in warning
    assert proc.stdout == full.stdout  # the cut-off last line is run_finished: not a message


def test_a_failing_workflow_exits_1_with_a_complete_trace(tmp_path: Path) -> None:
    """A run whose agent fails for good exits 1, says why, and its trace ends with run_finished."""
    path = tmp_path / "fails.yaml"
    path.write_text(
        "name: fails\ninput: go\nagents:\n"
        "  flaky: {failures: {exception: 1.0, message: disk on fire}}\n  ok: {}\n"
        "steps:\n  - {id: a, agent: flaky, retries: 1}\n  - {id: b, agent: ok, prompt: '{{a}}'}\n"
        "  - {id: c, agent: ok}\n"
    )
    trace = tmp_path / "t.jsonl"
    proc = cli("run", path, "--trace", trace)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "(fails): failed" in proc.stdout.splitlines()[0]
    assert "error: 2 task(s) failed: a, b" in proc.stdout
    events = read_trace(trace).events
    assert events[-1].kind == "run_finished" and events[-1].status == "failed"
    assert {e.task_id for e in events if e.kind == "task_skipped"} == {"b"}


HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://x\x07link\x1b]8;;\x07",
    "[bold red]x[/]",
    "carriage\rreturn",
    "nul\x00byte",
    "c1 \x9b31m csi",
    {"nested": "\x1b[2J\x1b[H"},
]


def _assert_terminal_safe(text: str) -> None:
    for ch in text:
        code = ord(ch)
        assert ch == "\n" or (code >= 0x20 and code != 0x7F and not 0x80 <= code <= 0x9F), (
            repr(ch),
            text,
        )


def test_replay_of_hostile_payloads_prints_no_control_bytes(tmp_path: Path) -> None:
    """ANSI/OSC escapes, Rich markup, CR, NUL and C1 controls in payloads and names are
    printed as visible symbols or literally, never as raw control bytes."""
    tracer = Tracer("run-evil", "e" * 32, ids=IdFactory(1))
    tracer.emit(RunStarted, name="evil\x1b[31m", agents={"ag\x1b[1ment": {"kind": "mock"}})
    for payload in HOSTILE:
        tracer.message(
            "ag\x1b[1ment", "orchestrator", "result", payload, span_id="s", conversation_id="c"
        )
    tracer.emit(RunFinished, status="succeeded", output="\x1b[5mblink")
    path = write_trace(tmp_path / "evil.jsonl", tracer.events)
    for args in (("replay", path), ("replay", path, "--all"), ("metrics", path)):
        proc = cli(*args)
        assert proc.returncode == 0, proc.stderr
        _assert_terminal_safe(proc.stdout)
        _assert_terminal_safe(proc.stderr)
    replay = cli("replay", path).stdout
    assert "[bold red]x[/]" in replay  # markup is shown literally
    assert "␛[31mred" in replay


def test_run_with_a_hostile_agent_prints_no_control_bytes(tmp_path: Path) -> None:
    """A workflow whose agent replies with escapes and controls: run's output is safe."""
    path = tmp_path / "evil.yaml"
    path.write_text(
        'name: evil\ninput: "go\\u001b[31m"\nagents:\n'
        '  evil: {reply: "\\u001b]8;;http://x\\u0007click\\r\\u0000\\u001b[2J [red]x[/]"}\n'
        "steps:\n  - {id: a, agent: evil}\n"
    )
    proc = cli("run", path, "--store", tmp_path / "r.db")
    assert proc.returncode == 0, proc.stderr
    _assert_terminal_safe(proc.stdout)
    assert "[red]x[/]" in proc.stdout
    runs = cli("runs", "--store", tmp_path / "r.db")
    _assert_terminal_safe(runs.stdout)
