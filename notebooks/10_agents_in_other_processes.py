# %% [markdown]
# # 10. Agents in other processes: HTTP workers (and Redis)
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
#
# The orchestrator, the plan, the trace and the views do not change. This notebook
# starts a worker process on a free port, calls it, and stops it. Everything runs on
# loopback, with mock agents: no key, no network.

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
# ## Optional: events over Redis
#
# With a Redis server, a run's events can go to a Redis Stream
# (`RedisStreamSink`), so a terminal app or a notebook on another machine follows it
# live. This part runs only when `redis-server` is installed; otherwise it says so.

# %%
if shutil.which("redis-server") is None:
    print("redis-server is not installed: skipping the Redis part (apt-get install redis-server)")
else:
    from toolkit.redis_streams import RedisStreamSink
    from toolkit.sources import open_url

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
    try:
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until Redis accepts connections
            try:
                socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        sink = RedisStreamSink(redis_url)
        local = Orchestrator([researcher, MockAgent("writer", reply="post: {prompt}")], seed=10)
        published = await local.run(
            "A post about Redis", pipeline("researcher", "writer"), sinks=[sink]
        )
        sink.close()
        read_back = open_url(redis_url, follow=False).preload()
        print(len(read_back), "events read back from", redis_url)
        assert [e.kind for e in read_back] == [e.kind for e in published.events]
    finally:
        stop(redis)

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
