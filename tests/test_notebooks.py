"""The workshop notebooks run top to bottom, offline, and still teach what they say.

Each chapter is a pair: ``notebooks/NN_name.py`` (jupytext percent format), the source
people edit, review and lint, and ``notebooks/NN_name.ipynb``, the notebook students
open. The pair must hold the same cells; outputs, execution counts, cell ids and the
metadata Jupyter adds are not part of that comparison, so running and saving a notebook
in Jupyter never fails a test by itself.

Each notebook checks its lessons with ``assert`` cells, so executing it is the test: a
notebook whose lesson stops being true (or whose API call broke) fails here. The kernel
is this interpreter (a kernelspec written to a temporary ``JUPYTER_PATH``), so a fresh
clone with only ``.venv`` runs the notebooks against the code under test, and LLM
endpoint variables are removed so the no-key path is what runs.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
KERNEL_NAME = "switchboard-notebook-tests"
CELL_TIMEOUT_S = 60
OUTPUT_DIR = "output"
"""Where a notebook writes what its runs record, relative to the notebook's folder."""

MEASURED = {"elapsed_s", "duration_s", "mean_s", "p95_s", "started_at", "finished_at"}
"""Fields that hold wall-clock measurements: a lesson's assert never reads them, unless
the run it reads went on simulated time (then they are exact, on any machine)."""


def kept_cell_metadata() -> set[str]:
    """The cell metadata keys the pairing keeps in the .py source (jupytext.toml's filter)."""
    config = tomllib.loads((NOTEBOOKS_DIR / "jupytext.toml").read_text(encoding="utf-8"))
    return {key for key in config["cell_metadata_filter"].split(",") if not key.startswith("-")}


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, dict[str, Any]]]:
    """What a person wrote in a notebook: each cell's type, source and kept metadata."""
    kept = kept_cell_metadata()
    return [
        (c.cell_type, c.source, {k: v for k, v in c.metadata.items() if k in kept})
        for c in nb.cells
    ]


def drift(source: Path, notebook: Path) -> str | None:
    """Where a notebook and its .py source disagree, or None when they hold the same cells."""
    a = cells(jupytext.read(source))
    b = cells(nbformat.read(notebook, as_version=4))
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"cell {i}: {source.name} has {x!r:.120}, {notebook.name} has {y!r:.120}"
    if len(a) != len(b):
        return f"{source.name} has {len(a)} cells, {notebook.name} has {len(b)}"
    return None


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


@pytest.fixture
def chapter_copy(tmp_path: Path) -> Path:
    """A copy of notebook 01's pair and the pairing config, to edit without touching the repo."""
    for path in (SOURCES[0], SOURCES[0].with_suffix(".ipynb"), NOTEBOOKS_DIR / "jupytext.toml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_the_workshop_has_numbered_chapters_each_a_pair() -> None:
    """notebooks/ holds chapters 01 to NN with no gap (at least 01-12: chapter 12 runs on
    Temporal), each as a .py source and an .ipynb, and nothing unpaired."""
    assert [p.name[:2] for p in SOURCES] == [f"{i:02d}" for i in range(1, len(SOURCES) + 1)]
    assert len(SOURCES) >= 12 and SOURCES[11].name == "12_temporal.py"
    notebooks = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    assert [p.stem for p in notebooks] == [p.stem for p in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_and_its_source_hold_the_same_cells(source: Path) -> None:
    """Each .ipynb holds exactly the cells of its .py source (outputs and ids aside)."""
    problem = drift(source, source.with_suffix(".ipynb"))
    assert problem is None, f"{problem}; run `make notebooks` to bring the pair together"


def test_a_notebook_edited_apart_from_its_source_is_caught(chapter_copy: Path) -> None:
    """Editing the .ipynb without its .py source (a Jupyter without jupytext) is reported as drift."""
    notebook = chapter_copy / SOURCES[0].with_suffix(".ipynb").name
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[1].source += "\nprint('an extra line')"
    nbformat.write(nb, notebook)
    problem = drift(chapter_copy / SOURCES[0].name, notebook)
    assert problem is not None and problem.startswith("cell 1:")


def test_running_and_saving_a_notebook_in_jupyter_keeps_the_pair_together(
    chapter_copy: Path,
) -> None:
    """Jupyter with jupytext saves both files of a pair: an edit with outputs leaves no drift."""
    manager = jupytext.TextFileContentsManager(root_dir=str(chapter_copy))
    name = SOURCES[0].with_suffix(".ipynb").name
    model = manager.get(name)
    cell = model["content"].cells[1]
    cell.source += "\nprint('edited in Jupyter')"
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="edited in Jupyter\n")]
    cell.metadata["scrolled"] = True
    manager.save(model, name)
    source = chapter_copy / SOURCES[0].name
    assert "print('edited in Jupyter')" in source.read_text(encoding="utf-8")
    assert drift(source, chapter_copy / name) is None


