"""The core runs on its four dependencies; every optional part names the extra it needs.

Each test starts a fresh interpreter in which some modules cannot be imported: a
``sitecustomize`` on ``PYTHONPATH`` puts a meta-path finder in front of the real ones
that refuses the listed top-level modules, as if their extra were not installed. Nothing
is uninstalled, so the rest of the suite is unaffected.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from toolkit.extras import EXTRAS, MissingExtraError, extra_for, needs_extra

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "sample_agents" / "workflows" / "two-workers-parallel.yaml"

BLOCKER = textwrap.dedent(
    """
    import os
    import sys

    BLOCKED = set(os.environ["SWITCHBOARD_TEST_BLOCKED"].split(","))


    class _NotInstalled:
        \"\"\"Refuses the blocked modules, as if their distribution were absent.\"\"\"

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None


    sys.meta_path.insert(0, _NotInstalled())
    """
)


def run_without(tmp_path: Path, blocked: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in ``tmp_path`` with the ``blocked`` modules made unimportable."""
    site = tmp_path / "blocker"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "SWITCHBOARD_TEST_BLOCKED": ",".join(blocked),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli(tmp_path: Path, blocked: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """The ``switchboard`` command line with the ``blocked`` modules unimportable."""
    return run_without(tmp_path, blocked, "-m", "toolkit.cli", *args)


ALL_OPTIONAL = sorted({m for modules in EXTRAS.values() for m in modules})


def test_the_blocker_blocks(tmp_path: Path) -> None:
    """The test's blocker makes a listed module unimportable and leaves the others alone."""
    probe = (
        "import json\ntry:\n    import textual\nexcept ModuleNotFoundError as e:\n    print(e.name)"
    )
    result = run_without(tmp_path, ["textual"], "-c", probe)
    assert (result.returncode, result.stdout) == (0, "textual\n"), result.stderr


def test_the_core_runs_with_no_extra_installed(tmp_path: Path) -> None:
    """With every extra's modules missing, an orchestrator run with mock agents works."""
    code = textwrap.dedent(
        """
        import sys
        from toolkit import MockAgent, Orchestrator, pipeline

        orch = Orchestrator([MockAgent("a", reply="x"), MockAgent("b", reply="{prompt}!")], seed=1)
        result = orch.run_sync("go", pipeline("a", "b"), trace="run.jsonl")
        print(result.status, result.output)
        """
    )
    result = run_without(tmp_path, ALL_OPTIONAL, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "succeeded x!\n"


def test_switchboard_tui_without_textual_names_the_tui_extra(tmp_path: Path) -> None:
    """`switchboard tui` and `demo` without textual: one line naming the extra, exit code 2."""
    recorded = cli(tmp_path, ["textual"], "run", str(WORKFLOW), "--trace", "run.jsonl")
    assert recorded.returncode == 0, recorded.stderr  # the headless commands need no textual
    for command, args in (("tui", ["run.jsonl"]), ("demo", [])):
        result = cli(tmp_path, ["textual"], command, *args)
        assert result.returncode == 2
        assert result.stderr == (
            f"switchboard {command} needs the 'tui' extra: pip install 'switchboard[tui]'\n"
        )


def test_metrics_without_pandas_names_the_metrics_extra(tmp_path: Path) -> None:
    """Without pandas: `switchboard metrics` and `import toolkit.metrics` name the 'metrics' extra
    in one line, and `switchboard run` still runs, saying in one line what the table needs."""
    run = cli(tmp_path, ["pandas"], "run", str(WORKFLOW), "--trace", "run.jsonl")
    assert run.returncode == 0
    assert "result:" in run.stdout
    assert run.stderr == (
        "the metrics table of switchboard run needs the 'metrics' extra: "
        "pip install 'switchboard[metrics]'\n"
    )
    metrics = cli(tmp_path, ["pandas"], "metrics", "run.jsonl")
    assert (metrics.returncode, metrics.stdout) == (2, "")
    assert metrics.stderr == (
        "switchboard metrics needs the 'metrics' extra: pip install 'switchboard[metrics]'\n"
    )
    code = (
        "try:\n    import toolkit.metrics\nexcept ImportError as e:\n    print(type(e).__name__, e)"
    )
    imported = run_without(tmp_path, ["pandas"], "-c", code)
    assert imported.stdout == (
        "MissingExtraError toolkit.metrics needs the 'metrics' extra: "
        "pip install 'switchboard[metrics]'\n"
    ), imported.stderr


@pytest.mark.parametrize("missing", ["anywidget", "traitlets"])
def test_the_widgets_without_anywidget_name_the_notebook_extra(
    tmp_path: Path, missing: str
) -> None:
    """`from toolkit.widgets import RunView` without a widget library names the 'notebook' extra."""
    code = "try:\n    from toolkit.widgets import RunView\nexcept ImportError as e:\n    print(e)"
    result = run_without(tmp_path, [missing], "-c", code)
    assert result.stdout == (
        "toolkit.widgets needs the 'notebook' extra: pip install 'switchboard[notebook]'\n"
    ), result.stderr


def test_a_missing_module_of_no_extra_is_not_blamed_on_an_extra() -> None:
    """A module no extra provides propagates as the ModuleNotFoundError it is (a real bug)."""
    with pytest.raises(ModuleNotFoundError) as caught, needs_extra("metrics", "toolkit.metrics"):
        raise ModuleNotFoundError("No module named 'nonexistent'", name="nonexistent")
    assert not isinstance(caught.value, MissingExtraError)
    with pytest.raises(MissingExtraError), needs_extra("metrics", "toolkit.metrics"):
        raise ModuleNotFoundError("No module named 'pandas.core'", name="pandas.core")
    assert extra_for("textual.app") == "tui" and extra_for(None) is None


def _requirement_name(requirement: str) -> str:
    name = requirement.split(";")[0]
    for mark in "[<>=!~ ":
        name = name.split(mark)[0]
    return name.strip().lower().replace("_", "-")


def test_the_extras_table_matches_pyproject() -> None:
    """Every module in toolkit.extras.EXTRAS is installed by a requirement of that extra in
    pyproject.toml, the core is the four light dependencies, and `all` holds every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    assert core == {"anyio", "pydantic", "pyyaml", "orjson"}
    distributions = packages_distributions()
    for extra, modules in EXTRAS.items():
        declared = {_requirement_name(r) for r in optional[extra]}
        for module in modules:
            dists = {d.lower() for d in distributions.get(module, [module])}
            assert dists & declared, f"{module} is imported but not declared in [{extra}]"
    everything = next(r for r in optional["all"] if r.startswith("switchboard["))
    assert set(EXTRAS) <= set(everything.split("[")[1].rstrip("]").split(","))
