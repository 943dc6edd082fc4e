"""Agent kinds come from a registry: the built-ins are entry points like any plug-in, a
package adds a kind through the ``switchboard.agent_kinds`` group or in Python, and an
unknown kind's error lists the registered ones."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest

from toolkit import workflow as wf
from toolkit.agents import Agent, Directive
from toolkit.workflow import (
    AgentKind,
    WorkflowError,
    agent_kinds,
    parse_workflow,
    register_agent_kind,
)

ROOT = Path(__file__).parents[2]


class EchoAgent(Agent):
    kind = "echo"

    def __init__(self, name: str, prefix: str) -> None:
        self.name, self.prefix = name, prefix

    async def run(self, directive: Directive) -> str:
        return f"{self.prefix}{directive.prompt}"


class EchoSpec(AgentKind):
    """A plug-in kind: echoes the prompt after a prefix."""

    kind: Literal["echo"] = "echo"
    prefix: str

    def build(self, name: str) -> Agent:
        return EchoAgent(name, self.prefix)


def _data(agent: dict[str, Any]) -> dict[str, Any]:
    return {"input": "hi", "agents": {"a": agent}, "steps": [{"id": "s", "agent": "a"}]}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The registry as it is, restored after the test."""
    monkeypatch.setattr(wf, "_kinds", dict(wf._kinds))
    monkeypatch.setattr(wf, "_broken_kinds", {})
    return wf._kinds


def test_built_in_kinds_are_entry_points_in_pyproject() -> None:
    """mock, function, tool and llm (then this project's plug-in kinds, such as http) are
    declared in the entry-point group, and they name the specs the registry holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"][wf.AGENT_KINDS_GROUP]
    assert list(declared)[:4] == ["mock", "function", "tool", "llm"]
    assert "http" in declared and "a2a" in declared
    for kind, ref in declared.items():
        ep = importlib.metadata.EntryPoint(name=kind, value=ref, group=wf.AGENT_KINDS_GROUP)
        assert ep.load() is agent_kinds()[kind]


def test_a_kind_registered_in_python_runs(registry: dict[str, Any]) -> None:
    """register_agent_kind makes a new kind usable in a workflow, with its own fields checked."""
    register_agent_kind(EchoSpec)
    workflow = parse_workflow(_data({"kind": "echo", "prefix": "> "}))
    result = anyio.run(workflow.run)
    assert result.status == "succeeded" and result.output == "> hi"
    with pytest.raises(WorkflowError) as info:
        parse_workflow(_data({"kind": "echo", "prefixx": "> "}))
    assert "agents.a.prefixx: unknown field" in info.value.problems
    assert "agents.a.prefix: required field is missing" in info.value.problems


def test_a_plug_in_kind_has_a_mock_stand_in(registry: dict[str, Any]) -> None:
    """Under --mock a plug-in agent is replaced by its stand-in, like the built-in real kinds."""
    register_agent_kind(EchoSpec)
    workflow = parse_workflow(_data({"kind": "echo", "prefix": "> ", "mock": {"reply": "mocked"}}))
    assert anyio.run(lambda: workflow.run(mock=True)).output == "mocked"


def test_a_kind_from_an_entry_point(
    registry: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package's entry point adds its kind; a broken one is named in the unknown-kind error."""
    points = [
        importlib.metadata.EntryPoint("echo", f"{__name__}:EchoSpec", wf.AGENT_KINDS_GROUP),
        importlib.metadata.EntryPoint(
            "teleport", "no_such_package.agents:TeleportSpec", wf.AGENT_KINDS_GROUP
        ),
    ]
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda group: points if group == wf.AGENT_KINDS_GROUP else [],
    )
    monkeypatch.setattr(wf, "_entry_points_loaded", False)
    assert agent_kinds()["echo"] is EchoSpec
    assert anyio.run(parse_workflow(_data({"kind": "echo", "prefix": "+"})).run).output == "+hi"
    with pytest.raises(WorkflowError) as info:
        parse_workflow(_data({"kind": "teleport"}))
    (problem,) = info.value.problems
    assert problem.startswith(
        "agents.a: kind 'teleport' could not be loaded (no_such_package.agents:TeleportSpec"
    )


def test_an_unknown_kind_lists_the_registered_ones(registry: dict[str, Any]) -> None:
    """The error for an unknown kind names every registered kind, plug-ins included."""
    register_agent_kind(EchoSpec)
    with pytest.raises(WorkflowError) as info:
        parse_workflow(_data({"kind": "robot"}))
    (problem,) = info.value.problems
    assert problem == "agents.a: kind must be one of: " + ", ".join(agent_kinds())
    assert problem.startswith("agents.a: kind must be one of: mock, function, tool, llm, ")
    assert problem.endswith(", echo")


def test_a_spec_without_build_is_refused() -> None:
    """Registering something that cannot build an agent fails at once, not at run time."""
    from pydantic import BaseModel

    class NoBuild(BaseModel):
        kind: str = "nobuild"

    with pytest.raises(TypeError, match="build"):
        register_agent_kind(NoBuild)
    assert "nobuild" not in agent_kinds()
