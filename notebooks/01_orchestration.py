# %% [markdown]
# # 1. What orchestration is, and why specialists beat one generalist
#
# An **orchestrator** takes a request and turns it into an answer by working with
# several **agents**:
#
# 1. a **planner** decides which agent does what, and in which order (the **plan**);
# 2. a **scheduler** runs the plan: it sends each agent a **directive**, waits for its
#    result, starts the tasks that were waiting for it, and handles timeouts,
#    retries and backups;
# 3. a **synthesizer** combines the results into one answer.
#
# Every step becomes a **trace event** (`run_started`, `task_started`,
# `message_sent`, `task_finished`, ...). Everything you will look at in this
# workshop - message flows, plans, metrics, the terminal app and the notebook
# dashboards - is read from that one stream of events.
#
# **Why several specialists rather than one generalist agent?**
#
# - Each specialist gets a short, focused prompt and can be a smaller, faster,
#   cheaper model (or no model at all: a search tool, a calculator, a linter).
# - Independent parts of the work run *at the same time*.
# - Each part can be checked, retried or replaced on its own, and the trace shows
#   which part was slow, failed or cost too much.
#
# The price is coordination: someone has to plan, pass results along and combine
# them. That is the orchestrator's job.
#
# All agents in this workshop are **mock agents**: deterministic, seeded, with the
# latency and price you give them. No API key, no network. Their numbers model the
# trade-offs; they do not measure a real model.

# %%
from toolkit import MockAgent, Orchestrator, Plan, Task, route

REQUEST = "Launch post for our new note-taking app"

# Specialists: we *assume* each is a small model, so fast and cheap per token.
researcher = MockAgent(
    "researcher",
    "finds facts about the market",
    skills=["research"],
    reply="market notes: people want notes that sync offline",
    latency=0.05,
    price_per_1k_tokens=0.2,
)
writer = MockAgent(
    "writer",
    "drafts blog posts",
    skills=["write", "draft"],
    reply="draft post using ({context})",
    latency=0.05,
    price_per_1k_tokens=0.2,
)
tagliner = MockAgent(
    "tagliner",
    "writes one-line taglines",
    skills=["tagline"],
    reply="Your notes, everywhere.",
    latency=0.04,
    price_per_1k_tokens=0.2,
)

team_plan = Plan(
    name="launch",
    tasks=[
        Task(id="research", agent="researcher", goal="research the market", prompt="{{input}}"),
        Task(
            id="draft",
            agent="writer",
            goal="draft the post",
            prompt="Write a post from: {{research}}",
        ),
        Task(
            id="tagline",
            agent="tagliner",
            goal="write a tagline",
            prompt="Tagline from: {{research}}",
        ),
    ],
    synthesize="all",
)
team = Orchestrator([researcher, writer, tagliner], seed=1)
team_run = await team.run(REQUEST, team_plan)
print(team_run.status)
print(team_run.output)

# %% [markdown]
# `draft` and `tagline` both need `research` (they use `{{research}}` in their
# prompt), so the scheduler runs `research` first and then the other two side by
# side. The plan is data: you can print it, and it is recorded in the trace.
#
# Let's look at what happened, event by event, and at the messages between the
# participants (`user`, `orchestrator` and each agent).

# %%
for event in team_run.events[:8]:
    print(f"{event.seq:3} {event.kind}")
print("...", len(team_run.events), "events in all")
print()
for m in team_run.state.messages:
    print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:50]}")

# %%
# Check what this section taught
kinds = [e.kind for e in team_run.events]
assert team_run.status == "succeeded"
assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
assert [e.seq for e in team_run.events] == list(range(len(team_run.events)))
directives = [
    m for m in team_run.state.messages if m.kind == "directive" and m.sender == "orchestrator"
]
assert sorted(m.recipient for m in directives) == ["researcher", "tagliner", "writer"]
# the writer's directive carried the researcher's result
to_writer = next(m for m in directives if m.recipient == "writer")
assert "sync offline" in to_writer.payload
print("checks passed")

# %% [markdown]
# ## Watching a run
#
# The dashboard is one more reader of the event stream: a **sink**. Pass it to
# `run(..., sinks=[view])`, or call `view.attach(orch)` to follow every run of an
# orchestrator. It shows the messages between participants, the plan, a Gantt chart
# of the agent calls, the metrics and the event log; its controls replay the run
# event by event.

# %%
from toolkit.widgets import RunView

view = RunView(title="launch post")
view

# %% [markdown]
# The view is on the page and empty. Run the next cell and watch it fill in as the
# events arrive.

# %%
watched = await team.run(REQUEST, team_plan, sinks=[view])

# %%
# The view folded the same events the run returned
assert view.state.status == "succeeded"
assert len(view.events) == len(watched.events)
assert set(view.state.tasks) == {"research", "draft", "tagline"}

# %% [markdown]
# ## One generalist doing everything
#
# Now the same request handled by one big generalist: one call that does research,
# draft and tagline in sequence. We *assume* a bigger model: slower (0.2 s for the
# whole job here) and pricier per token.

# %%
generalist = MockAgent(
    "generalist",
    "does everything",
    reply=(
        "market notes: people want notes that sync offline. "
        "draft post using the notes. Tagline: Your notes, everywhere."
    ),
    latency=0.2,
    price_per_1k_tokens=2.0,
)
solo = Orchestrator([generalist], seed=1)
solo_plan = Plan(
    name="solo",
    tasks=[
        Task(
            id="everything",
            agent="generalist",
            goal="research, draft and tagline",
            prompt="Research the market, draft a post and write a tagline: {{input}}",
        )
    ],
)
solo_run = await solo.run(REQUEST, solo_plan)

