"""Rules that must hold for every input: redaction, cassette round trips, delta coalescing."""

from __future__ import annotations

import base64
import itertools
import string
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.llm.cassette import Cassette, Exchange, Step, request_key
from toolkit.llm.client import Reporter, redact
from toolkit.redact import StreamRedactor, url_secrets

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


# -- key shapes ---------------------------------------------------------------------
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits


def _tail(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=lo, max_size=hi)


KEYS = st.one_of(
    st.builds(
        lambda p, t: p + t,
        st.sampled_from(["sk-", "sk-proj-", "sk-ant-api03-"]),
        _tail(_ALNUM + "_-", 20, 60),
    ),
    st.builds(lambda p, t: p + t, st.sampled_from(["AKIA", "ASIA"]), _tail(_UPPER, 16, 16)),
    st.builds(
        lambda p, t: p + t,
        st.sampled_from(["ghp_", "gho_", "ghs_", "github_pat_"]),
        _tail(_ALNUM, 36, 60),
    ),
    st.builds(lambda p, t: p + t, st.sampled_from(["xoxb-", "xoxp-"]), _tail(_ALNUM + "-", 12, 40)),
    st.builds(
        lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}",
        _tail(_ALNUM + "_-", 8, 30),
        _tail(_ALNUM + "_-", 8, 30),
        _tail(_ALNUM + "_-", 8, 30),
    ),
    st.builds(lambda t: "Bearer 1" + t, _tail(_ALNUM + "._-", 10, 40)),
)
"""Keys of every well-known shape (a bearer token is kept with its scheme word)."""
WORDS = st.text(string.ascii_letters + string.digits + ".,:;!?()'\"", max_size=12)


@settings(max_examples=200)
@given(keys=st.lists(KEYS, min_size=1, max_size=4), words=st.lists(WORDS, max_size=8))
def test_every_well_known_key_shape_is_masked_wherever_it_sits(
    keys: list[str], words: list[str]
) -> None:
    """A key of any well-known shape, between any words (separated by whitespace), is masked."""
    text = " ".join(words[: len(words) // 2] + keys + words[len(words) // 2 :])
    clean = redact(text)
    assert not any(k in clean for k in keys)
    assert clean.count("***") >= len(keys)


@given(text=st.text(max_size=200), keys=st.lists(KEYS, max_size=2))
def test_redaction_is_idempotent(text: str, keys: list[str]) -> None:
    """Masking masked text changes nothing (replaying a redacted cassette redacts it again)."""
    once = redact(text + " " + " ".join(keys))
    assert redact(once) == once


@settings(max_examples=200)
@given(
    keys=st.lists(KEYS, min_size=1, max_size=3),
    words=st.lists(WORDS, max_size=10),
    cuts=st.lists(st.integers(0, 400), max_size=30),
    spaces=st.sampled_from([" ", "\n", "  ", "\t"]),
)
def test_a_stream_cut_anywhere_is_redacted_as_the_whole_text(
    keys: list[str], words: list[str], cuts: list[int], spaces: str
) -> None:
    """However a stream is cut into chunks, the pieces StreamRedactor lets out join to the
    redacted whole text (in which every key is masked), so no piece holds a part of a key."""
    text = spaces.join(words[::2] + keys + words[1::2])
    bounds = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    redactor = StreamRedactor()
    pieces = [redactor.feed(text[a:b]) for a, b in itertools.pairwise(bounds)]
    pieces.append(redactor.close())
    assert "".join(pieces) == redact(text)
    assert not any(k in "".join(pieces) for k in keys)


@given(
    user=st.text(_ALNUM, min_size=1, max_size=10),
    password=st.text(_ALNUM + "-._~!$&'()*+,;=%", min_size=4, max_size=20),
)
def test_url_credentials_are_masked_in_every_form_a_server_echoes(user: str, password: str) -> None:
    """The password of ``user:password@`` in a URL is masked as written, percent-decoded, paired with
    the user and as a Basic Authorization value."""
    from urllib.parse import unquote

    url = f"https://{user}:{password}@api.example.com/v1"
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    echoed = f"at {url}: pw={password} decoded={unquote(password)} Authorization: Basic {basic} raw {basic}"
    clean = redact(echoed, *url_secrets(url))
    assert password not in clean.replace("***", "") or len(password) < 4
    assert basic not in clean and f"{user}:{password}@" not in clean
