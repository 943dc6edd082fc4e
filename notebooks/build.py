"""Generate the workshop notebooks from the cells written below.

The notebooks are written as Python data, not edited in Jupyter, so a change to the
workshop is a readable diff here and the ``.ipynb`` files are reproducible: run
``python notebooks/build.py`` after editing and commit both. The files carry no
outputs and stable cell ids; ``tests/test_notebooks.py`` checks that the committed
notebooks are exactly what this script writes, and executes each one.

Each notebook is a list of cells: ``md(...)`` for explanations, ``code(...)`` for
code, ``solution(...)`` for the collapsed "Solution" heading of an exercise.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str]
"""(kind, source): kind is ``md``, ``code`` or ``solution``."""


def md(text: str) -> Cell:
    """A markdown cell."""
    return ("md", textwrap.dedent(text).strip("\n"))


def code(text: str) -> Cell:
    """A code cell."""
    return ("code", textwrap.dedent(text).strip("\n"))


def solution(text: str = "### Solution") -> Cell:
    """A markdown heading that JupyterLab shows collapsed, hiding the solution below it."""
    return ("solution", textwrap.dedent(text).strip("\n"))


def exercise(text: str) -> list[Cell]:
    """The exercise statement and an empty cell for the student's answer."""
    return [
        md("### Exercise\n\n" + textwrap.dedent(text).strip("\n")),
        code("# Your answer here\n"),
    ]


# ---------------------------------------------------------------------------------
# 01 What orchestration is
# ---------------------------------------------------------------------------------
NB01: list[Cell] = [
    md(
        """
        # 1. What orchestration is, and why specialists beat one generalist

        An **orchestrator** takes a request and turns it into an answer by working with
        several **agents**:

        1. a **planner** decides which agent does what, and in which order (the **plan**);
        2. a **scheduler** runs the plan: it sends each agent a **directive**, waits for its
           result, starts the tasks that were waiting for it, and handles timeouts,
           retries and backups;
        3. a **synthesizer** combines the results into one answer.

        Every step becomes a **trace event** (`run_started`, `task_started`,
        `message_sent`, `task_finished`, ...). Everything you will look at in this
        workshop - message flows, plans, metrics, the terminal app and the notebook
        dashboards - is read from that one stream of events.

        **Why several specialists rather than one generalist agent?**

        - Each specialist gets a short, focused prompt and can be a smaller, faster,
          cheaper model (or no model at all: a search tool, a calculator, a linter).
        - Independent parts of the work run *at the same time*.
        - Each part can be checked, retried or replaced on its own, and the trace shows
          which part was slow, failed or cost too much.

        The price is coordination: someone has to plan, pass results along and combine
        them. That is the orchestrator's job.

        All agents in this workshop are **mock agents**: deterministic, seeded, with the
        latency and price you give them. No API key, no network. Their numbers model the
        trade-offs; they do not measure a real model.
        """
    ),
    code(
        """
        from toolkit import MockAgent, Orchestrator, Plan, Task, route

        REQUEST = "Launch post for our new note-taking app"

        # Specialists: we *assume* each is a small model, so fast and cheap per token.
        researcher = MockAgent("researcher", "finds facts about the market", skills=["research"],
                               reply="market notes: people want notes that sync offline",
                               latency=0.05, price_per_1k_tokens=0.2)
        writer = MockAgent("writer", "drafts blog posts", skills=["write", "draft"],
                           reply="draft post using ({context})", latency=0.05, price_per_1k_tokens=0.2)
        tagliner = MockAgent("tagliner", "writes one-line taglines", skills=["tagline"],
                             reply="Your notes, everywhere.", latency=0.04, price_per_1k_tokens=0.2)

        team_plan = Plan(name="launch", tasks=[
            Task(id="research", agent="researcher", goal="research the market", prompt="{{input}}"),
            Task(id="draft", agent="writer", goal="draft the post", prompt="Write a post from: {{research}}"),
            Task(id="tagline", agent="tagliner", goal="write a tagline", prompt="Tagline from: {{research}}"),
        ], synthesize="all")
        team = Orchestrator([researcher, writer, tagliner], seed=1)
        team_run = await team.run(REQUEST, team_plan)
        print(team_run.status)
        print(team_run.output)
        """
    ),
    md(
        """
        `draft` and `tagline` both need `research` (they use `{{research}}` in their
        prompt), so the scheduler runs `research` first and then the other two side by
        side. The plan is data: you can print it, and it is recorded in the trace.

        Let's look at what happened, event by event, and at the messages between the
        participants (`user`, `orchestrator` and each agent).
        """
    ),
    code(
        """
        for event in team_run.events[:8]:
            print(f"{event.seq:3} {event.kind}")
        print("...", len(team_run.events), "events in all")
        print()
        for m in team_run.state.messages:
            print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:50]}")
        """
    ),
    code(
        """
        # Check what this section taught
        kinds = [e.kind for e in team_run.events]
        assert team_run.status == "succeeded"
        assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
        assert [e.seq for e in team_run.events] == list(range(len(team_run.events)))
        directives = [m for m in team_run.state.messages
                      if m.kind == "directive" and m.sender == "orchestrator"]
        assert sorted(m.recipient for m in directives) == ["researcher", "tagliner", "writer"]
        # the writer's directive carried the researcher's result
        to_writer = next(m for m in directives if m.recipient == "writer")
        assert "sync offline" in to_writer.payload
        print("checks passed")
        """
    ),
    md(
        """
        ## Watching a run

        The dashboard is one more reader of the event stream: a **sink**. Pass it to
        `run(..., sinks=[view])`, or call `view.attach(orch)` to follow every run of an
        orchestrator. It shows the messages between participants, the plan, a Gantt chart
        of the agent calls, the metrics and the event log; its controls replay the run
        event by event.
        """
    ),
    code(
        """
        from toolkit.widgets import RunView

        view = RunView(title="launch post")
        watched = await team.run(REQUEST, team_plan, sinks=[view])
        view
        """
    ),
    code(
        """
        # The view folded the same events the run returned
        assert view.state.status == "succeeded"
        assert len(view.events) == len(watched.events)
        assert set(view.state.tasks) == {"research", "draft", "tagline"}
        """
    ),
    md(
        """
        ## One generalist doing everything

        Now the same request handled by one big generalist: one call that does research,
        draft and tagline in sequence. We *assume* a bigger model: slower (0.2 s for the
        whole job here) and pricier per token.
        """
    ),
    code(
        """
        generalist = MockAgent("generalist", "does everything", reply=(
            "market notes: people want notes that sync offline. "
            "draft post using the notes. Tagline: Your notes, everywhere."),
            latency=0.2, price_per_1k_tokens=2.0)
        solo = Orchestrator([generalist], seed=1)
        solo_plan = Plan(name="solo", tasks=[
            Task(id="everything", agent="generalist", goal="research, draft and tagline",
                 prompt="Research the market, draft a post and write a tagline: {{input}}")])
        solo_run = await solo.run(REQUEST, solo_plan)

        for name, run in (("specialists", team_run), ("generalist", solo_run)):
            s = run.state
            print(f"{name:12} wall {s.elapsed_s:.3f} s   tokens {s.tokens_in + s.tokens_out:4}   cost ${s.cost_usd:.6f}")
        """
    ),
    code(
        """
        # Under these assumptions the team is both faster and cheaper
        assert team_run.state.elapsed_s < solo_run.state.elapsed_s
        assert team_run.state.cost_usd < solo_run.state.cost_usd
        print("checks passed")
        """
    ),
    md(
        """
        ## Routing: picking the specialist

        The simplest orchestrator sends each request to the one agent best suited to it.
        `route` scores agents by how many of the request's words match their skills
        (weight 3) and description (weight 1).
        """
    ),
    code(
        """
        coder = MockAgent("coder", "fixes bugs in Python code", skills=["python", "bug", "code"])
        agents = [researcher, writer, tagliner, coder]
        for request in ["Fix the bug in this python function",
                        "Research what users say about offline sync",
                        "Write a tagline for the launch"]:
            best, scores = route(request, agents)
            print(f"{best.name:10} <- {request!r}   scores={scores}")

        assert route("Fix the bug in this python function", agents)[0].name == "coder"
        """
    ),
    md(
        """
        ## `run_sync`: the same run from ordinary code

        In a notebook cell you can `await orch.run(...)`. In a plain script (or a cell
        where you'd rather not await) use `run_sync`; inside Jupyter it runs the run on a
        separate thread so it never clashes with the notebook's event loop. With the same
        seed, mock agents give the same run again.
        """
    ),
    code(
        """
        again = team.run_sync(REQUEST, team_plan)
        assert again.output == team_run.output
        assert [e.kind for e in again.events] == [e.kind for e in team_run.events]
        again
        """
    ),
    *exercise(
        """
        Add a `fact_checker` specialist (description "checks facts", latency 0.03) that
        checks the researcher's notes, and change the plan so that **both** `draft` and
        `tagline` use the *checked* notes instead of the raw ones. Run it and check that:

        - `fact_check` starts after `research` and before `draft` and `tagline`;
        - the writer's directive contains the fact checker's output.

        Before running it: will the run take longer? By about how much?
        """
    ),
    solution(),
    code(
        """
        fact_checker = MockAgent("fact_checker", "checks facts", reply="checked: {prompt}", latency=0.03)
        checked_plan = Plan(name="launch-checked", tasks=[
            Task(id="research", agent="researcher", goal="research the market", prompt="{{input}}"),
            Task(id="fact_check", agent="fact_checker", goal="check the notes", prompt="{{research}}"),
            Task(id="draft", agent="writer", goal="draft the post", prompt="Write a post from: {{fact_check}}"),
            Task(id="tagline", agent="tagliner", goal="write a tagline", prompt="Tagline from: {{fact_check}}"),
        ], synthesize="all")
        checked = await Orchestrator([researcher, fact_checker, writer, tagliner], seed=1).run(REQUEST, checked_plan)

        started = [e.task_id for e in checked.events if e.kind == "task_started"]
        assert started.index("research") < started.index("fact_check") < min(started.index("draft"), started.index("tagline"))
        to_writer = next(m for m in checked.state.messages if m.kind == "directive" and m.recipient == "writer")
        assert "checked: market notes" in to_writer.payload
        # one more step on the critical path: about 0.03 s longer
        print(f"{team_run.state.elapsed_s:.3f} s -> {checked.state.elapsed_s:.3f} s")
        """
    ),
]

