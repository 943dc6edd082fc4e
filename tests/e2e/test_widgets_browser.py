"""The run dashboard in a real browser: JupyterLab 4 and Notebook 7 on loopback, headless Chromium.

The suite starts each front end with a throw-away root, config and kernelspec (the kernel
is this interpreter, so it works in a fresh clone where only ``.venv`` exists), opens
a notebook that runs a mock run live into a ``RunView`` (with ``await`` in the
kernel's own loop, and with ``run_sync`` in a cell), and checks that the dashboard
shows the participants and the arrows, and that a hostile payload is shown as text
and never runs. It also opens a static HTML export with no kernel at all.

Chromium is Debian's package (``make browser`` installs it); Playwright's Python
client drives it through ``executable_path``. Screenshots go to the test's temporary
folder and to ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = '<script>window.__pwned = 1; alert("xss")</script><img src=x onerror="alert(1)"> &amp; &lt;b&gt;'

SETUP = f"""
from toolkit import FailureSpec, FunctionAgent, MockAgent, Orchestrator, Plan, ReviewSpec, Task
from toolkit.widgets import RunView, FlowView

HOSTILE = {HOSTILE!r}

async def writer(directive):
    await directive.session.send("editor", "draft coming, " + HOSTILE)
    await directive.session.broadcast("heads up: writing")
    return f"draft of {{directive.task_id}} (round {{directive.round}})"

def make():
    orch = Orchestrator([
        MockAgent("researcher", reply=HOSTILE, price_per_1k_tokens=0.5),
        FunctionAgent(writer, name="writer"),
        MockAgent("editor", reply=["needs work", "APPROVED"]),
        MockAgent("checker", failures=FailureSpec(fail_attempts=[1])),
    ], seed=3)
    plan = Plan(name="demo", tasks=[
        Task(id="research", agent="researcher", prompt="{{{{input}}}}"),
        Task(id="write", agent="writer", prompt="{{{{research}}}}", review=ReviewSpec(reviewer="editor", max_rounds=2)),
        Task(id="check", agent="checker", prompt="{{{{research}}}}", retries=1),
    ])
    return orch, plan

view = RunView(title="live (await)")
view
"""

SLOW_AWAIT = """
from toolkit import pipeline
slow = RunView(title="slow (await)", parts=["header", "plan"])
display(slow)
slow_orch = Orchestrator([MockAgent("a", latency=0.5), MockAgent("b", latency=0.5)], seed=1)
(await slow_orch.run("slow", pipeline("a", "b", "a", "b"), sinks=[slow])).status
"""

SLOW_SYNC = """
slow_sync = RunView(title="slow (run_sync)", parts=["header", "plan"])
display(slow_sync)
slow_orch.run_sync("slow", pipeline("a", "b", "a", "b"), sinks=[slow_sync]).status
"""

RUN_AWAIT = """
orch, plan = make()
result = await orch.run("write about <b>agents</b>", plan, sinks=[view])
result.status
"""

RUN_SYNC = """
orch2, plan2 = make()
sync_view = RunView(title="live (run_sync)", parts=["header", "flow"])
display(sync_view)
orch2.run_sync("again", plan2, sinks=[sync_view]).status
"""

PART_ALONE = """
FlowView.from_result(result, title="flow alone")
"""


def _notebook(path: Path, kernel: str, cells: list[str] | None = None) -> None:
    cells = cells or [SETUP, SLOW_AWAIT, SLOW_SYNC, RUN_AWAIT, RUN_SYNC, PART_ALONE]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": src.strip(),
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Switchboard e2e", "language": "python", "name": kernel},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `make browser` (apt-get install chromium)")


FRONT_ENDS = {
    # name: (module to run, its app options, notebook URL path, the URL that says it is up)
    "jupyterlab4": (
        "jupyterlab",
        [
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ],
        "/lab/tree/dashboard.ipynb",
        "/lab",
    ),
    "notebook7": (
        "notebook",
        ["--JupyterNotebookApp.expose_app_in_browser=True"],
        "/notebooks/dashboard.ipynb",
        "/tree",
    ),
}


@pytest.fixture(scope="module", params=sorted(FRONT_ENDS))
def jupyter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A JupyterLab 4 or Notebook 7 server on loopback with a temporary root, config and kernelspec."""
    _require_chromium()
    module, app_options, page_path, ready_path = FRONT_ENDS[request.param]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    base = tmp_path_factory.mktemp(request.param)
    root, data, config, runtime = (base / n for n in ("root", "data", "config", "runtime"))
    for folder in (root, data, config, runtime):
        folder.mkdir()
    kernel = "switchboard-e2e"
    spec = data / "kernels" / kernel
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Switchboard e2e",
                "language": "python",
            }
        )
    )
    _notebook(root / "dashboard.ipynb", kernel)
    # no "get Jupyter news?" toast over the screenshots
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_PATH": str(data),
        "JUPYTER_DATA_DIR": str(data),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(base / "ipython"),
    }
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        *app_options,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ready = threading.Event()
    log: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if f"127.0.0.1:{port}{ready_path}" in line:
                ready.set()
        ready.set()  # the server exited: stop waiting

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not ready.wait(90) or proc.poll() is not None:
            pytest.fail(f"{module} did not start:\n" + "".join(log[-30:]))
        yield {
            "name": request.param,
            "page": f"http://127.0.0.1:{port}{page_path}?token={token}",
            "root": root,
            "log": log,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _save(page: Any, tmp_path: Path, name: str, selector: str | None = None) -> Path:
    shot = tmp_path / name
    if selector is None:
        page.screenshot(path=str(shot), full_page=True)
    else:
        page.locator(selector).first.screenshot(path=str(shot))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)
    return shot


