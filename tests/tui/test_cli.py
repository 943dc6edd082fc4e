"""The ``switchboard demo`` and ``switchboard tui`` options: parsed, checked, and what they do."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from toolkit.cli import CLIError
from toolkit.state import fold
from tui.app import SwitchboardApp
from tui.cli import DEMO_PACE, cassette_from_args, demo_source, register, source_from_args

from .conftest import ROOT, wait_run_done

CASSETTES = ROOT / "sample_agents" / "cassettes"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def developer_latency(source) -> float:
    run = source.factory([])
    return run.orch.agents["developer"].latency.mean


def test_demo_speed_means_what_plus_and_minus_mean() -> None:
    """--speed 2 runs the demo twice as fast as --speed 1 (higher is faster, as + in the app)."""
    at_1 = developer_latency(demo_source(parse("demo")))
    at_2 = developer_latency(demo_source(parse("demo", "--speed", "2")))
    at_half = developer_latency(demo_source(parse("demo", "--speed", "0.5")))
    assert at_2 == pytest.approx(at_1 / 2)
    assert at_half == pytest.approx(at_1 * 2)


def test_the_demo_unfolds_at_a_pace_a_newcomer_can_follow() -> None:
    """At --speed 1 the demo's agents take DEMO_PACE times the scenario's latencies (≥ 2 s per call)."""
    assert DEMO_PACE >= 5
    assert developer_latency(demo_source(parse("demo"))) >= 2.0


@pytest.mark.parametrize("speed", ["0", "-1", "nan", "inf"])
def test_demo_refuses_a_speed_that_is_not_positive(speed: str) -> None:
    """--speed must be a positive, finite number: one clear error."""
    with pytest.raises(CLIError, match="--speed"):
        demo_source(parse("demo", "--speed", speed))


def test_demo_seed_changes_the_run() -> None:
    """Another --seed is another run: other failures, other review rounds, other messages."""
    import anyio

    def shape(seed: int) -> tuple[int, int, int]:
        args = parse("demo", "--seed", str(seed), "--speed", "1e9")
        run = demo_source(args).factory([])
        result = anyio.run(run.execute)
        state = result.state
        return (
            state.counts.get("task_failed", 0),
            state.tasks["implement"].round,
            len(state.messages),
        )

    shapes = {shape(seed) for seed in (1, 3, 4)}
    assert len(shapes) == 3


def test_tui_mock_replaces_real_agents(tmp_path: Path) -> None:
    """`tui WORKFLOW --mock` runs the workflow with every real agent's mock stand-in."""
    import anyio

    path = tmp_path / "w.yaml"
    path.write_text(
        "name: w\ninput: hi\nagents:\n  editor:\n    kind: llm\n    model: m\n"
        "    api_key_env: SWITCHBOARD_TEST_NO_SUCH_KEY\n    mock: {reply: 'edited: {prompt}'}\n"
        "steps:\n  - {id: edit, agent: editor, prompt: '{{input}}'}\n"
    )
    source = source_from_args(parse("tui", str(path), "--mock"))
    result = anyio.run(source.factory([]).execute)
    assert result.status == "succeeded" and result.output == "edited: hi"


def test_tui_cassette_options_build_a_paced_cassette() -> None:
    """--cassette, --cassette-mode and --cassette-pace build the cassette the app runs under."""
    args = parse(
        "tui",
        str(CASSETTES / "llm-research.yaml"),
        "--cassette",
        str(CASSETTES / "llm-research.json"),
        "--cassette-pace",
        "2",
    )
    cassette = cassette_from_args(args)
    assert cassette.mode == "replay" and cassette.pace == 2.0
    assert cassette_from_args(parse("tui", "x.yaml")) is None
    with pytest.raises(CLIError, match="cassette-pace"):
        cassette_from_args(parse("tui", "x.yaml", "--cassette", "c.json", "--cassette-pace", "-1"))
    with pytest.raises(CLIError, match=r"no-such\.json"):
        cassette_from_args(parse("tui", "x.yaml", "--cassette", str(CASSETTES / "no-such.json")))


def test_cassette_and_mock_apply_to_workflows_only(feature_trace: Path) -> None:
    """--cassette or --mock with a recorded trace is a user error, not silently ignored."""
    for extra in (["--cassette", "c.json"], ["--mock"]):
        with pytest.raises(CLIError, match="workflow"):
            source_from_args(parse("tui", str(feature_trace), *extra))


@pytest.mark.anyio
async def test_a_paced_cassette_replay_streams_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tui llm-research.yaml --cassette llm-research.json` replays with no key; paced, each
    streamed reply is spread over its recorded latency (the agent is seen typing)."""
    from toolkit.llm.cassette import use_cassette

    for name in ("OPENAI_API_KEY", "SWITCHBOARD_CASSETTE"):
        monkeypatch.delenv(name, raising=False)
    # the cassette's recorded latencies are a real model's (tens of seconds in all): a
    # fraction of them keeps the test short while still spreading every stream out
    pace = 0.1
    args = parse(
        "tui",
        str(CASSETTES / "llm-research.yaml"),
        "--cassette",
        str(CASSETTES / "llm-research.json"),
        "--cassette-pace",
        str(pace),
    )
    cassette = cassette_from_args(args)
    app = SwitchboardApp(source_from_args(args))
    with use_cassette(cassette):
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await wait_run_done(pilot)
            events = screen.timeline.events
    state = fold(events)
    assert state.status == "succeeded"
    deltas = [e for e in events if e.kind == "llm_delta"]
    assert deltas
    # a paced replay sleeps between chunks: the longest recorded stream takes at least
    # pace × its recorded latency × (chunks - 1) / chunks (a lower bound: sleeps never end early)
    longest = max(cassette.exchanges, key=lambda x: x.latency_s * bool(x.steps))
    by_agent = [e for e in deltas if getattr(e, "agent", None) == longest.agent] or deltas
    spread = by_agent[-1].ts - by_agent[0].ts
    n = len(longest.steps)
    assert spread >= pace * longest.latency_s * (n - 1) / n * 0.99
