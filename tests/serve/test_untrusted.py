"""What a follower reads from the network is untrusted: damaged messages are skipped,
counted and reported; a dropped stream is resumed where it stopped."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.serve.conftest import SWITCHBOARD
from tests.services import Service, free_port
from toolkit.events import dump_event
from toolkit.serve.follow import SseDecoder, SseMessage
from toolkit.sources import EventFeed, open_url
from toolkit.state import fold

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hostile() -> Iterator[str]:
    """The hostile server of ``hostile_server.py``, a real process on a free port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "tests.serve.hostile_server", str(port)]
    probe = lambda: healthy_status(base)  # noqa: E731
    with Service(argv, probe, name="hostile server", cwd=ROOT):
        yield base


def healthy_status(base: str) -> bool:
    try:
        return httpx.get(f"{base}/v1/runs/run-h", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_damaged_messages_are_skipped_counted_and_reported(hostile: str) -> None:
    """Not JSON, not an event, another run's event and a repeated seq: each skipped and
    reported in one line; the good events all arrive, the dropped stream is resumed
    after the last good seq, and the run folds to the end the server announced."""
    from tests.serve.hostile_server import GOOD

    source = open_url(f"{hostile}/v1/runs/run-h", token="t")
    feed = EventFeed()
    source.produce(feed)
    events, problems = feed.drain()
    assert [dump_event(e) for e in events] == [dump_event(e) for e in GOOD]
    assert source.skipped == 4 and len(problems) == 4 == len(source.problems)
    assert problems[0].startswith("event x1: ")
    assert problems[1].startswith("event x2: ")
    assert problems[2] == "event 5: belongs to run 'run-other'"
    assert problems[3] == "event 1: seq 1 after seq 1"
    assert httpx.get(f"{hostile}/hits").json()["hits"] == [None, "1"]  # resumed after seq 1
    assert source.status == "succeeded" and feed.closed
    state = fold(events)
    assert state.status == "succeeded" and state.problems == []


def test_replay_reports_the_damage_in_one_warning_and_shows_the_rest_safely(
    hostile: str,
) -> None:
    """``switchboard replay`` on the damaged stream exits 0, prints the messages with
    their escape sequences made visible, and one warning line counting what it skipped."""
    done = subprocess.run(
        [SWITCHBOARD, "replay", f"{hostile}/v1/runs/run-h"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "␛" in done.stdout and "hello" in done.stdout
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 1 and "skipped 4 damaged message(s)" in warnings[0]


LINE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=30)
MESSAGES = st.lists(
    st.builds(
        SseMessage,
        event=st.sampled_from(["trace", "end", "message"]),
        data=st.lists(LINE, min_size=1, max_size=3).map("\n".join),
        id=st.none() | st.integers(0, 10**6).map(str),
    ),
    max_size=8,
)


def encode(message: SseMessage, newline: bytes) -> bytes:
    out = b": ping" + newline
    if message.id is not None:
        out += b"id: " + message.id.encode() + newline
    out += b"event: " + message.event.encode() + newline
    for line in message.data.split("\n"):
        out += b"data: " + line.encode() + newline
    return out + newline


@settings(max_examples=200, deadline=None)
@given(MESSAGES, st.sampled_from([b"\n", b"\r\n", b"\r"]), st.lists(st.integers(0, 10**4)))
def test_sse_decoding_does_not_depend_on_where_the_network_splits_the_stream(
    messages: list[SseMessage], newline: bytes, cuts: list[int]
) -> None:
    """Whatever the line endings (LF, CRLF, CR) and wherever the stream is cut into
    chunks (a CRLF cut in two included), the same messages come out, in order."""
    stream = b"".join(encode(m, newline) for m in messages)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = SseDecoder()
    out: list[SseMessage] = []
    for a, b in itertools.pairwise(points):
        out += decoder.feed(stream[a:b])
    assert out == messages  # an empty data line is data too: such a message is kept


def test_a_line_past_the_limit_is_refused() -> None:
    """A stream line longer than the limit raises instead of growing without bound."""
    decoder = SseDecoder(max_line=100)
    with pytest.raises(ValueError, match="over 100 bytes"):
        decoder.feed(b"data: " + b"x" * 200)
