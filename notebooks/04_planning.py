# %% [markdown]
# # 4. Planning: from a request to a plan
#
# So far we wrote plans by hand. A **planner** writes the plan for us from the
# request and the agents' descriptions and skills: *orchestrator-led
# decomposition*. A planner is any object with a `name` and an async
# `plan(request, agents) -> Plan`; when you call `orch.run(request)` without a plan,
# the orchestrator asks its planner.
#
# `RuleBasedPlanner` needs no model: every agent whose skill (or name) appears in
# the request gets a task, in the order the request mentions them, chained as a
# pipeline - or side by side when the request says "in parallel".

# %%
import os

from toolkit import MockAgent, Orchestrator, Plan, PlanError, RuleBasedPlanner, Task

agents = [
    MockAgent(
        "researcher",
        "finds facts",
        skills=["research"],
        reply="facts about {summary}",
        latency=0.02,
    ),
    MockAgent(
        "writer",
        "writes drafts",
        skills=["write", "draft"],
        reply="draft from ({prompt})",
        latency=0.02,
    ),
    MockAgent(
        "editor", "edits text", skills=["edit", "proofread"], reply="edited: {prompt}", latency=0.02
    ),
    MockAgent(
        "translator",
        "translates text",
        skills=["translate"],
        reply="traduit: {prompt}",
        latency=0.02,
    ),
]
planner = RuleBasedPlanner()
request = "Research electric bikes, write a short article and edit it"
plan = await planner.plan(request, agents)
for t in plan.tasks:
    print(f"{t.id:12} {t.agent:10} goal={t.goal!r}  depends_on={t.all_dependencies()}")

# %%
assert [t.agent for t in plan.tasks] == ["researcher", "writer", "editor"]
assert plan.tasks[2].all_dependencies() == [plan.tasks[1].id]  # a pipeline
# order follows the request, not the list of agents
reordered = await planner.plan("Translate this and then proofread it", agents)
assert [t.agent for t in reordered.tasks] == ["translator", "editor"]
# "in parallel" makes independent tasks
side = await planner.plan("In parallel: research the market and translate the brief", agents)
assert all(not t.all_dependencies() for t in side.tasks)
print("checks passed")

# %% [markdown]
# Give the orchestrator a planner and just a request: the plan becomes the first
# event of the run (`plan_created`), with the planner's name, so a view can show the
# plan before any task starts.
#
#
# Put the plan view on the page first: tasks are boxes coloured by status, arrows are
# dependencies. It stays empty until the planner's plan arrives, then colours each task
# as it runs.

# %%
from toolkit.widgets import PlanView

plan_view = PlanView(title="the rule-based plan")
plan_view

# %%
orch = Orchestrator(agents, planner=planner, seed=5)
result = await orch.run(request, sinks=[plan_view])
created = next(e for e in result.events if e.kind == "plan_created")
print(created.planner, [t["id"] for t in created.plan["tasks"]])
print(result.output)
assert created.planner == "rule-based"
assert result.status == "succeeded"

# %%
# The plan view drew the planner's plan, and every task finished in it
assert list(plan_view.state.tasks) == [t.id for t in plan.tasks]
assert all(t.status == "done" for t in plan_view.state.tasks.values())

# %% [markdown]
# Plans are checked before anything runs. A plan naming an unknown agent, a missing
# dependency or a cycle raises `PlanError`, listing every problem with where it is.

# %%
broken = Plan(
    tasks=[
        Task(id="a", agent="researcher", prompt="{{b}}"),
        Task(id="b", agent="illustrator", prompt="{{a}}"),
    ]
)
try:
    orch.prepare("x", broken)
except PlanError as exc:
    problems = exc.problems
for p in problems:
    print("-", p)
assert any("illustrator" in p for p in problems) and any("cycle" in p for p in problems)


# %% [markdown]
# ## Your own planner
#
# A planner is small: one method, `async plan(request, agents, session=None)` (the
# session lets it log to the trace). This one wraps the rule-based planner and
# appends an `editor` task to any plan that lacks one: a house rule ("everything is
# edited") written once, in the planner, instead of in every plan.


