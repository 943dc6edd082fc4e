# %% [markdown]
# # 13. A real local model: bad plans, the repair loop and a fallback
#
# Every chapter so far used mock agents. This one uses a **real model**: SmolLM2-135M-Instruct,
# a 135-million-parameter model small enough to run on a laptop's CPU, served by llama.cpp's
# `llama-server` with the OpenAI-compatible API. No key, no network.
#
# A model this small is a poor planner: it invents agents, makes tasks depend on
# themselves, wraps its JSON in chatter and runs past its token budget. That is exactly
# what this chapter is about: an `LLMPlanner` never runs a plan it has not checked. A
# refused plan goes back to the model with the problems listed (the **repair loop**),
# a bounded number of times, and then either planning fails or a **fallback** planner
# (the rule-based one, `fallback: rules` in a workflow file) makes the plan.
#
# **Two ways to run it.** With a server running (in a terminal, before starting Jupyter:
# `make local-model` once, which builds and caches the server, then
# `export OPENAI_BASE_URL=http://127.0.0.1:8080/v1`), the cells call the model live.
# Without one they replay a **cassette**: every exchange of a real run of the same team
# against the same model, recorded on file (`sample_agents/cassettes/llm-research.json`).
# A replay opens no socket and gives the run the model really had, mistakes included.
# The checks below look at the *structure* of the run (which events, how many attempts,
# which planner made the plan), never at the model's words, so they hold either way.

# %%
import os

from sample_agents.cassettes.llm_research import (
    CASSETTE,
    MODEL,
    PLANNER_MAX_TOKENS,
    WORKFLOW,
    build,
)
from toolkit.llm import Cassette, LLMPlanner
from toolkit.llm.local import healthy
from toolkit.llm.planner import check_plan

BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
LIVE = bool(BASE_URL) and healthy(BASE_URL.removesuffix("/").removesuffix("/v1"))

def tape():
    "A fresh cassette to replay from, or None to call the live server."
    return None if LIVE else Cassette(CASSETTE)

if LIVE:
    print(f"calling the model live at {BASE_URL}")
else:
    print(f"no model server: replaying {CASSETTE.name}")
    print(Cassette(CASSETTE).file.note)

# %% [markdown]
# ## The team, planned by the model
#
# `build()` makes a research → write → edit team of three LLM agents, an `LLMPlanner`
# (`max_attempts=3`, `max_tokens=384`, `fallback=RuleBasedPlanner()`) and an LLM
# synthesizer. The request names no plan: the planner must make one. Put the dashboard on
# the page first, then run.

# %%
from toolkit.widgets import RunView

view = RunView(title="the LLM research team")
view

# %%
orch, request = build(cassette=tape())
names = sorted(orch.agents)
result = await orch.run(request, sinks=[view])
print(result.status, "- planned by", result.state.planner)

# %% [markdown]
# ## Each refused plan, and why
#
# Every answer of the planner model is an `llm_call` event (purpose `planner`); every
# answer that was refused is a `plan_rejected` event with the problems found, the plan
# itself when it was JSON, the model's text, and what came next (`retry`, `fallback` or
# `fail`). The model's text is untrusted: it is printed as it is, never rendered.

# %%
def of_kind(events, kind):
    return [e for e in events if e.kind == kind]

planner_calls = [c for c in of_kind(result.events, "llm_call") if c.purpose == "planner"]
rejected = of_kind(result.events, "plan_rejected")
for r in rejected:
    print(f"attempt {r.attempt}/{r.max_attempts} refused, next: {r.next}")
    for problem in r.problems:
        print("   -", problem)
    print("   the model wrote:", repr(r.text[:160]))
for c in planner_calls:
    print(f"planner call: {c.prompt_tokens} tokens in, {c.completion_tokens} out")

# %%
# Every refusal says why, and the attempts are numbered in order
assert all(r.problems for r in rejected)
assert [r.attempt for r in rejected] == list(range(1, len(rejected) + 1))
# every planner answer is capped: the server never writes past max_tokens
assert all(c.completion_tokens <= PLANNER_MAX_TOKENS for c in planner_calls)
# each call either was refused or gave the plan that ran (nothing is lost in between)
planned_by_llm = result.state.planner == "llm"
assert len(planner_calls) == len(rejected) + (1 if planned_by_llm else 0)
# whoever made it, the plan that ran uses only the team's agents
(created,) = of_kind(result.events, "plan_created")
assert {t["agent"] for t in created.plan["tasks"]} <= set(names)
assert result.status == "succeeded"
if not LIVE:
    # the recorded run: three refusals, then the rule-based planner took over
    assert [r.next for r in rejected] == ["retry", "retry", "fallback"]
    assert result.state.planner == "rule-based (fallback of llm)"
print("checks passed")

# %% [markdown]
# ## What the checker catches
#
# The refusals come from `check_plan(text, agents)`, the same check any planner's plan
# goes through: the JSON must parse, fit the `Plan` schema, name only known agents and
# tasks, and have no cycles. Run it on the model's own first answer and you get the
# problems the trace recorded. Then on plans written by hand, one mistake each.

# %%
if rejected:
    plan, problems = check_plan(rejected[0].text, names)
    assert plan is None and problems == rejected[0].problems
    print("the first refusal, checked again:", problems)

