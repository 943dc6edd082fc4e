# %% [markdown]
# # 3. Parallel work and scatter-gather
#
# Tasks that do not need each other's results can run **at the same time**. The
# orchestrator's scheduler starts every task whose dependencies are done, up to a
# `concurrency` limit. Two patterns build such plans:
#
# - `parallel(a, b, c, join=d)`: every agent works on the request; `d` gets all
#   their outputs (a **fan-out / fan-in**).
# - `scatter_gather(items, mapper, reducer)`: split the work into chunks, one
#   `mapper` task per chunk, then a `reducer` combines the chunk results
#   (**map-reduce**).
#
# With parallel work the run's wall time is about the *longest* branch, not the sum.

# %%
from toolkit import MockAgent, Orchestrator, parallel, scatter_gather

analysts = [
    MockAgent(name, f"{name} analyst", reply=f"{name}: looks fine for {{summary}}", latency=0.1)
    for name in ("market", "tech", "legal")
]
lead = MockAgent("lead", "combines findings", reply="summary of {context}", latency=0.02)
orch = Orchestrator([*analysts, lead], seed=3)

plan = parallel(
    "market", "tech", "legal", join=("lead", "combine the findings"), name="due-diligence"
)
for t in plan.tasks:
    print(f"{t.id:10} depends_on={t.depends_on}")
result = await orch.run("Should we buy Acme Notes?", plan)
print(
    result.status, f"wall {result.state.elapsed_s:.3f} s, sum of latencies {3 * 0.1 + 0.02:.2f} s"
)
print(result.output)

# %% [markdown]
# `result.timeline()` has one row per agent call, with start and end times relative
# to the start of the run: the bars of a Gantt chart.

# %%
tl = result.timeline()
tl


# %%
def max_overlap(timeline):
    "The largest number of agent calls in progress at the same moment."
    edges = sorted([(s, 1) for s in timeline.start_s] + [(e, -1) for e in timeline.end_s])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


# The three analysts overlapped: each started before any of them finished
branches = tl[tl.agent.isin(["market", "tech", "legal"])]
assert branches.start_s.max() < branches.end_s.min()
assert max_overlap(branches) == 3
# so the run takes about one branch plus the join, not the sum (the wall time printed
# above depends on how busy the machine is; the order of the calls does not)
# the join saw every branch's output
to_lead = next(m for m in result.state.messages if m.kind == "directive" and m.recipient == "lead")
assert all(f"{name}: looks fine" in to_lead.payload for name in ("market", "tech", "legal"))
print("checks passed")

# %% [markdown]
# The `concurrency` limit caps how many tasks run at once. With `concurrency=1` the
# same plan runs one task after another.

# %%
serial = await Orchestrator([*analysts, lead], seed=3, concurrency=1).run(
    "Should we buy Acme Notes?", plan
)
print(
    f"concurrency=1: {serial.state.elapsed_s:.3f} s   concurrency=16: {result.state.elapsed_s:.3f} s"
)
assert max_overlap(serial.timeline()) == 1  # one call at a time: the wall time is the sum
assert serial.output == result.output  # same answer, only slower

# %% [markdown]
# ## Scatter-gather
#
# Eight batches of customer reviews, one `sentiment` task per batch, then a
# `summarizer` combines them. Each map task's chunk index is in its `meta`.

# %%
batches = [f"batch {i}: reviews {10 * i}-{10 * i + 9}" for i in range(8)]
sentiment = MockAgent(
    "sentiment",
    "scores the sentiment of reviews",
    reply="{prompt} -> mostly positive",
    latency=0.05,
)
summarizer = MockAgent("summarizer", "combines results", reply="{context}", latency=0.01)
sg_plan = scatter_gather(batches, mapper="sentiment", reducer="summarizer", name="reviews")
print([t.id for t in sg_plan.tasks])

# %% [markdown]
# Put a Gantt chart on the page before the run: one bar per agent call, drawn as the
# calls start and finish. Watch the two waves of four, and the reducer waiting for the
# last chunk.

# %%
from toolkit.widgets import GanttView

gantt = GanttView(title="8 chunks, 4 at a time")
gantt

# %%
sg = await Orchestrator([sentiment, summarizer], seed=3, concurrency=4).run(
    "How do customers feel?", sg_plan, sinks=[gantt]
)
print(sg.status, f"{sg.state.elapsed_s:.3f} s")

# %%
sg_tl = sg.timeline()
maps = sg_tl[sg_tl.agent == "sentiment"]
print("calls at once, at most:", max_overlap(maps))
assert len(maps) == 8
assert max_overlap(maps) == 4  # the concurrency limit held, and was used
to_reducer = next(
    m for m in sg.state.messages if m.kind == "directive" and m.recipient == "summarizer"
)
assert all(b in to_reducer.payload for b in batches)  # the reducer got every chunk's result
print("checks passed")

# %%
# The Gantt chart above followed the run to its end
assert gantt.state.tasks["reduce"].status == "done"
assert len(gantt.events) == len(sg.events)

# %% [markdown]
# ### Exercise
#
# Six batches of 0.1 s each with `concurrency=2`. **Predict** the wall time first,
# then run it and compare. The wall time depends on how busy the machine is, so check
# with an `assert` what the run recorded instead: how many calls were in progress at
# once. What changes with `concurrency=3`? With `concurrency=6`?

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
import math

slow = MockAgent("sentiment", reply="{prompt}: ok", latency=0.1)
six = scatter_gather([f"batch {i}" for i in range(6)], mapper="sentiment", reducer="summarizer")
for limit in (2, 3, 6):
    run = await Orchestrator([slow, summarizer], seed=3, concurrency=limit).run("feelings?", six)
    calls = run.timeline()
    maps = calls[calls.agent == "sentiment"]
    # 6 tasks, `limit` at a time: 6 / limit waves of 0.1 s, plus the 0.01 s reducer
    predicted = math.ceil(6 / limit) * 0.1 + 0.01
    print(
        f"concurrency={limit}: {max_overlap(maps)} calls at once, "
        f"predicted {predicted:.2f} s, measured {run.state.elapsed_s:.3f} s"
    )
    assert len(maps) == 6 and max_overlap(maps) == limit