# %%
class AlwaysEditPlanner:
    name = "always-edit"

    async def plan(self, request, agents, session=None):
        plan = await RuleBasedPlanner().plan(request, agents)
        if not any(t.agent == "editor" for t in plan.tasks):
            last = plan.sinks()[-1]
            plan.tasks.append(
                Task(id="edit", agent="editor", goal="edit the result", prompt="{{" + last + "}}")
            )
            plan.synthesize = "last"
        return plan


edited = await Orchestrator(agents, planner=AlwaysEditPlanner(), seed=5).run(
    "Translate the release notes"
)
print([t for t in edited.state.tasks], "->", edited.output)
assert list(edited.state.tasks)[-1] == "edit" and edited.output.startswith("edited:")

# %% [markdown]
# ## An LLM planner (only with an endpoint)
#
# With a model, the planner can decompose requests no keyword rule would catch. The
# LLM planner has the same interface; it talks to any OpenAI-compatible endpoint
# (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio). It runs only if you set
# `OPENAI_BASE_URL` (and `OPENAI_API_KEY`, unless the server runs on localhost) before
# starting Jupyter, and `SWITCHBOARD_MODEL` to the model's name (default
# `gpt-4o-mini`). For example, with Ollama:
#
# ```bash
# OPENAI_BASE_URL=http://localhost:11434/v1 SWITCHBOARD_MODEL=llama3.2 .venv/bin/jupyter lab notebooks/
# ```
#
# Without an endpoint the cell says so and the workshop goes on with the rule-based
# planner.

# %%
endpoint = os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")
if not endpoint:
    print(
        "No LLM endpoint configured: using the rule-based planner (set OPENAI_BASE_URL to try an LLM)."
    )
else:
    try:
        from toolkit.llm import LLMPlanner
    except ImportError:
        print("toolkit.llm is not available in this installation: using the rule-based planner.")
    else:
        llm_planner = LLMPlanner(model=os.environ.get("SWITCHBOARD_MODEL", "gpt-4o-mini"))
        llm_plan = await llm_planner.plan(
            "Compare electric bikes and e-scooters for commuting, "
            "then write a short article and proofread it",
            agents,
        )
        for t in llm_plan.tasks:
            print(f"{t.id:14} {t.agent:10} depends_on={t.all_dependencies()}  goal={t.goal!r}")
        llm_plan.validate_for(a.name for a in agents)  # the planner only returns plans that pass
        # the planned run uses the mock agents: only the planning costs tokens
        llm_run = await Orchestrator(agents, planner=llm_planner, seed=5).run(
            "Write a short article on electric bikes and proofread it"
        )
        print(llm_run.status, "-", llm_run.state.planner, "planned", list(llm_run.state.tasks))
        assert llm_run.status == "succeeded"


# %% [markdown]
# ### Exercise
#
# Write a `CompareResearchPlanner`. For a request like
# `"compare: bikes, scooters, buses"` it makes one `researcher` task per item
# (ids `research-bikes`, ...), all independent, and a final `writer` task that
# depends on all of them. Run it and check that the research tasks overlapped in time
# and that the writer's prompt mentioned every item.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution


# %%
class CompareResearchPlanner:
    name = "compare-research"

    async def plan(self, request, agents, session=None):
        items = [item.strip() for item in request.split(":", 1)[1].split(",")]
        research = [
            Task(id=f"research-{item}", agent="researcher", goal=f"research {item}", prompt=item)
            for item in items
        ]
        joined = "\n".join("{{" + t.id + "}}" for t in research)
        return Plan(
            name="compare",
            tasks=[*research, Task(id="write", agent="writer", goal="compare them", prompt=joined)],
        )


cmp_run = await Orchestrator(agents, planner=CompareResearchPlanner(), seed=5).run(
    "compare: bikes, scooters, buses"
)
tl = cmp_run.timeline()
research = tl[tl.task.str.startswith("research-")]
assert len(research) == 3 and research.start_s.max() < research.end_s.min()
to_writer = next(
    m for m in cmp_run.state.messages if m.kind == "directive" and m.recipient == "writer"
)
assert all(item in to_writer.payload for item in ("bikes", "scooters", "buses"))
cmp_run.output
