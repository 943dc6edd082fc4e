# %% [markdown]
# # 2. Mock agents and the pipeline
#
# An **agent** is anything with a `name`, a `description`, `skills` and an async
# `run(directive)` that returns text, any JSON value, or a `Reply` with usage
# figures. A `MockAgent` is a real agent that answers from a template or a script,
# after a seeded latency, with injected failures if you ask for them. It is what
# you use to design, test and teach orchestration without a model.
#
# Its reply template may use `{name}`, `{goal}`, `{prompt}`, `{summary}`,
# `{task_id}`, `{attempt}`, `{round}` and `{context}`.

# %%
import random

from toolkit import Directive, FunctionAgent, LatencySpec, MockAgent, Orchestrator, pipeline

writer = MockAgent(
    "writer",
    "drafts text",
    skills=["write"],
    reply="[{name}] draft based on: {prompt}",
    latency=0.02,
    price_per_1k_tokens=0.5,
)
reply = await writer.run(
    Directive(agent="writer", task_id="t1", goal="the launch", prompt="Write a short post")
)
reply

# %% [markdown]
# The `Reply` carries token counts (here: the word counts of prompt and reply) and a
# cost from `price_per_1k_tokens`, so metrics mean something without a model.
#
# A **script** gives one reply per call, in order, the last one repeated. A mapping
# scripts each task on its own.

# %%
reviewer = MockAgent("reviewer", reply=["add an example", "APPROVED"])
d = Directive(agent="reviewer", task_id="review")
answers = [(await reviewer.run(d)).output for _ in range(3)]
print(answers)
assert answers == ["add an example", "APPROVED", "APPROVED"]

per_task = MockAgent("router", reply={"greet": "hello", "*": "default for {task_id}"})
print(
    (await per_task.run(Directive(agent="router", task_id="greet"))).output,
    "|",
    (await per_task.run(Directive(agent="router", task_id="other"))).output,
)

# %% [markdown]
# **Latency** is a number of seconds or a `LatencySpec` distribution (`fixed`,
# `uniform`, `normal`, `lognormal`). Randomness is seeded by
# (seed, agent, task, attempt, round), so the same seed gives the same run, however
# the tasks interleave.

# %%
spec = LatencySpec(dist="lognormal", mean=0.02, spread=0.5)
a = [round(spec.sample(random.Random(7)), 4) for _ in range(3)]
b = [round(spec.sample(random.Random(n)), 4) for n in (1, 2, 3)]
print("same seed:", a, " different seeds:", b)
assert len(set(a)) == 1 and len(set(b)) == 3


# %% [markdown]
# A `FunctionAgent` wraps a plain Python function (sync or async). If its single
# parameter is annotated `str`, it receives the prompt; otherwise the whole
# `Directive`.


# %%
def headline(text: str) -> str:
    "Turns the first sentence into a headline."
    return text.split(".")[0].title()


headliner = FunctionAgent(headline)
print(headliner.name, "-", headliner.description)

# %% [markdown]
# ## The pipeline
#
# The simplest orchestration: each step gets the previous step's output, the first
# step gets the request. `pipeline(...)` builds the plan; a step is an agent's name,
# `(agent, goal)`, or a dict of task fields. Look at the prompts: `{{input}}` is the
# request, `{{<task id>}}` a previous task's result (and a dependency).

# %%
researcher = MockAgent(
    "researcher", skills=["research"], reply="notes: offline sync matters", latency=0.03
)
editor = MockAgent("editor", skills=["edit"], reply="edited ({prompt})", latency=0.02)
orch = Orchestrator([researcher, writer, editor], seed=42)

plan = pipeline(
    "researcher", ("writer", "draft the post"), ("editor", "tighten the draft"), name="blog"
)
for t in plan.tasks:
    print(f"{t.id:14} agent={t.agent:10} depends_on={t.depends_on}  prompt={t.prompt!r}")

# %% [markdown]
# Before running it, put a view of the message flow on the page: one lane per
# participant, one arrow per message (click an arrow to see the whole payload). It is
# a sink of the run, so it draws each message as it happens.

# %%
from toolkit.widgets import FlowView

flow = FlowView(title="pipeline: who talked to whom")
flow

# %%
result = await orch.run("A post about offline sync", plan, sinks=[flow])
print(result.status, "in", round(result.state.elapsed_s, 3), "s")
print(result.output)
for m in result.state.messages:
    print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:60]}")

# %%
# What a pipeline guarantees
started = [e.task_id for e in result.events if e.kind == "task_started"]
assert started == ["1-researcher", "2-writer", "3-editor"]
outputs = result.results
directive_to_editor = next(
    m for m in result.state.messages if m.kind == "directive" and m.recipient == "editor"
)
assert directive_to_editor.payload == outputs["2-writer"]  # each step gets the previous output
assert result.output == outputs["3-editor"]  # the answer is the last step's output
# steps run one after another (each starts when the previous one has finished), so the
# run takes at least the sum of the latencies
steps = [(e.kind, e.task_id) for e in result.events if e.kind in ("task_started", "task_finished")]
assert steps == [(kind, task) for task in started for kind in ("task_started", "task_finished")]
# same seed, same run
again = await Orchestrator([researcher, writer, editor], seed=42).run(
    "A post about offline sync", plan
)
assert again.output == result.output
print("checks passed")

# %%
# The flow view above drew the pipeline live: the orchestrator hands the work to each
# agent in turn
to_agents = [m.recipient for m in flow.state.messages if m.kind == "directive"][1:]
assert to_agents == ["researcher", "writer", "editor"]
assert len(flow.events) == len(result.events)

# %% [markdown]
# ### Exercise
#
# Build a four-step pipeline: `researcher` -> `writer` -> the `headliner`
# FunctionAgent above -> `editor`. Run it on "Offline sync. It just works." and
# check that:
#
# - the headliner's output is the title-cased first sentence of the writer's draft;
# - the editor received exactly the headliner's output;
# - the run's answer is the editor's output.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
orch4 = Orchestrator([researcher, writer, headliner, editor], seed=42)
plan4 = pipeline("researcher", "writer", "headline", "editor", name="blog-4")
run4 = await orch4.run("Offline sync. It just works.", plan4)
out = run4.results
assert out["3-headline"] == out["2-writer"].split(".")[0].title()
to_editor = next(
    m for m in run4.state.messages if m.kind == "directive" and m.recipient == "editor"
)
assert to_editor.payload == out["3-headline"]
assert run4.output == out["4-editor"]
run4.output