# ---------------------------------------------------------------------------------
# 02 Mock agents and the pipeline
# ---------------------------------------------------------------------------------
NB02: list[Cell] = [
    md(
        """
        # 2. Mock agents and the pipeline

        An **agent** is anything with a `name`, a `description`, `skills` and an async
        `run(directive)` that returns text, any JSON value, or a `Reply` with usage
        figures. A `MockAgent` is a real agent that answers from a template or a script,
        after a seeded latency, with injected failures if you ask for them. It is what
        you use to design, test and teach orchestration without a model.

        Its reply template may use `{name}`, `{goal}`, `{prompt}`, `{summary}`,
        `{task_id}`, `{attempt}`, `{round}` and `{context}`.
        """
    ),
    code(
        """
        import random

        from toolkit import Directive, FunctionAgent, LatencySpec, MockAgent, Orchestrator, pipeline

        writer = MockAgent("writer", "drafts text", skills=["write"], reply="[{name}] draft based on: {prompt}",
                           latency=0.02, price_per_1k_tokens=0.5)
        reply = await writer.run(Directive(agent="writer", task_id="t1", goal="the launch", prompt="Write a short post"))
        reply
        """
    ),
    md(
        """
        The `Reply` carries token counts (here: the word counts of prompt and reply) and a
        cost from `price_per_1k_tokens`, so metrics mean something without a model.

        A **script** gives one reply per call, in order, the last one repeated. A mapping
        scripts each task on its own.
        """
    ),
    code(
        """
        reviewer = MockAgent("reviewer", reply=["add an example", "APPROVED"])
        d = Directive(agent="reviewer", task_id="review")
        answers = [(await reviewer.run(d)).output for _ in range(3)]
        print(answers)
        assert answers == ["add an example", "APPROVED", "APPROVED"]

        per_task = MockAgent("router", reply={"greet": "hello", "*": "default for {task_id}"})
        print((await per_task.run(Directive(agent="router", task_id="greet"))).output,
              "|", (await per_task.run(Directive(agent="router", task_id="other"))).output)
        """
    ),
    md(
        """
        **Latency** is a number of seconds or a `LatencySpec` distribution (`fixed`,
        `uniform`, `normal`, `lognormal`). Randomness is seeded by
        (seed, agent, task, attempt, round), so the same seed gives the same run, however
        the tasks interleave.
        """
    ),
    code(
        """
        spec = LatencySpec(dist="lognormal", mean=0.02, spread=0.5)
        a = [round(spec.sample(random.Random(7)), 4) for _ in range(3)]
        b = [round(spec.sample(random.Random(n)), 4) for n in (1, 2, 3)]
        print("same seed:", a, " different seeds:", b)
        assert len(set(a)) == 1 and len(set(b)) == 3
        """
    ),
    md(
        """
        A `FunctionAgent` wraps a plain Python function (sync or async). If its single
        parameter is annotated `str`, it receives the prompt; otherwise the whole
        `Directive`.
        """
    ),
    code(
        """
        def headline(text: str) -> str:
            "Turns the first sentence into a headline."
            return text.split(".")[0].title()

        headliner = FunctionAgent(headline)
        print(headliner.name, "-", headliner.description)
        """
    ),
    md(
        """
        ## The pipeline

        The simplest orchestration: each step gets the previous step's output, the first
        step gets the request. `pipeline(...)` builds the plan; a step is an agent's name,
        `(agent, goal)`, or a dict of task fields. Look at the prompts: `{{input}}` is the
        request, `{{<task id>}}` a previous task's result (and a dependency).
        """
    ),
    code(
        """
        researcher = MockAgent("researcher", skills=["research"], reply="notes: offline sync matters",
                               latency=0.03)
        editor = MockAgent("editor", skills=["edit"], reply="edited ({prompt})", latency=0.02)
        orch = Orchestrator([researcher, writer, editor], seed=42)

        plan = pipeline("researcher", ("writer", "draft the post"), ("editor", "tighten the draft"), name="blog")
        for t in plan.tasks:
            print(f"{t.id:14} agent={t.agent:10} depends_on={t.depends_on}  prompt={t.prompt!r}")
        """
    ),
    code(
        """
        result = await orch.run("A post about offline sync", plan)
        print(result.status, "in", round(result.state.elapsed_s, 3), "s")
        print(result.output)
        for m in result.state.messages:
            print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:60]}")
        """
    ),
    code(
        """
        # What a pipeline guarantees
        started = [e.task_id for e in result.events if e.kind == "task_started"]
        assert started == ["1-researcher", "2-writer", "3-editor"]
        outputs = result.results
        directive_to_editor = next(m for m in result.state.messages
                                   if m.kind == "directive" and m.recipient == "editor")
        assert directive_to_editor.payload == outputs["2-writer"]      # each step gets the previous output
        assert result.output == outputs["3-editor"]                     # the answer is the last step's output
        # steps run one after another: the run takes at least the sum of the latencies
        assert result.state.elapsed_s >= 0.95 * (0.03 + 0.02 + 0.02)
        # same seed, same run
        again = await Orchestrator([researcher, writer, editor], seed=42).run("A post about offline sync", plan)
        assert again.output == result.output
        print("checks passed")
        """
    ),
    md(
        """
        The message flow of the pipeline as a diagram: one lane per participant, one arrow
        per message (click an arrow to see the whole payload).
        """
    ),
    code(
        """
        from toolkit.widgets import FlowView

        flow = FlowView.from_result(result, title="pipeline: who talked to whom")
        to_agents = [m.recipient for m in flow.state.messages if m.kind == "directive"][1:]
        assert to_agents == ["researcher", "writer", "editor"]
        flow
        """
    ),
    *exercise(
        """
        Build a four-step pipeline: `researcher` -> `writer` -> the `headliner`
        FunctionAgent above -> `editor`. Run it on "Offline sync. It just works." and
        check that:

        - the headliner's output is the title-cased first sentence of the writer's draft;
        - the editor received exactly the headliner's output;
        - the run's answer is the editor's output.
        """
    ),
    solution(),
    code(
        """
        orch4 = Orchestrator([researcher, writer, headliner, editor], seed=42)
        plan4 = pipeline("researcher", "writer", "headline", "editor", name="blog-4")
        run4 = await orch4.run("Offline sync. It just works.", plan4)
        out = run4.results
        assert out["3-headline"] == out["2-writer"].split(".")[0].title()
        to_editor = next(m for m in run4.state.messages if m.kind == "directive" and m.recipient == "editor")
        assert to_editor.payload == out["3-headline"]
        assert run4.output == out["4-editor"]
        run4.output
        """
    ),
]

