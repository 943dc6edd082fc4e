"""The workshop notebooks run top to bottom, offline, and still teach what they say.

Each notebook checks its lessons with ``assert`` cells, so executing it is the test:
a notebook whose lesson stops being true (or whose API call broke) fails here. The
kernel is this interpreter (a kernelspec written to a temporary ``JUPYTER_PATH``),
so a fresh clone with only ``.venv`` runs the notebooks against the code under test,
and LLM endpoint variables are removed so the no-key path is what runs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL_NAME = "switchboard-notebook-tests"
CELL_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data dir holding one kernelspec that runs this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Switchboard tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


@pytest.fixture
def offline_env(kernel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point Jupyter at the test kernelspec and switch any LLM endpoint off."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "SWITCHBOARD_MODEL",
        "SWITCHBOARD_CASSETTE",
        "SWITCHBOARD_CASSETTE_MODE",
    ):
        monkeypatch.delenv(name, raising=False)
    yield


def test_the_workshop_has_eight_numbered_notebooks() -> None:
    """notebooks/ holds the eight workshop notebooks, numbered 01 to 08."""
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, 9)]


def test_notebooks_are_what_build_py_writes(tmp_path: Path) -> None:
    """The committed notebooks are exactly what notebooks/build.py generates, without outputs."""
    spec = importlib.util.spec_from_file_location("workshop_build", NOTEBOOKS_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    generated = build.write_all(tmp_path)
    assert sorted(p.name for p in generated) == [p.name for p in NOTEBOOKS]
    for path in generated:
        committed = (NOTEBOOKS_DIR / path.name).read_text(encoding="utf-8")
        assert committed == path.read_text(encoding="utf-8"), (
            f"{path.name} is stale: run python notebooks/build.py"
        )
        nb = nbformat.reads(committed, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_explanations_exercise_solution_and_checks(path: Path) -> None:
    """Every notebook explains in markdown, sets an exercise, gives its solution and asserts what it teaches."""
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert markdown[0].startswith("# "), "the first cell is the notebook's title"
    assert any(m.startswith("### Exercise") for m in markdown)
    solution_index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("### Solution"))
    assert any(c.cell_type == "code" for c in nb.cells[solution_index + 1 :]), (
        "a solution cell follows the heading"
    )
    assert source.count("assert ") >= 3


def execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in ``cwd`` with the test kernel; raise on any cell error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed or displayed as text."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, offline_env: None) -> None:
    """The notebook executes with no key and no network, and no cell errors (its asserts all hold)."""
    nb = execute(path, tmp_path)
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), (
        "every code cell ran"
    )


def test_planning_notebook_uses_the_llm_planner_when_an_endpoint_is_set(
    tmp_path: Path, offline_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_BASE_URL set (here a scripted server on loopback), notebook 04 plans with the LLM planner."""
    from toolkit.llm.testing import FakeOpenAI

    plan = {
        "tasks": [
            {"id": "draft", "agent": "writer", "goal": "write the article", "prompt": "{{input}}"},
            {"id": "proofread", "agent": "editor", "goal": "proofread", "prompt": "{{draft}}"},
        ]
    }
    path = next(p for p in NOTEBOOKS if p.name.startswith("04_"))
    with FakeOpenAI(responder=lambda body: json.dumps(plan)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        nb = execute(path, tmp_path)
        requests = list(server.requests)
    assert len(requests) == 2, "the notebook asked the model for two plans"
    text = outputs_text(nb)
    assert "No LLM endpoint configured" not in text
    assert "succeeded - llm planned ['draft', 'proofread']" in text
