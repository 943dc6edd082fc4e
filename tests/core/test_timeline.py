"""The timeline and the replay cursor (toolkit.timeline): the state at any cursor is the fold up to it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.recorder import read_trace
from toolkit.state import RunState, fold
from toolkit.timeline import SPEEDS, Player, Timeline

TRACES = Path(__file__).resolve().parents[2] / "sample_agents" / "traces"
FEATURE_REVIEW = TRACES / "feature-review.jsonl"
SCATTER_GATHER = TRACES / "scatter-gather.jsonl"
EVENTS = read_trace(FEATURE_REVIEW).events
SG_EVENTS = read_trace(SCATTER_GATHER).events


def _same(a: RunState, b: RunState) -> bool:
    return asdict(a) == asdict(b)


def _timeline(events=EVENTS, every: int = 4) -> Timeline:
    timeline = Timeline(every=every)
    timeline.extend(events)
    return timeline


def test_state_at_every_cursor_is_the_fold_of_the_prefix() -> None:
    """For every cursor k, state_at(k) equals fold(events[:k]), checkpoints or not."""
    timeline = _timeline()
    for k in range(len(EVENTS) + 1):
        assert _same(timeline.state_at(k), fold(EVENTS[:k])), k


def test_seeking_never_changes_the_latest_state() -> None:
    """Restoring from checkpoints copies: the state at the end is untouched by seeks."""
    timeline = _timeline(SG_EVENTS, every=3)
    before = asdict(timeline.latest)
    for k in (5, 1, 20, 0, 31, 7):
        timeline.state_at(k)
    assert asdict(timeline.latest) == before


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=60), min_size=1, max_size=15))
def test_any_sequence_of_moves_shows_the_fold_at_the_cursor(moves: list[int]) -> None:
    """Whatever the user does (seek, step back or forth), the player shows fold(events[:cursor])."""
    player = Player(_timeline(SG_EVENTS, every=5), following=False)
    for move in moves:
        if move < 0:
            player.step(move)
        else:
            player.seek(move)
        assert _same(player.state(), fold(SG_EVENTS[: player.cursor]))


def test_step_and_jump() -> None:
    """Steps move by one and pause; start is 0; end is the last event and follows."""
    player = Player(_timeline())
    player.sync()
    assert player.cursor == len(EVENTS) and player.following
    player.step(-1)
    assert player.cursor == len(EVENTS) - 1 and not player.following
    player.start()
    assert player.cursor == 0
    player.step(-1)
    assert player.cursor == 0
    player.end()
    assert player.cursor == len(EVENTS) and player.following


def test_play_advances_at_the_recorded_pace_times_speed() -> None:
    """Events 0.25 s apart replay 4 per second at speed 1 and 16 per second at speed 4."""
    player = Player(_timeline(), following=False)
    player.speed = 1.0
    player.toggle()
    assert player.playing and player.cursor == 0
    player.advance(0.0)
    assert player.cursor == 1  # the first event is due at once
    player.advance(1.0)
    assert player.cursor == 5
    player.faster()
    player.faster()
    assert player.speed == 4.0
    player.advance(1.0)
    assert player.cursor == 21
    player.toggle()
    assert not player.advance(10.0)


def test_play_to_the_end_stops_and_follows() -> None:
    """Playing past the last event stops there and follows new events."""
    player = Player(_timeline(), following=False)
    player.toggle()
    player.advance(1000.0)
    assert player.cursor == len(EVENTS) and not player.playing and player.following


def test_speed_is_bounded() -> None:
    """Slower and faster stop at the slowest and fastest speeds."""
    player = Player(Timeline())
    for _ in range(20):
        player.slower()
    assert player.speed == SPEEDS[0]
    for _ in range(20):
        player.faster()
    assert player.speed == SPEEDS[-1]


def test_reset_forgets_everything() -> None:
    """A new run starts from an empty timeline."""
    timeline = _timeline()
    timeline.reset()
    assert len(timeline) == 0 and timeline.latest.event_count == 0
    assert timeline.state_at(0).event_count == 0


def test_checkpoints_are_left_by_seeks_not_by_loading() -> None:
    """Loading folds once and copies nothing; the first seek leaves checkpoints behind it."""
    timeline = _timeline(SG_EVENTS, every=5)
    assert timeline.checkpoints == 1
    timeline.state_at(len(SG_EVENTS) - 1)
    assert timeline.checkpoints > 3
    assert _same(timeline.state_at(12), fold(SG_EVENTS[:12]))