# ---------------------------------------------------------------------------------
# 03 Parallel and scatter-gather
# ---------------------------------------------------------------------------------
NB03: list[Cell] = [
    md(
        """
        # 3. Parallel work and scatter-gather

        Tasks that do not need each other's results can run **at the same time**. The
        orchestrator's scheduler starts every task whose dependencies are done, up to a
        `concurrency` limit. Two patterns build such plans:

        - `parallel(a, b, c, join=d)`: every agent works on the request; `d` gets all
          their outputs (a **fan-out / fan-in**).
        - `scatter_gather(items, mapper, reducer)`: split the work into chunks, one
          `mapper` task per chunk, then a `reducer` combines the chunk results
          (**map-reduce**).

        With parallel work the run's wall time is about the *longest* branch, not the sum.
        """
    ),
    code(
        """
        from toolkit import MockAgent, Orchestrator, parallel, scatter_gather

        analysts = [MockAgent(name, f"{name} analyst", reply=f"{name}: looks fine for {{summary}}", latency=0.1)
                    for name in ("market", "tech", "legal")]
        lead = MockAgent("lead", "combines findings", reply="summary of {context}", latency=0.02)
        orch = Orchestrator([*analysts, lead], seed=3)

        plan = parallel("market", "tech", "legal", join=("lead", "combine the findings"), name="due-diligence")
        for t in plan.tasks:
            print(f"{t.id:10} depends_on={t.depends_on}")
        result = await orch.run("Should we buy Acme Notes?", plan)
        print(result.status, f"wall {result.state.elapsed_s:.3f} s, sum of latencies {3 * 0.1 + 0.02:.2f} s")
        print(result.output)
        """
    ),
    md(
        """
        `result.timeline()` has one row per agent call, with start and end times relative
        to the start of the run: the bars of a Gantt chart.
        """
    ),
    code(
        """
        tl = result.timeline()
        tl
        """
    ),
    code(
        """
        # The three analysts overlapped: each started before any of them finished
        branches = tl[tl.agent.isin(["market", "tech", "legal"])]
        assert branches.start_s.max() < branches.end_s.min()
        # so the run took about one branch plus the join, far less than the sum
        assert result.state.elapsed_s < 3 * 0.1
        # the join saw every branch's output
        to_lead = next(m for m in result.state.messages if m.kind == "directive" and m.recipient == "lead")
        assert all(f"{name}: looks fine" in to_lead.payload for name in ("market", "tech", "legal"))
        print("checks passed")
        """
    ),
    md(
        """
        The `concurrency` limit caps how many tasks run at once. With `concurrency=1` the
        same plan runs one task after another.
        """
    ),
    code(
        """
        serial = await Orchestrator([*analysts, lead], seed=3, concurrency=1).run("Should we buy Acme Notes?", plan)
        print(f"concurrency=1: {serial.state.elapsed_s:.3f} s   concurrency=16: {result.state.elapsed_s:.3f} s")
        assert serial.state.elapsed_s >= 0.95 * (3 * 0.1 + 0.02)
        assert serial.output == result.output  # same answer, only slower
        """
    ),
    md(
        """
        ## Scatter-gather

        Eight batches of customer reviews, one `sentiment` task per batch, then a
        `summarizer` combines them. Each map task's chunk index is in its `meta`.
        """
    ),
    code(
        """
        batches = [f"batch {i}: reviews {10 * i}-{10 * i + 9}" for i in range(8)]
        sentiment = MockAgent("sentiment", "scores the sentiment of reviews", reply="{prompt} -> mostly positive",
                              latency=0.05)
        summarizer = MockAgent("summarizer", "combines results", reply="{context}", latency=0.01)
        sg_plan = scatter_gather(batches, mapper="sentiment", reducer="summarizer", name="reviews")
        print([t.id for t in sg_plan.tasks])
        sg = await Orchestrator([sentiment, summarizer], seed=3, concurrency=4).run("How do customers feel?", sg_plan)
        print(sg.status, f"{sg.state.elapsed_s:.3f} s")
        """
    ),
    code(
        """
        def max_overlap(timeline):
            "The largest number of agent calls in progress at the same moment."
            edges = sorted([(s, 1) for s in timeline.start_s] + [(e, -1) for e in timeline.end_s])
            running = peak = 0
            for _, step in edges:
                running += step
                peak = max(peak, running)
            return peak

        sg_tl = sg.timeline()
        maps = sg_tl[sg_tl.agent == "sentiment"]
        print("calls at once, at most:", max_overlap(maps))
        assert len(maps) == 8
        assert max_overlap(maps) <= 4                         # the concurrency limit held
        to_reducer = next(m for m in sg.state.messages if m.kind == "directive" and m.recipient == "summarizer")
        assert all(b in to_reducer.payload for b in batches)  # the reducer got every chunk's result
        print("checks passed")
        """
    ),
    md(
        """
        The same run as a Gantt chart: one bar per agent call. You can see the two waves of
        four and the reducer waiting for the last chunk.
        """
    ),
    code(
        """
        from toolkit.widgets import GanttView

        gantt = GanttView.from_result(sg, title="8 chunks, 4 at a time")
        assert gantt.state.tasks["reduce"].status == "done"
        gantt
        """
    ),
    *exercise(
        """
        Six batches of 0.1 s each with `concurrency=2`. **Predict** the wall time first,
        then run it and check your prediction with an `assert`. What changes with
        `concurrency=3`? With `concurrency=6`?
        """
    ),
    solution(),
    code(
        """
        slow = MockAgent("sentiment", reply="{prompt}: ok", latency=0.1)
        six = scatter_gather([f"batch {i}" for i in range(6)], mapper="sentiment", reducer="summarizer")
        times = {}
        for limit in (2, 3, 6):
            run = await Orchestrator([slow, summarizer], seed=3, concurrency=limit).run("feelings?", six)
            times[limit] = run.state.elapsed_s
        print({k: round(v, 3) for k, v in times.items()})
        # 6 tasks, 2 at a time: 3 waves of 0.1 s (plus the 0.01 s reducer)
        assert 0.3 * 0.95 <= times[2] < 0.3 + 0.2
        assert times[6] < times[3] < times[2]
        """
    ),
]