KERNEL_READY = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected'
    && window.jupyterapp.commands.isEnabled('notebook:run-all-cells'));
}"""
FIRST_CELL_RAN = """() => {
  // the current notebook's first cell (JupyterLab may have restored other tabs)
  const panel = window.jupyterapp.shell.currentWidget;
  const prompt = ((panel && panel.node) || document).querySelector('.jp-InputPrompt');
  return /\\[\\d+\\]/.test((prompt || {}).textContent || '');
}"""
FIRST_CODE_CELL_RAN = FIRST_CELL_RAN.replace("'.jp-InputPrompt'", "'.jp-CodeCell .jp-InputPrompt'")
"""The same for a notebook whose first cell is markdown (a workshop chapter)."""


def _other(jupyter: dict[str, Any], notebook: str) -> str:
    """The page of another notebook of the server, alone: JupyterLab's workspace is reset,
    so the tabs of the last test are not opened beside it."""
    reset = "&reset" if jupyter["name"] == "jupyterlab4" else ""
    return str(jupyter["page"]).replace("dashboard.ipynb", notebook) + reset


def _open_and_run(page: Any, url: str) -> None:
    """Open a notebook page, wait until its cells and the run-all command are there, and
    run every cell."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.commands.hasCommand('notebook:run-all-cells')",
        timeout=60_000,
    )
    _run_all_cells(page)


