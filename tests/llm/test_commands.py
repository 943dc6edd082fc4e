"""The ``cassette`` and ``llm-check`` subcommands (plugged into ``switchboard`` by entry point)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sample_agents.cassettes.llm_research import CASSETTE
from toolkit.cli import CLIError
from toolkit.llm.commands import register


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_cassette_lists_every_exchange_with_tokens_and_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``switchboard cassette`` prints the note, one line per exchange and the total cost."""
    assert _run("cassette", str(CASSETTE)) == 0
    out = capsys.readouterr().out
    from toolkit.llm.cassette import Cassette

    n = len(Cassette(CASSETTE).exchanges)
    assert "note: Recorded from a real model" in out
    assert f"{n} exchange(s)" in out
    lines = [
        line
        for line in out.splitlines()
        if line.strip()[:1].isdigit() and "exchange(s)" not in line
    ]
    assert len(lines) == n and "planner" in lines[0] and "synthesizer" in lines[-1]
    assert "total cost" in out


def test_cassette_shows_hostile_text_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recorded text with terminal escapes and newlines is printed as one visible, inert line."""
    from toolkit.llm.cassette import Cassette, Exchange

    path = tmp_path / "h.json"
    Cassette(path, "record").add(
        Exchange(
            key="k",
            request={"model": "m", "messages": []},
            text="\x1b[31mred\x1b[0m\nline2 [b]x[/b]",
        )
    )
    assert _run("cassette", str(path)) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "[b]x[/b]" in out


def test_a_bad_cassette_is_a_one_line_user_error(tmp_path: Path) -> None:
    """A missing or corrupt cassette is a CLIError (one line, exit 2), not a traceback."""
    with pytest.raises(CLIError, match="cannot read cassette"):
        _run("cassette", str(tmp_path / "nope.json"))


def test_llm_check_names_the_variable_or_shows_the_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``llm-check`` says what to set when nothing is configured, and shows endpoint, key source
    (never the key) and price otherwise."""
    with pytest.raises(CLIError, match="set MY_LLM_KEY"):
        _run("llm-check", "--api-key-env", "MY_LLM_KEY")
    monkeypatch.setenv("MY_LLM_KEY", "sk-check-secret-42")
    assert _run("llm-check", "--api-key-env", "MY_LLM_KEY", "--model", "gpt-4o-mini") == 0
    out = capsys.readouterr().out
    assert (
        "https://api.openai.com/v1" in out
        and "from MY_LLM_KEY (set)" in out
        and "$0.15/1M in" in out
    )
    assert "sk-check" not in out
    assert _run("llm-check", "--base-url", "http://localhost:11434/v1", "--model", "llama3.2") == 0
    out = capsys.readouterr().out
    assert "none needed (local server)" in out and "unknown (cost shown as 0)" in out
