"""``kind: llm`` agents and the ``llm`` planner from a workflow file, live over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.llm.conftest import of_kind
from toolkit.llm import LLMAgent
from toolkit.llm.testing import FakeOpenAI


def test_a_workflow_file_runs_llm_agents_with_the_key_from_the_named_variable(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workflow's llm agent gets model, system prompt, temperature and base_url from the file and
    its key from the variable the file names; the llm planner plans the run."""
    from toolkit.workflow import load_workflow

    monkeypatch.setenv("TEAM_KEY", "sk-team-key-5555")
    path = tmp_path / "wf.yaml"
    path.write_text(
        f"""
name: llm-wf
input: "Summarize queues"
pattern: planner
planner: {{kind: llm, model: gpt-4o-mini, base_url: "{fake.base_url}", api_key_env: TEAM_KEY}}
agents:
  summarizer:
    kind: llm
    model: gpt-4o-mini
    description: Summarizes
    system: "One sentence only."
    temperature: 0.1
    base_url: "{fake.base_url}"
    api_key_env: TEAM_KEY
"""
    )
    fake.add(
        json.dumps({"tasks": [{"id": "sum", "agent": "summarizer", "prompt": "{{input}}"}]}),
        "Queues buffer work.",
    )
    workflow = load_workflow(path)
    result = anyio.run(workflow.prepare().execute)
    assert result.status == "succeeded", result.error
    assert result.output == "Queues buffer work."
    agent_request = fake.requests[1]
    assert agent_request.headers["authorization"] == "Bearer sk-team-key-5555"
    assert agent_request.body["messages"][0] == {"role": "system", "content": "One sentence only."}
    assert agent_request.body["temperature"] == 0.1
    assert [c.purpose for c in of_kind(result.events, "llm_call")] == ["planner", "agent"]
    card = of_kind(result.events, "run_started")[0].agents["summarizer"]
    assert card["kind"] == "llm" and card["model"] == "gpt-4o-mini"
    assert "sk-team" not in json.dumps(card)
    assert isinstance(workflow.build_agents()[0], LLMAgent)
