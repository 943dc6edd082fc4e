"""Import hygiene (as Harlequin checks it): the core loads no UI, no notebook widgets,
no LLM client and no pandas unless a program asks for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
