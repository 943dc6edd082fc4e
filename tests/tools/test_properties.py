"""Rules that must hold for every input: chunked counting, editing, safe names."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sample_agents.tools.analyst import (
    DEFAULT_FEEDBACK,
    count_chunk,
    load_feedback,
    merge_counts,
    report_from_counts,
)
from sample_agents.tools.docs_writer import safe_path
from sample_agents.tools.writing import edit_markdown
from toolkit.agents import AgentError

FEEDBACK = load_feedback(DEFAULT_FEEDBACK)
WHOLE = report_from_counts(count_chunk(FEEDBACK), source="x")


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(1, 199), max_size=6, unique=True))
def test_any_chunking_gathers_to_the_whole_report(cuts: list[int]) -> None:
    """However the rows are cut into chunks, merged chunk counts give the whole-file report."""
    bounds = [0, *sorted(cuts), len(FEEDBACK)]
    parts = [count_chunk(FEEDBACK.iloc[a:b]) for a, b in itertools.pairwise(bounds)]
    gathered = report_from_counts(merge_counts(parts), source="x")
    assert gathered == WHOLE


_line = st.one_of(
    st.builds(
        lambda n, t: "#" * n + " " + t,
        st.integers(1, 6),
        st.text("abc :.", min_size=1, max_size=12),
    ),
    st.builds(
        lambda s, n: f"{s}. [{n}]",
        st.sampled_from(["Alpha beta", "Gamma delta", "Alpha beta"]),
        st.integers(1, 3),
    ),
    st.builds(lambda n: f"[{n}] source {n}", st.integers(1, 3)),
    st.sampled_from(
        ["", "- a list item", "Plain sentence here. Plain sentence here.", "```", "code line"]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=15))
def test_editing_is_idempotent(lines: list[str]) -> None:
    """Editing an edited document changes nothing, and the edit keeps at most one '# ' title."""
    once = edit_markdown("\n".join(lines)).markdown
    assert edit_markdown(once).markdown == once
    in_code = False
    titles = 0
    for line in once.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("# "):
            titles += 1
    assert titles <= 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="#`[]12. aAb\n-*>|?!:\t\r", max_size=120))
def test_editing_any_text_is_idempotent(text: str) -> None:
    """Even on Markdown-like noise, a second edit changes nothing."""
    once = edit_markdown(text).markdown
    assert edit_markdown(once).markdown == once


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(st.sampled_from("ab./\\-_~:"), min_size=1, max_size=12))
def test_safe_path_never_leaves_the_folder(tmp_path: Path, name: str) -> None:
    """Any accepted name resolves inside the output folder; everything else is an AgentError."""
    try:
        path = safe_path(tmp_path, name)
    except AgentError:
        return
    assert path.is_relative_to(tmp_path.resolve())
    assert ".." not in Path(name).parts


def test_property_fixtures_are_real() -> None:
    """The module-level fixture data is the bundled file (200 rows), so the properties test real data."""
    assert WHOLE["rows"] == 200
    with pytest.raises(AgentError):
        safe_path("out", "../x")