def _run_all_cells(page: Any, ran: str = FIRST_CELL_RAN) -> None:
    """Run every cell of the current notebook.

    Right after start-up JupyterLab may re-open the kernel's websocket, and execute
    requests queued at that moment are lost; so run all, and if the first cell has not
    run once the kernel is ready again, run all once more.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator(".jp-Notebook .jp-Cell").first.click()
    for attempt in range(3):
        page.wait_for_function(KERNEL_READY, timeout=90_000)
        # fire and forget: the command's promise settles only when every cell has run
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        try:
            page.wait_for_function(ran, timeout=30_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


FRAMES = """(() => {
  // every distinct drawing, as it happens: the slow run's plan statuses, and the live
  // run's flow lanes and timeline rows
  const frames = (window.__frames = { plan: [], lanes: [], rows: [] });
  const keep = (list, value) => { if (list[list.length - 1] !== value) list.push(value); };
  const texts = (root, selector) => [...root.querySelectorAll(selector)].map((n) => n.textContent).join("|");
  new MutationObserver(() => {
    const slow = document.querySelector(".sb-dashboard[data-title='slow (await)']");
    const tasks = slow ? [...slow.querySelectorAll(".sb-task")] : [];
    if (tasks.length) keep(frames.plan, tasks.map((t) => t.dataset.status).join(","));
    const live = document.querySelector(".sb-dashboard[data-title='live (await)']");
    if (live && live.querySelector(".sb-lane")) keep(frames.lanes, texts(live, ".sb-lane"));
    if (live && live.querySelector(".sb-gantt-agent")) keep(frames.rows, texts(live, ".sb-gantt-agent"));
  }).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
})();"""
RANK = {"waiting": 0, "running": 1, "done": 2}


def _check_plan_lit_up_in_order(frames: list[str]) -> None:
    """The slow pipeline's plan, as drawn frame by frame: its four tasks from the first
    frame on, each going waiting → running → done, one after the other, in plan order."""
    ranks = [[RANK[s] for s in frame.split(",")] for frame in frames]
    assert all(len(r) == 4 for r in ranks), frames
    assert ranks[-1] == [2, 2, 2, 2], frames
    assert any(1 in r for r in ranks), f"no frame showed a running task: {frames}"
    for before, after in itertools.pairwise(ranks):
        assert all(a >= b for a, b in zip(after, before, strict=True)), frames  # never back
    for r in ranks:  # a task lights up only once the one before it is done
        assert all(r[i] == 2 or r[i + 1] == 0 for i in range(3)), frames


def test_dashboard_renders_live_in_the_notebook(
    jupyter: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """Run all cells: the dashboards update while their cell runs (await and run_sync), show every lane
    and arrow with kinds told apart, and the hostile payload as text; the replay buttons work.
    The plan lights up task by task as the run goes, and no lane or timeline row ever moves
    (live, on a step back, a seek or a replay)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.add_init_script(FRAMES)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    passed = False
    try:
        _open_and_run(page, jupyter["page"])
        view = lambda title: page.locator(f".sb-dashboard[data-title='{title}']")  # noqa: E731
        # live while the cell runs: a mid-run push shows a running task before the run ends,
        # both in the kernel's own loop (await) and from run_sync's thread
        for title in ("slow (await)", "slow (run_sync)"):
            view(title).locator(".sb-task[data-status='running']").first.wait_for(timeout=60_000)
            view(title).locator(".sb-badge[data-status='running']").wait_for(timeout=5_000)
            view(title).locator(".sb-badge[data-status='succeeded']").wait_for(timeout=60_000)
            assert view(title).locator(".sb-task[data-status='done']").count() == 4
        view("flow alone").locator(".sb-arrow").first.wait_for(timeout=60_000)
        first = view("live (await)")
        sync = view("live (run_sync)")
        sync.locator(".sb-badge[data-status='succeeded']").wait_for(timeout=60_000)
        first.locator(".sb-badge[data-status='succeeded']").wait_for(timeout=60_000)
        lanes = first.locator(".sb-lane").all_text_contents()
        assert lanes == ["user", "orchestrator", "researcher", "writer", "editor", "checker"]
        arrows = first.locator(".sb-arrow")
        assert arrows.count() == 20
        kinds = {arrows.nth(i).get_attribute("data-kind") for i in range(arrows.count())}
        assert kinds == {"directive", "result", "error", "a2a", "broadcast"}
        first_arrow = arrows.first
        assert (first_arrow.get_attribute("data-from"), first_arrow.get_attribute("data-to")) == (
            "user",
            "orchestrator",
        )
        assert first.locator(".sb-task").count() == 3
        assert first.locator(".sb-metrics-table tbody tr").count() == 4
        assert first.locator(".sb-bar").count() >= 5
        # the run_sync view and the part alone rendered too
        assert sync.locator(".sb-arrow").count() == 20
        assert view("flow alone").locator(".sb-arrow").count() == 20
        assert view("flow alone").locator(".sb-view-title").text_content() == "flow alone"
        # the hostile payload is text: visible literally, never executed or parsed as markup
        hostile_rows = first.locator(".sb-log-text", has_text="<script>window.__pwned")
        assert hostile_rows.count() >= 1
        assert page.locator(".sb-root img").count() == 0
        assert page.locator(".sb-root script").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        hostile_rows.first.click()
        expect(first.locator(".sb-detail")).to_contain_text("<img src=x onerror", timeout=30_000)
        assert dialogs == []
        # replay from the front end: a step back changes the cursor in the kernel and the view follows
        first.locator(".sb-step-back").click()
        expect(first.locator(".sb-cursor-label")).to_have_text("event 40 / 41", timeout=30_000)
        first.locator(".sb-badge.sb-replay").wait_for(timeout=30_000)
        first.locator(".sb-live").click()
        expect(first.locator(".sb-cursor-label")).to_have_text("event 41 / 41", timeout=30_000)
        # the slider seeks, play replays in the kernel up to the end and stops
        first.locator(".sb-slider").fill("10")
        expect(first.locator(".sb-cursor-label")).to_have_text("event 10 / 41", timeout=30_000)
        expect(first.locator(".sb-arrow")).to_have_count(5, timeout=30_000)
        first.locator(".sb-play").click()
        expect(first.locator(".sb-cursor-label")).to_have_text("event 41 / 41", timeout=30_000)
        expect(first.locator(".sb-play")).to_have_text("▶ play", timeout=30_000)
        expect(first.locator(".sb-arrow")).to_have_count(20)
        frames = page.evaluate("() => window.__frames")
        _check_plan_lit_up_in_order(frames["plan"])
        lanes_drawn = "|".join(lanes)
        assert all(lanes_drawn.startswith(f) for f in frames["lanes"]), frames["lanes"]
        # one timeline row per agent from the first call on, in the lanes' order (not the
        # order of first calls: checker is called before editor)
        assert frames["rows"] == ["researcher|writer|editor|checker"], frames["rows"]
        suffix = "" if jupyter["name"] == "jupyterlab4" else f"_{jupyter['name']}"
        shot = _save(
            page, tmp_path, f"widgets{suffix}.png", ".sb-dashboard[data-title='live (await)']"
        )
        _save(page, tmp_path, f"widgets_notebook{suffix}.png")
        assert shot.stat().st_size > 10_000
        passed = True
    finally:
        if not passed:
            _save(page, tmp_path, f"widgets_failure_{jupyter['name']}.png")
        page.close()


