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

# %% [markdown]
# ## A person in the loop
#
# Some decisions belong to a person: merging code, sending the press release,
# spending money. A **`HumanAgent`** (workflow files: `kind: human`) is an agent whose
# answer comes from a person. A task addressed to it sends a `question` message and
# waits for the `answer`: approve or reject with a comment (`mode="approve"`, a review
# verdict), pick one of `options` (`"choose"`), or write free text (`"text"`).
#
# Here a person, Alice, is the reviewer of the review loop. In the room she would
# answer from the terminal app (`a`), the CLI (`switchboard answer RUN_ID work
# --approve`) or the HTTP API; in a notebook the run's answer API does it:
# `run.answer(task_id, approve=..., comment=..., by=...)`. The cell below plays Alice
# with a small coroutine that waits for each question (on the run's state, never for a
# fixed time) and answers it.

# %%
import asyncio

from toolkit.human import HumanAgent, question_rows, waiting

approver = HumanAgent("approver", "a person approves the code", person="alice")
human_orch = Orchestrator([developer, approver], seed=11)
human_plan = review_loop("developer", "approver", goal="write mean()", max_rounds=3)

human_view = RunView(title="a person reviews, live", parts=["flow", "plan", "log"])
human_view

# %%
run = human_orch.prepare("Write a mean() function", human_plan, sinks=[human_view])
alices_answers = [(False, "Handle the empty list, please."), (True, "Ship it.")]

async def alice():
    "Answer each question of the run as it comes, as Alice would."
    for approve, comment in alices_answers:
        while not waiting(run.run_id):  # the open questions of this process
            await asyncio.sleep(0.01)
        question = waiting(run.run_id)[0]
        print(f"alice is asked about {question.task_id!r} (round {question.question_id.split('/')[1]})")
        run.answer(question.task_id, approve=approve, comment=comment, by="alice")

approved, _ = await asyncio.gather(run.execute(), alice())
for row in question_rows(approved.events):
    print(row["task"], row["person"], row["answer"], repr(row["comment"]), "via", row["via"])

# %%
# Alice rejected the first draft and approved the second: her verdicts drove the loop
work = approved.state.tasks["work"]
assert approved.status == "succeeded" and approved.output.endswith("version 2")
assert [(r, ok) for r, ok, _ in work.verdicts] == [(1, False), (2, True)]
# her comment is the feedback the developer revised against
to_dev = [m for m in approved.state.messages if m.kind == "directive" and m.recipient == "developer"]
assert "Handle the empty list, please." in to_dev[1].payload
# each question and answer is a traced message: the flow shows who decided
kinds = [(m.sender, m.recipient, m.kind) for m in approved.state.messages if m.kind in ("question", "answer")]
assert kinds == [("approver", "alice", "question"), ("alice", "approver", "answer")] * 2
assert [(r["answer"], r["by"], r["via"]) for r in question_rows(approved.events)] == [
    ("rejected", "alice", "api"), ("approved", "alice", "api")]
print("checks passed")

# %% [markdown]
# **Nobody answers.** A question can have a deadline and a default: `deadline_s=3600,
# default="approve"` approves when an hour passes without an answer. On a simulated
# clock (chapter 1) that hour passes at once, and exactly: the answer comes 3600
# virtual seconds after the question, `via` the deadline.

# %%
patient = HumanAgent("approver", person="alice", deadline_s=3600, default="approve")
unanswered = await Orchestrator([developer, patient], seed=11, clock="simulated").run(
    "Write a mean() function", human_plan)
row = question_rows(unanswered.events)[0]
print(row["answer"], "via", row["via"], "after", row["waited_s"], "s")
assert unanswered.status == "succeeded" and unanswered.state.tasks["work"].round == 1
assert (row["answer"], row["via"], row["waited_s"]) == ("approved", "deadline", 3600)

# %% [markdown]
# `EscalatingReviewer(name, reviewer, human, after_rounds=N)` combines both: an agent
# reviews, and a person is asked only when the agent still rejects in round N. The
# conflict pattern can escalate to a person too: `Resolver(strategy="human",
# judge=HumanAgent(...))` lets the person choose whose position wins.
#
# ## Teams of teams
#
# A team (an orchestrator with its agents and a plan) can itself be **one agent** of
# another orchestrator: `TeamAgent(name, orchestrator, plan)` (workflow files: `kind:
# team` naming another workflow file). Each directive to it runs the team as a
# **child run**: its own run id and plan, its events in the parent's trace, store and
# views, its answer the parent task's result. A research team and a writing team,
# under one lead:

# %%
from toolkit import Plan, Task
from toolkit.metrics import team_metrics
from toolkit.team import TeamAgent

research = Orchestrator([MockAgent("web", reply="web: 6 articles on {prompt}", latency=0.01),
                         MockAgent("papers", reply="papers: 3 studies", latency=0.02),
                         MockAgent("analyst", reply="analyst: 5 findings", latency=0.01)], seed=11)
