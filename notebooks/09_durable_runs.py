# %% [markdown]
# # 9. Durable runs: resume after a crash, re-run from a step, compare
#
# A long run that dies halfway should not start over. When a run records itself to a
# **run store** (`store="runs.db"`, SQLite), the store keeps every event *and* each
# finished task's result, written together. So after a crash:
#
# - **resume** continues the same run: finished tasks are kept (no agent is called for
#   them again), the rest run;
# - **re-run from a step** makes a *new* run that reuses every result upstream of a
#   task and executes that task (with an edited prompt, say) and what depends on it;
# - **compare** lines two runs up task by task: which outputs changed, and the cost.
#
# This notebook starts a real `switchboard run` process, kills it in the middle, and
# picks up the pieces. Everything it writes goes into `output/`.

# %%
import subprocess
import sys
import time
from pathlib import Path

from toolkit import RunStore
from toolkit.compare import compare_runs
from toolkit.workflow import load_workflow

OUT = Path("output")
OUT.mkdir(exist_ok=True)
DB = OUT / "durable.db"
for name in ("durable.db", "durable.db-wal", "durable.db-shm"):
    (OUT / name).unlink(missing_ok=True)

# A four-step article pipeline of mock agents. The draft is slow (2 s): that is when
# the process will die.
WORKFLOW = OUT / "article.yaml"
WORKFLOW.write_text(
    """\
name: article
input: "Why local-first apps are back"
seed: 9
agents:
  researcher: {kind: mock, reply: "notes: CRDTs matured; users want offline", latency: 0.05}
  outliner: {kind: mock, reply: "outline of ({prompt})", latency: 0.05}
  writer: {kind: mock, reply: "draft from ({prompt})", latency: 2.0}
  editor: {kind: mock, reply: "edited: {prompt}", latency: 0.05}
steps:
  - {id: research, agent: researcher, prompt: "{{input}}"}
  - {id: outline, agent: outliner, prompt: "{{research}}"}
  - {id: draft, agent: writer, prompt: "{{outline}}"}
  - {id: polish, agent: editor, prompt: "Tighten: {{draft}}"}
""",
    encoding="utf-8",
)
print(WORKFLOW.read_text())

# %% [markdown]
# ## A run that dies
#
# Start the workflow in its own process, recording to the store. Wait (on what the
# store holds, not on a timer) until the `draft` task has started, then kill the
# process with SIGKILL: no clean-up, no last words, like a laptop lid closing.


# %%
def started_tasks(store, run_id):
    return [e.task_id for e in store.events(run_id) if e.kind == "task_started"]