def test_static_export_renders_without_a_kernel(browser: Any, tmp_path: Path) -> None:
    """view.to_html() opens from a file: lanes and arrows drawn, details from the export, the hostile payload inert."""
    from playwright.sync_api import expect

    from tests.widgets.conftest import demo_orchestrator
    from toolkit.widgets import RunView

    orch, plan = demo_orchestrator()
    result = orch.run_sync("write about <b>agents</b>", plan)
    path = tmp_path / "run.html"
    RunView.from_result(result).to_html(path, title="<script>alert('title')</script>")
    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".sb-arrow", timeout=30_000)
        assert page.locator(".sb-lane").all_text_contents()[:3] == [
            "user",
            "orchestrator",
            "researcher",
        ]
        assert page.locator(".sb-arrow").count() == len(result.state.messages)
        assert page.locator(".sb-task[data-status='done']").count() == 3
        assert page.locator(".sb-badge[data-status='succeeded']").count() == 1
        assert page.title() == "<script>alert('title')</script>"
        row = page.locator(".sb-log-text", has_text="<script>window.__pwned").first
        row.click()
        expect(page.locator(".sb-detail")).to_contain_text("<img src=x onerror")
        page.locator(".sb-filter").fill("task_failed")
        expect(page.locator(".sb-log-row")).to_have_count(1)
        assert page.locator("img").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator(".sb-play").is_disabled()
        assert dialogs == [] and errors == []
        _save(page, tmp_path, "widgets_static.png")
    finally:
        page.close()


LAYOUT_CHECKS = """() => {
  const box = (el) => el.getBoundingClientRect();
  const detail = document.querySelector(".sb-detail");
  const cards = [...document.querySelectorAll(".sb-task")].map((g) => {
    const rect = g.querySelector(".sb-task-box").getBBox();
    return [...g.querySelectorAll("text")].map((t) => [t.getBBox().x + t.getBBox().width, rect.width]);
  });
  const scroller = document.querySelector(".sb-flow-scroll");
  scroller.scrollTop = scroller.scrollHeight;
  const arrows = document.querySelectorAll(".sb-arrow");
  const newest = arrows[arrows.length - 1].querySelector(".sb-arrow-line");
  return {
    wrap: getComputedStyle(detail).overflowWrap,
    detailWidth: box(detail).width,
    ticks: [...document.querySelectorAll(".sb-axis")].map((t) => t.textContent),
    cards,
    newestBottom: box(newest).bottom,
    scrollerBottom: box(scroller).bottom,
    lanes: [...document.querySelectorAll(".sb-lane")].map((l) => l.textContent),
  };
}"""


