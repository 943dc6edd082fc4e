# %% [markdown]
# # 5. Review loops, and resolving conflicts between agents
#
# **Review loop**: a worker drafts, a reviewer judges; the worker revises with the
# reviewer's feedback until the reviewer approves or `max_rounds` is reached. The
# reviewer approves by answering with `APPROVED` (or a JSON object with
# `"approved": true`). A task gets a loop through its `review` field;
# `review_loop(worker, reviewer)` builds a one-task plan with one.

# %%
from toolkit import MockAgent, Orchestrator, review_loop

developer = MockAgent(
    "developer", "writes code", reply="def mean(xs): ...  # version {round}", latency=0.02
)
reviewer = MockAgent(
    "reviewer",
    "reviews code",
    reply=["Needs a test for the empty list.", "APPROVED, thanks"],
    latency=0.01,
)
orch = Orchestrator([developer, reviewer], seed=11)
plan = review_loop("developer", "reviewer", goal="write mean()", max_rounds=3)

# %% [markdown]
# A dashboard on the page before the run: watch the directive go to the developer,
# the draft to the reviewer, the verdict come back, and the second round start.

# %%
from toolkit.widgets import RunView

view = RunView(title="review loop, live", parts=["flow", "plan", "log"])
view

# %%
result = await orch.run("Write a mean() function", plan, sinks=[view])
task = result.state.tasks["work"]
print("rounds:", task.round, "verdicts:", task.verdicts)
print("answer:", result.output)

# %%
for m in result.state.messages:
    print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:70]!r}")

# %%
# The loop took 2 rounds: rejected once, then approved
assert task.round == 2
assert [(r, ok) for r, ok, _ in task.verdicts] == [(1, False), (2, True)]
assert result.output.endswith("version 2")
# the developer's second directive carried the reviewer's feedback
to_dev = [m for m in result.state.messages if m.kind == "directive" and m.recipient == "developer"]
assert len(to_dev) == 2 and "Needs a test for the empty list." in to_dev[1].payload
assert view.state.tasks["work"].verdicts == task.verdicts  # the live view saw both verdicts
print("checks passed")

# %% [markdown]
# Replay the loop event by event: the slider and the play button move through the
# run; in code, `seek(n)` shows the state after the first `n` events.

# %%
replay = RunView.from_result(result, title="review loop", parts=["controls", "flow", "plan"])
first_verdict = next(i for i, e in enumerate(result.events) if e.kind == "review_verdict")
replay.seek(first_verdict + 1)  # just after the first verdict: rejected, round 2 not started
assert replay.state.tasks["work"].verdicts == [task.verdicts[0]]
replay

# %% [markdown]
# A reviewer that never approves does not loop forever: after `max_rounds` the last
# draft stands. The run still succeeds, so check the verdicts when approval matters.

# %%
picky = MockAgent("picky", reply="Not good enough.")
stubborn = await Orchestrator([developer, picky], seed=11).run(
    "Write a mean() function", review_loop("developer", "picky", max_rounds=2)
)
t = stubborn.state.tasks["work"]
print(stubborn.status, t.round, t.verdicts)
assert stubborn.status == "succeeded" and t.round == 2
assert not any(ok for _, ok, _ in t.verdicts)

# %% [markdown]
# ## Conflicts between agents
#
# Ask several agents the same question and they may disagree. The **conflict
# pattern** makes that a plan: `conflict(agents)` gives each agent a position task on
# the same question, side by side, then one `resolve` task on a **`Resolver`** agent
# that reads every position and decides. Three strategies:
#
# 1. **`vote`**: the answer most agents gave wins (a tie goes to the `tie_breaker`).
# 2. **`weighted`**: each agent reports a confidence; the answer with the most total
#    confidence wins.
# 3. **`judge`**: one more agent reads every position and names the winner.
#
# The resolver records the disagreement as a `conflict` event (every position) and its
# decision as a `resolution` event (the answer, whose positions won, the tally, who
# decided and why). The per-agent metrics count how often each agent's position won
# (`won`). Start with a vote.

# %%
from toolkit import Resolver, conflict
from toolkit.metrics import agent_metrics

ticket = "App crashes when I paste an image into a note"
triagers = [
    MockAgent("triager_a", reply="bug", latency=0.01),
    MockAgent("triager_b", reply="bug", latency=0.01),
    MockAgent("triager_c", reply="feature request", latency=0.01),
]
triage_plan = conflict(["triager_a", "triager_b", "triager_c"], resolve_goal="label the ticket")
print([(t.id, t.agent, t.depends_on) for t in triage_plan.tasks])