bad_plans = {
    "depends on itself": '{"tasks": [{"id": "a", "agent": "researcher", "prompt": "{{input}}", "depends_on": ["a"]}]}',
    "invented agent": '{"tasks": [{"id": "a", "agent": "poet", "prompt": "{{input}}"}]}',
    "a cycle": '{"tasks": [{"id": "a", "agent": "researcher", "prompt": "{{b}}"}, {"id": "b", "agent": "writer", "prompt": "{{a}}"}]}',
    "cut off": '{"tasks": [{"id": "a", "agent": "researcher", "prompt": "{{inp',
    "prose around it": 'Sure! Here is the plan you asked for: {"tasks": []}',
}
for what, text in bad_plans.items():
    plan, problems = check_plan(text, names)
    print(f"{what:18} -> {problems}")
    assert plan is None and problems

good = '```json\n{"tasks": [{"id": "notes", "agent": "researcher", "prompt": "{{input}}"}]}\n```'
plan, problems = check_plan(good, names)
assert problems == [] and [t.agent for t in plan.tasks] == ["researcher"]  # a ```json fence is fine
print("checks passed")

# %% [markdown]
# ## Without a fallback
#
# Take the fallback away and the same answers end the run: after `max_attempts` refused
# plans the planner raises `PlanningFailed`, whose message lists each attempt's
# problems and what the model returned, and the run fails before any task starts.
# (Replayed, the planner sends the very same requests, so it gets the very same answers.)

# %%
orch_strict, _ = build(cassette=tape())
cassette = tape()
orch_strict.planner = LLMPlanner(MODEL, max_tokens=PLANNER_MAX_TOKENS, cassette=cassette,
                                 base_url=BASE_URL or None)
strict = await orch_strict.run(request)
print(strict.status)
print((strict.error or "")[:600])

# %%
if strict.status == "failed":
    assert "PlanningFailed" in strict.error and "attempt 1:" in strict.error
    assert of_kind(strict.events, "task_started") == []          # no task ran
    assert of_kind(strict.events, "plan_rejected")[-1].next == "fail"
else:  # live, the model may get lucky: then its plan passed the same checks
    assert strict.state.planner == "llm"
if not LIVE:
    assert strict.status == "failed"
    assert len(of_kind(strict.events, "plan_rejected")) == 3
print("checks passed")

# %% [markdown]
# ## The same in a workflow file
#
# `sample_agents/cassettes/llm-research.yaml` is this team as a workflow file; its
# planner line is the whole lesson:
#
# ```yaml
# planner: {kind: llm, model: SmolLM2-135M-Instruct, max_tokens: 384, fallback: rules}
# ```
#
# `max_attempts` (default 3) bounds the repair loop, `max_tokens` bounds each answer,
# `fallback: rules` says who plans when the model cannot. From a terminal:
# `SWITCHBOARD_CASSETTE=sample_agents/cassettes/llm-research.json switchboard run
# sample_agents/cassettes/llm-research.yaml` replays it; with `OPENAI_BASE_URL` set and no
# cassette it runs live. Here, `use_cassette` makes every model call in the block replay.

# %%
import contextlib

from toolkit.llm import use_cassette
from toolkit.workflow import load_workflow

print(WORKFLOW.read_text().split("planner:")[1].splitlines()[0])
with use_cassette(tape()) if not LIVE else contextlib.nullcontext():
    from_file = await load_workflow(WORKFLOW).prepare().execute()
print(from_file.status, "- planned by", from_file.state.planner)

# %%
assert from_file.status == "succeeded"
(file_plan,) = of_kind(from_file.events, "plan_created")
assert {t["agent"] for t in file_plan.plan["tasks"]} <= set(names)
if not LIVE:  # the same requests as the Python team: the same refusals, the same fallback
    assert [r.next for r in of_kind(from_file.events, "plan_rejected")] == ["retry", "retry", "fallback"]
    assert from_file.state.planner == "rule-based (fallback of llm)"
print("checks passed")

# %% [markdown]
# ### Exercise
#
# Give the team a planner with **one** attempt and the rule-based fallback
# (`LLMPlanner(MODEL, max_attempts=1, max_tokens=PLANNER_MAX_TOKENS,
# fallback=RuleBasedPlanner(), cassette=tape(), base_url=BASE_URL or None)`), in place of
# `orch.planner` of a fresh `build(cassette=tape())`. Before running, **predict**: how
# many planner calls, how many `plan_rejected` events, what is the `next` of the last
# one, and which planner made the plan? Check your prediction from the events. What does
# the run save, and what does it lose, compared with three attempts?

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
from toolkit import RuleBasedPlanner

orch_once, _ = build(cassette=tape())
orch_once.planner = LLMPlanner(MODEL, max_attempts=1, max_tokens=PLANNER_MAX_TOKENS,
                               fallback=RuleBasedPlanner(), cassette=tape(),
                               base_url=BASE_URL or None)
once = await orch_once.run(request)
once_calls = [c for c in of_kind(once.events, "llm_call") if c.purpose == "planner"]
once_rejected = of_kind(once.events, "plan_rejected")
print(len(once_calls), "planner call(s);", [(r.attempt, r.next) for r in once_rejected], "-", once.state.planner)
assert once.status == "succeeded" and len(once_calls) == 1
if once_rejected:  # refused once: straight to the fallback, no second try
    assert [(r.attempt, r.next) for r in once_rejected] == [(1, "fallback")]
    assert once.state.planner == "rule-based (fallback of llm)"
# It saves two model calls (most of the planning time on a small model); it loses the
# chance that a corrected plan passes. On this model that chance is small: in the
# recording the corrections were worse (prose, cut off at max_tokens), not better.