def test_dashboard_layout_reads_well(browser: Any, tmp_path: Path) -> None:
    """The details pane wraps at words, the timeline ticks are round numbers, each plan card's
    text fits its card, the newest arrow is whole in view, and the lanes are the run's agents."""
    import re

    from tests.widgets.conftest import demo_orchestrator
    from toolkit.widgets import RunView

    orch, plan = demo_orchestrator()
    result = orch.run_sync("write about agents", plan)
    path = tmp_path / "layout.html"
    RunView.from_result(result).to_html(path)
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".sb-arrow", timeout=30_000)
        page.locator(".sb-log-row").last.click()
        got = page.evaluate(LAYOUT_CHECKS)
        _save(page, tmp_path, "widgets_layout.png")
    finally:
        page.close()
    assert got["wrap"] == "break-word" and got["detailWidth"] >= 250
    values = [float(re.sub(r"[^0-9.]", "", t)) for t in got["ticks"]]
    assert len(values) >= 2
    step = values[1] - values[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5)), got["ticks"]
    assert all(abs(round(v / step) * step - v) < 1e-6 for v in values), got["ticks"]
    for card in got["cards"]:
        for right, width in card:
            assert right <= width - 2, got["cards"]
    assert got["newestBottom"] <= got["scrollerBottom"]
    agents = {name for name in orch.agents}
    assert set(got["lanes"]) >= agents | {"user", "orchestrator"}


def test_static_export_lists_each_teams_own_plan(browser: Any, tmp_path: Path) -> None:
    """A run with teams (toolkit.team): the team is one task of the plan, and each team's
    own plan is listed under it with its tasks and their status."""
    from toolkit import load_workflow
    from toolkit.widgets import RunView

    sample = Path(__file__).parents[2] / "sample_agents" / "workflows" / "team-of-teams.yaml"
    workflow = load_workflow(sample)
    result = workflow.orchestrator().run_sync(workflow.input, workflow.plan(), name=workflow.name)
    path = tmp_path / "teams.html"
    RunView.from_result(result).to_html(path, title="teams")
    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".sb-team", timeout=30_000)
        assert page.locator(".sb-task").count() == 3
        teams = page.locator(".sb-team")
        assert [teams.nth(i).get_attribute("data-team") for i in range(2)] == [
            "research",
            "writing",
        ]
        research = page.locator(".sb-team[data-team='research'] .sb-team-task")
        assert [research.nth(i).get_attribute("data-task") for i in range(3)] == [
            "web",
            "papers",
            "summary",
        ]
        assert page.locator(".sb-team-task.sb-status-done").count() == 5
        assert "task research · succeeded" in teams.first.inner_text()
        assert errors == []
        _save(page, tmp_path, "widgets_teams.png")
    finally:
        page.close()


