# %% [markdown]
# # 10. Agents in other processes: HTTP workers, the start API, Redis
#
# So far every agent ran inside the notebook's process. A real system puts agents
# where they belong: a GPU box, a sandbox, another team's service. Switchboard's
# answer is small:
#
# - `switchboard serve-agent WORKFLOW AGENT --port N` serves one agent of a workflow
#   file as an HTTP **worker**: `POST /run` takes a directive, answers the reply;
#   `GET /health` says it is up.
# - `HttpAgent(name, url)` (workflow `kind: http`) is that agent as the orchestrator
#   sees it: one more agent, whose calls go over the network.
# - `switchboard serve` is the **start API**: other programs start runs over HTTP and
#   read their status, result and events.
# - With Redis, a run's events and its agents' messages cross processes too.
#
# The orchestrator, the plan, the trace and the views do not change. This notebook
# starts each process it needs on a free port (a worker, the API, `redis-server` and a
# bus worker), uses it, and stops it. Everything runs on loopback, with mock agents: no
# key, no network.

# %%
import asyncio
import atexit
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from toolkit import MockAgent, Orchestrator, Plan, Task, pipeline
from toolkit.remote import HttpAgent

OUT = Path("output")
OUT.mkdir(exist_ok=True)


def stop(process):
    "Stop a process we started: politely first, then for sure."
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port():
    "A TCP port on 127.0.0.1 that is free now."
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The worker's agent is defined in a workflow file, as in any run
TEAM = OUT / "team.yaml"
TEAM.write_text(
    """\
name: team
agents:
  writer: {kind: mock, description: writes posts, reply: "post from a worker process: {prompt}", latency: 0.05}
steps:
  - {id: write, agent: writer, prompt: "{{input}}"}
""",
    encoding="utf-8",
)

# %% [markdown]
# ## Start a worker
#
# The worker is a real process. We wait until it answers `/health` (waiting on its
# *state*, with a limit, never for a fixed time). It lives across several cells, so a
# `try/finally` cannot hold it: `atexit` stops it when the kernel stops, even if a cell
# fails before the one that stops it on purpose.

# %%
port = free_port()
url = f"http://127.0.0.1:{port}"
worker = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "toolkit.cli",
        "serve-agent",
        str(TEAM),
        "writer",
        "--port",
        str(port),
        "--quiet",
    ],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
atexit.register(stop, worker)
writer = HttpAgent("writer", url, description="writes posts (in another process)", timeout_s=10)


async def wait_until_up(agent, process, limit_s=30):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with code {process.returncode}")
        try:
            return await agent.health()
        except Exception:
            await asyncio.sleep(0.05)
    raise TimeoutError("the worker did not come up")


try:
    health = await wait_until_up(writer, worker)
except BaseException:
    stop(worker)
    raise
print(url, health)

# %% [markdown]
# ## Call it from a run
#
# A local researcher and the remote writer in one pipeline. Put the view on the page
# first, then run: the writer's lane looks like any other, but its calls went over HTTP
# to the worker process.

# %%
from toolkit.widgets import RunView

view = RunView(title="a local researcher, a remote writer")
view

# %%
researcher = MockAgent("researcher", reply="notes: offline-first matters", latency=0.02)
orch = Orchestrator([researcher, writer], seed=10)
result = await orch.run("A post about offline sync", pipeline("researcher", "writer"), sinks=[view])
print(result.status, "-", result.output)

# %%
# The worker's agent wrote the post, from the researcher's notes it was sent
assert result.status == "succeeded"
assert result.output == "post from a worker process: notes: offline-first matters"
assert writer.kind == "http" and health["ok"] is True
# the view saw the remote agent as a participant like any other: an http agent, one task done
assert (view.state.agents["writer"].kind, view.state.agents["writer"].succeeded) == ("http", 1)
print("checks passed")

# %% [markdown]
# ## When the worker goes away
#
# Remote agents fail in ways local ones do not: the process dies, the network drops.
# To the orchestrator that is one more failed call, so the tools of chapter 6 apply:
# retries, timeouts and a **fallback** agent. Stop the worker and see the call fail.

# %%
stop(worker)
alone = pipeline("writer")
lonely = await Orchestrator([writer], seed=10).run("Another post", alone)
print(lonely.status, "-", lonely.state.tasks[alone.tasks[0].id].error)
await writer.aclose()  # close the agent's kept connections
assert lonely.status == "failed"  # no worker, no post

