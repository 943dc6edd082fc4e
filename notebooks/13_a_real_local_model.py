# %% [markdown]
# # 13. A real local model: the planner's repair loop on a small model's bad plans
#
# Every chapter so far used mock agents, so every plan was good and every answer the
# one we scripted. A real model is not so polite, and a *small* one is a good teacher:
# SmolLM2-135M-Instruct (93 MB, served by llama.cpp's `llama-server` on the laptop,
# no key, no network) names agents that do not exist, wraps its JSON in prose and
# talks past the token limit. This chapter runs a research → write → edit team of
# LLM agents whose **planner is that model**, and watches the planner's repair loop:
#
# 1. the model's plan is checked (valid JSON, known agents, known tasks, no cycles);
# 2. a refused plan is sent back to the model *with the problems*, and it tries again
#    (`max_attempts`);
# 3. when it never gets it right, a **fallback** planner (the rule-based one of
#    chapter 4) makes the plan, and the run goes on.
#
# Each refusal is a `plan_rejected` event with the model's answer and its problems.
#
# **No server? Nothing to install.** The team's calls to the model were recorded once
# into a **cassette** (`sample_agents/cassettes/llm-research.json`: every request, the
# streamed chunks, the server's token counts and latencies). With no server running the
# chapter replays it: the same words, the same mistakes, the same trace, in a second.
# With a server (`make local-model` in another shell, then start Jupyter with
# `OPENAI_BASE_URL=http://127.0.0.1:8080/v1`) the same cells run live against the model,
# and record what it said into `output/local-model.json`.

# %%
import os
from pathlib import Path

from sample_agents.cassettes.llm_research import CASSETTE, MODEL, PLANNER_MAX_TOKENS, build
from toolkit.llm import Cassette

OUT = Path("output")
OUT.mkdir(exist_ok=True)
BASE_URL = os.environ.get("OPENAI_BASE_URL")  # set: a model server runs, so go live
LIVE = BASE_URL is not None
PACE = 0  # replaying: 0 answers at once; 1 streams each reply at its recorded pace (~40 s)


def tape():
    "The cassette of one run: the recording to replay, or (live) a new recording of this run."
    if LIVE:
        return Cassette(OUT / "local-model.json", mode="record", note=f"{MODEL} at {BASE_URL}")
    return Cassette(CASSETTE, pace=PACE)


cassette = tape()
orch, request = build(cassette=cassette, base_url=BASE_URL)
print(
    f"live: {MODEL} at {BASE_URL}"
    if LIVE
    else f"no server: replaying {CASSETTE.name} ({len(cassette.exchanges)} calls recorded from {MODEL})"
)
print("request:", request)
for name, agent in orch.agents.items():
    print(f"  {name:>10}: {agent.description}")

# %% [markdown]
# The dashboard goes on the page before the run. The plan part stays empty while the
# planner is asked, refused, asked again; the log shows each refusal as a warning; then
# the plan appears and the agents stream their answers (with `PACE = 1` you see them
# typing, at the speed the model wrote).

# %%
from toolkit.widgets import RunView

view = RunView(title="a small model plans, live")
view

# %%
result = await orch.run(request, sinks=[view])
created = next(e for e in result.events if e.kind == "plan_created")
print(result.status, "- the plan was made by:", created.planner)
print("plan:", [(t["id"], t["agent"]) for t in created.plan["tasks"]])

# %% [markdown]
# ## Reading the repair loop
#
# Every refusal is in the trace: which attempt, what the model answered, what was
# wrong with it, and what the planner did next (`retry`, or `fallback` after the last
# attempt).

# %%
rejected = [e for e in result.events if e.kind == "plan_rejected"]
for r in rejected:
    print(f"attempt {r.attempt} of {r.max_attempts}, next: {r.next}")
    print("   the model said:", repr(r.text[:90]), "...")
    for problem in r.problems:
        print("   -", problem)

# %% [markdown]
# And this is what the planner sent back to the model after the first refusal: the
# conversation so far (its system prompt, the request, the model's own answer) and
# one more message listing the problems. The cassette holds every request as it was
# sent, so we can read it.

# %%
planner_calls = [x for x in cassette.exchanges if x.purpose == "planner"]
if len(planner_calls) > 1:
    print([m["role"] for m in planner_calls[1].request["messages"]])
    print(planner_calls[1].request["messages"][-1]["content"])
else:
    print("the model's first plan was accepted: nothing was sent back")

