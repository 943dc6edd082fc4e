# %% [markdown]
# # 7. The message bus: agents talking to each other
#
# So far every message went through the orchestrator: `directive` out, `result` (or
# `error`) back. Agents can also message each other directly on the run's **message
# bus**, through `directive.session`:
#
# - `await session.send(recipient, payload)`: one agent to another (`a2a`);
# - `await session.broadcast(payload)`: to every participant;
# - `session.inbox()` takes the waiting messages, `await session.receive(timeout_s)`
#   waits for the next one.
#
# Every delivery is a traced `message_sent` event with an **envelope** naming the
# sender and the recipient, so the conversation is recorded, never guessed.

# %%
import pandas as pd

from toolkit import FunctionAgent, Orchestrator, Plan, Task


async def scout(directive):
    "Looks for a fact and tells the writer as soon as it has one."
    finding = "73% of users write notes offline"
    await directive.session.send("writer", {"fact": finding})
    return f"found: {finding}"


async def writer(directive):
    "Starts writing at once and waits for the scout's fact."
    message = await directive.session.receive(timeout_s=2)
    return f"post citing '{message.payload['fact']}' (from {message.sender})"


orch = Orchestrator([FunctionAgent(scout), FunctionAgent(writer)], seed=2)
# no dependency between the tasks: they run at the same time and talk on the bus
plan = Plan(
    tasks=[
        Task(id="scout", agent="scout", goal="find a fact"),
        Task(id="write", agent="writer", goal="write the post"),
    ],
    synthesize="all",
)

# %% [markdown]
# Put the flow view on the page before the run. The a2a message is the arrow that goes
# from one agent's lane to another's without passing through the orchestrator.

# %%
from toolkit.widgets import FlowView

flow = FlowView(title="scout and writer")
flow

# %%
result = await orch.run("Post about offline notes", plan, sinks=[flow])
print(result.output)

# %%
messages = pd.DataFrame(
    [
        {
            "sender": m.sender,
            "recipient": m.recipient,
            "kind": m.kind,
            "task": m.task_id,
            "payload": m.payload,
        }
        for m in result.state.messages
    ]
)
messages

# %%
a2a = [m for m in result.state.messages if m.kind == "a2a"]
assert len(a2a) == 1
assert (a2a[0].sender, a2a[0].recipient) == ("scout", "writer")
assert a2a[0].payload == {"fact": "73% of users write notes offline"}
assert "73% of users" in result.results["write"]
# the fold counts it: one message out for the scout beyond its result, one in for the writer
print({name: (a.messages_out, a.messages_in) for name, a in result.state.agents.items()})
print("checks passed")

# %%
# The flow view drew the a2a arrow from the scout's lane to the writer's
assert any(
    m.kind == "a2a" and (m.sender, m.recipient) == ("scout", "writer") for m in flow.state.messages
)


# %% [markdown]
# ## Broadcasts
#
# A coordinator announces a change to everyone. The envelope's recipient is `*`; each
# participant finds the message in its inbox. Here the two workers depend on the
# coordinator, so they start after the broadcast and read their inbox first.


# %%
async def coordinator(directive):
    await directive.session.broadcast("deadline moved to Friday")
    return "announced"


def make_worker(name):
    async def work(directive):
        news = [m.payload for m in directive.session.inbox()]
        return f"{name} planned with {news}"

    return FunctionAgent(work, name=name)


team = Orchestrator(
    [FunctionAgent(coordinator), make_worker("design"), make_worker("build")], seed=2
)
week = Plan(
    tasks=[
        Task(id="announce", agent="coordinator"),
        Task(id="design", agent="design", depends_on=["announce"]),
        Task(id="build", agent="build", depends_on=["announce"]),
    ],
    synthesize="all",
)
news = await team.run("plan the week", week)
print(news.output)
broadcast = next(m for m in news.state.messages if m.kind == "broadcast")
assert broadcast.sender == "coordinator" and broadcast.recipient == "*"
assert all("deadline moved to Friday" in news.results[t] for t in ("design", "build"))


# %% [markdown]
# The orchestrator is a participant on the bus as well: a broadcast also lands in its
# mailbox, and an agent can `send("orchestrator", ...)` to report progress.

# %% [markdown]
# ### Exercise
#
# Change the `writer` so that, after using the fact, it sends a thank-you message
# back to the `scout` (`"thanks!"`). Run the scout/writer plan again and check that
# the trace has **two** a2a messages, the second from `writer` to `scout`.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution


# %%
async def polite_writer(directive):
    message = await directive.session.receive(timeout_s=2)
    await directive.session.send(message.sender, "thanks!")
    return f"post citing '{message.payload['fact']}'"


polite = Orchestrator([FunctionAgent(scout), FunctionAgent(polite_writer, name="writer")], seed=2)
again = await polite.run("Post about offline notes", plan)
a2a = [(m.sender, m.recipient, m.payload) for m in again.state.messages if m.kind == "a2a"]
print(a2a)
assert len(a2a) == 2 and a2a[1] == ("writer", "scout", "thanks!")
