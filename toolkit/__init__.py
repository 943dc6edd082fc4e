"""Switchboard: build, watch and teach multi-agent orchestration.

``import toolkit`` is cheap: names load on first use (module ``__getattr__``), so
pandas, the notebook widgets and the LLM client load only when a program uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # events
    "TraceEvent": "toolkit.events",
    "Envelope": "toolkit.events",
    "SCHEMA_VERSION": "toolkit.events",
    "event_json_schema": "toolkit.events",
    "parse_event": "toolkit.events",
    # agents
    "Agent": "toolkit.agents",
    "AgentError": "toolkit.agents",
    "Directive": "toolkit.agents",
    "Reply": "toolkit.agents",
    "MockAgent": "toolkit.agents",
    "FunctionAgent": "toolkit.agents",
    "LatencySpec": "toolkit.agents",
    "FailureSpec": "toolkit.agents",
    # plans and orchestration
    "Plan": "toolkit.plan",
    "Task": "toolkit.plan",
    "ReviewSpec": "toolkit.plan",
    "PlanError": "toolkit.plan",
    "Orchestrator": "toolkit.orchestrator",
    "Run": "toolkit.orchestrator",
    "RunResult": "toolkit.orchestrator",
    "RuleBasedPlanner": "toolkit.planning",
    "RouterPlanner": "toolkit.planning",
    "pipeline": "toolkit.patterns",
    "parallel": "toolkit.patterns",
    "scatter_gather": "toolkit.patterns",
    "review_loop": "toolkit.patterns",
    "router": "toolkit.patterns",
    "route": "toolkit.patterns",
    "conflict": "toolkit.patterns",
    "Resolver": "toolkit.resolution",
    "MessageBus": "toolkit.bus",
    # tracing, recording, state
    "Sink": "toolkit.tracing",
    "CallbackSink": "toolkit.tracing",
    "JsonlRecorder": "toolkit.recorder",
    "read_trace": "toolkit.recorder",
    "follow_trace": "toolkit.recorder",
    "RunStore": "toolkit.store",
    "RunState": "toolkit.state",
    "fold": "toolkit.state",
    # metrics (pandas loads here, on first use)
    "agent_metrics": "toolkit.metrics",
    "task_metrics": "toolkit.metrics",
    "timeline": "toolkit.metrics",
    # notebook widgets (anywidget loads here, on first use)
    "RunView": "toolkit.widgets",
    "FlowView": "toolkit.widgets",
    "PlanView": "toolkit.widgets",
    "MetricsView": "toolkit.widgets",
    "GanttView": "toolkit.widgets",
    # workflow files
    "Workflow": "toolkit.workflow",
    "load_workflow": "toolkit.workflow",
    "WorkflowError": "toolkit.workflow",
}

__all__ = [
    "SCHEMA_VERSION",
    "Agent",
    "AgentError",
    "CallbackSink",
    "Directive",
    "Envelope",
    "FailureSpec",
    "FlowView",
    "FunctionAgent",
    "GanttView",
    "JsonlRecorder",
    "LatencySpec",
    "MessageBus",
    "MetricsView",
    "MockAgent",
    "Orchestrator",
    "Plan",
    "PlanError",
    "PlanView",
    "Reply",
    "Resolver",
    "ReviewSpec",
    "RouterPlanner",
    "RuleBasedPlanner",
    "Run",
    "RunResult",
    "RunState",
    "RunStore",
    "RunView",
    "Sink",
    "Task",
    "TraceEvent",
    "Workflow",
    "WorkflowError",
    "agent_metrics",
    "conflict",
    "event_json_schema",
    "fold",
    "follow_trace",
    "load_workflow",
    "parallel",
    "parse_event",
    "pipeline",
    "read_trace",
    "review_loop",
    "route",
    "router",
    "scatter_gather",
    "task_metrics",
    "timeline",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from toolkit.agents import (
        Agent,
        AgentError,
        Directive,
        FailureSpec,
        FunctionAgent,
        LatencySpec,
        MockAgent,
        Reply,
    )
    from toolkit.bus import MessageBus
    from toolkit.events import SCHEMA_VERSION, Envelope, TraceEvent, event_json_schema, parse_event
    from toolkit.metrics import agent_metrics, task_metrics, timeline
    from toolkit.orchestrator import Orchestrator, Run, RunResult
    from toolkit.patterns import (
        conflict,
        parallel,
        pipeline,
        review_loop,
        route,
        router,
        scatter_gather,
    )
    from toolkit.plan import Plan, PlanError, ReviewSpec, Task
    from toolkit.planning import RouterPlanner, RuleBasedPlanner
    from toolkit.recorder import JsonlRecorder, follow_trace, read_trace
    from toolkit.resolution import Resolver
    from toolkit.state import RunState, fold
    from toolkit.store import RunStore
    from toolkit.tracing import CallbackSink, Sink
    from toolkit.widgets import FlowView, GanttView, MetricsView, PlanView, RunView
    from toolkit.workflow import Workflow, WorkflowError, load_workflow