# ---------------------------------------------------------------------------------
# 04 Planning
# ---------------------------------------------------------------------------------
NB04: list[Cell] = [
    md(
        """
        # 4. Planning: from a request to a plan

        So far we wrote plans by hand. A **planner** writes the plan for us from the
        request and the agents' descriptions and skills: *orchestrator-led
        decomposition*. A planner is any object with a `name` and an async
        `plan(request, agents) -> Plan`; when you call `orch.run(request)` without a plan,
        the orchestrator asks its planner.

        `RuleBasedPlanner` needs no model: every agent whose skill (or name) appears in
        the request gets a task, in the order the request mentions them, chained as a
        pipeline - or side by side when the request says "in parallel".
        """
    ),
    code(
        """
        import os

        from toolkit import MockAgent, Orchestrator, Plan, PlanError, RuleBasedPlanner, Task

        agents = [
            MockAgent("researcher", "finds facts", skills=["research"], reply="facts about {summary}", latency=0.02),
            MockAgent("writer", "writes drafts", skills=["write", "draft"], reply="draft from ({prompt})", latency=0.02),
            MockAgent("editor", "edits text", skills=["edit", "proofread"], reply="edited: {prompt}", latency=0.02),
            MockAgent("translator", "translates text", skills=["translate"], reply="traduit: {prompt}", latency=0.02),
        ]
        planner = RuleBasedPlanner()
        request = "Research electric bikes, write a short article and edit it"
        plan = await planner.plan(request, agents)
        for t in plan.tasks:
            print(f"{t.id:12} {t.agent:10} goal={t.goal!r}  depends_on={t.all_dependencies()}")
        """
    ),
    code(
        """
        assert [t.agent for t in plan.tasks] == ["researcher", "writer", "editor"]
        assert plan.tasks[2].all_dependencies() == [plan.tasks[1].id]  # a pipeline
        # order follows the request, not the list of agents
        reordered = await planner.plan("Translate this and then proofread it", agents)
        assert [t.agent for t in reordered.tasks] == ["translator", "editor"]
        # "in parallel" makes independent tasks
        side = await planner.plan("In parallel: research the market and translate the brief", agents)
        assert all(not t.all_dependencies() for t in side.tasks)
        print("checks passed")
        """
    ),
    md(
        """
        Give the orchestrator a planner and just a request: the plan becomes the first
        event of the run (`plan_created`), with the planner's name, so a view can show the
        plan before any task starts.
        """
    ),
    code(
        """
        orch = Orchestrator(agents, planner=planner, seed=5)
        result = await orch.run(request)
        created = next(e for e in result.events if e.kind == "plan_created")
        print(created.planner, [t["id"] for t in created.plan["tasks"]])
        print(result.output)
        assert created.planner == "rule-based"
        assert result.status == "succeeded"
        """
    ),
    md(
        """
        The plan as a graph: tasks are boxes coloured by status, arrows are dependencies.
        """
    ),
    code(
        """
        from toolkit.widgets import PlanView

        plan_view = PlanView.from_result(result, title="the rule-based plan")
        assert list(plan_view.state.tasks) == [t.id for t in plan.tasks]
        plan_view
        """
    ),
    md(
        """
        Plans are checked before anything runs. A plan naming an unknown agent, a missing
        dependency or a cycle raises `PlanError`, listing every problem with where it is.
        """
    ),
    code(
        """
        broken = Plan(tasks=[
            Task(id="a", agent="researcher", prompt="{{b}}"),
            Task(id="b", agent="illustrator", prompt="{{a}}"),
        ])
        try:
            orch.prepare("x", broken)
        except PlanError as exc:
            problems = exc.problems
        for p in problems:
            print("-", p)
        assert any("illustrator" in p for p in problems) and any("cycle" in p for p in problems)
        """
    ),
    md(
        """
        ## Your own planner

        A planner is small. This one wraps the rule-based planner and appends an `editor`
        task to any plan that lacks one: a house rule ("everything is edited") written
        once, in the planner, instead of in every plan.
        """
    ),
    code(
        """
        class AlwaysEditPlanner:
            name = "always-edit"

            async def plan(self, request, agents):
                plan = await RuleBasedPlanner().plan(request, agents)
                if not any(t.agent == "editor" for t in plan.tasks):
                    last = plan.sinks()[-1]
                    plan.tasks.append(Task(id="edit", agent="editor", goal="edit the result",
                                           prompt="{{" + last + "}}"))
                    plan.synthesize = "last"
                return plan

        edited = await Orchestrator(agents, planner=AlwaysEditPlanner(), seed=5).run("Translate the release notes")
        print([t for t in edited.state.tasks], "->", edited.output)
        assert list(edited.state.tasks)[-1] == "edit" and edited.output.startswith("edited:")
        """
    ),
    md(
        """
        ## An LLM planner (only with an endpoint)

        With a model, the planner can decompose requests no keyword rule would catch. The
        LLM planner has the same interface; it talks to any OpenAI-compatible endpoint
        (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio). It runs only if you set
        `OPENAI_BASE_URL` (and `OPENAI_API_KEY`, unless the server runs on localhost) before
        starting Jupyter, and `SWITCHBOARD_MODEL` to the model's name (default
        `gpt-4o-mini`). For example, with Ollama:

        ```bash
        OPENAI_BASE_URL=http://localhost:11434/v1 SWITCHBOARD_MODEL=llama3.2 .venv/bin/jupyter lab notebooks/
        ```

        Without an endpoint the cell says so and the workshop goes on with the rule-based
        planner.
        """
    ),
    code(
        """
        endpoint = os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")
        if not endpoint:
            print("No LLM endpoint configured: using the rule-based planner (set OPENAI_BASE_URL to try an LLM).")
        else:
            try:
                from toolkit.llm import LLMPlanner
            except ImportError:
                print("toolkit.llm is not available in this installation: using the rule-based planner.")
            else:
                llm_planner = LLMPlanner(model=os.environ.get("SWITCHBOARD_MODEL", "gpt-4o-mini"))
                llm_plan = await llm_planner.plan("Compare electric bikes and e-scooters for commuting, "
                                                  "then write a short article and proofread it", agents)
                for t in llm_plan.tasks:
                    print(f"{t.id:14} {t.agent:10} depends_on={t.all_dependencies()}  goal={t.goal!r}")
                llm_plan.validate_for(a.name for a in agents)  # the planner only returns plans that pass
                # the planned run uses the mock agents: only the planning costs tokens
                llm_run = await Orchestrator(agents, planner=llm_planner, seed=5).run("Write a short article on electric bikes and proofread it")
                print(llm_run.status, "-", llm_run.state.planner, "planned", list(llm_run.state.tasks))
                assert llm_run.status == "succeeded"
        """
    ),
    *exercise(
        """
        Write a `CompareResearchPlanner`. For a request like
        `"compare: bikes, scooters, buses"` it makes one `researcher` task per item
        (ids `research-bikes`, ...), all independent, and a final `writer` task that
        depends on all of them. Run it and check that the research tasks overlapped in time
        and that the writer's prompt mentioned every item.
        """
    ),
    solution(),
    code(
        """
        class CompareResearchPlanner:
            name = "compare-research"

            async def plan(self, request, agents):
                items = [item.strip() for item in request.split(":", 1)[1].split(",")]
                research = [Task(id=f"research-{item}", agent="researcher", goal=f"research {item}", prompt=item)
                            for item in items]
                joined = "\\n".join("{{" + t.id + "}}" for t in research)
                return Plan(name="compare", tasks=[*research,
                            Task(id="write", agent="writer", goal="compare them", prompt=joined)])

        cmp_run = await Orchestrator(agents, planner=CompareResearchPlanner(), seed=5).run("compare: bikes, scooters, buses")
        tl = cmp_run.timeline()
        research = tl[tl.task.str.startswith("research-")]
        assert len(research) == 3 and research.start_s.max() < research.end_s.min()
        to_writer = next(m for m in cmp_run.state.messages if m.kind == "directive" and m.recipient == "writer")
        assert all(item in to_writer.payload for item in ("bikes", "scooters", "buses"))
        cmp_run.output
        """
    ),
]