research_plan = Plan(name="research", tasks=[
    Task(id="web", agent="web", prompt="{{input}}"),
    Task(id="papers", agent="papers", prompt="{{input}}"),
    Task(id="summary", agent="analyst", depends_on=["web", "papers"]),
])
writing = Orchestrator([MockAgent("writer", reply="brief from: {prompt}", latency=0.01),
                        MockAgent("copyeditor", reply="APPROVED", latency=0.01)], seed=11)
writing_plan = review_loop("writer", "copyeditor", goal="write the brief")

lead = Orchestrator([TeamAgent("research", research, research_plan),
                     TeamAgent("writing", writing, writing_plan)], seed=11)
brief_plan = Plan(name="brief", tasks=[
    Task(id="research", agent="research", prompt="{{input}}"),
    Task(id="write", agent="writing", prompt="{{research}}", depends_on=["research"]),
])
teams_view = RunView(title="a team of teams", parts=["flow", "plan", "metrics"])
teams_view

# %%
brief = await lead.run("the new search feature", brief_plan, sinks=[teams_view])
print(brief.status, "-", brief.output)
for path, child in brief.state.teams():
    print(f"{path:>9}: task {child.parent_task!r} of the lead's plan, {child.status}, tasks {list(child.tasks)}")
print(team_metrics(brief.events)[["team", "parent_task", "status", "tasks", "done"]].to_string(index=False))

# %%
# The lead's plan has two tasks, one per team; each team ran its own plan as a child run
assert [(t.id, t.agent) for t in brief.state.tasks.values()] == [("research", "research"), ("write", "writing")]
children = {path: child for path, child in brief.state.teams()}
assert list(children) == ["research", "writing"]
assert list(children["research"].tasks) == ["web", "papers", "summary"]
assert (children["writing"].parent_task, children["writing"].status) == ("write", "succeeded")
# a child's events are in the parent's trace, but never change the parent's tasks or agents
assert {e.run_id for e in brief.events} == {brief.run_id, *(c.run_id for c in children.values())}
assert set(brief.state.agents) == {"research", "writing"}
# metrics: a team is one agent, or (flatten=True) its own agents by team path
assert list(agent_metrics(brief.events)["agent"]) == ["research", "writing"]
flat = set(agent_metrics(brief.events, flatten=True)["agent"])
assert {"research/web", "research/papers", "research/analyst", "writing/writer"} <= flat
# the research team's answer is what the writing team was given
assert brief.output == "brief from: analyst: 5 findings"
assert team_metrics(brief.events)["done"].tolist() == [3, 1]
print("checks passed")

# %% [markdown]
# In a workflow file the same lead is two lines per team, each naming the team's own
# workflow file (relative to the file that names it):
#
# ```yaml
# agents:
#   research: {kind: team, workflow: teams/research.yaml, description: Research team}
#   writing: {kind: team, workflow: teams/writing.yaml, description: Writing team}
# ```
#
# `switchboard run sample_agents/workflows/team-of-teams.yaml` runs the bundled one;
# `switchboard metrics TRACE --flatten` lists the agents inside the teams.

# %% [markdown]
# ### Exercise
#
# Failures cross the boundary. Give the research team a `web` searcher that always
# fails (`MockAgent("web", failures=FailureSpec(exception=1.0))`, from `toolkit`) and
# run the lead's `brief_plan` again. What is the status of the lead's `research` task, and
# what does its error say? What happened to the `write` task? Then nest one level
# deeper: make the research team's `papers` agent a team of its own (a `TeamAgent`
# with one `MockAgent`), and find its path in `state.teams()`.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
from toolkit import FailureSpec

broken = Orchestrator([MockAgent("web", failures=FailureSpec(exception=1.0)),
                       MockAgent("papers"), MockAgent("analyst")], seed=11)
failing = Orchestrator([TeamAgent("research", broken, research_plan),
                        TeamAgent("writing", writing, writing_plan)], seed=11)
down = await failing.run("the new search feature", brief_plan)
print(down.status, "-", down.state.tasks["research"].error)
assert down.status == "failed" and down.state.tasks["research"].status == "failed"
assert "team research failed: 2 task(s) failed: summary, web" in down.state.tasks["research"].error
assert down.state.tasks["write"].status == "skipped"  # its input never came

library = Orchestrator([MockAgent("librarian", reply="papers: 4 studies")], seed=11)
deeper = Orchestrator([MockAgent("web", reply="web: 6 articles"),
                       TeamAgent("papers", library, Plan(tasks=[Task(id="find", agent="librarian")])),
                       MockAgent("analyst", reply="analyst: 7 findings")], seed=11)
nested = await Orchestrator([TeamAgent("research", deeper, research_plan)], seed=11).run(
    "the new search feature", Plan(tasks=[Task(id="research", agent="research")]))
paths = [path for path, _ in nested.state.teams()]
print(paths)
assert nested.status == "succeeded" and paths == ["research", "research/papers"]
print("checks passed")
