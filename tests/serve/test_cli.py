"""``switchboard serve`` as a command: user errors are one line and exit code 2."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.serve.conftest import SWITCHBOARD, TEAM, TOKEN_ENV


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    return subprocess.run(
        [SWITCHBOARD, "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ((str(TEAM), "--token-env", TOKEN_ENV), {}, f"environment variable {TOKEN_ENV} is not set"),
        (("missing.yaml", "--token-env", TOKEN_ENV), {TOKEN_ENV: "t"}, "missing.yaml"),
        (
            (str(TEAM), "--token-env", TOKEN_ENV, "--port", "70000"),
            {TOKEN_ENV: "t"},
            "--port 70000",
        ),
        (
            (str(TEAM), "--token-env", TOKEN_ENV, "--store", "/no/such/dir/runs.db"),
            {TOKEN_ENV: "t"},
            "no folder",
        ),
        (
            (str(TEAM), str(TEAM), "--token-env", TOKEN_ENV),
            {TOKEN_ENV: "t"},
            "already named 'team'",
        ),
        (
            (str(TEAM), "--token-env", TOKEN_ENV, "--bus", "http://u:hidden@127.0.0.1/0"),
            {TOKEN_ENV: "t"},
            "--bus http://u:***@127.0.0.1/0: ",
        ),
    ],
)
def test_user_errors_are_one_line_exit_2(
    args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    """An unset token variable, a missing workflow, a bad port or store folder, a workflow
    served twice, a --bus that is not Redis: one line on stderr naming the problem, exit
    code 2, no traceback (and no password)."""
    done = serve(*args, env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("switchboard: error: "), done.stderr
    assert says in lines[0] and "hidden" not in lines[0]


def test_a_port_in_use_is_a_user_error() -> None:
    """A port another process holds: one line naming it, exit code 2."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = serve(str(TEAM), "--port", str(port), "--token-env", TOKEN_ENV, env={TOKEN_ENV: "t"})
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_differing_agents_of_the_same_name_are_refused(tmp_path: Path) -> None:
    """Two served files that define one agent name differently are refused at start."""
    other = tmp_path / "other.yaml"
    other.write_text(
        "name: other\nagents:\n  writer: {kind: mock, reply: different}\n"
        "steps:\n  - {id: w, agent: writer}\n"
    )
    done = serve(str(TEAM), str(other), "--token-env", TOKEN_ENV, env={TOKEN_ENV: "t"})
    assert done.returncode == 2
    assert "agent 'writer' differs from the one of workflow 'team'" in done.stderr


@pytest.mark.parametrize("missing", ["starlette", "httpx"])
def test_without_the_remote_extra_one_line_names_it(tmp_path: Path, missing: str) -> None:
    """Without the 'remote' extra, ``serve`` says in one line what to install (exit code 2);
    following a URL needs only httpx of it; the other commands still work."""
    from tests.test_extras import cli

    served = cli(tmp_path, [missing], "serve", str(TEAM), "--token-env", TOKEN_ENV)
    assert served.returncode == 2
    if missing == "httpx":  # the server needs no httpx: it gets as far as the token
        assert f"environment variable {TOKEN_ENV} is not set" in served.stderr
    else:
        assert served.stderr == (
            "switchboard serve needs the 'remote' extra: pip install 'switchboard[remote]'\n"
        )
    followed = cli(tmp_path, [missing], "replay", "http://127.0.0.1:9/v1/runs/run-x")
    assert followed.returncode == 2
    if missing == "httpx":
        assert followed.stderr == (
            "switchboard replay needs the 'remote' extra: pip install 'switchboard[remote]'\n"
        )
    else:  # the follower got as far as the (absent) server
        assert "cannot reach the server" in followed.stderr
    assert cli(tmp_path, [missing], "validate", str(TEAM)).returncode == 0