# %% [markdown]
# ## Starting runs over HTTP
#
# The other way round: a program that is not this notebook (a web app, a cron job,
# another team's service, in any language) asks for a run. `switchboard serve` is an
# HTTP API that **starts runs** (`POST /v1/mao/start`), reports their status and result
# and streams their events; every route but `/health` needs a bearer token, named by
# `--token-env`. Given no workflow file it serves two bundled mock scenarios,
# `research-report` and `feature-review`. The notebook starts it with a fresh token and
# talks to it with `httpx`, as any client would.

# %%
import os
import secrets

import httpx

TOKEN = secrets.token_urlsafe(16)
api_port = free_port()
api = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "toolkit.cli",
        "serve",
        "--port",
        str(api_port),
        "--token-env",
        "WORKSHOP_API_TOKEN",
        "--log-level",
        "warning",
    ],
    env={**os.environ, "WORKSHOP_API_TOKEN": TOKEN},
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
atexit.register(stop, api)
http = httpx.AsyncClient(
    base_url=f"http://127.0.0.1:{api_port}",
    headers={"Authorization": f"Bearer {TOKEN}"},
    timeout=10,
)
deadline = time.monotonic() + 60
while True:  # wait until the API answers /health (its state, with a limit)
    if api.poll() is not None:
        raise RuntimeError(f"switchboard serve exited with code {api.returncode}")
    try:
        if (await http.get("/health")).status_code == 200:
            break
    except httpx.TransportError:
        pass
    if time.monotonic() > deadline:
        raise TimeoutError("switchboard serve did not come up")
    await asyncio.sleep(0.05)
served = (await http.get("/v1/agents")).json()
print("workflows it serves:", [(w["name"], w["agents"]) for w in served["workflows"]])

# %% [markdown]
# Start a run, then follow it: `RunView.follow(url, token=...)` opens a dashboard on a
# run of the API (its events from the first, then live, over server-sent events), the
# same dashboard as for a run in this notebook. A request without the right token
# starts nothing.

# %%
wrong = await http.post(
    "/v1/mao/start",
    json={"workflow": "research-report"},
    headers={"Authorization": "Bearer not-the-token"},
)
print(wrong.status_code, wrong.json())
started = (
    await http.post(
        "/v1/mao/start",
        json={"workflow": "research-report", "input": "Why teams put a queue between services"},
    )
).json()
print(started["run_id"], started["status"])
served_view = RunView.follow(started["status_url"], token=TOKEN, title="a run started over HTTP")
served_view

# %%
deadline = time.monotonic() + 60
while served_view.state.status in ("pending", "running"):  # until the view saw the run end
    if time.monotonic() > deadline:
        raise TimeoutError("the served run did not finish")
    await asyncio.sleep(0.05)
answer = (await http.get(started["links"]["result"])).json()
status = (await http.get(started["status_url"])).json()
print(status["status"], [(t["id"], t["agent"], t["status"]) for t in status["tasks"]])
print(answer["output"])

# %%
# The API started the run, ran it in its own process, and the notebook followed it
assert wrong.status_code == 401  # no token, no run
assert answer["finished"] and status["status"] == "succeeded"
assert [(t["id"], t["status"]) for t in status["tasks"]] == [
    ("research", "done"),
    ("write", "done"),
    ("edit", "done"),
]
assert served_view.state.status == "succeeded" and list(served_view.state.tasks) == [
    "research",
    "write",
    "edit",
]
await http.aclose()
stop(api)
print("checks passed")

# %% [markdown]
# ## Optional: Redis, for events and for messages
#
# With a Redis server, two more things cross processes: a run's **events** (a Redis
# Stream per run, so a terminal app or a notebook on another machine follows it live)
# and the agents' **messages** (a Redis bus, so an agent in another process answers
# an agent of this run). This part runs only when `redis-server` is installed;
# otherwise it says so in one line. It starts its own server on a free port.

# %%
redis = None
if shutil.which("redis-server") is None:
    print("redis-server is not installed: skipping the Redis part (apt-get install redis-server)")
else:
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(stop, redis)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    deadline = time.monotonic() + 30
    while True:  # wait until Redis accepts connections
        try:
            socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
            break
        except OSError:
            if redis.poll() is not None or time.monotonic() > deadline:
                stop(redis)
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    print("redis-server at", redis_url)

# %% [markdown]
# **Events over Redis.** `RedisStreamSink(url)` is a sink like the dashboard: the run's
# events go to a Redis Stream, and anyone can read them back (`switchboard tui URL`,
# `RunView.follow(URL)`, `toolkit.sources.open_url(URL)`).

