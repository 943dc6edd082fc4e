"""Tool agents: real work on small bundled data, no model needed.

Each agent does its job with ordinary Python and reports every tool use as a
``tool_call`` trace event:

- ``DataAnalyst``: pandas over ``sample_agents/data/feedback.csv`` (themes, ratings, requests).
- ``ChunkSummarizer`` / ``Aggregator``: the same analysis as scatter-gather over row ranges.
- ``DocsWriter``: Markdown files into an output folder (docs page, blog post, reports).
- ``CodeRunner``: Python code and its tests in a subprocess with time and memory limits.
- ``CodeReviewer``: ``ast`` checks with a score, issues and an approve/feedback verdict.
- ``FeatureDeveloper``: a template-driven developer that revises its code from review feedback.
- ``Researcher``: BM25 search over ``sample_agents/data/docs/`` with cited answers.
- ``Writer`` / ``Editor``: a cited report from research, then deterministic edits.

Every constructor option is JSON-friendly (paths as ``str``), so workflow files can
build these agents with ``factory: "sample_agents.tools.analyst:DataAnalyst"`` and
``options: {...}``.
"""

from __future__ import annotations

from sample_agents.tools.analyst import DataAnalyst
from sample_agents.tools.base import ToolAgent
from sample_agents.tools.chunks import Aggregator, ChunkSummarizer, chunk_prompts
from sample_agents.tools.code_runner import CodeRunner
from sample_agents.tools.developer import FeatureDeveloper
from sample_agents.tools.docs_writer import DocsWriter
from sample_agents.tools.researcher import Researcher
from sample_agents.tools.reviewer import CodeReviewer
from sample_agents.tools.writing import Editor, Writer

__all__ = [
    "Aggregator",
    "ChunkSummarizer",
    "CodeReviewer",
    "CodeRunner",
    "DataAnalyst",
    "DocsWriter",
    "Editor",
    "FeatureDeveloper",
    "Researcher",
    "ToolAgent",
    "Writer",
    "chunk_prompts",
    "real_agents",
]


def real_agents(output_dir: str = "output") -> list[ToolAgent]:
    """One of each tool agent under its default name, writing files to ``output_dir``.

    Names: analyst, chunk-summarizer, aggregator, docs-writer, code-runner, reviewer,
    developer, researcher, writer, editor.
    """
    return [
        DataAnalyst(),
        ChunkSummarizer(),
        Aggregator(),
        DocsWriter(output_dir),
        CodeRunner(),
        CodeReviewer(),
        FeatureDeveloper(),
        Researcher(),
        Writer(),
        Editor(),
    ]