# ---------------------------------------------------------------------------------
# 05 Review loops and conflicts
# ---------------------------------------------------------------------------------
NB05: list[Cell] = [
    md(
        """
        # 5. Review loops, and resolving conflicts between agents

        **Review loop**: a worker drafts, a reviewer judges; the worker revises with the
        reviewer's feedback until the reviewer approves or `max_rounds` is reached. The
        reviewer approves by answering with `APPROVED` (or a JSON object with
        `"approved": true`). A task gets a loop through its `review` field;
        `review_loop(worker, reviewer)` builds a one-task plan with one.
        """
    ),
    code(
        """
        from collections import Counter

        from toolkit import FunctionAgent, MockAgent, Orchestrator, Plan, Task, parallel, review_loop

        developer = MockAgent("developer", "writes code", reply="def mean(xs): ...  # version {round}", latency=0.02)
        reviewer = MockAgent("reviewer", "reviews code", reply=["Needs a test for the empty list.", "APPROVED, thanks"],
                             latency=0.01)
        orch = Orchestrator([developer, reviewer], seed=11)
        plan = review_loop("developer", "reviewer", goal="write mean()", max_rounds=3)
        result = await orch.run("Write a mean() function", plan)
        task = result.state.tasks["work"]
        print("rounds:", task.round, "verdicts:", task.verdicts)
        print("answer:", result.output)
        """
    ),
    code(
        """
        for m in result.state.messages:
            print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:70]!r}")
        """
    ),
    code(
        """
        # The loop took 2 rounds: rejected once, then approved
        assert task.round == 2
        assert [(r, ok) for r, ok, _ in task.verdicts] == [(1, False), (2, True)]
        assert result.output.endswith("version 2")
        # the developer's second directive carried the reviewer's feedback
        to_dev = [m for m in result.state.messages if m.kind == "directive" and m.recipient == "developer"]
        assert len(to_dev) == 2 and "Needs a test for the empty list." in to_dev[1].payload
        print("checks passed")
        """
    ),
    md(
        """
        Replay the loop event by event: the slider and the play button move through the
        run; in code, `seek(n)` shows the state after the first `n` events.
        """
    ),
    code(
        """
        from toolkit.widgets import RunView

        replay = RunView.from_result(result, title="review loop", parts=["controls", "flow", "plan"])
        first_verdict = next(i for i, e in enumerate(result.events) if e.kind == "review_verdict")
        replay.seek(first_verdict + 1)  # just after the first verdict: rejected, round 2 not started
        assert replay.state.tasks["work"].verdicts == [task.verdicts[0]]
        replay
        """
    ),
    md(
        """
        A reviewer that never approves does not loop forever: after `max_rounds` the last
        draft stands. The run still succeeds, so check the verdicts when approval matters.
        """
    ),
    code(
        """
        picky = MockAgent("picky", reply="Not good enough.")
        stubborn = await Orchestrator([developer, picky], seed=11).run(
            "Write a mean() function", review_loop("developer", "picky", max_rounds=2))
        t = stubborn.state.tasks["work"]
        print(stubborn.status, t.round, t.verdicts)
        assert stubborn.status == "succeeded" and t.round == 2
        assert not any(ok for _, ok, _ in t.verdicts)
        """
    ),
    md(
        """
        ## Conflicts between agents

        Ask several agents the same question and they may disagree. Three common ways to
        settle it:

        1. **Vote**: a synthesizer takes the majority answer.
        2. **Weigh**: each agent reports a confidence; the answer with the most total
           confidence wins.
        3. **A judge**: one more agent gets every position and decides.

        A **synthesizer** is the orchestrator's last step: an async function
        `(request, plan, results, session) -> answer`. Here is a vote.
        """
    ),
    code(
        """
        ticket = "App crashes when I paste an image into a note"
        triagers = [MockAgent("triager_a", reply="bug", latency=0.01),
                    MockAgent("triager_b", reply="bug", latency=0.01),
                    MockAgent("triager_c", reply="feature request", latency=0.01)]

        async def majority_vote(request, plan, results, session):
            votes = Counter(str(v).strip() for v in results.values())
            winner, count = votes.most_common(1)[0]
            session.log(f"vote {dict(votes)} -> {winner}")
            return {"label": winner, "votes": dict(votes)}

        voting = Orchestrator(triagers, synthesizer=majority_vote, seed=11)
        vote = await voting.run(ticket, parallel("triager_a", "triager_b", "triager_c"))
        print(vote.output)
        assert vote.output["label"] == "bug" and vote.output["votes"] == {"bug": 2, "feature request": 1}
        assert any("vote" in message for _, _, message in vote.state.logs)  # the decision is in the trace
        """
    ),
    md(
        """
        **Weighing by confidence, with a judge agent.** Each triager answers a JSON object
        with a label and a confidence (`output_format="json"` makes the orchestrator check
        that every answer is JSON). The judge is a
        `FunctionAgent`; the join task's `directive.context` holds the results of the
        tasks it depends on.
        """
    ),
    code(
        """
        confident = [
            # a script (a list) replies with its items as they are: here JSON objects
            MockAgent("triager_a", reply=[{"label": "bug", "confidence": 0.4}], latency=0.01),
            MockAgent("triager_b", reply=[{"label": "bug", "confidence": 0.3}], latency=0.01),
            MockAgent("triager_c", reply=[{"label": "security", "confidence": 0.9}], latency=0.01),
        ]

        def judge(directive):
            "Picks the label with the most total confidence."
            weight = Counter()
            for answer in directive.context.values():
                weight[answer["label"]] += answer["confidence"]
            label, total = weight.most_common(1)[0]
            return {"label": label, "weights": dict(weight)}

        judged = await Orchestrator([*confident, FunctionAgent(judge)], seed=11).run(
            ticket, parallel("triager_a", "triager_b", "triager_c", join="judge", output_format="json"))
        print(judged.output)
        assert judged.output["label"] == "security"  # one confident agent outweighs two unsure ones
        """
    ),
    *exercise(
        """
        Four triagers, and the vote is tied 2-2. Write a synthesizer `vote_with_senior`
        that takes the majority, but breaks a tie with the answer of `senior` (one of the
        four). Check it picks the senior's answer on a tie, and the majority otherwise.
        """
    ),
    solution(),
    code(
        """
        async def vote_with_senior(request, plan, results, session):
            by_agent = {plan.task(task_id).agent: str(out) for task_id, out in results.items()}
            counts = Counter(by_agent.values()).most_common()
            tied = len(counts) > 1 and counts[0][1] == counts[1][1]
            return by_agent["senior"] if tied else counts[0][0]

        async def triage(replies):
            team = [MockAgent(name, reply=answer) for name, answer in replies.items()]
            plan = parallel(*replies)
            return (await Orchestrator(team, synthesizer=vote_with_senior).run(ticket, plan)).output

        assert await triage({"senior": "security", "a": "bug", "b": "bug", "c": "security"}) == "security"
        assert await triage({"senior": "feature", "a": "bug", "b": "bug", "c": "bug"}) == "bug"
        print("checks passed")
        """
    ),
]

