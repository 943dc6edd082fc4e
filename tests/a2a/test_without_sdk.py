"""Without the `a2a` extra: workflows with `kind: a2a` still validate (the spec is plain
pydantic), and using A2A says in one line which extra to install (exit code 2)."""

from __future__ import annotations

from pathlib import Path

from tests.test_extras import cli

REMOTE = Path(__file__).resolve().parents[2] / "sample_agents" / "a2a" / "remote-writer.yaml"
WRITERS = (
    Path(__file__).resolve().parents[2] / "sample_agents" / "workflows" / "research-report.yaml"
)


def test_serve_a2a_without_the_sdk_names_the_a2a_extra(tmp_path: Path) -> None:
    """`serve-a2a` without a2a-sdk: one line naming the extra, exit code 2."""
    result = cli(tmp_path, ["a2a"], "serve-a2a", str(WRITERS), "writer")
    assert result.returncode == 2
    assert result.stderr == (
        "switchboard serve-a2a needs the 'a2a' extra: pip install 'switchboard[a2a]'\n"
    )


def test_a_kind_a2a_workflow_validates_and_its_run_names_the_extra(tmp_path: Path) -> None:
    """validate needs no SDK; run says the a2a agent needs the extra, in one line; --mock runs."""
    assert cli(tmp_path, ["a2a"], "validate", str(REMOTE)).returncode == 0
    run = cli(tmp_path, ["a2a"], "run", str(REMOTE))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "kind: a2a agents needs the 'a2a' extra: pip install 'switchboard[a2a]'" in run.stderr
    mocked = cli(tmp_path, ["a2a"], "run", str(REMOTE), "--mock")
    assert mocked.returncode == 0, mocked.stderr