for name, run in (("specialists", team_run), ("generalist", solo_run)):
    s = run.state
    print(
        f"{name:12} wall {s.elapsed_s:.3f} s   tokens {s.tokens_in + s.tokens_out:4}   cost ${s.cost_usd:.6f}"
    )

# %% [markdown]
# ## Simulated time: timings you can assert
#
# The wall times above depend on the machine (a busy laptop makes every run slower).
# On **simulated time** a mock agent's latency advances a virtual clock instead of
# waiting: the run takes no real time at all, and it records the same timings, to the
# microsecond, on any machine. `clock="simulated"` asks for it (`clock: simulated` in
# a workflow file, `--simulate` on the command line). Only agents that do no real
# work may run on it: mock and function agents.

# %%
team_sim = await Orchestrator([researcher, writer, tagliner], seed=1, clock="simulated").run(
    REQUEST, team_plan
)
solo_sim = await Orchestrator([generalist], seed=1, clock="simulated").run(REQUEST, solo_plan)
for name, run in (("specialists", team_sim), ("generalist", solo_sim)):
    print(f"{name:12} simulated {run.state.elapsed_s:.3f} s")

# %% [markdown]
# `draft` and `tagline` overlapped, so the team's time is `research` and then the
# slower of the two, which is shorter than the generalist's one long call. On
# simulated time that is an exact check, not a guess about the machine.

# %%
# Under these assumptions the team is both faster and cheaper
steps = [
    (e.kind, e.task_id) for e in team_sim.events if e.kind in ("task_started", "task_finished")
]
first_done = min(steps.index(("task_finished", "draft")), steps.index(("task_finished", "tagline")))
assert steps.index(("task_started", "draft")) < first_done  # draft and tagline ran
assert steps.index(("task_started", "tagline")) < first_done  # at the same time
longest_chain_s = researcher.latency.mean + max(writer.latency.mean, tagliner.latency.mean)
assert round(team_sim.state.elapsed_s, 6) == longest_chain_s
assert round(solo_sim.state.elapsed_s, 6) == generalist.latency.mean
assert team_sim.state.elapsed_s < solo_sim.state.elapsed_s
assert team_run.state.cost_usd < solo_run.state.cost_usd
print("checks passed")

# %% [markdown]
# "What if the researcher took ten minutes?" On simulated time you see the answer at
# once: the run reports ten minutes and a bit, and it finished before you blinked.

# %%
slow_researcher = MockAgent(
    "researcher",
    "finds facts about the market",
    reply="market notes: people want notes that sync offline",
    latency=600,
)
slow_run = Orchestrator([slow_researcher, writer, tagliner], seed=1, clock="simulated").run_sync(
    REQUEST, team_plan
)
print(f"simulated {slow_run.state.elapsed_s:.2f} s")
assert round(slow_run.state.elapsed_s, 6) == 600 + max(writer.latency.mean, tagliner.latency.mean)

# %% [markdown]
# ## Routing: picking the specialist
#
# The simplest orchestrator sends each request to the one agent best suited to it.
# `route` scores agents by how many of the request's words match their skills
# (weight 3) and description (weight 1).

# %%
coder = MockAgent("coder", "fixes bugs in Python code", skills=["python", "bug", "code"])
agents = [researcher, writer, tagliner, coder]
for request in [
    "Fix the bug in this python function",
    "Research what users say about offline sync",
    "Write a tagline for the launch",
]:
    best, scores = route(request, agents)
    print(f"{best.name:10} <- {request!r}   scores={scores}")

assert route("Fix the bug in this python function", agents)[0].name == "coder"

# %% [markdown]
# ## `run_sync`: the same run from ordinary code
#
# In a notebook cell you can `await orch.run(...)`. In a plain script (or a cell
# where you'd rather not await) use `run_sync`; inside Jupyter it runs the run on a
# separate thread so it never clashes with the notebook's event loop. With the same
# seed, mock agents give the same run again.

# %%
again = team.run_sync(REQUEST, team_plan)
assert again.output == team_run.output
assert [e.kind for e in again.events] == [e.kind for e in team_run.events]
again

# %% [markdown]
# ### Exercise
#
# Add a `fact_checker` specialist (description "checks facts", latency 0.03) that
# checks the researcher's notes, and change the plan so that **both** `draft` and
# `tagline` use the *checked* notes instead of the raw ones. Run it and check that:
#
# - `fact_check` starts after `research` and before `draft` and `tagline`;
# - the writer's directive contains the fact checker's output.
#
# Before running it: will the run take longer? By about how much?

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
fact_checker = MockAgent("fact_checker", "checks facts", reply="checked: {prompt}", latency=0.03)
checked_plan = Plan(
    name="launch-checked",
    tasks=[
        Task(id="research", agent="researcher", goal="research the market", prompt="{{input}}"),
        Task(id="fact_check", agent="fact_checker", goal="check the notes", prompt="{{research}}"),
        Task(
            id="draft",
            agent="writer",
            goal="draft the post",
            prompt="Write a post from: {{fact_check}}",
        ),
        Task(
            id="tagline",
            agent="tagliner",
            goal="write a tagline",
            prompt="Tagline from: {{fact_check}}",
        ),
    ],
    synthesize="all",
)
checked = await Orchestrator([researcher, fact_checker, writer, tagliner], seed=1).run(
    REQUEST, checked_plan
)

started = [e.task_id for e in checked.events if e.kind == "task_started"]
assert (
    started.index("research")
    < started.index("fact_check")
    < min(started.index("draft"), started.index("tagline"))
)
to_writer = next(
    m for m in checked.state.messages if m.kind == "directive" and m.recipient == "writer"
)
assert "checked: market notes" in to_writer.payload
# one more step on the critical path: about 0.03 s longer
print(f"{team_run.state.elapsed_s:.3f} s -> {checked.state.elapsed_s:.3f} s")
