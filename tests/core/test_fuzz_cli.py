"""Fuzzing every CLI command with damaged inputs (hypothesis, derandomized).

Damaged workflow files, traces and run stores go to ``run``, ``validate``, ``replay``,
``metrics``, ``runs``, ``schema`` and the plug-in commands that need no UI
(``cassette``, ``llm-check``). Whatever the input, a command exits 0 or 2 (1 for a run
that failed), prints at most one line on stderr, raises nothing (no traceback), and
prints no character a terminal would obey instead of show, on stdout or stderr.

The commands run in this process (``toolkit.cli.main``) with their output captured as
a terminal, so an example costs milliseconds; a few subprocess cases check the real
console script end to end.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.terminal import error_lines, run_cli, unsafe_chars
from toolkit.recorder import read_trace
from toolkit.store import RunStore

ROOT = Path(__file__).parents[2]
WORKFLOWS = ROOT / "sample_agents" / "workflows"
TRACES = ROOT / "sample_agents" / "traces"
CASSETTE = ROOT / "sample_agents" / "cassettes" / "llm-research.json"

STORE_FUZZ = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x9b2J",
    "\x00\x7f\r",
    "\u202egnp.exe",
    "\u061c\u2028\u2029",
    "\U000e0041\U000e007f",
    "\ud800",
    "[bold red]x[/]",
    "{promt}",
    "{{input}}",
    "x" * 5000,
]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(text, st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


def _assert_survived(result: tuple[int, str, str], codes: tuple[int, ...] = (0, 2)) -> None:
    code, out, err = result
    lines = error_lines(err)
    assert code in codes, (code, err)
    assert len(lines) <= 1, lines
    assert code == 0 or code == 1 or (lines and lines[0].startswith("switchboard: error: ")), lines
    assert not unsafe_chars(out), sorted(unsafe_chars(out))
    assert not unsafe_chars(err), sorted(unsafe_chars(err))


def _places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in nested data (dict keys and list indexes), parents first."""
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _places(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _places(v, (*path, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


def _delete(data: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return data


@st.composite
def damaged_data(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with a few values replaced, removed, or given hostile keys."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        places = _places(data)
        place = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["set", "delete", "key"]))
        if action == "set":
            data = _set(data, place, draw(values))
        elif action == "delete" and place:
            data = _delete(data, place)
        else:
            target = data
            for part in place:
                target = target[part]
            if isinstance(target, dict):
                target[draw(st.one_of(text, st.integers(), st.none()))] = draw(values)
    return data


@st.composite
def damaged_bytes(draw: st.DrawFn, raw: bytes) -> bytes:
    """``raw`` cut short, or with hostile bytes inserted or flipped."""
    cut = draw(st.integers(0, len(raw)))
    action = draw(st.sampled_from(["truncate", "insert", "flip"]))
    if action == "truncate":
        return raw[:cut]
    if action == "insert":
        extra = draw(st.sampled_from(HOSTILE)).encode("utf-8", "surrogatepass")
        return raw[:cut] + extra + raw[cut:]
    if not raw:
        return raw
    i = min(cut, len(raw) - 1)
    return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]


def _dump(data: Any, path: Path) -> Path:
    if path.suffix == ".json":
        try:
            path.write_text(json.dumps(data, ensure_ascii=True, allow_nan=True), "utf-8")
        except (TypeError, ValueError):  # non-string keys JSON cannot hold: YAML can
            path = path.with_suffix(".yaml")
    if path.suffix != ".json":
        path.write_text(yaml.safe_dump(data, allow_unicode=False), "utf-8")
    return path


def _mock_workflow(name: str) -> dict[str, Any]:
    """A sample workflow made instant: no latency, no injected failures or hangs."""
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    for spec in data["agents"].values():
        spec.pop("latency", None)
        spec.pop("failures", None)
    return data


SAMPLES = sorted(p.name for p in WORKFLOWS.glob("*.yaml") if "real" not in p.name)


@FUZZ
@given(data=st.data(), sample=st.sampled_from(SAMPLES), suffix=st.sampled_from([".yaml", ".json"]))
def test_validate_survives_damaged_workflow_data(
    tmp_path: Path, data: st.DataObject, sample: str, suffix: str
) -> None:
    """validate on a sample workflow with values replaced, removed or added anywhere."""
    damaged = data.draw(damaged_data(yaml.safe_load((WORKFLOWS / sample).read_text())))
    _assert_survived(run_cli("validate", _dump(damaged, tmp_path / f"w{suffix}")))


@FUZZ
@given(data=st.data(), sample=st.sampled_from(SAMPLES))
def test_validate_survives_damaged_workflow_bytes(
    tmp_path: Path, data: st.DataObject, sample: str
) -> None:
    """validate on a sample workflow file cut short or with hostile bytes in it."""
    raw = data.draw(damaged_bytes((WORKFLOWS / sample).read_bytes()))
    path = tmp_path / "w.yaml"
    path.write_bytes(raw)
    _assert_survived(run_cli("validate", path))


@FUZZ
@given(
    sample=st.sampled_from(["research-report.yaml", "feature-review.yaml", "scatter-gather.yaml"]),
    name=text,
    reply=text,
    request=text,
)
def test_run_survives_hostile_text_everywhere(
    tmp_path: Path, sample: str, name: str, reply: str, request: str
) -> None:
    """run --mock with hostile text as the name, the input and every agent's reply."""
    data = _mock_workflow(sample)
    data["name"], data["input"] = name, request
    for spec in data["agents"].values():
        (spec.get("mock") or spec)["reply"] = reply
    path = _dump(data, tmp_path / "w.json")
    _assert_survived(run_cli("run", path, "--mock", "--trace", tmp_path / "t.jsonl"), (0, 1, 2))


def _trace_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (TRACES / name).read_text().splitlines()]


TRACE_COMMANDS = [
    ("replay",),
    ("replay", "--all"),
    ("metrics",),
    ("metrics", "--wide"),
    ("metrics", "--format", "csv"),
    ("metrics", "--format", "json"),
]


@FUZZ
@given(
    data=st.data(),
    sample=st.sampled_from(["research-report.jsonl", "feature-review.jsonl", "hostile.jsonl"]),
    command=st.sampled_from(TRACE_COMMANDS),
)
def test_trace_commands_survive_damaged_events(
    tmp_path: Path, data: st.DataObject, sample: str, command: tuple[str, ...]
) -> None:
    """replay and metrics on a trace whose events have values replaced, removed or added
    (a damaged task_id, a plan without ids, usage that is text, ...)."""
    rows = _trace_lines(sample)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(rows) - 1))
        rows[i] = data.draw(damaged_data(rows[i]))
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r, allow_nan=True, default=str) for r in rows) + "\n")
    _assert_survived(run_cli(*command, path, tty=True))


