"""A researcher without a model: BM25 retrieval over a folder of Markdown documents.

The research scenario needs an agent that finds evidence and says where it came from.
``Researcher`` splits each Markdown file into passages (one per section, long sections
split by paragraph), ranks them against the question with Okapi BM25 (implemented
here, no dependency), and answers with the best sentence of each top passage, each
followed by a citation marker ``[n]`` that points to a source (file path and heading).
The bundled corpus is ``sample_agents/data/docs/``: twelve short original notes on
multi-agent orchestration.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sample_agents.tools.base import ToolAgent
from toolkit.agents import AgentError, Directive

__all__ = ["BM25", "DEFAULT_CORPUS", "Passage", "Researcher", "load_corpus", "research", "tokenize"]

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "data" / "docs"
"""The bundled corpus of Markdown notes."""

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "should",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "without",
        "you",
        "your",
        "my",
        "we",
        "our",
        "about",
        "into",
        "each",
        "every",
        "more",
        "most",
        "than",
        "so",
        "if",
        "not",
        "no",
        "one",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(])")


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ingly", "ing", "ers", "ies", "es", "er", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed words without stop words: the terms BM25 compares."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


class Passage(BaseModel):
    """A retrievable piece of a document, with where it came from."""

    source: str
    """Path of the file, relative to the corpus folder's parent (``docs/review-loops.md``)."""
    title: str
    """The document's title (its first ``#`` heading)."""
    heading: str
    """The section heading the passage sits under."""
    text: str


def _section(
    source: str, title: str, heading: str, lines: list[str], max_words: int
) -> list[Passage]:
    """One section's passages: its paragraphs, packed into pieces of at most ``max_words``."""
    body = "\n".join(lines).strip()
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()]
    out: list[Passage] = []
    chunk: list[str] = []
    for paragraph in paragraphs:
        if chunk and len(" ".join(chunk).split()) + len(paragraph.split()) > max_words:
            out.append(Passage(source=source, title=title, heading=heading, text=" ".join(chunk)))
            chunk = []
        chunk.append(paragraph)
    if chunk:
        out.append(Passage(source=source, title=title, heading=heading, text=" ".join(chunk)))
    return out


def load_corpus(folder: str | Path, *, max_words: int = 120) -> list[Passage]:
    """Split every ``*.md`` file under ``folder`` into passages.

    Raises:
        AgentError: the folder is missing or holds no Markdown with text.
    """
    root = Path(folder)
    if not root.is_dir():
        raise AgentError(f"corpus folder not found: {root}")
    passages: list[Passage] = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        source = path.relative_to(root.parent).as_posix()
        title, heading, lines = path.stem.replace("-", " ").capitalize(), "", []

        for line in text.splitlines():
            match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if match:
                passages += _section(source, title, heading or title, lines, max_words)
                lines = []
                if len(match.group(1)) == 1 and not heading:
                    title = match.group(2)
                heading = match.group(2)
            else:
                lines.append(line)
        passages += _section(source, title, heading or title, lines, max_words)
    if not passages:
        raise AgentError(f"the corpus folder {root} holds no Markdown passages")
    return passages


class BM25:
    """Okapi BM25 ranking over tokenized documents.

    Args:
        documents: Each document as its list of terms.
        k1: Term-frequency saturation.
        b: Length normalization (0: none, 1: full).
    """

    def __init__(
        self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75
    ) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.avg_length = (sum(self.lengths) / len(documents)) if documents else 0.0
        df: Counter[str] = Counter(term for tf in self.tfs for term in tf)
        n = len(documents)
        self.idf = {term: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for term, f in df.items()}

    def score(self, query: Sequence[str], index: int) -> float:
        """BM25 score of document ``index`` for the query terms."""
        tf, length = self.tfs[index], self.lengths[index]
        norm = (
            self.k1 * (1 - self.b + self.b * length / self.avg_length)
            if self.avg_length
            else self.k1
        )
        total = 0.0
        for term in set(query):
            f = tf.get(term, 0)
            if f:
                total += self.idf[term] * f * (self.k1 + 1) / (f + norm)
        return total

    def rank(self, query: Sequence[str], top: int) -> list[tuple[int, float]]:
        """The ``top`` best documents as (index, score), best first; zero scores left out."""
        scored = [(i, self.score(query, i)) for i in range(len(self.tfs))]
        scored = [(i, s) for i, s in scored if s > 0]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:top]