def test_the_sources_are_what_jupyter_would_write() -> None:
    """Saving a committed notebook in Jupyter rewrites its .py source byte for byte (no churn)."""
    for source in SOURCES:
        nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
        config = jupytext.config.load_jupytext_config(str(NOTEBOOKS_DIR))
        text = jupytext.writes(nb, fmt="py:percent", config=config)
        assert text == source.read_text(encoding="utf-8"), f"{source.name}: run `make notebooks`"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_has_explanations_exercise_solution_and_checks(source: Path) -> None:
    """Every notebook explains in markdown, sets an exercise, gives its solution and asserts what it teaches."""
    nb = jupytext.read(source)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert markdown[0].startswith("# "), "the first cell is the notebook's title"
    assert any(m.startswith("### Exercise") for m in markdown)
    solution_index = next(i for i, c in enumerate(nb.cells) if c.source.startswith("### Solution"))
    assert nb.cells[solution_index].metadata.get("jp-MarkdownHeadingCollapsed") is True
    assert any(c.cell_type == "code" for c in nb.cells[solution_index + 1 :]), (
        "a solution cell follows the heading"
    )
    assert code.count("assert ") >= 3


_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def simulated_runs(code: str) -> set[str]:
    """Names bound to a run made on simulated time (an assignment whose value passes
    ``clock="simulated"`` anywhere in it)."""
    names = set()
    for node in ast.walk(compile(code, "<cell>", "exec", flags=_FLAGS)):
        if not isinstance(node, ast.Assign):
            continue
        simulated = any(
            isinstance(part, ast.keyword)
            and part.arg == "clock"
            and isinstance(part.value, ast.Constant)
            and part.value.value == "simulated"
            for part in ast.walk(node.value)
        )
        if simulated:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def wall_clock_reads(code: str, simulated: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The measured times and clock calls that ``assert`` statements in ``code`` read.

    A measured field of a run in ``simulated`` (see ``simulated_runs``) is exact, so it
    is not counted.
    """
    found = []
    for node in ast.walk(compile(code, "<cell>", "exec", flags=_FLAGS)):
        if not isinstance(node, ast.Assert):
            continue
        for part in ast.walk(node.test):
            if isinstance(part, ast.Attribute) and part.attr in MEASURED:
                if _root(part.value) not in simulated:
                    found.append(part.attr)
            elif (
                isinstance(part, ast.Attribute)
                and isinstance(part.value, ast.Name)
                and part.value.id == "time"
            ):
                found.append(f"time.{part.attr}")
    return found


def test_the_wall_clock_check_finds_a_timed_assert() -> None:
    """The check below sees an assert on a measured time, and lets order comparisons through."""
    assert wall_clock_reads("assert team.state.elapsed_s < solo.state.elapsed_s") == [
        "elapsed_s",
        "elapsed_s",
    ]
    assert wall_clock_reads("assert time.monotonic() - t0 < 1") == ["time.monotonic"]
    assert wall_clock_reads("x = await run()\nassert tl.start_s.max() < tl.end_s.min()") == []
    # a run on simulated time records exact timings: asserting them is fine
    code = 'sim = await Orchestrator(agents, clock="simulated").run(r, p)\nreal = await o.run(r, p)'
    assert simulated_runs(code) == {"sim"}
    assert wall_clock_reads("assert sim.state.elapsed_s == 0.1", {"sim"}) == []
    assert wall_clock_reads("assert real.state.elapsed_s == 0.1", {"sim"}) == ["elapsed_s"]


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_no_lesson_depends_on_how_fast_the_machine_is(source: Path) -> None:
    """No assert in a notebook reads a wall-clock measurement: checks rest on what the run
    recorded, or on the exact timings of a run on simulated time."""
    nb = jupytext.read(source)
    code_cells = [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    simulated = set().union(*(simulated_runs(code) for _, code in code_cells))
    found = [(i, read) for i, code in code_cells for read in wall_clock_reads(code, simulated)]
    assert found == []


VIEWS = {"RunView", "FlowView", "PlanView", "GanttView"}
"""The dashboard widgets a notebook builds to watch a run live."""


def _shown(tree: ast.Module) -> set[str]:
    """Names a cell puts on the page: its last line is the name, or it calls display(name)."""
    names = set()
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Name):
        names.add(last.value.id)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "display"
        ):
            names.update(a.id for a in node.args if isinstance(a, ast.Name))
    return names


def live_views(codes: list[str]) -> tuple[list[str], list[str]]:
    """The live views of a notebook's code cells: those on the page before the run that
    fills them, and those a run fills before (or in the cell where) they are shown.

    A live view is a name bound to ``RunView(...)`` (or another dashboard widget) and
    passed in a run's ``sinks=[...]``; it is on the page in time when a cell before the
    run's cell shows it.
    """
    views: set[str] = set()
    shown_in: dict[str, int] = {}
    in_time, late = [], []
    for i, code in enumerate(codes):
        tree = compile(code, "<cell>", "exec", flags=_FLAGS)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id in VIEWS
            ):
                views.update(t.id for t in node.targets if isinstance(t, ast.Name))
            if isinstance(node, ast.keyword) and node.arg == "sinks":
                for part in ast.walk(node.value):
                    if isinstance(part, ast.Name) and part.id in views:
                        shown = shown_in.get(part.id, i) < i
                        (in_time if shown else late).append(part.id)
        for name in _shown(tree):
            shown_in.setdefault(name, i)
    return in_time, late


def test_the_live_view_check_finds_a_view_shown_after_its_run() -> None:
    """The check below tells a view put on the page before its run from one shown after."""
    build = "from toolkit.widgets import RunView\nview = RunView(title='t')"
    run = "result = await orch.run('r', plan, sinks=[view, OtelSink(x)])"
    assert live_views([build + "\nview", run]) == (["view"], [])
    assert live_views([build, run, "view"]) == ([], ["view"])  # shown once the run is over
    assert live_views([build, run + "\nview"]) == ([], ["view"])  # the same cell: after it
    assert live_views([build + "\ndisplay(view)", "await prepare(sinks=[view]).execute()"]) == (
        ["view"],
        [],
    )
    assert live_views(["from toolkit.widgets import RunView", run]) == ([], [])  # no view built


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_notebook_shows_its_view_before_the_run(source: Path) -> None:
    """Each notebook puts at least one dashboard on the page before a run fills it in,
    so students watch it live, and never fills a view it shows only afterwards."""
    nb = jupytext.read(source)
    in_time, late = live_views([c.source for c in nb.cells if c.cell_type == "code"])
    assert in_time, "no view is on the page before its run starts"
    assert late == []


def execute(source: Path, cwd: Path) -> nbformat.NotebookNode:
    """Run a notebook's source top to bottom in ``cwd`` with the test kernel; raise on any cell error."""
    nb = jupytext.read(source)
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


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_runs_top_to_bottom(source: Path, tmp_path: Path, offline_env: None) -> None:
    """The notebook executes with no key and no network, no cell errors (its asserts all hold),
    and whatever it writes goes into output/."""
    nb = execute(source, tmp_path)
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
    assert [p.name for p in tmp_path.iterdir() if p.name != OUTPUT_DIR] == []


def test_what_the_notebooks_write_is_ignored_by_git() -> None:
    """notebooks/output/, where the notebooks write their recordings, is git-ignored."""
    probe = f"notebooks/{OUTPUT_DIR}/run.jsonl"
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", probe], check=False
    ).returncode
    assert ignored == 0, f"{probe} is not git-ignored"


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
    source = next(p for p in SOURCES if p.name.startswith("04_"))
    with FakeOpenAI(responder=lambda body: json.dumps(plan)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        nb = execute(source, tmp_path)
        requests = list(server.requests)
    assert len(requests) == 2, "the notebook asked the model for two plans"
    text = outputs_text(nb)
    assert "No LLM endpoint configured" not in text
    assert "succeeded - llm planned ['draft', 'proofread']" in text


def test_the_temporal_chapter_skips_in_one_line_without_temporal(
    tmp_path: Path, offline_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the ``temporal`` extra (here its SDK made unimportable in the kernel),
    chapter 12 runs top to bottom without an error, says so in one line, and starts
    nothing."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nsys.modules['temporalio'] = None  # as if the extra were not installed\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(blocker))
    work = tmp_path / "work"
    work.mkdir()
    source = next(p for p in SOURCES if p.name.startswith("12_"))
    nb = execute(source, work)
    printed = [
        line
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output.get("text", "").splitlines()
    ]
    skip = "Temporal is not installed: skipping this chapter (pip install 'switchboard[temporal]')"
    assert printed == [skip]
    assert not (work / OUTPUT_DIR / "temporal.db").exists()
    assert not list((work / OUTPUT_DIR).glob("worker-*.log"))


def test_the_local_model_chapter_runs_live_when_a_server_is_set(
    tmp_path: Path, offline_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_BASE_URL set (here a scripted server on loopback standing in for the
    local model), chapter 13 calls it instead of replaying its cassette: the model's first
    plan names an agent that does not exist, is sent back with the problem, and its second
    plan is the one the run follows; what the model said is recorded to output/."""
    from toolkit.llm.testing import FakeOpenAI

    good = {
        "name": "brief",
        "tasks": [
            {"id": "notes", "agent": "researcher", "goal": "facts", "prompt": "{{input}}"},
            {"id": "brief", "agent": "writer", "goal": "write", "prompt": "{{notes}}"},
        ],
    }
    bad = {"name": "brief", "tasks": [{"id": "a", "agent": "Rewritten_1", "prompt": "x"}]}

    def answer(body: dict[str, Any]) -> str:
        planner = "You are the planner" in body["messages"][0]["content"]
        return json.dumps(good) if planner else "an answer from the model"

    source = next(p for p in SOURCES if p.name.startswith("13_"))
    with FakeOpenAI([json.dumps(bad)], responder=answer) as server:
        base_url = server.base_url
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        nb = execute(source, tmp_path)
        planner_requests = [
            r for r in server.requests if "You are the planner" in str(r.body["messages"][0])
        ]
    text = outputs_text(nb)
    assert f"live: SmolLM2-135M-Instruct at {base_url}" in text
    assert "succeeded - the plan was made by: llm" in text
    assert "unknown agent 'Rewritten_1'" in text  # the refusal, and what was sent back
    # the run's two plans, then one plan for each of the exercise's two runs
    assert len(planner_requests) == 4
    assert (tmp_path / OUTPUT_DIR / "local-model.json").exists()


def test_the_processes_chapter_skips_redis_in_one_line_without_redis_server(
    tmp_path: Path, offline_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``redis-server`` on the PATH (here a PATH with nothing on it), chapter 10
    still runs its HTTP worker and start API, says in one line that it skips the Redis
    part, and starts no bus worker."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    work = tmp_path / "work"
    work.mkdir()
    source = next(p for p in SOURCES if p.name.startswith("10_"))
    nb = execute(source, work)
    text = outputs_text(nb)
    skip = "redis-server is not installed: skipping the Redis part (apt-get install redis-server)"
    assert text.count(skip) == 1
    assert "redis-server at" not in text
    assert text.count("checks passed") == 3  # the worker, the start API, the exercise
    assert not (work / OUTPUT_DIR / "bus-worker.log").exists()
