# %% [markdown]
# # 11. Tracing into OpenTelemetry, and diagrams of a run
#
# A run's events already form a tree: the run, its tasks, each attempt of a task,
# the messages inside. **OpenTelemetry** is the standard way to ship such a tree
# (*spans*) to a tracing backend: Jaeger, Grafana Tempo, Phoenix, Langfuse, any
# vendor's. `toolkit.otel` maps a run onto OpenTelemetry's GenAI conventions:
#
# | span | what |
# |---|---|
# | `invoke_workflow {name}` | the run |
# | `task {task_id}` | one task, all its attempts |
# | `invoke_agent {agent}` | one attempt (or one review) |
# | `chat {model}`, `execute_tool {tool}` | a model call, a tool call |
#
# Messages are span *events* on the span that sent them. Here the spans go to the
# SDK's `InMemorySpanExporter`, so we can read them back in the notebook; in
# production you would pass an OTLP exporter (`switchboard run ... --otel`). The runs
# go on **simulated time**, so the span durations are exact on any machine.

# %%
from IPython.display import Markdown
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from toolkit import FailureSpec, MockAgent, Orchestrator, Plan, Task
from toolkit.mermaid import sequence_diagram
from toolkit.otel import OtelSink, export_events

agents = [
    MockAgent("researcher", reply="notes: CRDTs matured", latency=0.2),
    MockAgent("fact_checker", reply="2 claims checked", latency=0.3),
    MockAgent("writer", reply="post from ({context})", latency=0.5),
]
plan = Plan(
    name="post",
    tasks=[
        Task(id="research", agent="researcher", prompt="{{input}}"),
        Task(id="check", agent="fact_checker", prompt="{{input}}"),
        Task(id="write", agent="writer", prompt="{{research}} {{check}}"),
    ],
)


def hex_id(span_id):
    return format(span_id, "016x")


def span_tree(spans):
    "Each span as (depth, name, duration in seconds), parents before children."
    by_parent = {}
    for s in spans:
        by_parent.setdefault(s.parent and hex_id(s.parent.span_id), []).append(s)
    rows = []

    def walk(parent, depth):
        for s in sorted(by_parent.get(parent, []), key=lambda s: (s.start_time, s.name)):
            rows.append((depth, s.name, round((s.end_time - s.start_time) / 1e9, 3)))
            walk(hex_id(s.context.span_id), depth + 1)

    walk(None, 0)
    return rows


# %% [markdown]
# ## Spans from a live run
#
# `OtelSink(exporter)` is a sink like the dashboard: the run hands it each event, a
# worker thread builds the spans, and the exporter receives them (the run never waits
# for the backend). Put the dashboard on the page first, then run with both sinks.

# %%
from toolkit.widgets import RunView

view = RunView(title="research and check, then write")
view

# %%
exporter = InMemorySpanExporter()
sim = await Orchestrator(agents, seed=11, clock="simulated").run(
    "Why local-first apps are back", plan, sinks=[view, OtelSink(exporter)]
)
spans = exporter.get_finished_spans()
for depth, name, seconds in span_tree(spans):
    print("    " * depth + f"{name}  ({seconds} s)")

# %%
# The span tree is the run's structure: one workflow span, a task span per task, an
# agent span inside each; and on simulated time the durations are the latencies exactly
assert span_tree(spans) == [
    (0, "invoke_workflow post", 0.8),
    (1, "task check", 0.3),  # check and research start together (sorted by name)
    (2, "invoke_agent fact_checker", 0.3),
    (1, "task research", 0.2),
    (2, "invoke_agent researcher", 0.2),
    (1, "task write", 0.5),
    (2, "invoke_agent writer", 0.5),
]
assert len({s.context.trace_id for s in spans}) == 1  # one trace per run
root = next(s for s in spans if s.parent is None)
assert root.attributes["switchboard.run.id"] == sim.run_id
assert round(sim.state.elapsed_s, 6) == 0.8  # research and check side by side, then write
print("checks passed")

# %% [markdown]
# Each span carries attributes a backend can search and sum: the agent's name, the
# tokens, the conversation id. The messages are span events.