# ---------------------------------------------------------------------------------
# 06 Failures
# ---------------------------------------------------------------------------------
NB06: list[Cell] = [
    md(
        """
        # 6. Failures: timeouts, retries and backup agents

        Real agents fail: a model times out, an API returns an error, an answer is not the
        JSON you asked for. The orchestrator handles this per task, with fields of `Task`:

        | field | what it does |
        |---|---|
        | `timeout_s` | time limit of one attempt |
        | `retries`, `backoff_s` | extra attempts, waiting `backoff_s`, then twice as long, ... |
        | `fallback` | a backup agent that gets one last attempt when the retries are used up |
        | `output_format="json"` | output that is not valid JSON counts as a failure |

        A task that fails for good **skips the tasks that depend on it**; independent
        branches go on. Every attempt, retry and skip is a trace event.

        `FailureSpec` injects failures into mock agents: `fail_attempts=[1]` (the first
        attempt always fails), or rates of `exception`, `hang` and `malformed` replies.
        """
    ),
    code(
        """
        from toolkit import FailureSpec, FunctionAgent, MockAgent, Orchestrator, Plan, Task

        flaky = MockAgent("flaky", "fails its first attempt", reply="translated on attempt {attempt}",
                          latency=0.01, failures=FailureSpec(fail_attempts=[1]))
        orch = Orchestrator([flaky], seed=1)
        plan = Plan(tasks=[Task(id="translate", agent="flaky", prompt="{{input}}", retries=2, backoff_s=0.01)])
        result = await orch.run("Bonjour", plan)
        for e in result.events:
            if e.kind.startswith("task_"):
                print(e.kind, getattr(e, "attempt", ""), getattr(e, "error", "") or getattr(e, "reason", ""))
        print("->", result.output)
        """
    ),
    code(
        """
        retried = [e for e in result.events if e.kind == "task_retried"]
        assert len(retried) == 1 and retried[0].attempt == 2 and retried[0].delay_s == 0.01
        assert result.status == "succeeded" and result.output == "translated on attempt 2"
        print("checks passed")
        """
    ),
    md(
        """
        ## Timeouts and a backup agent

        `primary` hangs (it never answers). The attempt's `timeout_s` ends it, and as it
        has no retries left, the `fallback` agent gets the task.
        """
    ),
    code(
        """
        primary = MockAgent("primary", "the big model", reply="primary answer", failures=FailureSpec(hang=1.0))
        backup = MockAgent("backup", "a small, reliable model", reply="backup answer", latency=0.01)
        rescue_plan = Plan(tasks=[Task(id="answer", agent="primary", prompt="{{input}}", timeout_s=0.1,
                                       fallback="backup")])
        rescued = await Orchestrator([primary, backup], seed=1).run("What is 2 + 2?", rescue_plan)
        for e in rescued.events:
            if e.kind in ("task_started", "task_failed", "task_retried", "task_finished"):
                print(f"{e.kind:14} agent={e.agent:8} {getattr(e, 'error_type', '')} {getattr(e, 'error', '')}")
        """
    ),
    code(
        """
        failed = next(e for e in rescued.events if e.kind == "task_failed")
        finished = next(e for e in rescued.events if e.kind == "task_finished")
        assert failed.agent == "primary" and failed.error_type == "timeout" and not failed.final
        assert finished.agent == "backup" and rescued.output == "backup answer"   # the backup produced the output
        assert rescued.state.tasks["answer"].fallback_used
        assert rescued.state.elapsed_s < 1.0   # the hang cost one timeout, not forever
        print("checks passed")
        """
    ),
    md(
        """
        Watch it live: the primary's lane turns red when its attempt times out, then the
        backup takes the task.
        """
    ),
    code(
        """
        from toolkit.widgets import RunView

        view = RunView(title="a timeout, then the backup")
        await Orchestrator([primary, backup], seed=1).run("What is 2 + 2?", rescue_plan, sinks=[view])
        assert view.state.tasks["answer"].fallback_used and view.state.agents["primary"].failed == 1
        view
        """
    ),
    md(
        """
        ## When a task fails for good

        Its dependents are skipped; tasks that don't need it still run. The run's status is
        `failed` and its error names the failed tasks, but you keep every result that was
        produced.
        """
    ),
    code(
        """
        broken = MockAgent("broken", reply="never", failures=FailureSpec(exception=1.0, message="service unavailable"))
        fine = MockAgent("fine", reply="ok: {summary}", latency=0.01)
        plan = Plan(tasks=[
            Task(id="fetch", agent="broken", goal="fetch data", retries=1),
            Task(id="analyse", agent="fine", goal="analyse", prompt="{{fetch}}"),
            Task(id="report", agent="fine", goal="report", prompt="{{analyse}}"),
            Task(id="weather", agent="fine", goal="check the weather"),
        ], synthesize="all")
        partial = await Orchestrator([broken, fine], seed=1).run("daily report", plan)
        print(partial.status, "-", partial.error)
        print({t.id: t.status for t in partial.state.tasks.values()})
        """
    ),
    code(
        """
        statuses = {t.id: t.status for t in partial.state.tasks.values()}
        assert statuses == {"fetch": "failed", "analyse": "skipped", "report": "skipped", "weather": "done"}
        assert partial.status == "failed" and "fetch" in partial.error
        assert partial.results == {"weather": "ok: check the weather"}
        print("checks passed")
        """
    ),
    md(
        """
        Malformed output is a failure too, when you ask for JSON: here the agent returns
        broken JSON on its first attempt, the orchestrator rejects it and retries.
        """
    ),
    code(
        """
        def parse_or_retry(directive):
            "Returns broken JSON on the first attempt, valid JSON afterwards."
            return '{"total": ' if directive.attempt == 1 else '{"total": 42}'

        json_plan = Plan(tasks=[Task(id="sum", agent="parse_or_retry", output_format="json", retries=1)])
        parsed = await Orchestrator([FunctionAgent(parse_or_retry)]).run("add it up", json_plan)
        first_failure = next(e for e in parsed.events if e.kind == "task_failed")
        print(first_failure.error_type, "-", first_failure.error)
        assert first_failure.error_type == "malformed" and parsed.output == {"total": 42}
        """
    ),
    md(
        """
        ## Putting it together: a feature with a crashing developer

        `sample_agents.scenarios` has the classic scenarios ready to run. In
        `feature_review` the developer crashes twice (one retry, then its backup takes
        over), the backup's first draft is sent back by the reviewer, the second is
        approved, and a tester runs last. `speed=0.05` shrinks every latency so the run
        takes a fraction of a second.
        """
    ),
    code(
        """
        from sample_agents.scenarios import feature_review

        fr_orch, fr_plan, fr_request = feature_review(speed=0.05)
        feature = await fr_orch.run(fr_request, fr_plan)
        implement = feature.state.tasks["implement"]
        for e in feature.events:
            if e.kind in ("task_started", "task_failed", "task_retried", "review_verdict", "task_finished"):
                print(f"{e.kind:15} {getattr(e, 'task_id', ''):10} {getattr(e, 'agent', getattr(e, 'reviewer', '')):11}"
                      f" {getattr(e, 'error', '') or getattr(e, 'feedback', '')}")
        """
    ),
    code(
        """
        assert feature.status == "succeeded"
        assert implement.retries == 2 and implement.fallback_used        # one retry, then the backup
        assert [ok for _, ok, _ in implement.verdicts] == [False, True]  # approved in round 2
        finished = {e.task_id: e.agent for e in feature.events if e.kind == "task_finished"}
        assert finished == {"implement": "backup-dev", "test": "tester"}
        print("checks passed")
        """
    ),
    *exercise(
        """
        `translator` fails half of its attempts (`FailureSpec(exception=0.5)`, seeded).
        With `retries=0` the task below fails. Change the **task** (not the agent) so that
        the run succeeds: pick a number of retries, and add the `dictionary` agent as a
        backup. Check that the run succeeded, and count how many attempts it took.
        """
    ),
    code(
        """
        translator = MockAgent("translator", reply="hello", latency=0.01, failures=FailureSpec(exception=0.5))
        dictionary = MockAgent("dictionary", "word-by-word, always works", reply="hello (word by word)")
        team = Orchestrator([translator, dictionary], seed=21)
        first_try = await team.run("bonjour", Plan(tasks=[Task(id="t", agent="translator", prompt="{{input}}")]))
        print(first_try.status, first_try.error)
        assert first_try.status == "failed"
        """
    ),
    solution(),
    code(
        """
        robust = Plan(tasks=[Task(id="t", agent="translator", prompt="{{input}}", retries=3, fallback="dictionary")])
        second_try = await team.run("bonjour", robust)
        attempts = [(e.attempt, e.agent) for e in second_try.events if e.kind == "task_started"]
        print(second_try.status, repr(second_try.output), "attempts:", attempts)
        assert second_try.status == "succeeded"
        # with seed 21 the translator loses all four coin flips: the backup saves the run
        assert second_try.state.tasks["t"].fallback_used and attempts[-1] == (5, "dictionary")
        """
    ),
]

