"""Snapshots of the main screens at fixed sizes, from the deterministic traces in sample_agents/.

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs in ``__snapshots__/`` before committing them.
"""

from __future__ import annotations

from .conftest import FEATURE_REVIEW, HOSTILE, SCATTER_GATHER, TEAMS, replay_app


def test_flow_at_120x40(snap_compare) -> None:
    """The overview (header, message flow, plan, agents, replay bar) of the feature-review run."""
    assert snap_compare(replay_app(FEATURE_REVIEW), terminal_size=(120, 40))


def test_flow_at_80x24(snap_compare) -> None:
    """The overview still fits a classic 80x24 terminal."""
    assert snap_compare(replay_app(FEATURE_REVIEW), terminal_size=(80, 24))


def test_wide_layout_at_160x48(snap_compare) -> None:
    """From 140 columns the flow and the plan/agents sit side by side."""
    assert snap_compare(replay_app(SCATTER_GATHER), terminal_size=(160, 48))


def test_metrics_tab(snap_compare) -> None:
    """The per-agent metrics table."""
    assert snap_compare(replay_app(FEATURE_REVIEW), press=["2"], terminal_size=(120, 40))


def test_event_log_tab(snap_compare) -> None:
    """The event log with its filters."""
    assert snap_compare(replay_app(FEATURE_REVIEW), press=["3"], terminal_size=(120, 40))


def test_mid_replay(snap_compare) -> None:
    """Stepped back to event 14: the views show the run as it was then (developer retrying)."""
    keys = ["g", *["full_stop"] * 14]
    assert snap_compare(replay_app(FEATURE_REVIEW), press=keys, terminal_size=(120, 40))


def test_message_details(snap_compare) -> None:
    """The details of the last message, whole."""
    assert snap_compare(replay_app(FEATURE_REVIEW), press=["up", "enter"], terminal_size=(120, 40))


def test_help(snap_compare) -> None:
    """The key help at 80x24."""
    assert snap_compare(replay_app(FEATURE_REVIEW), press=["question_mark"], terminal_size=(80, 24))


def test_hostile_payloads(snap_compare) -> None:
    """Markup, escapes and control characters shown literally."""
    assert snap_compare(replay_app(HOSTILE), terminal_size=(120, 40))


def test_time_tab(snap_compare) -> None:
    """The Gantt timeline: agent lanes over time, the failed attempts, fallback, reviews."""
    assert snap_compare(replay_app(FEATURE_REVIEW), press=["4"], terminal_size=(120, 40))


def test_time_tab_at_80x24_mid_run(snap_compare) -> None:
    """Stepped back to event 14 on a classic terminal: only the calls made by then are drawn."""
    keys = ["4", "g", *["full_stop"] * 14]
    assert snap_compare(replay_app(FEATURE_REVIEW), press=keys, terminal_size=(80, 24))


def test_team_expanded(snap_compare) -> None:
    """A team of teams: Enter on the research team (▸) in the agents shows its own
    lanes (its sources team ▸ and analyst), its plan and its agents."""

    async def focus_the_team(pilot) -> None:
        from tui.widgets.agents_view import AgentsView

        await pilot.pause()
        agents = pilot.app.screen.query_one(AgentsView)
        agents.focus()
        agents.move_cursor(row=0)

    assert snap_compare(
        replay_app(TEAMS), press=["enter"], terminal_size=(120, 40), run_before=focus_the_team
    )