# %%
writer_span = next(s for s in spans if s.name == "invoke_agent writer")
print(dict(writer_span.attributes))
print([(e.name, dict(e.attributes).get("switchboard.message.kind")) for e in writer_span.events])
assert writer_span.attributes["gen_ai.agent.name"] == "writer"
assert writer_span.attributes["gen_ai.operation.name"] == "invoke_agent"

# %% [markdown]
# ## After the fact
#
# A recorded run (a trace file, a stored run) exports the same way:
# `export_events(events, exporter)`, or `switchboard export otel run.jsonl` in a
# terminal. Span ids and times come from the events, so exporting twice gives the same
# tree: the live spans and the exported ones are equal.

# %%
later = InMemorySpanExporter()
report = export_events(sim.events, later)
print(report)
assert report.ok and report.spans == len(spans)
assert sorted(hex_id(s.context.span_id) for s in later.get_finished_spans()) == sorted(
    hex_id(s.context.span_id) for s in spans
)

# %% [markdown]
# ## A diagram of the run: Mermaid
#
# `switchboard export mermaid run.jsonl --markdown` (or `toolkit.mermaid.sequence_diagram`)
# writes the message flow as a Mermaid `sequenceDiagram`, which GitHub renders in a
# README or a pull request and JupyterLab renders in a Markdown output. `->>` is a
# directive, `-->>` a result. Names and payloads are escaped, so an agent's output
# cannot break the diagram.

# %%
diagram = sequence_diagram(sim.events)
print(diagram)
Markdown(sequence_diagram(sim.events, markdown=True))

# %%
lines = diagram.splitlines()
assert lines[0] == "sequenceDiagram"
assert [line.split(" as ")[1] for line in lines if line.strip().startswith("participant")] == [
    "user",
    "orchestrator",
    "researcher",
    "fact_checker",
    "writer",
]
assert (
    sum("-->>" in line for line in lines) == 4
)  # three results to the orchestrator, one to the user
print("checks passed")

# %% [markdown]
# ### Exercise
#
# Make the `fact_checker` fail its first attempt
# (`failures=FailureSpec(fail_attempts=[1], message="source unreachable")`) and give the
# `check` task one retry (`retries=1`). Before running, **predict** the span tree: how
# many `invoke_agent fact_checker` spans, and which one has an ERROR status? Check it
# from the spans, including the span's `error.type` attribute, and find the failed
# attempt and the retry as notes in the Mermaid diagram.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
flaky = MockAgent(
    "fact_checker",
    reply="2 claims checked",
    latency=0.3,
    failures=FailureSpec(fail_attempts=[1], message="source unreachable"),
)
retry_plan = Plan(
    name="post",
    tasks=[
        Task(id="research", agent="researcher", prompt="{{input}}"),
        Task(id="check", agent="fact_checker", prompt="{{input}}", retries=1),
        Task(id="write", agent="writer", prompt="{{research}} {{check}}"),
    ],
)
caught = InMemorySpanExporter()
retried = await Orchestrator([agents[0], flaky, agents[2]], seed=11, clock="simulated").run(
    "Why local-first apps are back", retry_plan, sinks=[OtelSink(caught)]
)
attempts = sorted(
    (s for s in caught.get_finished_spans() if s.name == "invoke_agent fact_checker"),
    key=lambda s: s.start_time,
)
for depth, name, seconds in span_tree(caught.get_finished_spans()):
    print("    " * depth + f"{name}  ({seconds} s)")
assert retried.status == "succeeded" and len(attempts) == 2
assert (
    attempts[0].status.status_code == StatusCode.ERROR
    and attempts[1].status.status_code != StatusCode.ERROR
)
print("error.type:", attempts[0].attributes.get("error.type"))
assert attempts[0].attributes.get("error.type") == "exception"
retried_diagram = sequence_diagram(retried.events)
print(retried_diagram)
notes = [line.strip() for line in retried_diagram.splitlines() if line.strip().startswith("Note")]
assert notes and "retry" in " ".join(notes).lower()
print("checks passed")