# %%
if redis is not None:
    from toolkit.redis_streams import RedisStreamSink
    from toolkit.sources import open_url

    sink = RedisStreamSink(redis_url)
    local = Orchestrator([researcher, MockAgent("writer", reply="post: {prompt}")], seed=10)
    published = await local.run(
        "A post about Redis", pipeline("researcher", "writer"), sinks=[sink]
    )
    sink.close()
    read_back = open_url(redis_url, follow=False).preload()
    print(len(read_back), "events read back from", redis_url)
    assert [e.kind for e in read_back] == [e.kind for e in published.events]

# %% [markdown]
# **Messages over a Redis bus.** `Orchestrator(bus=redis_bus(url))` carries the run's
# agent-to-agent messages (chapter 7) over Redis instead of inside this process. Here
# `switchboard bus-worker` hosts the `reviewer` of `sample_agents/bus/bus-team.yaml` in a
# process of its own; this notebook's run has only the writer and the editor, and the
# editor sends its draft to `reviewer` and waits for the answer. The question and the
# answer are traced messages of the run, like any other.

# %%
if redis is not None:
    import sample_agents
    from sample_agents.bus_team import ask_reviewer
    from toolkit import FunctionAgent
    from toolkit.redis_bus import redis_bus

    BUS_TEAM = Path(sample_agents.__file__).parent / "bus" / "bus-team.yaml"
    bus_log = OUT / "bus-worker.log"
    with bus_log.open("w") as log:
        bus_worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "toolkit.cli",
                "bus-worker",
                str(BUS_TEAM),
                "reviewer",
                "--bus",
                redis_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "hosting reviewer" not in bus_log.read_text(
            encoding="utf-8"
        ):  # it says when it is on the bus
            if bus_worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the bus worker did not start: " + bus_log.read_text(encoding="utf-8")
                )
            await asyncio.sleep(0.05)
        on_bus = Orchestrator(
            [
                MockAgent("writer", reply="draft: 14 changes in 3 sections", latency=0.01),
                FunctionAgent(ask_reviewer, name="editor"),
            ],
            seed=1,
            bus=redis_bus(redis_url),
        )
        reviewed = await on_bus.run("write the release notes", pipeline("writer", "editor"))
        print(reviewed.status, "-", reviewed.output)
        crossed = [
            (m.sender, m.recipient, m.payload)
            for m in reviewed.state.messages
            if "reviewer" in (m.sender, m.recipient)
        ]
        for sender, recipient, payload in crossed:
            print(f"{sender:>8} -> {recipient:<8} {str(payload)[:50]!r}")
        # the reviewer is not an agent of this run: its answer came over Redis from the worker
        assert "reviewer" not in on_bus.agents
        assert reviewed.output == "draft: 14 changes in 3 sections\nreview: approved, ship it"
        assert [(s, r) for s, r, _ in crossed] == [("editor", "reviewer"), ("reviewer", "editor")]
    finally:
        stop(bus_worker)
        stop(redis)
    print("checks passed")

# %% [markdown]
# ### Exercise
#
# Start a fresh worker for `writer` on a new port, and give the plan's `write` task a
# local **fallback**: a `MockAgent("backup-writer", ...)`. Run it once with the worker
# up (the worker writes), then stop the worker and run again (the backup writes).
# Check with `state.tasks[...].fallback_used` which one answered each time. Stop the
# worker in a `finally`.

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
port = free_port()
worker = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "toolkit.cli",
        "serve-agent",
        str(TEAM),
        "writer",
        "--port",
        str(port),
        "--quiet",
    ],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    remote = HttpAgent("writer", f"http://127.0.0.1:{port}", timeout_s=10)
    await wait_until_up(remote, worker)
    backup = MockAgent("backup-writer", reply="post from the backup: {prompt}")
    plan = Plan(
        tasks=[Task(id="write", agent="writer", prompt="{{input}}", fallback="backup-writer")]
    )
    team = Orchestrator([remote, backup], seed=10)
    up = await team.run("A post", plan)
    assert (
        up.output.startswith("post from a worker process")
        and not up.state.tasks["write"].fallback_used
    )
    stop(worker)
    down = await team.run("A post", plan)
    assert (
        down.output.startswith("post from the backup") and down.state.tasks["write"].fallback_used
    )
    await remote.aclose()
    print("checks passed")
finally:
    stop(worker)