vote = await Orchestrator([*triagers, Resolver(strategy="vote")], seed=11).run(ticket, triage_plan)
raised = next(e for e in vote.events if e.kind == "conflict")
decided = next(e for e in vote.events if e.kind == "resolution")
print([(p["agent"], p["answer"]) for p in raised.positions])
print(decided.strategy, decided.answer, decided.winners, decided.tally, "-", decided.reason)

# %%
# The majority won, and the trace says who won, by how much, and who decided
assert vote.output == "bug"
assert decided.winners == ["triager_a", "triager_b"]
assert decided.tally == {"bug": 2, "feature request": 1}
assert (decided.strategy, decided.decided_by) == ("vote", "resolver")
won = agent_metrics(vote.events).set_index("agent")["won"]
assert won.to_dict() == {"triager_a": 1, "triager_b": 1, "triager_c": 0, "resolver": 0}
print("checks passed")

# %% [markdown]
# **Weighing by confidence.** Each triager answers a JSON object with an `answer` and
# a `confidence`; a `weighted` resolver sums the confidence per answer. One confident
# agent can outweigh two unsure ones.

# %%
confident = [
    # a script (a list) replies with its items as they are: here JSON objects
    MockAgent("triager_a", reply=[{"answer": "bug", "confidence": 0.5}], latency=0.01),
    MockAgent("triager_b", reply=[{"answer": "bug", "confidence": 0.25}], latency=0.01),
    MockAgent("triager_c", reply=[{"answer": "security", "confidence": 0.9}], latency=0.01),
]
weighed = await Orchestrator([*confident, Resolver(strategy="weighted")], seed=11).run(
    ticket, triage_plan
)
by_weight = next(e for e in weighed.events if e.kind == "resolution")
print(by_weight.answer, by_weight.tally, "-", by_weight.reason)
assert weighed.output == "security" and by_weight.winners == ["triager_c"]
assert by_weight.tally == {"bug": 0.75, "security": 0.9}  # 0.5 + 0.25 < 0.9

# %% [markdown]
# **A judge.** The `judge` strategy hands every position to one more agent (here a
# mock team lead) and takes the position it names: by number, by agent, or by answer.
# The judge's question and answer are messages in the trace like any other.

# %%
lead = MockAgent(
    "lead", reply="triager_c is right: a crash on paste is a missing feature", latency=0.01
)
judged = await Orchestrator([*triagers, Resolver(strategy="judge", judge=lead)], seed=11).run(
    ticket, triage_plan
)
by_judge = next(e for e in judged.events if e.kind == "resolution")
print(by_judge.answer, "decided by", by_judge.decided_by, "-", by_judge.reason)
assert judged.output == "feature request"  # the judge overruled the majority
assert (by_judge.strategy, by_judge.decided_by, by_judge.winners) == (
    "judge",
    "lead",
    ["triager_c"],
)
assert any(m.sender == "resolver" and m.recipient == "lead" for m in judged.state.messages)


# %% [markdown]
# ### Exercise
#
# Four triagers, and the vote is tied 2-2: `senior` and `c` say "security", `a` and
# `b` say "bug" (put `a` first in the plan). With a plain vote the tie goes to the
# first position in the plan. Make the `senior` break ties instead (`Resolver`'s
# `tie_breaker=`), and check from the `resolution` event that the strategy was
# `"tie-breaker"` and who decided. Then, instead, escalate the tie to the `lead`
# judge (`escalate_to=True`) and check it was the judge who decided. In each run,
# whose `won` count went up?

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
four = {"a": "bug", "senior": "security", "b": "bug", "c": "security"}
team = [MockAgent(name, reply=answer) for name, answer in four.items()]
tied_plan = conflict(list(four))


async def settle(resolver):
    result = await Orchestrator([*team, resolver], seed=11).run(ticket, tied_plan)
    decision = next(e for e in result.events if e.kind == "resolution")
    won = agent_metrics(result.events).set_index("agent")["won"].to_dict()
    return result.output, decision, won


plain, plain_decision, _ = await settle(Resolver(strategy="vote"))
assert plain == "bug" and plain_decision.decided_by == "a"  # the plan's first position

senior_says, decision, won = await settle(Resolver(strategy="vote", tie_breaker="senior"))
assert senior_says == "security"
assert (decision.strategy, decision.decided_by) == ("tie-breaker", "senior")
assert won["senior"] == won["c"] == 1 and won["a"] == won["b"] == 0

lead_says, decision, won = await settle(Resolver(strategy="vote", judge=lead, escalate_to=True))
print(lead_says, decision.reason)
assert (decision.strategy, decision.decided_by) == ("judge", "lead")
print("checks passed")
