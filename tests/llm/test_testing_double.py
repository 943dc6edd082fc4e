"""The scripted OpenAI-compatible server is part of the library, and nothing outside tests/ needs tests/."""

from __future__ import annotations

import ast
from pathlib import Path

import anyio

from toolkit import Directive
from toolkit.llm import LLMAgent
from toolkit.llm.testing import FakeOpenAI, Scripted

ROOT = Path(__file__).resolve().parents[2]


def test_no_library_benchmark_or_sample_code_imports_from_tests() -> None:
    """toolkit/, tui/, sample_agents/ and benchmarks/ never import the tests package: the test
    double they may need ships in toolkit.llm.testing."""
    offenders = []
    for folder in ("toolkit", "tui", "sample_agents", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                if any(n == "tests" or n.startswith("tests.") for n in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_double_scripts_replies_and_keeps_requests() -> None:
    """A user imports FakeOpenAI from the library, scripts a 429 then a reply, and an LLMAgent gets
    the reply after one retry; the server kept both requests."""
    with FakeOpenAI([Scripted(status=429, headers={"retry-after-ms": "5"}), "hello there"]) as fake:
        agent = LLMAgent("a", model="m", base_url=fake.base_url)
        reply = anyio.run(agent.run, Directive(agent="a", task_id="t", prompt="hi"))
        assert reply.output == "hello there" and reply.meta["attempts"] == 2
        assert [r.body["messages"][-1]["content"] for r in fake.requests] == ["hi", "hi"]
