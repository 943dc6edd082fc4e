"""The data analyst and the scatter-gather pair on the bundled feedback CSV and on bad files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sample_agents.data.make_feedback import make_rows
from sample_agents.tools.analyst import (
    DEFAULT_FEEDBACK,
    DataAnalyst,
    analyze,
    extract_request,
    load_feedback,
    themes_of,
)
from sample_agents.tools.chunks import Aggregator, ChunkSummarizer, chunk_prompts, parse_rows
from tests.tools.conftest import call
from toolkit.agents import AgentError


def test_bundled_csv_is_what_the_seeded_script_makes() -> None:
    """The committed feedback.csv is exactly the output of make_feedback.py (200 rows, same texts)."""
    df = pd.read_csv(DEFAULT_FEEDBACK, dtype={"id": str})
    rows = make_rows()
    assert len(df) == len(rows) == 200
    assert list(df["text"]) == [r["text"] for r in rows]
    assert list(df.columns) == ["id", "date", "customer", "plan", "channel", "rating", "text"]


def test_report_on_real_data_is_consistent() -> None:
    """On the bundled data every theme count matches a direct keyword count and requests are found."""
    report = call(DataAnalyst())
    df = load_feedback(DEFAULT_FEEDBACK)
    assert report["rows"] == 200
    assert report["average_rating"] == round(df["rating"].mean(), 2)
    for theme in report["themes"]:
        mask = df["text"].map(lambda t, name=theme["theme"]: name in themes_of(t))
        assert theme["count"] == int(mask.sum())
        assert theme["avg_rating"] == round(df.loc[mask, "rating"].mean(), 2)
    counts = [t["count"] for t in report["themes"]]
    assert counts == sorted(counts, reverse=True)
    assert len(report["top_requests"]) == 5
    assert report["top_requests"][0]["count"] >= report["top_requests"][-1]["count"] > 1
    assert "| theme | mentions |" in report["markdown"]
    assert report["top_requests"][0]["request"] in report["markdown"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please add dark mode.", "dark mode"),
        ("Great app. I wish you had a Gantt chart view!", "gantt chart view"),
        ("Would love recurring tasks", "recurring tasks"),
        ("Feature request: CSV export for reports.", "csv export for reports"),
        ("The board is slow.", None),
    ],
)
def test_feature_requests_are_normalized(text: str, expected: str | None) -> None:
    """Different phrasings of a wish reduce to the same request text; plain complaints are not requests."""
    assert extract_request(text) == expected


def test_missing_file_is_a_clear_agent_error(tmp_path: Path) -> None:
    """A missing CSV fails with an AgentError naming the file."""
    with pytest.raises(AgentError, match=r"not found: .*nope\.csv"):
        call(DataAnalyst(str(tmp_path / "nope.csv")))


def test_empty_csv_is_a_clear_agent_error(tmp_path: Path) -> None:
    """A zero-byte CSV and a header-only CSV both fail with an AgentError."""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(AgentError, match="empty"):
        call(DataAnalyst(str(empty)))
    header = tmp_path / "header.csv"
    header.write_text("id,rating,text\n")
    with pytest.raises(AgentError, match="no rows"):
        call(DataAnalyst(str(header)))


def test_missing_columns_are_listed(tmp_path: Path) -> None:
    """A CSV without the rating and text columns fails, naming the missing columns."""
    bad = tmp_path / "bad.csv"
    bad.write_text("id,comment\n1,hello\n")
    with pytest.raises(AgentError, match="lacks column\\(s\\) rating, text"):
        call(DataAnalyst(str(bad)))


def test_file_line_in_prompt_chooses_the_csv(tmp_path: Path) -> None:
    """A 'file: <path>' line in the prompt makes the analyst read that file instead."""
    small = tmp_path / "small.csv"
    small.write_text(
        'id,rating,text\n1,1,"The app crashed, please add an offline mode."\n2,5,Fast and stable.\n'
    )
    report = call(DataAnalyst(), f"Analyse this\nfile: {small}\n")
    assert report["rows"] == 2
    assert {t["theme"] for t in report["themes"]} >= {"reliability", "performance"}
    assert report["top_requests"][0]["request"] == "offline mode"


def test_chunks_gathered_equal_the_whole_file_report() -> None:
    """Counting four row ranges and merging them gives exactly the whole-file report."""
    mapper, reducer = ChunkSummarizer(), Aggregator()
    prompts = chunk_prompts(200, 50)
    assert prompts == ["rows 1-50", "rows 51-100", "rows 101-150", "rows 151-200"]
    parts = {f"map-{i}": call(mapper, p) for i, p in enumerate(prompts, 1)}
    gathered = call(reducer, context=parts)
    whole = analyze(load_feedback(DEFAULT_FEEDBACK), source="x")
    for key in (
        "rows",
        "average_rating",
        "themes",
        "top_requests",
        "ratings",
        "untagged",
        "date_range",
    ):
        assert gathered[key] == whole[key], key
    assert gathered["chunks"] == [[1, 50], [51, 100], [101, 150], [151, 200]]


def test_chunk_bad_input() -> None:
    """No row range, an inverted range and a range past the end are AgentErrors; an aggregator with no chunks too."""
    with pytest.raises(AgentError, match="no row range"):
        parse_rows("all of them")
    with pytest.raises(AgentError, match="bad row range"):
        parse_rows("rows 9-3")
    with pytest.raises(AgentError, match="past the end"):
        call(ChunkSummarizer(), "rows 500-600")
    with pytest.raises(AgentError, match="no chunk results"):
        call(Aggregator(), context={"x": "text"})


def test_negative_examples_are_low_rated_rows() -> None:
    """Each theme's negative examples are ids of rows rated 1 or 2 that touch the theme."""
    report = call(DataAnalyst())
    df = load_feedback(DEFAULT_FEEDBACK).set_index("id")
    for theme in report["themes"]:
        assert theme["negative_examples"], theme["theme"]
        for row_id in theme["negative_examples"]:
            assert df.loc[row_id, "rating"] <= 2
            assert theme["theme"] in themes_of(df.loc[row_id, "text"])
