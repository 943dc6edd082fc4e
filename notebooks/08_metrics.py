# %% [markdown]
# # 8. Reading the metrics with pandas: the bottleneck and the cost
#
# Every run can be **recorded**: `trace="run.jsonl"` writes each event as one JSON
# line; `store="runs.db"` keeps runs in a SQLite store. A recording replays into the
# same state and the same numbers as the live run, so you can analyse a run after
# the fact - yours, or one a colleague sends you. This notebook writes its recordings
# into `output/` beside it (git-ignored, so runs never end up in a commit).
#
# `toolkit.metrics` turns events into pandas DataFrames:
#
# - `agent_metrics`: one row per agent: tasks, failures, retries, mean and p95
#   latency, messages, tokens, cost;
# - `task_metrics`: one row per task: status, attempts, rounds, start, end, duration;
# - `timeline`: one row per agent call (a Gantt chart).

# %%
from pathlib import Path

from toolkit import LatencySpec, MockAgent, Orchestrator, RunStore, scatter_gather
from toolkit.metrics import agent_metrics, task_metrics, timeline
from toolkit.recorder import read_trace

# A report over 6 sections: a splitter, one analysis per section, an editor that combines them.
splitter = MockAgent(
    "splitter", "splits the report", reply="6 sections", latency=0.01, price_per_1k_tokens=0.1
)
analyst = MockAgent(
    "analyst",
    "analyses one section in depth",
    reply="analysis of {prompt}: revenue grew, costs grew faster, churn is flat",
    latency=LatencySpec(dist="lognormal", mean=0.12, spread=0.2),
    price_per_1k_tokens=3.0,
)
editor = MockAgent(
    "editor", "combines analyses", reply="report: {context}", latency=0.03, price_per_1k_tokens=0.5
)
orch = Orchestrator([splitter, analyst, editor], seed=8, concurrency=3)
sections = [f"section {i}" for i in range(1, 7)]
plan = scatter_gather(
    sections, mapper="analyst", reducer="editor", split="splitter", name="quarterly"
)

OUT = Path("output")
OUT.mkdir(exist_ok=True)
for name in ("run.jsonl", "runs.db"):
    (OUT / name).unlink(missing_ok=True)

# %% [markdown]
# A dashboard on the page before the run starts: it follows the run live, while the
# run also records itself to a JSONL trace and a SQLite store.

# %%
from toolkit.widgets import RunView

live_view = RunView(title="quarterly report, live")
live_view

# %%
live = await orch.run(
    "Analyse the quarterly report",
    plan,
    trace=OUT / "run.jsonl",
    store=OUT / "runs.db",
    sinks=[live_view],
)
print(
    live.status,
    f"{live.state.elapsed_s:.3f} s",
    (OUT / "run.jsonl").stat().st_size,
    "bytes of trace",
)

# %% [markdown]
# Read the trace back. `read_trace` never drops a line silently: a corrupt line is
# skipped and reported in `problems`.

# %%
trace = read_trace(OUT / "run.jsonl")
print(len(trace.events), "events,", len(trace.problems), "problems")
assert trace.problems == [] and len(trace.events) == len(live.events)
assert len(live_view.events) == len(live.events)  # the live view saw what the trace recorded

agents = agent_metrics(trace.events)
agents

# %% [markdown]
# ## The bottleneck
#
# The agent with the highest p95 latency is where a run waits. Sort by `p95_s`.
# Latencies are measured, so the numbers move with how busy the machine is; the
# checks further down rest on what the run recorded (who waited for whom, tokens),
# which does not.

# %%
by_latency = agents.sort_values("p95_s", ascending=False)
bottleneck = by_latency.iloc[0].agent
print("bottleneck:", bottleneck, f"p95 {by_latency.iloc[0].p95_s:.3f} s")
by_latency[["agent", "tasks", "mean_s", "p95_s"]]

# %% [markdown]
# Per-agent latency says who is slow; the timeline says when the run waited. With
# `concurrency=3`, the six analyses ran in two waves:

# %%
tl = timeline(trace.events)
width = 50 / tl.end_s.max()
for row in tl.itertuples():
    bar = " " * int(row.start_s * width) + "#" * max(1, int(row.duration_s * width))
    print(f"{row.agent:9} {row.task:9} |{bar}")
tasks = task_metrics(trace.events)
tasks[["task", "agent", "status", "start_s", "duration_s"]]

# %% [markdown]
# ## The cost
#
# Mock agents count the words of prompt and reply as tokens and charge
# `price_per_1k_tokens`. Which agent costs the most, and what is it per task?