@FUZZ
@given(data=st.data(), command=st.sampled_from(TRACE_COMMANDS))
def test_trace_commands_survive_damaged_bytes(
    tmp_path: Path, data: st.DataObject, command: tuple[str, ...]
) -> None:
    """replay and metrics on a trace file cut short or with hostile bytes in it."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(data.draw(damaged_bytes((TRACES / "research-report.jsonl").read_bytes())))
    _assert_survived(run_cli(*command, path, tty=True))


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A run store holding the sample research-report run."""
    path = tmp_path_factory.mktemp("store") / "runs.db"
    store = RunStore(path)
    for event in read_trace(TRACES / "research-report.jsonl").events:
        store.emit(event)
    store.close()
    store.disconnect()
    return path.read_bytes()


# SQLite text is UTF-8: it cannot hold a lone surrogate, so a store cannot either
stored_text = st.one_of(
    st.sampled_from([h for h in HOSTILE if "\ud800" not in h]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
)
stored_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), stored_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(stored_text, inner, max_size=4)
    ),
    max_leaves=12,
)
STORE_DAMAGE = st.one_of(
    st.tuples(st.just("UPDATE events SET data=? WHERE seq=?"), stored_text, st.integers(0, 30)),
    st.tuples(
        st.just("UPDATE events SET data=? WHERE seq=?"),
        stored_values.map(json.dumps),
        st.integers(0, 30),
    ),
    st.tuples(st.just("UPDATE runs SET name=?"), stored_text),
    st.tuples(st.just("UPDATE runs SET status=?"), stored_text),
    st.tuples(
        st.just("UPDATE runs SET started_at=?"), st.one_of(st.none(), st.floats(), stored_text)
    ),
    st.tuples(st.just("UPDATE runs SET duration_s=?"), stored_text),
    st.tuples(st.just("DELETE FROM events WHERE seq=?"), st.integers(0, 30)),
    st.tuples(st.just("DROP TABLE events")),
    st.tuples(st.just("DROP TABLE runs")),
)
STORE_COMMANDS = [("runs",), ("replay",), ("replay", "--all"), ("metrics",)]