_ANAPHORA = re.compile(
    r"^(?:it|its|this|that|these|those|they|then|either way|without (?:it|one|them))\b",
    re.IGNORECASE,
)


def _best_sentence(text: str, terms: set[str]) -> str:
    """The sentence sharing most terms with the query; one that leans on the sentence
    before it ("Without one, ...") loses 1.5 terms, since quoted alone it reads badly."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]

    def fit(index: int) -> tuple[float, int]:
        sentence = sentences[index]
        return len(terms & set(tokenize(sentence))) - (
            1.5 if _ANAPHORA.match(sentence) else 0.0
        ), -index

    return sentences[max(range(len(sentences)), key=fit)]


def research(question: str, passages: Sequence[Passage], *, top: int = 4) -> dict[str, Any]:
    """Rank passages for ``question`` and write a cited answer.

    Returns:
        ``question``, ``answer`` (Markdown, sentences marked ``[n]``, then the sources),
        ``passages`` (each with ``n``, ``source``, ``title``, ``heading``, ``text``,
        ``score``) and ``sources`` (``[n] path — title › heading``).

    Raises:
        AgentError: the question has no searchable words, or nothing matches.
    """
    terms = tokenize(question)
    if not terms:
        raise AgentError(f"the question has no searchable words: {question[:80]!r}")
    index = BM25([tokenize(f"{p.title} {p.heading} {p.text}") for p in passages])
    ranked = index.rank(terms, top)
    if not ranked:
        raise AgentError(f"no passage in the corpus matches the question: {question[:80]!r}")
    found = []
    for n, (i, score) in enumerate(ranked, 1):
        p = passages[i]
        found.append(
            {
                "n": n,
                "source": p.source,
                "title": p.title,
                "heading": p.heading,
                "text": p.text,
                "score": round(score, 3),
            }
        )
    sources = [f"[{p['n']}] {p['source']} — {p['title']} › {p['heading']}" for p in found]
    term_set = set(terms)
    sentences = [f"{_best_sentence(p['text'], term_set)} [{p['n']}]" for p in found]
    answer = " ".join(sentences) + "\n\nSources:\n" + "\n".join(sources) + "\n"
    return {"question": question.strip(), "answer": answer, "passages": found, "sources": sources}


class Researcher(ToolAgent):
    """Answers a question from a folder of Markdown documents, citing its sources.

    The question is the directive's prompt. Output: the dict of ``research``.

    Args:
        corpus_dir: The folder of ``*.md`` files (default: the bundled notes).
        top: How many passages to cite.
        name: The agent's name in plans.
    """

    description = (
        "Searches a folder of Markdown documents (BM25 ranking) and answers with cited passages."
    )
    skills = ("research", "search", "retrieval", "citations", "documents")

    def __init__(
        self, corpus_dir: str | None = None, *, top: int = 4, name: str = "researcher"
    ) -> None:
        self.name = name
        self.corpus_dir = str(corpus_dir) if corpus_dir else str(DEFAULT_CORPUS)
        self.top = int(top)
        self._passages: list[Passage] | None = None

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Load the corpus (once), rank passages for the prompt, and answer with citations."""
        question = directive.prompt.strip() or directive.goal
        if self._passages is None:
            self._passages = await self.use_tool(
                directive,
                "load_corpus",
                {"folder": self.corpus_dir},
                lambda: load_corpus(self.corpus_dir),
                summary=lambda ps: {"passages": len(ps), "documents": len({p.source for p in ps})},
            )
        passages = self._passages
        return await self.use_tool(
            directive,
            "bm25.search",
            {"query": question[:200], "top": self.top},
            lambda: research(question, passages, top=self.top),
            summary=lambda r: [f"{p['source']} ({p['score']})" for p in r["passages"]],
        )