# ---------------------------------------------------------------------------------
# 07 Message bus
# ---------------------------------------------------------------------------------
NB07: list[Cell] = [
    md(
        """
        # 7. The message bus: agents talking to each other

        So far every message went through the orchestrator: `directive` out, `result` (or
        `error`) back. Agents can also message each other directly on the run's **message
        bus**, through `directive.session`:

        - `await session.send(recipient, payload)`: one agent to another (`a2a`);
        - `await session.broadcast(payload)`: to every participant;
        - `session.inbox()` takes the waiting messages, `await session.receive(timeout_s)`
          waits for the next one.

        Every delivery is a traced `message_sent` event with an **envelope** naming the
        sender and the recipient, so the conversation is recorded, never guessed.
        """
    ),
    code(
        """
        import pandas as pd

        from toolkit import FunctionAgent, MockAgent, Orchestrator, Plan, Task

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
        plan = Plan(tasks=[Task(id="scout", agent="scout", goal="find a fact"),
                           Task(id="write", agent="writer", goal="write the post")], synthesize="all")
        result = await orch.run("Post about offline notes", plan)
        print(result.output)
        """
    ),
    code(
        """
        messages = pd.DataFrame([{"sender": m.sender, "recipient": m.recipient, "kind": m.kind,
                                  "task": m.task_id, "payload": m.payload} for m in result.state.messages])
        messages
        """
    ),
    code(
        """
        a2a = [m for m in result.state.messages if m.kind == "a2a"]
        assert len(a2a) == 1
        assert (a2a[0].sender, a2a[0].recipient) == ("scout", "writer")
        assert a2a[0].payload == {"fact": "73% of users write notes offline"}
        assert "73% of users" in result.results["write"]
        # the fold counts it: one message out for the scout beyond its result, one in for the writer
        print({name: (a.messages_out, a.messages_in) for name, a in result.state.agents.items()})
        print("checks passed")
        """
    ),
    md(
        """
        In the flow diagram the a2a message is the arrow that goes from one agent's lane to
        another's without passing through the orchestrator.
        """
    ),
    code(
        """
        from toolkit.widgets import FlowView

        flow = FlowView.from_result(result, title="scout and writer")
        assert any(m.kind == "a2a" and (m.sender, m.recipient) == ("scout", "writer") for m in flow.state.messages)
        flow
        """
    ),
    md(
        """
        ## Broadcasts

        A coordinator announces a change to everyone. The envelope's recipient is `*`; each
        participant finds the message in its inbox. Here the two workers depend on the
        coordinator, so they start after the broadcast and read their inbox first.
        """
    ),
    code(
        """
        async def coordinator(directive):
            await directive.session.broadcast("deadline moved to Friday")
            return "announced"

        def make_worker(name):
            async def work(directive):
                news = [m.payload for m in directive.session.inbox()]
                return f"{name} planned with {news}"
            return FunctionAgent(work, name=name)

        team = Orchestrator([FunctionAgent(coordinator), make_worker("design"), make_worker("build")], seed=2)
        week = Plan(tasks=[
            Task(id="announce", agent="coordinator"),
            Task(id="design", agent="design", depends_on=["announce"]),
            Task(id="build", agent="build", depends_on=["announce"]),
        ], synthesize="all")
        news = await team.run("plan the week", week)
        print(news.output)
        broadcast = next(m for m in news.state.messages if m.kind == "broadcast")
        assert broadcast.sender == "coordinator" and broadcast.recipient == "*"
        assert all("deadline moved to Friday" in news.results[t] for t in ("design", "build"))
        """
    ),
    md(
        """
        The orchestrator is a participant on the bus as well: a broadcast also lands in its
        mailbox, and an agent can `send("orchestrator", ...)` to report progress.
        """
    ),
    *exercise(
        """
        Change the `writer` so that, after using the fact, it sends a thank-you message
        back to the `scout` (`"thanks!"`). Run the scout/writer plan again and check that
        the trace has **two** a2a messages, the second from `writer` to `scout`.
        """
    ),
    solution(),
    code(
        """
        async def polite_writer(directive):
            message = await directive.session.receive(timeout_s=2)
            await directive.session.send(message.sender, "thanks!")
            return f"post citing '{message.payload['fact']}'"

        polite = Orchestrator([FunctionAgent(scout), FunctionAgent(polite_writer, name="writer")], seed=2)
        again = await polite.run("Post about offline notes", plan)
        a2a = [(m.sender, m.recipient, m.payload) for m in again.state.messages if m.kind == "a2a"]
        print(a2a)
        assert len(a2a) == 2 and a2a[1] == ("writer", "scout", "thanks!")
        """
    ),
]