# %%
# Whatever the model wrote, the run got a valid plan of the team's own agents
assert result.status == "succeeded", result.error
assert {t["agent"] for t in created.plan["tasks"]} <= set(orch.agents)
# each refusal says why, and all but the last led to one more question to the model
calls = [e for e in result.events if e.kind == "llm_call" and e.purpose == "planner"]
fell_back = bool(rejected) and rejected[-1].next == "fallback"
assert all(r.problems for r in rejected)
assert len(calls) == len(rejected) + (0 if fell_back else 1) == len(planner_calls)
assert all(c.completion_tokens <= PLANNER_MAX_TOKENS for c in calls)  # every answer capped
assert created.planner == ("rule-based (fallback of llm)" if fell_back else "llm")
if not LIVE:  # the recorded run, exactly: made-up agents, then JSON cut off twice
    assert [r.next for r in rejected] == ["retry", "retry", "fallback"]
    assert "unknown agent 'Rewritten_1'" in rejected[0].problems[0]
    assert all("cut off at max_tokens=384" in " ".join(r.problems) for r in rejected[1:])
    assert [t["agent"] for t in created.plan["tasks"]] == ["researcher", "writer", "editor"]
print("checks passed")

# %% [markdown]
# ## Tokens and cost come from the server
#
# An LLM agent's tokens are the server's own usage counts (not an estimate), and its
# cost is usage × price: zero for a local model. The planner's failed attempts cost
# tokens too: here most of the run's tokens went into plans that were thrown away.

# %%
metrics = result.metrics().set_index("agent")
print(metrics[["tasks", "tokens_in", "tokens_out", "cost_usd"]].to_string())
agent_calls = [e for e in result.events if e.kind == "llm_call"]
assert metrics["tokens_out"].sum() == sum(c.completion_tokens for c in agent_calls)
assert metrics.loc["planner", "tokens_out"] == sum(c.completion_tokens for c in calls)
assert metrics["cost_usd"].sum() == 0  # a local model is free
wasted = sum(c.completion_tokens for c in calls[: len(rejected)])
print(f"{wasted} of {metrics['tokens_out'].sum()} tokens written went into refused plans")

# %% [markdown]
# ## Going live
#
# The day before (once per machine; see `notebooks/README.md`):
#
# ```bash
# make local-model    # builds llama-server once (cached), fetches the model, serves on :8080
# ```
#
# Then start Jupyter with `OPENAI_BASE_URL=http://127.0.0.1:8080/v1` and run this
# notebook again. The model's words will differ from the recording, and so may its
# mistakes: the asserts above that say `if not LIVE` are about the recording only, the
# others hold for any model. Two knobs to try live:
#
# - `LLMPlanner(..., json_mode="schema")` hands the plan's JSON schema to the server,
#   whose grammar then *cannot* produce malformed JSON or an unknown agent; what is
#   left are the mistakes a schema cannot see (a task depending on itself, a cycle).
# - `max_tokens`: a plan cut off at the limit is refused as invalid JSON; a larger cap
#   gives the model room, at the price of slower answers.
#
# `python -m tests.llm.record_sample` records a new cassette from the local model.

# %% [markdown]
# ### Exercise
#
# The fallback is the team's safety net. Build the same team's planner **without**
# it: `LLMPlanner(MODEL, max_tokens=PLANNER_MAX_TOKENS, fallback=None, ...)` from
# `toolkit.llm`, with `cassette=tape()` and `base_url=BASE_URL`, in an `Orchestrator`
# of the same agents (`orch.agents.values()`, `seed=7`). Run the request again: what is
# the run's status, and what does its error say? Then put the rule-based fallback back
# (`RuleBasedPlanner()` from `toolkit.planning`) but give the model a single try
# (`max_attempts=1`): how many `plan_rejected` events are there now, and what does the
# last one's `next` say? How many planner tokens did that save?

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
from toolkit import Orchestrator
from toolkit.llm import LLMPlanner
from toolkit.planning import RuleBasedPlanner


def team(**planner_options):
    planner = LLMPlanner(
        MODEL, max_tokens=PLANNER_MAX_TOKENS, base_url=BASE_URL, cassette=tape(), **planner_options
    )
    return Orchestrator(list(orch.agents.values()), planner=planner, seed=7)


no_net = await team(fallback=None).run(request)
print(no_net.status, "-", (no_net.error or "").partition("\n")[0])
refusals = [e for e in no_net.events if e.kind == "plan_rejected"]
if refusals and refusals[-1].next == "fail":  # the model never got it right
    assert no_net.status == "failed" and "plan" in (no_net.error or "").lower()
    assert not any(e.kind == "task_started" for e in no_net.events)  # no plan, no work
if not LIVE:
    assert [r.next for r in refusals] == ["retry", "retry", "fail"]

one_try = await team(max_attempts=1, fallback=RuleBasedPlanner()).run(request)
once = [e for e in one_try.events if e.kind == "plan_rejected"]
tokens = sum(
    e.completion_tokens for e in one_try.events if e.kind == "llm_call" and e.purpose == "planner"
)
print(
    one_try.status,
    len(once),
    "refusal(s), next:",
    once[-1].next if once else None,
    "-",
    tokens,
    "planner tokens",
)
assert one_try.status == "succeeded"
if not LIVE:
    assert [r.next for r in once] == ["fallback"] and tokens == 228  # one answer instead of three
print("checks passed")