# %%
agents["cost_per_task"] = agents.cost_usd / agents.tasks
costs = agents.sort_values("cost_usd", ascending=False)[
    ["agent", "tasks", "tokens_in", "tokens_out", "cost_usd", "cost_per_task"]
]
total = agents.cost_usd.sum()
print(f"total ${total:.5f}; {costs.iloc[0].agent} is {costs.iloc[0].cost_usd / total:.0%} of it")
costs

# %%
# What the metrics taught
analyses = tl[tl.agent == "analyst"]
edit = tl[tl.agent == "editor"].iloc[0]
assert len(analyses) == 6 and edit.start_s >= analyses.end_s.max()  # the run waited for the analyst
assert costs.iloc[0].agent == "analyst"  # the agent with the highest price
assert abs(total - live.state.cost_usd) < 1e-6  # the per-agent costs add up to the run's cost
assert agents.set_index("agent").loc["analyst", "tasks"] == 6
# the recorded run gives the same numbers as the live one
assert agent_metrics(live.events).equals(agent_metrics(trace.events))
print("checks passed")

# %% [markdown]
# The SQLite store keeps every run; list them and load one back.

# %%
store = RunStore(OUT / "runs.db")
for info in store.runs():
    print(info)
stored = store.events(store.latest())
assert [e.kind for e in stored] == [e.kind for e in live.events]
assert agent_metrics(stored).equals(agents.drop(columns="cost_per_task"))
store.disconnect()

# %% [markdown]
# ## Sharing a run
#
# A recorded run replays into the same dashboard as a live one. `to_html` writes it as
# one self-contained page that opens in any browser, with no kernel: attach it to a
# bug report or send it to a colleague.

# %%
report = RunView.from_trace(OUT / "run.jsonl", title="quarterly report")
assert report.problems == [] and report.state.status == "succeeded"
report.to_html(OUT / "run.html")
assert (OUT / "run.html").stat().st_size > 0
report

# %% [markdown]
# The same numbers from the command line, for a trace anyone sends you:
# `switchboard metrics output/run.jsonl` prints this table, `switchboard replay
# output/run.jsonl` the message flow, and `switchboard tui output/run.jsonl` opens the recorded run in the
# terminal app. (Below, `python -m toolkit.cli` is the `switchboard` command, called
# with the notebook's own interpreter.)

# %%
import subprocess
import sys

cli = subprocess.run(
    [sys.executable, "-m", "toolkit.cli", "metrics", str(OUT / "run.jsonl")],
    capture_output=True,
    text=True,
    check=False,
)
print(cli.stdout)
assert cli.returncode == 0 and "analyst" in cli.stdout

# %% [markdown]
# ### Exercise
#
# The analyst is the bottleneck, and it runs in two waves of three. Raise the
# concurrency so all six sections are analysed at once, record the run to
# `output/run2.jsonl`, and use the metrics to check that:
#
# - the six analyses ran in one wave (on the timeline, every one started before any
#   finished), so the run got faster: compare the wall times (measured, so they move
#   with how busy the machine is: print them rather than assert them);
# - the cost did **not** change (parallelism buys time, not tokens);
# - the analyst is still the agent with the highest p95 (print the table and look).

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
wide = Orchestrator([splitter, analyst, editor], seed=8, concurrency=6)
(OUT / "run2.jsonl").unlink(missing_ok=True)
fast = await wide.run("Analyse the quarterly report", plan, trace=OUT / "run2.jsonl")
fast_events = read_trace(OUT / "run2.jsonl").events
m2 = agent_metrics(fast_events)
print(
    f"wall {live.state.elapsed_s:.3f} s -> {fast.state.elapsed_s:.3f} s; "
    f"cost ${total:.5f} -> ${m2.cost_usd.sum():.5f}"
)
fast_tl = timeline(fast_events)
wave = fast_tl[fast_tl.agent == "analyst"]
assert len(wave) == 6 and wave.start_s.max() < wave.end_s.min()  # one wave, not two
assert abs(m2.cost_usd.sum() - total) < 1e-9
m2.sort_values("p95_s", ascending=False)[["agent", "mean_s", "p95_s"]]

# %% [markdown]
# ## Going further
#
# - The classic scenarios as workflow files: `sample_agents/workflows/*.yaml`. Run one
#   and record it: `.venv/bin/switchboard run
#   sample_agents/workflows/feature-review.yaml --trace fr.jsonl`, then watch it in the
#   terminal app: `.venv/bin/switchboard tui fr.jsonl`.
# - The same scenarios in Python: `sample_agents.scenarios` (`research_report`,
#   `feedback_docs`, `feature_review`, `scatter_gather_chunks`, `two_workers`).
# - The terminal app on a built-in demo: `make demo`.