proc = subprocess.Popen(
    [sys.executable, "-m", "toolkit.cli", "run", str(WORKFLOW), "--store", str(DB)],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    deadline = time.monotonic() + 30
    run_id = None
    while run_id is None and time.monotonic() < deadline:
        if DB.exists():
            store = RunStore(DB)
            runs = store.runs()
            if runs and "draft" in started_tasks(store, runs[0].run_id):
                run_id = runs[0].run_id
            store.close()
        time.sleep(0.05)
finally:
    proc.kill()  # SIGKILL, in the middle of the draft (or at once, if something went wrong)
    proc.wait()
assert run_id is not None, "the run never reached the draft"

store = RunStore(DB)
info = store.info(run_id)
results = store.results(run_id)
print(run_id, info.status, "-", info.event_count, "events stored")
print("results the store holds:", sorted(results))

# %%
# The store knows the run was cut short, and which tasks it had finished
assert info.status == "interrupted"
assert sorted(results) == ["outline", "research"]

# %% [markdown]
# ## Resume
#
# `orch.resume(run_id, store=...)` continues the run from what the store holds. The
# orchestrator is built from the same workflow file; the plan is the one the store
# recorded. The continuation is the *same* run (same id), and its first event,
# `run_resumed`, says what was kept and what runs again.
#
#
# Put a dashboard on the page first, then run the resume: its message flow marks the
# first message after the interruption `⟳ resumed`.

# %%
from toolkit.widgets import RunView

view = RunView(title="the article, resumed")
view

# %%
workflow = load_workflow(WORKFLOW)
orch = workflow.orchestrator()
resumed = await orch.resume(run_id, store=DB, sinks=[view])
note = next(e for e in resumed.events if e.kind == "run_resumed")
print(resumed.status, "kept:", note.kept, "rerun:", note.rerun, "interrupted:", note.interrupted)
print(resumed.output)

# %%
# Nothing finished was done twice: after the resume only the draft (cut short) and
# the polish ran. (`resumed.events` is the whole run, before the crash and after.)
again = [e.task_id for e in resumed.events if e.kind == "task_started" and e.seq > note.seq]
assert resumed.run_id == run_id and resumed.status == "succeeded"
assert note.kept == ["research", "outline"] and note.interrupted == ["draft"]
assert again == ["draft", "polish"]
assert store.info(run_id).status == "succeeded" and store.info(run_id).resumes == 1
assert view.state.status == "succeeded"
print("checks passed")

# %% [markdown]
# ## Re-run from a step, with an edit
#
# The editor's prompt was too timid. `orch.rerun(run_id, "polish", edits=...)` makes a
# **new** run that reuses the stored results of every task not downstream of `polish`
# (no agent is called for them: each is recorded as a `task_finished` with its stored
# output, at zero duration and cost) and executes `polish` with the new prompt. This is
# how you iterate on one prompt at the end of an expensive pipeline.

# %%
edited = await orch.rerun(
    run_id, "polish", store=DB, edits={"polish.prompt": "Cut it in half, keep the facts: {{draft}}"}
)
fork = next(e for e in edited.events if e.kind == "run_forked")
print(edited.run_id, "forked from", fork.forked_from, "at", fork.from_task, "reused:", fork.reused)
print(edited.output)

# %%
# Only the edited step called an agent; the new run remembers where it came from
assert edited.run_id != run_id and fork.forked_from == run_id
assert fork.reused == ["research", "outline", "draft"]
assert [e.task_id for e in edited.events if e.kind == "task_started"] == ["polish"]
assert edited.output.startswith("edited: Cut it in half")
assert store.info(edited.run_id).forked_from == run_id
print("checks passed")

# %% [markdown]
# ## Compare the two runs
#
# `compare_runs(a, b)` gives one row per task: agents and statuses on both sides,
# whether the output changed, whether it was reused, and the differences in duration
# and cost. (`switchboard compare RUN_A RUN_B --store output/durable.db` prints the same
# table in a terminal.)

# %%
diff = compare_runs(store.events(run_id), edited)
diff

# %%
changed = diff.set_index("task")["output_changed"].to_dict()
assert changed == {"research": False, "outline": False, "draft": False, "polish": True}
print("checks passed")

# %% [markdown]
# ### Exercise
#
# Re-run the original run from `outline` instead, giving the outliner a new prompt
# (`"Three bullet points from: {{research}}"`). Before running it, **predict**: which
# tasks are reused, which execute again, and which outputs change? Check your
# prediction with `run_forked.reused`, the `task_started` events and `compare_runs`.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
bullets = await orch.rerun(
    run_id, "outline", store=DB, edits={"outline.prompt": "Three bullet points from: {{research}}"}
)
fork = next(e for e in bullets.events if e.kind == "run_forked")
assert fork.reused == ["research"]  # everything downstream of outline runs again
assert [e.task_id for e in bullets.events if e.kind == "task_started"] == [
    "outline",
    "draft",
    "polish",
]
changes = compare_runs(store.events(run_id), bullets).set_index("task")["output_changed"]
assert changes.to_dict() == {"research": False, "outline": True, "draft": True, "polish": True}
store.close()
print("checks passed")