NOTEBOOK_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel ? [...panel.content.model.cells] : [];
  const code = cells.filter((c) => c.type === 'code');
  return Boolean(kernel && kernel.status === 'idle' && code.length
    && code.every((c) => c.executionCount !== null));
}"""
NOTEBOOK_ERRORS = """() => {
  const cells = [...window.jupyterapp.shell.currentWidget.content.model.cells];
  return cells.filter((c) => c.type === 'code').flatMap((c) => c.toJSON().outputs || [])
    .filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`);
}"""
SHUT_DOWN = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (panel && panel.sessionContext) { await panel.sessionContext.shutdown(); panel.dispose(); }
}"""
CHAPTERS = {
    # chapter: {a dashboard it puts on the page before its run: plan tasks done at the end}
    "05_review_loops_and_conflicts": {"a person reviews, live": 1, "a team of teams": 2},
    "09_durable_runs": {"the article, resumed": 2},  # the resume: the draft, cut short, and polish
    "10_agents_in_other_processes": {
        "a local researcher, a remote writer": 2,
        "a run started over HTTP": 3,
    },
    "11_tracing_with_opentelemetry": {"research and check, then write": 3},
    "12_temporal": {"a run on Temporal, one worker killed": 3},
    "13_a_real_local_model": {"a small model plans, live": 3},
}
"""The chapters that start processes, wait for a person, run on simulated time or replay
a real model: each runs top to bottom in the browser, its live dashboards filled in."""
PLAN_DONE = """([title, done]) => {
  const view = window.jupyterapp.shell.currentWidget.node.querySelector(`.sb-dashboard[data-title="${title}"]`);
  const tasks = view ? [...view.querySelectorAll('g.sb-task')] : [];
  return tasks.length === done && tasks.every((t) => t.dataset.status === 'done');
}"""


@pytest.mark.timeout(900)
@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_workshop_chapter_runs_in_jupyterlab(
    jupyter: dict[str, Any], browser: Any, tmp_path: Path, chapter: str
) -> None:
    """A workshop chapter opened in JupyterLab 4 and run top to bottom: no cell errors,
    and each dashboard it put on the page before its run shows every task of the plan
    done (chapter 5 also lists each team's own plan)."""
    if jupyter["name"] != "jupyterlab4":
        pytest.skip("the chapters are opened in JupyterLab 4 (Notebook 7 draws the same widget)")
    import nbformat

    source = Path(__file__).parents[2] / "notebooks" / f"{chapter}.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.metadata["kernelspec"] = {"name": "switchboard-e2e", "display_name": "Switchboard e2e"}
    nbformat.write(nb, jupyter["root"] / source.name)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    passed = False
    try:
        # a workspace of its own, reset: only this chapter open (JupyterLab restores the tabs
        # of a workspace, and hidden tabs' cells would match the selectors below)
        page.goto(
            jupyter["page"].replace(
                "/lab/tree/dashboard.ipynb", f"/lab/workspaces/{chapter}/tree/{source.name}"
            )
            + "&reset"
        )
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        _run_all_cells(page, FIRST_CODE_CELL_RAN)
        page.wait_for_function(NOTEBOOK_DONE, timeout=600_000, polling=500)
        assert page.evaluate(NOTEBOOK_ERRORS) == []
        for title, done in CHAPTERS[chapter].items():
            page.wait_for_function(PLAN_DONE, arg=[title, done], timeout=30_000)
        if chapter.startswith("05_"):
            teams = page.locator(".sb-dashboard[data-title='a team of teams'] .sb-team")
            assert [teams.nth(i).get_attribute("data-team") for i in range(teams.count())] == [
                "research",
                "writing",
            ]
            team_tasks = teams.locator(".sb-team-task")
            statuses = [team_tasks.nth(i).get_attribute("class") for i in range(team_tasks.count())]
            assert len(statuses) == 4 and all("sb-status-done" in c for c in statuses), statuses
        _save(page, tmp_path, f"workshop_{chapter}.png")
        passed = True
    finally:
        if not passed:
            _save(page, tmp_path, f"workshop_failure_{chapter}.png")
        # the kernel stops (the chapter's atexit hooks stop what it started), the tab closes
        page.evaluate(SHUT_DOWN)
        page.close()


def test_a_teams_lane_expands_on_click_into_its_own_lanes_and_plan(
    browser: Any, tmp_path: Path
) -> None:
    """In the dashboard (a static export: the same module and the same ``team`` trait a
    kernel would answer), a team's lane is marked ▸; clicking it shows the team's own
    lanes, arrows and plan, clicking a team's task inside goes a level deeper, and ◂ out
    comes back a level at a time."""
    from toolkit.widgets import RunView

    trace = Path(__file__).parents[2] / "sample_agents" / "traces" / "teams.jsonl"
    path = tmp_path / "team-lanes.html"
    RunView.from_trace(trace).to_html(path, title="team of teams")
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def lanes() -> list[str]:
        return page.eval_on_selector_all(".sb-lane", "els => els.map(e => e.dataset.name)")

    def tasks() -> list[str]:
        return page.eval_on_selector_all(".sb-task", "els => els.map(e => e.dataset.task)")

    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".sb-lane-team", timeout=30_000)
        assert lanes() == ["user", "orchestrator", "research", "editor"]
        team_lane = page.locator(".sb-lane-team")
        assert team_lane.count() == 1 and team_lane.inner_text() == "research ▸"
        team_lane.click()
        page.wait_for_selector(".sb-flow .sb-team-out")
        assert lanes() == ["user", "orchestrator", "sources", "analyst"]
        assert tasks() == ["search", "summary"]
        assert "team research" in page.locator(".sb-flow .sb-part-title").inner_text()
        drawn = page.eval_on_selector_all(".sb-arrow", "els => els.map(e => e.dataset.to)")
        assert set(drawn) <= {"orchestrator", "user", "sources", "analyst"} and drawn
        # a team's arrow shows its own event (its run numbers its events from 0 too)
        page.locator(".sb-arrow[data-to='sources'] .sb-hit").first.click()
        page.wait_for_function(
            "() => document.querySelector('.sb-detail').textContent.startsWith('{')"
        )
        detail = json.loads(page.locator(".sb-detail").inner_text())
        assert detail["kind"] == "message_sent" and detail["envelope"]["recipient"] == "sources"
        assert page.locator(".sb-arrow.sb-selected").count() == 1
        assert page.locator(".sb-log-row.sb-selected").count() == 1
        _save(page, tmp_path, "widgets_team_expanded.png")
        # the sources team's task in the research team's plan goes a level deeper
        page.locator(".sb-task-team[data-team='research/sources']").click()
        page.wait_for_function(
            "() => document.querySelectorAll('.sb-task').length === 2 && document.querySelector(\".sb-task[data-task='web']\")"
        )
        assert lanes() == ["user", "orchestrator", "web", "papers"]
        page.locator(".sb-flow .sb-team-out").click()
        page.wait_for_function("() => document.querySelector(\".sb-task[data-task='search']\")")
        assert lanes() == ["user", "orchestrator", "sources", "analyst"]
        page.locator(".sb-flow .sb-team-out").click()
        page.wait_for_function("() => document.querySelector(\".sb-task[data-task='edit']\")")
        assert lanes() == ["user", "orchestrator", "research", "editor"]
        assert page.locator(".sb-team-out").count() == 0
        assert errors == []
    finally:
        page.close()


TEAM_CELL = """
from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.team import TeamAgent
from toolkit.widgets import RunView

research = TeamAgent("research", Orchestrator([MockAgent("web"), MockAgent("analyst")]), Plan(tasks=[
    Task(id="search", agent="web"), Task(id="summary", agent="analyst", depends_on=["search"])]))
orch = Orchestrator([research, MockAgent("editor")], seed=1)
teams = RunView(title="teams")
display(teams)
(await orch.run("a brief", Plan(tasks=[Task(id="research", agent="research"),
    Task(id="edit", agent="editor", depends_on=["research"])]), sinks=[teams])).status
"""


def test_a_teams_lane_expands_in_the_kernel_on_click(
    jupyter: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """Live in the notebook: clicking a team's lane sets the view's ``team`` in the
    kernel, which sends the team's own lanes and plan; ◂ out sends the run's again."""
    from playwright.sync_api import expect

    _notebook(jupyter["root"] / "teams.ipynb", "switchboard-e2e", [TEAM_CELL])
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    passed = False
    try:
        _open_and_run(page, _other(jupyter, "teams.ipynb"))
        view = page.locator(".sb-dashboard[data-title='teams']")
        view.locator(".sb-badge[data-status='succeeded']").wait_for(timeout=60_000)
        lanes = view.locator(".sb-lane")
        expect(lanes).to_have_text(["user", "orchestrator", "research ▸", "editor"])
        view.locator(".sb-lane-team").click()
        expect(lanes).to_have_text(["user", "orchestrator", "web", "analyst"], timeout=30_000)
        expect(view.locator(".sb-task")).to_have_count(2)
        assert view.locator(".sb-task[data-task='search']").count() == 1
        expect(view.locator(".sb-flow .sb-part-title")).to_contain_text("team research")
        view.locator(".sb-flow .sb-team-out").click()
        expect(lanes).to_have_text(["user", "orchestrator", "research ▸", "editor"], timeout=30_000)
        expect(view.locator(".sb-task[data-task='edit']")).to_have_count(1)
        passed = True
    finally:
        if not passed:
            _save(page, tmp_path, f"widgets_team_failure_{jupyter['name']}.png")
        page.close()


ASKS = f"""
import asyncio
from toolkit import MockAgent, Orchestrator, Plan, Task
from toolkit.human import HumanAgent
from toolkit.widgets import RunView

HOSTILE = {HOSTILE!r}
orch = Orchestrator([
    MockAgent("writer", reply=HOSTILE),
    HumanAgent("lead", person="alice"),
    HumanAgent("pm", person="bob", mode="choose", options=["ship", "<b>hold</b>"]),
    HumanAgent("scribe", person="carol", mode="text"),
    MockAgent("echo", reply="{{prompt}}"),
])
plan = Plan(name="asks", tasks=[
    Task(id="write", agent="writer"),
    Task(id="approve", agent="lead", prompt="Approve {{{{write}}}}?", depends_on=["write"]),
    Task(id="pick", agent="pm", prompt="Ship it?", depends_on=["write"]),
    Task(id="note", agent="scribe", prompt="Release notes?", depends_on=["write"]),
    Task(id="sum", agent="echo", prompt="{{{{approve}}}} | {{{{pick}}}} | {{{{note}}}}",
         depends_on=["approve", "pick", "note"]),
])
asks = RunView(title="asks", parts=["header", "questions", "flow", "gantt", "metrics"])
display(asks)
# in the background: the kernel stays free to take the buttons' answers
asks_run = asyncio.ensure_future(orch.run("go", plan, sinks=[asks]))
"""


def test_a_person_answers_with_the_widgets_buttons(
    jupyter: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    """A run waits for three people: approve/reject with a comment, pick an option, write
    text. The buttons send the answers through the widget's comm and the run finishes
    with them; the hostile question text and options are shown literally; each wait is
    a span of its own on the timeline."""
    from playwright.sync_api import expect

    _notebook(jupyter["root"] / "human.ipynb", "switchboard-e2e", [ASKS])
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    passed = False
    try:
        _open_and_run(page, _other(jupyter, "human.ipynb"))
        view = page.locator(".sb-dashboard[data-title='asks']")
        questions = view.locator(".sb-question")
        expect(questions).to_have_count(3, timeout=60_000)
        approve = view.locator(".sb-question[data-task='approve']")
        expect(approve.locator(".sb-question-text")).to_have_text(f"Approve {HOSTILE}?")
        pick = view.locator(".sb-question[data-task='pick']")
        assert pick.locator(".sb-choice").all_text_contents() == ["ship", "<b>hold</b>"]
        assert page.locator(".sb-root img, .sb-root script, .sb-root b:text('hold')").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        suffix = "" if jupyter["name"] == "jupyterlab4" else f"_{jupyter['name']}"
        _save(page, tmp_path, f"widgets_questions{suffix}.png", ".sb-dashboard[data-title='asks']")
        # approve/reject with a comment, a choice, free text
        approve.locator(".sb-answer-comment").fill("needs <i>tests</i>")
        approve.locator(".sb-reject").click()
        pick.locator(".sb-choice[data-choice='<b>hold</b>']").click()
        note = view.locator(".sb-question[data-task='note']")
        note.locator(".sb-answer-comment").fill("v2: faster")
        note.locator(".sb-send-text").click()
        view.locator(".sb-badge[data-status='succeeded']").wait_for(timeout=60_000)
        expect(questions).to_have_count(0, timeout=30_000)
        expect(view.locator(".sb-header")).to_contain_text("<b>hold</b> | v2: faster")
        expect(view.locator(".sb-header")).to_contain_text("needs <i>tests</i>")
        # the flow draws each question (agent → person) and answer (person → agent)
        for kind, pairs in (
            ("question", {("lead", "alice"), ("pm", "bob"), ("scribe", "carol")}),
            ("answer", {("alice", "lead"), ("bob", "pm"), ("carol", "scribe")}),
        ):
            arrows = view.locator(f".sb-arrow[data-kind='{kind}']")
            expect(arrows).to_have_count(3, timeout=30_000)
            got = {
                (arrows.nth(i).get_attribute("data-from"), arrows.nth(i).get_attribute("data-to"))
                for i in range(3)
            }
            assert got == pairs, got
        waits = view.locator(".sb-wait.sb-wait-answered")
        expect(waits).to_have_count(3, timeout=30_000)
        assert {waits.nth(i).get_attribute("data-agent") for i in range(3)} == {
            "lead",
            "pm",
            "scribe",
        }
        assert dialogs == [] and page.evaluate("() => window.__pwned") is None
        _save(page, tmp_path, f"widgets_answers{suffix}.png", ".sb-dashboard[data-title='asks']")
        passed = True
    finally:
        if not passed:
            _save(page, tmp_path, f"widgets_answers_failure_{jupyter['name']}.png")
        page.close()
