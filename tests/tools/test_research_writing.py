"""The researcher's BM25 retrieval and citations, and the writer/editor pair."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sample_agents.tools.researcher import (
    BM25,
    DEFAULT_CORPUS,
    Researcher,
    load_corpus,
    research,
    tokenize,
)
from sample_agents.tools.writing import Editor, Writer, edit_markdown, write_report
from tests.tools.conftest import call
from toolkit.agents import AgentError


def test_corpus_has_twelve_documents_split_by_heading() -> None:
    """The bundled corpus has 12 documents; each passage knows its file, title and heading."""
    passages = load_corpus(DEFAULT_CORPUS)
    assert len({p.source for p in passages}) == 12
    assert all(p.source.startswith("docs/") and p.source.endswith(".md") for p in passages)
    review = [p for p in passages if p.source == "docs/review-loops.md"]
    assert [p.heading for p in review] == [
        "Worker and reviewer",
        "Feedback that can be acted on",
        "Bounding the loop",
    ]
    assert {p.title for p in review} == {"Review loops"}


def test_bm25_prefers_rare_matching_terms() -> None:
    """A document matching a rare query term outranks one matching only a common term; no match scores 0."""
    docs = [
        tokenize("the cat sat"),
        tokenize("the cat and the dog"),
        tokenize("a dog barked at the cat"),
    ]
    index = BM25(docs)
    ranked = index.rank(tokenize("barked cat"), top=3)
    assert ranked[0][0] == 2
    assert index.rank(tokenize("zebra"), top=3) == []


@pytest.mark.parametrize(
    ("question", "best"),
    [
        (
            "How do I limit memory and time when running generated code?",
            "docs/safe-tool-execution.md",
        ),
        ("Should reducers average the averages of chunks?", "docs/scatter-gather.md"),
        ("What should a router do when no specialist fits?", "docs/routing.md"),
        ("exponential backoff for transient failures", "docs/retries-and-timeouts.md"),
    ],
)
def test_retrieval_finds_the_right_document(question: str, best: str) -> None:
    """For questions on the bundled topics the top passage comes from the right document."""
    result = research(question, load_corpus(DEFAULT_CORPUS))
    assert result["passages"][0]["source"] == best


def test_answer_cites_every_passage_it_quotes() -> None:
    """Every [n] in the answer has a source line, and each quoted sentence is in its passage."""
    result = call(Researcher(), "How should a review loop be bounded?")
    body, sources = result["answer"].split("\n\nSources:\n")
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
    assert markers == list(range(1, len(result["passages"]) + 1))
    assert len(sources.strip().splitlines()) == len(markers)
    for sentence, n in re.findall(r"(.+?) \[(\d+)\]\s*", body):
        assert sentence.strip() in result["passages"][int(n) - 1]["text"]


def test_researcher_bad_input(tmp_path: Path) -> None:
    """A missing corpus, an empty corpus, a question of stop words and a question matching nothing all fail clearly."""
    with pytest.raises(AgentError, match="corpus folder not found"):
        call(Researcher(str(tmp_path / "missing")), "anything")
    with pytest.raises(AgentError, match="no Markdown passages"):
        call(Researcher(str(tmp_path)), "anything")
    with pytest.raises(AgentError, match="no searchable words"):
        call(Researcher(), "what is the")
    with pytest.raises(AgentError, match="no passage"):
        call(Researcher(), "xylophone quasar")


def test_writer_and_editor_produce_a_clean_cited_report() -> None:
    """research -> write -> edit: one title, reading time, no duplicate sentences, every marker resolves."""
    found = call(
        Researcher(), "How should a review loop between a worker and a reviewer be bounded?"
    )
    draft = call(Writer(), "write", context={"research": found})
    assert draft.count("\n# ") + draft.startswith("# ") == 1
    edited = call(Editor(), "edit", context={"write": draft})
    assert re.search(r"^\*Reading time: about \d+ min \(\d+ words\)\.\*$", edited, re.MULTILINE)
    sentences = [s.strip() for s in re.findall(r"[^.!?\n]+[.!?]", edited) if len(s.split()) > 4]
    assert len(sentences) == len(set(sentences))
    cited = {
        int(n)
        for line in edited.splitlines()
        if not re.match(r"^\[\d+\]", line)
        for n in re.findall(r"\[(\d+)\]", line)
    }
    sources = {int(n) for n in re.findall(r"^\[(\d+)\]", edited, re.MULTILINE)}
    assert cited == sources == set(range(1, len(found["passages"]) + 1))
    assert "Editor's note" not in edited


MESSY = """## intro:
Some text here. Some text here.
# Title one
#### deep heading
A claim [1]. Another claim [2].
# second title
More text.

[1] source one
"""


def test_editor_normalizes_headings_and_reports_unresolved_citations() -> None:
    """Extra H1s are demoted, skipped levels closed, duplicate sentences cut, [2] reported as unresolved."""
    result = edit_markdown(MESSY)
    headings = re.findall(r"^(#+) (.*)$", result.markdown, re.MULTILINE)
    assert headings == [
        ("#", "Intro"),
        ("##", "Title one"),
        ("###", "Deep heading"),
        ("##", "Second title"),
    ]
    assert result.markdown.count("Some text here.") == 1
    assert result.unresolved == [2] and result.uncited == []
    assert edit_markdown(result.markdown).markdown == result.markdown  # idempotent
    note = call(Editor(), MESSY)
    assert "Editor's note: citation marker(s) [2] do not resolve" in note
    with pytest.raises(AgentError, match=r"\[2\] do not resolve"):
        call(Editor(strict_citations=True), MESSY)


def test_writer_needs_research() -> None:
    """A writer with no research result in its context fails with an AgentError."""
    with pytest.raises(AgentError, match="needs a research result"):
        call(Writer(), "write", context={"x": "just text"})
    with pytest.raises(AgentError, match="no passages"):
        write_report({"question": "q", "passages": []})
