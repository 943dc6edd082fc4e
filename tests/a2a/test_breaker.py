"""Circuit breakers: open after N consecutive failures, fail fast while open so the
fallback takes over, half-open after the cool-down of the run's own clock, closed
again by a successful probe. Time is an injected clock, moved by hand: no sleeps."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from toolkit import FunctionAgent, MockAgent, Orchestrator, Plan, Task
from toolkit.agents import Directive
from toolkit.breaker import BreakerSpec, CircuitBreaker, CircuitOpen, check_health
from toolkit.describe import breaker_label, event_summary
from toolkit.state import fold
from toolkit.workflow import parse_workflow


class HandClock:
    """A clock that only moves when the test says so."""

    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


class Flaky:
    """An agent that fails while ``down`` is set, and counts its calls."""

    kind = "remote"

    def __init__(self, name: str = "remote") -> None:
        self.name, self.description, self.skills = name, "a remote agent", ("work",)
        self.down = True
        self.healthy = True
        self.calls = 0
        self.health_checks = 0

    def card(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "skills": list(self.skills)}

    async def run(self, directive: Directive) -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")
        return f"remote did {directive.task_id}"

    async def health(self) -> dict[str, Any]:
        self.health_checks += 1
        return {"ok": self.healthy, "detail": "up" if self.healthy else "card unreachable"}


def _plan(n: int, **task: Any) -> Plan:
    """``n`` tasks one after the other on the remote agent, each with a backup."""
    tasks = [
        Task(
            id=f"t{i}",
            agent="remote",
            fallback="backup",
            depends_on=[f"t{i - 1}"] if i else [],
            **task,
        )
        for i in range(n)
    ]
    return Plan(name="breaker", tasks=tasks)


def _orch(breaker: CircuitBreaker, clock: HandClock) -> Orchestrator:
    return Orchestrator([breaker, MockAgent("backup", reply="backup did {task_id}")], clock=clock)


def test_opens_after_n_consecutive_failures_and_the_fallback_takes_over() -> None:
    """After `failures` failed calls the circuit opens (one breaker_changed event); later
    calls are refused without reaching the agent, as `unavailable`, and go straight to the
    fallback even though the task allows retries."""
    clock, remote = HandClock(), Flaky()
    breaker = CircuitBreaker(remote, failures=3, cooldown_s=30)
    result = _orch(breaker, clock).run_sync("go", _plan(5))
    assert result.status == "succeeded"
    assert remote.calls == 3  # t0..t2 reached the agent, t3 and t4 were refused
    changes = [e for e in result.events if e.kind == "breaker_changed"]
    assert [(e.previous, e.state, e.task_id) for e in changes] == [("closed", "open", "t2")]
    assert "3 consecutive failure(s)" in changes[0].reason
    assert "connection refused" in changes[0].reason
    refused = [e for e in result.events if e.kind == "task_failed" and e.task_id in ("t3", "t4")]
    assert [e.error_type for e in refused] == ["unavailable", "unavailable"]
    assert "circuit open for agent 'remote'" in refused[0].error
    assert all(t.output.startswith("backup did") for t in result.state.tasks.values())
    assert result.state.agents["remote"].breaker == "open"
    assert breaker.state == "open"


def test_unavailable_skips_retries_only_when_a_fallback_exists() -> None:
    """With retries and a fallback, an open circuit costs no retry (one failed attempt, then
    the fallback); the failures that opened it were retried as configured."""
    clock, remote = HandClock(), Flaky()
    breaker = CircuitBreaker(remote, failures=2, cooldown_s=30)
    result = _orch(breaker, clock).run_sync("go", _plan(2, retries=1, backoff_s=0.0))
    t0 = [e for e in result.events if e.kind == "task_retried" and e.task_id == "t0"]
    t1 = [e for e in result.events if e.kind == "task_retried" and e.task_id == "t1"]
    assert [e.fallback for e in t0] == [False, True]  # retried, then the breaker opened
    assert [e.fallback for e in t1] == [True]  # refused at once: straight to the fallback
    assert remote.calls == 2


def test_a_success_resets_the_count() -> None:
    """Failures that are not consecutive never open the circuit."""
    clock, remote = HandClock(), Flaky()
    breaker = CircuitBreaker(remote, failures=2, cooldown_s=30)
    orch = _orch(breaker, clock)
    for down in (True, False, True, False, True):
        remote.down = down
        orch.run_sync("go", _plan(1))
    assert breaker.state == "closed"
    assert remote.calls == 5


def test_half_open_after_the_cool_down_of_the_runs_clock_then_closed_by_a_probe() -> None:
    """Before the cool-down ends the circuit stays open; once the run's clock has passed it
    the next call is a probe (half_open), and its success closes the circuit."""
    clock, remote = HandClock(), Flaky()
    breaker = CircuitBreaker(remote, failures=1, cooldown_s=30)
    orch = _orch(breaker, clock)
    orch.run_sync("go", _plan(1))
    assert breaker.state == "open"
    remote.down = False
    clock.t += 29.5
    early = orch.run_sync("go", _plan(1))
    assert breaker.state == "open" and remote.calls == 1
    failed = next(e for e in early.events if e.kind == "task_failed")
    assert "next probe in 0.5s" in failed.error
    clock.t += 0.5
    late = orch.run_sync("go", _plan(1))
    changes = [(e.previous, e.state) for e in late.events if e.kind == "breaker_changed"]
    assert changes == [("open", "half_open"), ("half_open", "closed")]
    assert late.state.tasks["t0"].output == "remote did t0"
    assert late.state.agents["remote"].breaker == "closed"
    assert remote.health_checks == 1  # the probe asked health() first


def test_a_failed_probe_opens_the_circuit_for_another_cool_down() -> None:
    """A probe that fails (here: health() says the agent is down) re-opens the circuit
    without calling the agent, and the cool-down starts again from then."""
    clock, remote = HandClock(), Flaky()
    breaker = CircuitBreaker(remote, failures=1, cooldown_s=10)
    orch = _orch(breaker, clock)
    orch.run_sync("go", _plan(1))
    remote.healthy = False
    clock.t += 10
    result = orch.run_sync("go", _plan(1))
    changes = [(e.previous, e.state) for e in result.events if e.kind == "breaker_changed"]
    assert changes == [("open", "half_open"), ("half_open", "open")]
    assert remote.calls == 1  # the unhealthy agent was not called
    reason = next(
        e.reason for e in result.events if e.kind == "breaker_changed" and e.state == "open"
    )
    assert "probe" in reason and "card unreachable" in reason
    assert breaker.remaining_s(clock.t) == 10
    assert result.state.tasks["t0"].output == "backup did t0"


def test_only_one_probe_at_a_time_when_half_open() -> None:
    """While a half-open probe is in flight, other calls are refused, not let through."""
    release = anyio.Event()
    calls = 0

    async def slow(directive: Directive) -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "ok"

    clock = HandClock()
    breaker = CircuitBreaker(FunctionAgent(slow, name="remote"), failures=1, cooldown_s=5)
    breaker.state, breaker.opened_at, breaker.failures = "open", clock.t - 5, 1

    async def main() -> list[Any]:
        outcomes: list[Any] = []

        async def one(task_id: str) -> None:
            try:
                outcomes.append(await breaker.run(Directive(agent="remote", task_id=task_id)))
            except CircuitOpen as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(one, "probe")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(one, "second")
            await anyio.wait_all_tasks_blocked()
            release.set()
        return outcomes

    breaker.clock = clock
    outcomes = anyio.run(main)
    assert calls == 1
    assert isinstance(outcomes[0], CircuitOpen) and "probe is in flight" in str(outcomes[0])
    assert outcomes[1] == "ok"
    assert breaker.state == "closed"


def test_breaker_in_a_workflow_file_and_in_the_views() -> None:
    """`breaker:` on an agent of a workflow file wraps it; the run's cards carry the
    state it starts in, the fold tracks every change and describe words it."""
    wf = parse_workflow(
        {
            "name": "wf",
            "agents": {
                "remote": {
                    "kind": "mock",
                    "failures": {"exception": 1.0},
                    "breaker": {"failures": 2, "cooldown_s": 60},
                },
                "backup": {"kind": "mock"},
            },
            "steps": [{"id": f"s{i}", "agent": "remote", "fallback": "backup"} for i in range(3)],
        }
    )
    result = anyio.run(wf.run)
    started = result.events[0]
    assert started.agents["remote"]["breaker"]["state"] == "closed"
    assert "breaker" not in started.agents["backup"]
    state = fold(result.events)
    assert state.agents["remote"].breaker == "open"
    assert state.agents["backup"].breaker == ""
    change = next(e for e in result.events if e.kind == "breaker_changed")
    assert event_summary(change).startswith("remote circuit open (was closed): 2 consecutive")
    assert breaker_label("half_open") == "◑ half-open"
    assert breaker_label("") == ""


def test_breaker_settings_are_checked() -> None:
    """Impossible settings are refused, in Python and in a workflow file."""
    with pytest.raises(ValueError):
        CircuitBreaker(Flaky(), failures=0)
    with pytest.raises(ValueError):
        BreakerSpec(cooldown_s=float("inf"))
    with pytest.raises(Exception, match="breaker"):
        parse_workflow(
            {
                "agents": {"a": {"kind": "mock", "breaker": {"failures": -1}}},
                "steps": [{"id": "s", "agent": "a"}],
            }
        )


def test_check_health_reads_every_answer_shape() -> None:
    """health() may answer a bool, a mapping or an object; raising means unhealthy."""

    class Answer:
        ok, detail = False, "disk full"

    class Raises:
        async def health(self) -> None:
            raise OSError("refused")

    def agent(value: Any) -> Any:
        class A:
            async def health(self) -> Any:
                return value

        return A()

    async def main() -> list[tuple[bool, str]]:
        return [
            await check_health(agent(True)),
            await check_health(agent({"ok": True, "detail": "fine"})),
            await check_health(agent(Answer())),
            await check_health(Raises()),
            await check_health(object()),
        ]

    assert anyio.run(main) == [
        (True, "healthy"),
        (True, "fine"),
        (False, "disk full"),
        (False, "health check failed: OSError: refused"),
        (True, "no health check"),
    ]


def test_every_kind_takes_a_breaker() -> None:
    """`breaker:` is a field of every agent kind: an LLM agent is built behind one too
    (the breaker is not passed on to the kind's own options)."""
    pytest.importorskip("openai")
    wf = parse_workflow(
        {
            "agents": {
                "w": {
                    "kind": "llm",
                    "model": "m",
                    "base_url": "http://127.0.0.1:9/v1",
                    "breaker": {"failures": 4, "cooldown_s": 9},
                }
            },
            "steps": [{"id": "s", "agent": "w"}],
        }
    )
    (agent,) = wf.build_agents()
    assert isinstance(agent, CircuitBreaker)
    assert (agent.threshold, agent.cooldown_s, agent.agent.kind) == (4, 9, "llm")
