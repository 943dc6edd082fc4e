"""Import hygiene (as Harlequin checks it): the core loads no UI, no notebook widgets,
no LLM client and no pandas unless a program asks for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

HEADLESS_RUN = """
import json, sys, tempfile, os
import toolkit
from toolkit import Orchestrator, MockAgent, RunState, fold, load_workflow, JsonlRecorder, RunStore
from toolkit import Plan, Task, read_trace, pipeline
tmp = tempfile.mkdtemp()
orch = Orchestrator([MockAgent("a"), MockAgent("b")], seed=1)
result = orch.run_sync("hi", pipeline("a", "b"), trace=os.path.join(tmp, "t.jsonl"),
                       store=os.path.join(tmp, "r.db"))
wf = load_workflow(sys.argv[1])
assert fold(read_trace(os.path.join(tmp, "t.jsonl")).events) == result.state
print(json.dumps({"status": result.status, "modules": sorted(sys.modules)}))
"""

FORBIDDEN = ("textual", "tui", "ipywidgets", "anywidget", "pandas", "openai", "httpx")


def _modules(code: str, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout.splitlines()[-1])


def _top_level(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_a_headless_run_imports_no_ui_widgets_llm_or_pandas() -> None:
    """Running mock agents with a recorder and a store loads none of the heavy packages."""
    out = _modules(HEADLESS_RUN, str(ROOT / "sample_agents" / "workflows" / "feature-review.yaml"))
    assert out["status"] == "succeeded"
    loaded = _top_level(out["modules"])  # type: ignore[arg-type]
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
    assert "toolkit.widgets" not in out["modules"] and "toolkit.llm" not in out["modules"]  # type: ignore[operator]


def test_pandas_loads_only_with_metrics() -> None:
    """pandas arrives with the metrics module, and still no UI does."""
    code = (
        "import json, sys\n"
        "from toolkit import Orchestrator, MockAgent, Plan, Task\n"
        "r = Orchestrator([MockAgent('a')]).run_sync('x', Plan(tasks=[Task(id='t', agent='a')]))\n"
        "before = 'pandas' in sys.modules\n"
        "frame = r.metrics()\n"
        "print(json.dumps({'before': before, 'rows': len(frame), 'modules': sorted(sys.modules)}))\n"
    )
    out = _modules(code)
    assert out["before"] is False and out["rows"] == 1
    loaded = _top_level(out["modules"])  # type: ignore[arg-type]
    assert "pandas" in loaded
    assert not loaded & {"textual", "tui", "ipywidgets", "anywidget"}


def test_the_metrics_rows_of_a_live_view_load_no_pandas() -> None:
    """``agent_rows`` (the terminal app's Metrics tab) reads the fold: importing and
    calling it loads no pandas (importing pandas on the app's thread froze it)."""
    code = (
        "import json, sys\n"
        "from toolkit import Orchestrator, MockAgent, Plan, Task\n"
        "from toolkit.metrics import agent_rows\n"
        "r = Orchestrator([MockAgent('a')]).run_sync('x', Plan(tasks=[Task(id='t', agent='a')]))\n"
        "rows = agent_rows(r.events)\n"
        "print(json.dumps({'agents': [row['agent'] for row in rows], 'modules': sorted(sys.modules)}))\n"
    )
    out = _modules(code)
    assert out["agents"] == ["a"]
    assert "pandas" not in _top_level(out["modules"])  # type: ignore[arg-type]


def test_the_cli_core_commands_import_no_ui() -> None:
    """Building the CLI parser for a core command does not load the terminal app."""
    code = (
        "import json, sys\n"
        "from toolkit.cli import build_parser\n"
        "build_parser().parse_args(['schema'])\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))\n"
    )
    loaded = _top_level(_modules(code)["modules"])  # type: ignore[arg-type]
    assert not loaded & {"textual", "ipywidgets", "anywidget", "pandas", "openai"}


BUILT_AT_IMPORT = """
import json, sys
from pydantic import BaseModel
from toolkit import Orchestrator, MockAgent
built = sorted(
    f"{cls.__module__}.{cls.__name__}"
    for module in list(sys.modules.values())
    if getattr(module, "__name__", "").startswith("toolkit")
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__pydantic_complete__
)
print(json.dumps({"built": built, "adapter": "event_adapter" in vars(sys.modules["toolkit.events"])}))
"""


def test_importing_the_orchestrator_builds_no_validator() -> None:
    """``from toolkit import Orchestrator, MockAgent`` defines the models but builds no
    validator or serializer (``defer_build``) and no event TypeAdapter: building them
    was most of the import time, and a run that only records never needs them."""
    found = _modules(BUILT_AT_IMPORT)
    assert found == {"built": [], "adapter": False}


def test_event_adapter_is_built_on_first_use() -> None:
    """``toolkit.events.event_adapter`` is still importable, built on first use."""
    from toolkit.events import event_adapter, parse_event

    event = parse_event(
        '{"kind":"log","run_id":"r","seq":0,"ts":0.0,"trace_id":"t","span_id":"s","message":"m"}'
    )
    assert event_adapter.validate_python(event.model_dump()) == event


def test_importing_the_orchestrator_leaves_the_fold_for_later() -> None:
    """``toolkit.state`` (the fold, ~4 ms of import) loads when a result's state is first
    read, not when ``Orchestrator`` is imported."""
    found = _modules(
        "import json, sys\n"
        "from toolkit import Orchestrator, MockAgent\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))\n"
    )
    assert "toolkit.state" not in found["modules"]


# Optional packages and the core's own heavy modules: none may load before a program
# uses what needs them (a store, a workflow file, the CLI, metrics, a remote bus, …)
HEAVY_PACKAGES = (
    *FORBIDDEN,
    "rich",
    "opentelemetry",
    "redis",
    "temporalio",
    "sqlite3",
    "a2a",
    "yaml",
)
HEAVY_TOOLKIT_MODULES = (
    "toolkit.cli",
    "toolkit.store",
    "toolkit.otel",
    "toolkit.redis_bus",
    "toolkit.redis_streams",
    "toolkit.temporal",
    "toolkit.metrics",
    "toolkit.widgets",
    "toolkit.llm",
    "toolkit.workflow",
    "toolkit.recorder",
    "toolkit.durable",
)

LOADED_BY = """
import json, sys
before = set(sys.modules)
{statement}
print(json.dumps({{"modules": sorted(set(sys.modules) - before)}}))
"""


def test_import_toolkit_loads_only_the_package() -> None:
    """``import toolkit`` loads the package and its lazy-export helper, not even pydantic:
    every exported name's module loads on first use of the name."""
    loaded = _modules(LOADED_BY.format(statement="import toolkit"))["modules"]
    assert [m for m in loaded if m.split(".")[0] in ("toolkit", "pydantic", "anyio")] == [  # type: ignore[attr-defined]
        "toolkit",
        "toolkit._lazy",
    ]


def test_importing_the_orchestrator_loads_no_optional_package() -> None:
    """``from toolkit import Orchestrator, MockAgent`` loads none of the optional packages
    (pandas, httpx, textual, rich, opentelemetry, redis, temporalio, …), no sqlite3, no
    yaml, and none of the core modules a run without a store, trace or workflow needs."""
    loaded = _modules(LOADED_BY.format(statement="from toolkit import Orchestrator, MockAgent"))[
        "modules"
    ]
    assert "toolkit.orchestrator" in loaded  # type: ignore[operator]
    top = _top_level(loaded)  # type: ignore[arg-type]
    assert not top & set(HEAVY_PACKAGES), sorted(top & set(HEAVY_PACKAGES))
    heavy = [m for m in loaded if m.startswith(HEAVY_TOOLKIT_MODULES)]  # type: ignore[attr-defined]
    assert heavy == [], heavy


def test_the_secret_shapes_compile_on_first_use() -> None:
    """``toolkit.redact.KEY_SHAPES`` is compiled when text first looks like it may hold
    a key, not at import, and is still importable by name."""
    code = (
        "import json, sys\n"
        "from toolkit.redact import _key_shapes, scrub\n"
        "before = _key_shapes.cache_info().currsize\n"
        "plain = scrub('no key here')\n"
        "after_plain = _key_shapes.cache_info().currsize\n"
        "masked = scrub('use sk-abcdef123456 now')\n"
        "from toolkit.redact import KEY_SHAPES\n"
        "print(json.dumps({'counts': [before, after_plain, _key_shapes.cache_info().currsize],"
        " 'masked': masked, 'shapes': [name for name, _ in KEY_SHAPES]}))\n"
    )
    out = _modules(code)
    assert out["counts"] == [0, 0, 1]
    assert out["masked"] == "use sk-*** now"
    assert "openai/anthropic" in out["shapes"] and "github" in out["shapes"]  # type: ignore[operator]


def test_the_models_on_the_import_path_hold_annotations_as_objects() -> None:
    """``toolkit.events``, ``toolkit.agents`` and ``toolkit.plan`` do without ``from
    __future__ import annotations``: as strings, pydantic compiles and evaluates every
    field's annotation (and each subclass's inherited ones again) when the class is made."""
    from pydantic import BaseModel

    import toolkit.agents
    import toolkit.events
    import toolkit.plan

    models = [
        cls
        for module in (toolkit.events, toolkit.agents, toolkit.plan)
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseModel)
        and cls.__module__ == module.__name__
    ]
    assert len(models) >= 30
    as_text = {
        f"{cls.__name__}.{name}"
        for cls in models
        for name, annotation in vars(cls).get("__annotations__", {}).items()
        if isinstance(annotation, str)
    }
    assert as_text == set(), sorted(as_text)


CLI_MAIN = """
import contextlib, io, json, sys
from toolkit.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "help": out.getvalue(), "modules": sorted(sys.modules)}))
"""

# what the parser of the core commands never needs: the durable runs and the models
# behind them, the optional packages, the UI
NOT_FOR_HELP = (
    "pydantic",
    "anyio",
    "yaml",
    "sqlite3",
    "pandas",
    "textual",
    "rich",
    "httpx",
    "temporalio",
    "redis",
    "opentelemetry",
    "a2a",
)
NOT_FOR_HELP_TOOLKIT = (
    "toolkit.durable",
    "toolkit.events",
    "toolkit.plan",
    "toolkit.orchestrator",
    "toolkit.workflow",
    "toolkit.store",
    "toolkit.metrics",
)


def _cli_modules(*argv: str) -> dict[str, object]:
    out = _modules(CLI_MAIN, *argv)
    assert out["code"] == 0, out
    return out


def _heavy_for_help(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if m.split(".")[0] in NOT_FOR_HELP
        or any(m == name or m.startswith(name + ".") for name in NOT_FOR_HELP_TOOLKIT)
        or (m.startswith("toolkit.temporal.") and m != "toolkit.temporal.commands")
    ]


def test_switchboard_help_imports_no_durable_runs_models_or_optional_packages() -> None:
    """``switchboard --help`` lists the core and the plug-ins' commands without loading
    ``toolkit.durable`` (its commands' arguments live in ``toolkit.durable_cli``), pydantic,
    Temporal, pandas or any UI: a plug-in adds its commands from a light module."""
    out = _cli_modules("--help")
    text = out["help"]
    for command in ("run", "resume", "rerun", "compare", "tui", "temporal", "export"):
        assert f"\n    {command} " in text, command  # type: ignore[operator]
    modules: list[str] = out["modules"]  # type: ignore[assignment]
    assert _heavy_for_help(modules) == []
    assert "toolkit.durable_cli" in modules and "tui.cli" in modules


def test_a_core_commands_help_reads_no_entry_points() -> None:
    """``switchboard run --help`` names a core command, so the plug-ins' commands are not
    read: no ``importlib.metadata`` (it scans every installed distribution), no plug-in
    module, no ``socket`` (``toolkit.serve.cli`` binds one only to serve), and none of the
    heavy modules ``--help`` avoids."""
    out = _cli_modules("run", "--help")
    assert "--executor" in out["help"]  # type: ignore[operator]
    modules: list[str] = out["modules"]  # type: ignore[assignment]
    assert _heavy_for_help(modules) == []
    assert "importlib.metadata" not in modules and "socket" not in modules
    assert not [m for m in modules if m.startswith(("tui", "toolkit.llm", "toolkit.temporal"))]


def test_the_parser_reads_the_plug_ins_unless_a_core_command_is_named() -> None:
    """``build_parser(argv)`` leaves the plug-ins' commands out only when ``argv`` names a
    core command; a plug-in command, no command or no ``argv`` gets them all."""
    from toolkit.cli import CLIError, build_parser

    for argv in (None, [], ["--help"], ["cassette", "c.json"]):
        args = build_parser(argv).parse_args(["cassette", "c.json"])
        assert args.command == "cassette" and args.path == "c.json"
    core = build_parser(["run", "w.yaml"])
    assert core.parse_args(["run", "w.yaml"]).workflow == "w.yaml"
    with pytest.raises(CLIError, match="invalid choice: 'cassette'"):
        core.parse_args(["cassette", "c.json"])