@FUZZ
@given(
    damage=st.lists(STORE_DAMAGE, min_size=1, max_size=3), command=st.sampled_from(STORE_COMMANDS)
)
def test_store_commands_survive_damaged_rows(
    tmp_path: Path, store_bytes: bytes, damage: list[tuple[Any, ...]], command: tuple[str, ...]
) -> None:
    """runs, replay --store and metrics --store on a store with damaged or missing rows."""
    path = tmp_path / "runs.db"
    path.write_bytes(store_bytes)
    db = sqlite3.connect(path)
    for sql, *params in damage:
        with contextlib.suppress(sqlite3.OperationalError):  # a table an earlier step dropped
            db.execute(sql, params)
    db.commit()
    db.close()
    _assert_survived(run_cli(*command, "--store", path, tty=True))


@STORE_FUZZ
@given(data=st.data(), command=st.sampled_from(STORE_COMMANDS))
def test_store_commands_survive_damaged_bytes(
    tmp_path: Path, store_bytes: bytes, data: st.DataObject, command: tuple[str, ...]
) -> None:
    """runs, replay --store and metrics --store on a store file cut short or overwritten."""
    path = tmp_path / "runs.db"
    path.write_bytes(data.draw(damaged_bytes(store_bytes)))
    _assert_survived(run_cli(*command, "--store", path, tty=True))


@FUZZ
@given(data=st.data())
def test_cassette_survives_damage(tmp_path: Path, data: st.DataObject) -> None:
    """The cassette plug-in command on a damaged cassette file."""
    base = json.loads(CASSETTE.read_text())
    path = tmp_path / "c.json"
    if data.draw(st.booleans()):
        path.write_text(json.dumps(data.draw(damaged_data(base)), default=str, allow_nan=True))
    else:
        path.write_bytes(data.draw(damaged_bytes(CASSETTE.read_bytes())))
    _assert_survived(run_cli("cassette", path))


@FUZZ
@given(
    args=st.lists(
        st.one_of(text, st.sampled_from(["--store", "--run", "--all", "--wide", "-"])), max_size=4
    ),
    command=st.sampled_from(
        ["run", "replay", "metrics", "validate", "runs", "schema", "cassette", "llm-check"]
    ),
)
def test_any_arguments_are_survived(tmp_path: Path, command: str, args: list[str]) -> None:
    """Any arguments to any command: a result, or one error line."""
    os.chdir(tmp_path)
    _assert_survived(run_cli(command, *args), (0, 1, 2))


@pytest.mark.parametrize(
    "case",
    ["trace-as-workflow", "bomb", "damaged-task", "hostile-name"],
)
def test_the_console_script_survives(tmp_path: Path, case: str) -> None:
    """The installed ``switchboard`` script, end to end in a subprocess, on a few cases."""
    rows = _trace_lines("research-report.jsonl")
    next(r for r in rows if r["kind"] == "task_finished")["task_id"] = "\x1b]0;x\x07"
    damaged = tmp_path / "t.jsonl"
    damaged.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "agents: {a: {}}\nsteps: [{id: s, agent: a, meta: {a: &a [x, x, x, x, x, x, x, x, x, x]"
        + "".join(
            f", {c}: &{c} [{', '.join(['*' + p] * 10)}]"
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "}}]\n"
    )
    hostile = _dump(
        {
            "name": "\x1b]0;t\x07\u202e",
            "agents": {"a": {"reply": "\x1b[2J"}},
            "steps": [{"id": "s", "agent": "a"}],
        },
        tmp_path / "h.json",
    )
    args = {
        "trace-as-workflow": ("run", TRACES / "research-report.jsonl"),
        "bomb": ("validate", bomb),
        "damaged-task": ("metrics", damaged),
        "hostile-name": ("run", hostile),
    }[case]
    script = Path(sys.executable).parent / "switchboard"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "toolkit.cli"]
    proc = subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert "Traceback" not in err
    _assert_survived((proc.returncode, out, err))
