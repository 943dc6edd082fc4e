"""Rules that must hold for every input: redaction, cassette round trips, delta coalescing."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.llm.cassette import Cassette, Exchange, Step, request_key
from toolkit.llm.client import Reporter, redact

KEY_CHARS = string.ascii_letters + string.digits + "-_"


@given(
    key=st.text(KEY_CHARS, min_size=8, max_size=40),
    parts=st.lists(st.text(max_size=30), min_size=1, max_size=5),
)
def test_redact_never_leaves_the_key(key: str, parts: list[str]) -> None:
    """Whatever text surrounds it, and however often it appears, the key is gone after redact()."""
    text = key.join(parts) + key
    assert key not in redact(text, key)


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.text(max_size=20), max_size=8),
    retries=st.lists(st.text(min_size=1, max_size=30), max_size=2),
    tokens=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
)
def test_an_exchange_survives_the_file_round_trip(
    chunks: list[str], retries: list[str], tokens: tuple[int, int]
) -> None:
    """Any exchange written to a cassette file reads back equal, under the same key."""
    steps = [Step(retry=r) for r in retries] + [Step(chunk=c) for c in chunks]
    body = {"model": "m", "messages": [{"role": "user", "content": "".join(chunks)}]}
    exchange = Exchange(
        key=request_key(body),
        request=body,
        text="".join(chunks),
        steps=steps,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        Cassette(path, "record").add(exchange)
        loaded = Cassette(path)
        assert loaded.find(request_key(body), 0) == exchange


class _Tracer:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def emit(self, cls: object, **fields: object) -> None:
        self.texts.append(str(fields["text"]))


class _Session:
    def __init__(self) -> None:
        self.tracer = _Tracer()
        self.span_id = "s"
        self.task_id = "t"


@given(chunks=st.lists(st.text(max_size=12), max_size=30), size=st.integers(1, 64))
def test_coalesced_deltas_keep_every_character_in_order(chunks: list[str], size: int) -> None:
    """However the stream is cut and whatever the coalescing size, the deltas join to the full text
    and none is empty."""
    session = _Session()
    reporter = Reporter(session, "a", "agent", delta_chars=size)  # type: ignore[arg-type]
    for chunk in chunks:
        reporter.chunk(chunk)
    reporter.flush()
    assert "".join(session.tracer.texts) == "".join(chunks)
    assert all(session.tracer.texts)