# ---------------------------------------------------------------------------------
# 08 Metrics
# ---------------------------------------------------------------------------------
NB08: list[Cell] = [
    md(
        """
        # 8. Reading the metrics with pandas: the bottleneck and the cost

        Every run can be **recorded**: `trace="run.jsonl"` writes each event as one JSON
        line; `store="runs.db"` keeps runs in a SQLite store. A recording replays into the
        same state and the same numbers as the live run, so you can analyse a run after
        the fact - yours, or one a colleague sends you.

        `toolkit.metrics` turns events into pandas DataFrames:

        - `agent_metrics`: one row per agent: tasks, failures, retries, mean and p95
          latency, messages, tokens, cost;
        - `task_metrics`: one row per task: status, attempts, rounds, start, end, duration;
        - `timeline`: one row per agent call (a Gantt chart).
        """
    ),
    code(
        """
        from pathlib import Path

        from toolkit import LatencySpec, MockAgent, Orchestrator, RunStore, scatter_gather
        from toolkit.metrics import agent_metrics, task_metrics, timeline
        from toolkit.recorder import read_trace

        # A report over 6 sections: a splitter, one analysis per section, an editor that combines them.
        splitter = MockAgent("splitter", "splits the report", reply="6 sections", latency=0.01,
                             price_per_1k_tokens=0.1)
        analyst = MockAgent("analyst", "analyses one section in depth",
                            reply="analysis of {prompt}: revenue grew, costs grew faster, churn is flat",
                            latency=LatencySpec(dist="lognormal", mean=0.12, spread=0.2),
                            price_per_1k_tokens=3.0)
        editor = MockAgent("editor", "combines analyses", reply="report: {context}", latency=0.03,
                           price_per_1k_tokens=0.5)
        orch = Orchestrator([splitter, analyst, editor], seed=8, concurrency=3)
        sections = [f"section {i}" for i in range(1, 7)]
        plan = scatter_gather(sections, mapper="analyst", reducer="editor", split="splitter", name="quarterly")

        for path in ("run.jsonl", "runs.db"):
            Path(path).unlink(missing_ok=True)
        live = await orch.run("Analyse the quarterly report", plan, trace="run.jsonl", store="runs.db")
        print(live.status, f"{live.state.elapsed_s:.3f} s", Path("run.jsonl").stat().st_size, "bytes of trace")
        """
    ),
    md(
        """
        Read the trace back. `read_trace` never drops a line silently: a corrupt line is
        skipped and reported in `problems`.
        """
    ),
    code(
        """
        trace = read_trace("run.jsonl")
        print(len(trace.events), "events,", len(trace.problems), "problems")
        assert trace.problems == [] and len(trace.events) == len(live.events)

        agents = agent_metrics(trace.events)
        agents
        """
    ),
    md(
        """
        ## The bottleneck

        The agent with the highest p95 latency is where a run waits. Sort by `p95_s`:
        """
    ),
    code(
        """
        by_latency = agents.sort_values("p95_s", ascending=False)
        bottleneck = by_latency.iloc[0].agent
        print("bottleneck:", bottleneck, f"p95 {by_latency.iloc[0].p95_s:.3f} s")
        by_latency[["agent", "tasks", "mean_s", "p95_s"]]
        """
    ),
    md(
        """
        Per-agent latency says who is slow; the timeline says when the run waited. With
        `concurrency=3`, the six analyses ran in two waves:
        """
    ),
    code(
        """
        tl = timeline(trace.events)
        width = 50 / tl.end_s.max()
        for row in tl.itertuples():
            bar = " " * int(row.start_s * width) + "#" * max(1, int(row.duration_s * width))
            print(f"{row.agent:9} {row.task:9} |{bar}")
        tasks = task_metrics(trace.events)
        tasks[["task", "agent", "status", "start_s", "duration_s"]]
        """
    ),
    md(
        """
        ## The cost

        Mock agents count the words of prompt and reply as tokens and charge
        `price_per_1k_tokens`. Which agent costs the most, and what is it per task?
        """
    ),
    code(
        """
        agents["cost_per_task"] = agents.cost_usd / agents.tasks
        costs = agents.sort_values("cost_usd", ascending=False)[["agent", "tasks", "tokens_in", "tokens_out",
                                                                  "cost_usd", "cost_per_task"]]
        total = agents.cost_usd.sum()
        print(f"total ${total:.5f}; {costs.iloc[0].agent} is {costs.iloc[0].cost_usd / total:.0%} of it")
        costs
        """
    ),
    code(
        """
        # What the metrics taught
        assert bottleneck == "analyst"                       # the agent we gave the highest latency
        assert costs.iloc[0].agent == "analyst"              # and the highest price
        assert abs(total - live.state.cost_usd) < 1e-6       # the per-agent costs add up to the run's cost
        assert agents.set_index("agent").loc["analyst", "tasks"] == 6
        # the recorded run gives the same numbers as the live one
        assert agent_metrics(live.events).equals(agent_metrics(trace.events))
        print("checks passed")
        """
    ),
    md(
        """
        The SQLite store keeps every run; list them and load one back.
        """
    ),
    code(
        """
        store = RunStore("runs.db")
        for info in store.runs():
            print(info)
        stored = store.events(store.latest())
        assert [e.kind for e in stored] == [e.kind for e in live.events]
        assert agent_metrics(stored).equals(agents.drop(columns="cost_per_task"))
        store.disconnect()
        """
    ),
    md(
        """
        ## Sharing a run

        A recorded run replays into the same dashboard as a live one. `to_html` writes it as
        one self-contained page that opens in any browser, with no kernel: attach it to a
        bug report or send it to a colleague.
        """
    ),
    code(
        """
        from toolkit.widgets import RunView

        report = RunView.from_trace("run.jsonl", title="quarterly report")
        assert report.problems == [] and report.state.status == "succeeded"
        report.to_html("run.html")
        assert Path("run.html").stat().st_size > 0
        report
        """
    ),
    md(
        """
        The same numbers from the command line, for a trace anyone sends you:
        `switchboard metrics run.jsonl` prints this table, `switchboard replay run.jsonl`
        the message flow, and `switchboard tui run.jsonl` opens the recorded run in the
        terminal app. (Below, `python -m toolkit.cli` is the `switchboard` command, called
        with the notebook's own interpreter.)
        """
    ),
    code(
        """
        import subprocess
        import sys

        cli = subprocess.run([sys.executable, "-m", "toolkit.cli", "metrics", "run.jsonl"],
                             capture_output=True, text=True, check=False)
        print(cli.stdout)
        assert cli.returncode == 0 and "analyst" in cli.stdout
        """
    ),
    *exercise(
        """
        The analyst is the bottleneck, and it runs in two waves of three. Raise the
        concurrency so all six sections are analysed at once, record the run to
        `run2.jsonl`, and use the metrics to check that:

        - the run got faster (compare wall times);
        - the cost did **not** change (parallelism buys time, not tokens);
        - the analyst is still the agent with the highest p95.
        """
    ),
    solution(),
    code(
        """
        wide = Orchestrator([splitter, analyst, editor], seed=8, concurrency=6)
        Path("run2.jsonl").unlink(missing_ok=True)
        fast = await wide.run("Analyse the quarterly report", plan, trace="run2.jsonl")
        fast_events = read_trace("run2.jsonl").events
        m2 = agent_metrics(fast_events)
        print(f"wall {live.state.elapsed_s:.3f} s -> {fast.state.elapsed_s:.3f} s; "
              f"cost ${total:.5f} -> ${m2.cost_usd.sum():.5f}")
        assert fast.state.elapsed_s < live.state.elapsed_s
        assert abs(m2.cost_usd.sum() - total) < 1e-9
        assert m2.sort_values("p95_s").iloc[-1].agent == "analyst"
        """
    ),
    md(
        """
        ## Going further

        - The classic scenarios as workflow files: `sample_agents/workflows/*.yaml`. Run one
          and record it: `.venv/bin/switchboard run
          sample_agents/workflows/feature-review.yaml --trace fr.jsonl`, then watch it in the
          terminal app: `.venv/bin/switchboard tui fr.jsonl`.
        - The same scenarios in Python: `sample_agents.scenarios` (`research_report`,
          `feedback_docs`, `feature_review`, `scatter_gather_chunks`, `two_workers`).
        - The terminal app on a built-in demo: `make demo`.
        """
    ),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_orchestration.ipynb": NB01,
    "02_mock_agents_and_pipeline.ipynb": NB02,
    "03_parallel_and_scatter_gather.ipynb": NB03,
    "04_planning.ipynb": NB04,
    "05_review_loops_and_conflicts.ipynb": NB05,
    "06_failures_and_backups.ipynb": NB06,
    "07_message_bus.ipynb": NB07,
    "08_metrics.ipynb": NB08,
}
"""The workshop, in order: file name -> cells."""


def build(name: str, cells: list[Cell]) -> NotebookNode:
    """Make one notebook with stable cell ids and no outputs."""
    stem = name.split("_", 1)[0]
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    for i, (kind, source) in enumerate(cells):
        cell_id = f"nb{stem}-{i:02d}"
        if kind == "code":
            cell = nbformat.v4.new_code_cell(source, id=cell_id)
        else:
            cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
            if kind == "solution":
                cell.metadata["jp-MarkdownHeadingCollapsed"] = True
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def write_all(out_dir: Path) -> list[Path]:
    """Write every notebook into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, cells in NOTEBOOKS.items():
        path = out_dir / name
        path.write_text(nbformat.writes(build(name, cells)) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory to write into (default: notebooks/)"
    )
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
