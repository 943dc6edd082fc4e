"""Time waited for a person: ``waited_s`` in the metrics and a span of its own on the
timelines (the core's ``CallTimeline.waits``, the TUI Gantt, the widget snapshot)."""

from __future__ import annotations

from typing import Any

import pytest

from toolkit import Orchestrator
from toolkit.agents import MockAgent
from toolkit.human import HumanAgent
from toolkit.metrics import agent_metrics, task_metrics
from toolkit.plan import Plan, Task
from toolkit.timeline import CallTimeline
from tui.widgets.gantt import LABEL, gantt_lines


def _run() -> Any:
    """write (2 s) → sign (a person who never answers: approved at the 6 s deadline) →
    ship (2 s), on the simulated clock."""
    orch = Orchestrator(
        [
            MockAgent("writer", reply="draft", latency=2.0),
            HumanAgent("boss", person="alice", deadline_s=6, default="approve"),
            MockAgent("shipper", reply="shipped", latency=2.0),
        ],
        clock="simulated",
    )
    plan = Plan(
        name="wait",
        tasks=[
            Task(id="write", agent="writer"),
            Task(id="sign", agent="boss", prompt="Sign {{write}}?", depends_on=["write"]),
            Task(id="ship", agent="shipper", depends_on=["sign"]),
        ],
    )
    result = orch.run_sync("go", plan)
    assert result.status == "succeeded"
    return result


def _calls(events: list[Any]) -> CallTimeline:
    calls = CallTimeline()
    for i, event in enumerate(events):
        calls.add(i, event)
    return calls


def test_waited_s_is_in_the_agent_and_task_metrics() -> None:
    result = _run()
    agents = agent_metrics(result.events).set_index("agent")
    assert agents.loc["boss", "waited_s"] == pytest.approx(6.0)
    assert agents.loc["writer", "waited_s"] == 0.0
    assert agents.loc["shipper", "waited_s"] == 0.0
    assert agents["waited_s"].dtype == "float64"
    tasks = task_metrics(result.events).set_index("task")
    assert tasks.loc["sign", "waited_s"] == pytest.approx(6.0)
    assert tasks.loc["write", "waited_s"] == 0.0
    # the wait is part of the task's time, not added to it
    assert tasks.loc["sign", "duration_s"] >= tasks.loc["sign", "waited_s"]


def test_the_wait_is_its_own_span_from_question_to_answer() -> None:
    result = _run()
    calls = _calls(result.events)
    (wait,) = calls.waits
    assert (wait["agent"], wait["task"], wait["outcome"]) == ("boss", "sign", "deadline")
    assert wait["start_s"] == pytest.approx(2.0)
    assert wait["duration_s"] == pytest.approx(6.0)
    (call,) = [b for b in calls.bars if b["task"] == "sign"]
    assert call["start_s"] <= wait["start_s"] and wait["end_s"] <= call["end_s"]
    # at a cursor after the question and before the answer, the wait is still open
    asked = next(
        i
        for i, e in enumerate(result.events)
        if e.kind == "message_sent" and e.envelope.kind == "question"
    )
    (open_,) = calls.waits_at(asked + 1, 100)
    assert open_["outcome"] == "waiting" and open_["end_s"] is None
    assert calls.waits_at(asked, 100) == []
    # the metrics' per-call timeline is unchanged: waits are not calls
    assert all(b["outcome"] in ("ok", "error", "unfinished") for b in calls.bars)


def test_the_tui_gantt_draws_the_wait_distinctly() -> None:
    result = _run()
    calls = _calls(result.events)
    lines = gantt_lines(calls.bars, ["writer", "boss", "shipper"], 100, 10.0, calls.waits)
    boss = next(line.plain for line in lines if line.plain.startswith("boss"))[LABEL + 1 : -1]
    writer = next(line.plain for line in lines if line.plain.startswith("writer"))[LABEL + 1 : -1]
    assert "╌" in boss and boss.rstrip().endswith("⌛")
    assert "╌" not in writer
    # the span covers 6 of the 10 seconds: about 60% of the lane
    assert abs(boss.count("╌") + 1 - 0.6 * len(boss)) <= 2
    assert "╌ human wait" in lines[-1].plain
    plain = gantt_lines(calls.bars, ["writer", "boss", "shipper"], 100, 10.0)
    assert "human wait" not in plain[-1].plain


def test_the_widget_snapshot_carries_the_waits() -> None:
    from toolkit.widgets import RunView

    result = _run()
    view = RunView.from_result(result)
    (wait,) = view.snapshot["waits"]
    assert (wait["agent"], wait["task"], wait["outcome"]) == ("boss", "sign", "deadline")
