"""A code runner: runs a Python snippet, or a snippet and its tests, in a limited subprocess.

Agents that write code need something that runs it and says plainly whether it
worked. This runner writes the files into a fresh temporary directory and starts the
same Python (``sys.executable -I -B``) there, in its own process group. A short
bootstrap sets the limits inside the child before any of the snippet runs:
``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (a CPU-time backstop) and ``RLIMIT_FSIZE``
(output files). A wall-clock timer kills the whole process group. The report says
passed or failed, why (``timeout``, ``memory``, ``syntax``, ``exception``,
``tests-failed``, ``no-tests``, ``output-limit``), the exit code, clipped stdout and
stderr, the duration and, for tests, the pass/fail counts.

Everything the snippet starts is killed with it, even a daemon that double-forked
into its own session: each run gets a marker in its environment, the bootstrap makes
itself a child subreaper (orphans stay its descendants) and, where the machine lets
it (cgroup v1 or v2 writable, usually as root), joins a fresh ``pids`` cgroup (and a
``memory`` one). When the run ends, however it ends, every process in that cgroup, below
the child, in its session or process group, or carrying the marker is killed, again
and again until none is left.

Limits: wall-clock time, CPU time, memory per process (``RLIMIT_AS``) and, in a
memory cgroup, for all processes together; processes (``pids.max`` in the cgroup, else
``RLIMIT_NPROC``, which does not bind root, plus a watcher that ends the run when more
are alive); the size of each file (``RLIMIT_FSIZE``); and the scratch directory (the
working directory, also ``TMPDIR`` and ``HOME``), watched every ``WATCH_S`` seconds:
the run is killed once its files exceed ``disk_limit_mb`` or ``max_files``. The disk
bound is therefore not exact: between two looks a snippet can write at most what the
disk takes in ``WATCH_S`` (each file still capped by ``RLIMIT_FSIZE``); the test suite
measures the overshoot. Impossible limits (negative, zero, NaN, infinite) are refused.

This is resource limiting, not a security sandbox: the snippet can still read and
write the file system outside its directory (absolute paths) and open network
connections as the user running it, and a process that clears its environment,
double-forks and runs where no cgroup is available escapes the kill sweep.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from sample_agents.tools.base import ToolAgent, context_items
from toolkit.agents import AgentError, Directive

__all__ = [
    "CodeRunner",
    "Program",
    "RunReport",
    "TestCounts",
    "check_limits",
    "extract_program",
    "run_program",
]

MEMORY_EXIT = 86
"""Exit code the bootstrap uses when the snippet ran out of memory."""

WATCH_S = 0.02
"""How often the runner looks at the scratch directory and counts the run's processes."""
MARKER_ENV = "SWITCHBOARD_RUN_MARKER"
"""Environment variable that marks every process of one run (for the kill sweep)."""

_BOOTSTRAP = r"""
import ctypes, os, resource, runpy, sys
mem, cpu, fsize, nproc, groups, mode, *targets = sys.argv[1:]
mem, cpu, fsize, nproc = int(mem), int(cpu), int(fsize), int(nproc)
for procs in filter(None, groups.split(",")):  # join the run's cgroups before anything runs
    with open(procs, "w") as fh:
        fh.write(str(os.getpid()))
try:  # PR_SET_CHILD_SUBREAPER: orphaned descendants stay ours, so the sweep finds them
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
except Exception:
    pass
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if nproc > 0:
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
sys.path.insert(0, os.getcwd())
sys.argv = [targets[0] if targets else "snippet"]
try:
    if mode == "script":
        runpy.run_path(targets[0], run_name="__main__")
    elif mode == "pytest":
        import pytest
        sys.exit(int(pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", "-rfE", *targets])))
    else:
        import unittest
        names = [t[:-3] for t in targets]
        suite = unittest.defaultTestLoader.loadTestsFromNames(names)
        result = unittest.TextTestRunner(verbosity=2).run(suite)
        print(f"unittest: {result.testsRun} run, {len(result.failures)} failed, {len(result.errors)} errors")
        sys.exit(0 if result.wasSuccessful() else 1)
except MemoryError:
    sys.stderr.write("MemoryError: the snippet ran out of memory\n")
    sys.stderr.flush()
    os._exit(MEMORY_EXIT)
""".replace("MEMORY_EXIT", str(MEMORY_EXIT))

Reason = Literal[
    "passed",
    "syntax",
    "exception",
    "timeout",
    "memory",
    "tests-failed",
    "no-tests",
    "output-limit",
    "disk-limit",
    "process-limit",
    "killed",
]


class TestCounts(BaseModel):
    """Test results counted from the test runner's summary."""

    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


class Program(BaseModel):
    """What to run: file name -> source. Test files are named ``test_*.py``."""

    files: dict[str, str]
    """Python files written into the working directory."""
    main: str | None = None
    """The file run as a script when there are no tests."""

    @property
    def test_files(self) -> list[str]:
        return sorted(
            n
            for n in self.files
            if Path(n).name.startswith("test_") or Path(n).name.endswith("_test.py")
        )


class RunReport(BaseModel):
    """The outcome of one run, as the runner reports it."""

    passed: bool
    reason: Reason
    """Why it passed or failed."""
    exit_code: int | None = None
    """The process exit code; negative: killed by that signal."""
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    mode: Literal["script", "pytest", "unittest", "none"] = "script"
    tests: TestCounts | None = None
    files: list[str] = Field(default_factory=list)
    limits: dict[str, float] = Field(default_factory=dict)
    summary: str = ""
    """One line for people."""
    disk_peak_bytes: int = 0
    """The most the scratch directory was seen to hold."""
    processes_peak: int = 0
    """The most processes of the run seen alive at once."""
    confinement: str = ""
    """How the run's processes were tracked: ``cgroup`` or ``sweep`` (marker, tree, session)."""


_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")


def _is_test_source(source: str) -> bool:
    return bool(re.search(r"^\s*def test_|unittest\.TestCase", source, re.MULTILINE))


def extract_program(value: Any, *, module: str = "solution") -> Program | None:
    """Find a program in an agent output or a prompt.

    Accepted shapes: a dict with ``files`` (name -> source); a dict with ``code`` and
    optionally ``tests`` (and ``module``, the code's module name); text with fenced
    Python blocks (blocks defining ``test_`` functions or ``unittest`` cases are the
    tests); or plain text, taken as the snippet itself.
    """
    if isinstance(value, Mapping):
        if isinstance(value.get("files"), Mapping):
            return Program(
                files={str(k): str(v) for k, v in value["files"].items()}, main=value.get("main")
            )
        if isinstance(value.get("code"), str):
            name = f"{value.get('module') or module}.py"
            files = {name: value["code"]}
            if isinstance(value.get("tests"), str) and value["tests"].strip():
                files[f"test_{Path(name).stem}.py"] = value["tests"]
            return Program(files=files, main=name)
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    blocks = _FENCE.findall(value)
    if not blocks:
        return Program(files={f"{module}.py": value}, main=f"{module}.py")
    code = "\n\n".join(b for b in blocks if not _is_test_source(b))
    tests = "\n\n".join(b for b in blocks if _is_test_source(b))
    module = _imported_module(tests) or module
    files: dict[str, str] = {}
    if code.strip():
        files[f"{module}.py"] = code
    if tests.strip():
        files[f"test_{module}.py"] = tests
    return Program(files=files, main=f"{module}.py" if code.strip() else None)


def _imported_module(tests: str) -> str | None:
    """The module the tests import the code from (``from durations import ...``), if any.

    Lets code and tests written as fenced blocks (for example by a model) find each
    other: the code file is named after the first non-standard module the tests import.
    """
    for name in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", tests, re.MULTILINE):
        if name not in sys.stdlib_module_names and name not in ("pytest", "hypothesis"):
            return name
    return None


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return (
        text[:head] + f"\n… [{len(text) - limit} characters clipped] …\n" + text[-(limit - head) :]
    )


def _syntax_problem(files: Mapping[str, str]) -> str | None:
    for name, source in files.items():
        try:
            compile(source, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"{name}, line {exc.lineno}: {exc.msg}"
        except ValueError as exc:  # null bytes
            return f"{name}: {exc}"
    return None


def _count_tests(mode: str, output: str) -> TestCounts:
    counts = TestCounts()
    if mode == "pytest":
        tail = output.strip().splitlines()[-1] if output.strip() else ""
        for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail):
            field = "errors" if word.startswith("error") else word
            setattr(counts, field, int(n))
    else:
        match = re.search(r"unittest: (\d+) run, (\d+) failed, (\d+) errors", output)
        if match:
            run, failed, errors = map(int, match.groups())
            counts = TestCounts(passed=run - failed - errors, failed=failed, errors=errors)
    return counts


LIMITS_MAX = {
    "time_limit_s": 3600.0,
    "memory_limit_mb": 1 << 20,
    "output_limit_kb": 1 << 22,
    "disk_limit_mb": 1 << 20,
    "max_processes": 4096,
    "max_files": 1 << 20,
}
"""Largest accepted value of each limit (beyond these a run is not limited in any useful sense)."""
LIMITS_MIN = {
    "time_limit_s": 0.0,
    "memory_limit_mb": 32,
    "output_limit_kb": 1,
    "disk_limit_mb": 1,
    "max_processes": 1,
    "max_files": 1,
}
"""Smallest accepted value (time must be above it; Python itself needs ~32 MB of address space)."""


def check_limits(**limits: float) -> dict[str, float]:
    """The limits, or ``ValueError`` naming each one no run can work under (≤ 0, NaN, ∞, absurd)."""
    problems = []
    for name, value in limits.items():
        low, high = LIMITS_MIN[name], LIMITS_MAX[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{name} must be a number, not {value!r}")
        elif (
            not math.isfinite(value)
            or value > high
            or value < low
            or (name == "time_limit_s" and value <= 0)
        ):
            above = "above 0" if name == "time_limit_s" else f"at least {low:g}"
            problems.append(f"{name} must be {above} and at most {high:g}, not {value!r}")
    if problems:
        raise ValueError("impossible limits: " + "; ".join(problems))
    return dict(limits)


def _cgroup_roots() -> list[tuple[str, Path]]:
    """(controller, hierarchy) pairs where a run can get its own cgroup: v2 if it has the
    controllers, else the v1 ``pids`` and ``memory`` hierarchies."""
    base = Path("/sys/fs/cgroup")
    unified = base / "unified" if (base / "unified").is_dir() else base
    controllers = (
        (unified / "cgroup.controllers").read_text().split()
        if (unified / "cgroup.controllers").exists()
        else []
    )
    if "pids" in controllers and (unified / "cgroup.subtree_control").exists():
        return [("v2", unified)]
    return [(c, base / c) for c in ("pids", "memory") if (base / c / "cgroup.procs").exists()]


class _Confinement:
    """Keeps track of every process of one run, limits them together and kills them all."""

    def __init__(self, max_processes: int, memory_bytes: int) -> None:
        self.marker = secrets.token_hex(12)
        self.max_processes = max_processes
        self.groups: list[Path] = []
        for kind, root in _cgroup_roots():
            group = root / f"switchboard-run-{self.marker}"
            try:
                group.mkdir()
            except OSError:
                continue
            self.groups.append(group)
            with contextlib.suppress(OSError):
                if kind in ("v2", "pids"):
                    (group / "pids.max").write_text(str(max_processes))
                if kind == "v2":
                    (group / "memory.max").write_text(str(memory_bytes * max_processes))
                if kind == "memory":
                    (group / "memory.limit_in_bytes").write_text(str(memory_bytes * max_processes))
        self.mode = "cgroup" if any((g / "pids.max").exists() for g in self.groups) else "sweep"

    @property
    def procs_files(self) -> str:
        return ",".join(str(g / "cgroup.procs") for g in self.groups)

    def nproc_limit(self) -> int:
        """``RLIMIT_NPROC`` for the child: it counts every process of the user, so it is set
        to what the user runs now plus the run's allowance (0: none, for root, which it does not bind)."""
        if self.mode == "cgroup" or os.geteuid() == 0:
            return 0
        uid = os.getuid()
        mine = sum(1 for d in Path("/proc").iterdir() if d.name.isdigit() and _owner(d) == uid)
        return mine + self.max_processes

    def members(self, root_pid: int) -> set[int]:
        """Every live process of the run: in its cgroups, below the child, in its session or
        process group, or carrying its marker in the environment."""
        found: set[int] = set()
        for group in self.groups:
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (group / "cgroup.procs").read_text().split()}
        parents: dict[int, int] = {}
        needle = f"{MARKER_ENV}={self.marker}".encode()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] in (b"Z", b"X"):
                continue
            ppid, pgid, sid = int(fields[1]), int(fields[2]), int(fields[3])
            parents[pid] = ppid
            if pid == root_pid or pgid == root_pid or sid == root_pid:
                found.add(pid)
                continue
            with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.add(pid)
        grew = True
        while grew:  # descendants of anything found
            more = {pid for pid, ppid in parents.items() if ppid in found and pid not in found}
            found |= more
            grew = bool(more)
        found.discard(os.getpid())
        return found

    def count(self, root_pid: int) -> int:
        """How many processes of the run are alive (cheap with a ``pids`` cgroup: its member list)."""
        for group in self.groups:
            if (group / "pids.max").exists():
                with contextlib.suppress(OSError):
                    return len((group / "cgroup.procs").read_text().split())
        return len(self.members(root_pid))

    def kill_all(self, root_pid: int) -> None:
        """SIGKILL every process of the run, looking again until none is left."""
        for _ in range(200):
            pids = self.members(root_pid)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def close(self) -> None:
        for group in self.groups:
            for _ in range(100):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still leaving the group
                    time.sleep(0.01)


def _owner(path: Path) -> int:
    try:
        return path.stat().st_uid
    except OSError:
        return -1


def _disk_use(root: Path, max_files: int) -> tuple[int, int]:
    """(bytes, entries) under ``root``, counting allocated blocks; stops counting past ``max_files``."""
    total = entries = 0
    stack = [str(root)]
    while stack and entries <= max_files:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as it:
            for entry in it:
                entries += 1
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    total += (
                        max(st.st_size, st.st_blocks * 512)
                        if not entry.is_dir(follow_symlinks=False)
                        else 0
                    )
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
    return total, entries


async def run_program(
    program: Program,
    *,
    time_limit_s: float = 5.0,
    memory_limit_mb: int = 256,
    output_limit_kb: int = 1024,
    disk_limit_mb: int = 64,
    max_processes: int = 16,
    max_files: int = 2000,
    clip_chars: int = 4000,
    test_runner: Literal["pytest", "unittest"] = "pytest",
) -> RunReport:
    """Run ``program`` in a fresh temporary directory under the limits; never raises for its failures.

    Args:
        program: The files; test files make it a test run, otherwise ``main`` runs as a script.
        time_limit_s: Wall-clock limit; every process of the run is killed when it passes.
        memory_limit_mb: Address-space limit of each process (``RLIMIT_AS``); in a memory
            cgroup, all of them together get ``max_processes`` times this.
        output_limit_kb: Largest file the run may write, stdout and stderr included (``RLIMIT_FSIZE``).
        disk_limit_mb: Most the scratch directory may hold (watched; see the module docstring).
        max_processes: Most processes alive at once, the first one included.
        max_files: Most files and folders in the scratch directory.
        clip_chars: Stdout and stderr are clipped to this many characters in the report.
        test_runner: ``pytest`` (also runs ``unittest`` cases) or ``unittest``.

    Raises:
        AgentError: a file name that is not a plain ``name.py``, or nothing to run.
        ValueError: a limit no run can work under (``time_limit_s=-5``, NaN, ∞, …).
    """
    limits = check_limits(
        time_limit_s=time_limit_s,
        memory_limit_mb=memory_limit_mb,
        output_limit_kb=output_limit_kb,
        disk_limit_mb=disk_limit_mb,
        max_processes=max_processes,
        max_files=max_files,
    )
    bad = [n for n in program.files if not _SAFE_NAME.match(n)]
    if bad:
        raise AgentError(
            f"refusing file name(s) {', '.join(map(repr, bad))}: use plain names like 'module.py'"
        )
    if not program.files:
        raise AgentError("nothing to run: the program has no files")
    names = sorted(program.files)
    tests = program.test_files
    mode: Literal["script", "pytest", "unittest"] = test_runner if tests else "script"
    if mode == "script" and (program.main or names[0]) not in program.files:
        raise AgentError(f"the main file {program.main!r} is not among the files")
    problem = await anyio.to_thread.run_sync(_syntax_problem, program.files)
    if problem:
        return RunReport(
            passed=False,
            reason="syntax",
            mode="none",
            stderr=f"SyntaxError: {problem}",
            files=names,
            limits=limits,
            summary=f"syntax error in {problem}",
        )

    workdir = Path(
        await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="switchboard-run-"))
    )
    mem = int(memory_limit_mb) * 1024 * 1024
    confinement = await anyio.to_thread.run_sync(_Confinement, int(max_processes), mem)
    disk_bytes, file_count = int(disk_limit_mb * 1024 * 1024), int(max_files)
    peak_disk = peak_procs = 0
    try:

        def prepare() -> None:
            for name, source in program.files.items():
                (workdir / name).write_text(source, encoding="utf-8")
            (workdir / ".tmp").mkdir()
            if mode == "pytest":
                (workdir / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")

        await anyio.to_thread.run_sync(prepare)
        targets = tests if mode != "script" else [program.main or names[0]]
        cpu = max(1, int(time_limit_s + 0.999)) + 1
        fsize = int(output_limit_kb) * 1024
        nproc = await anyio.to_thread.run_sync(confinement.nproc_limit)
        command = [
            sys.executable,
            "-I",
            "-B",
            "-c",
            _BOOTSTRAP,
            str(mem),
            str(cpu),
            str(fsize),
            str(nproc),
            confinement.procs_files,
            mode,
            *targets,
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "TMPDIR": str(workdir / ".tmp"),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            MARKER_ENV: confinement.marker,
        }
        out_path, err_path = workdir / ".stdout", workdir / ".stderr"
        timed_out = False
        broke: str | None = None  # "disk-limit" or "process-limit" when the watcher ended the run
        t0 = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = await anyio.open_process(
                command,
                cwd=workdir,
                env=env,
                stdin=None,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

            def look() -> str | None:
                nonlocal peak_disk, peak_procs
                used, entries = _disk_use(workdir, file_count)
                peak_disk = max(peak_disk, used)
                if used > disk_bytes or entries > file_count:
                    return "disk-limit"
                alive = confinement.count(process.pid)
                peak_procs = max(peak_procs, alive)
                return "process-limit" if alive > max_processes else None

            try:
                with anyio.move_on_after(time_limit_s) as scope:
                    async with anyio.create_task_group() as tg:

                        async def watch() -> None:
                            nonlocal broke
                            while True:
                                broke = await anyio.to_thread.run_sync(look)
                                if broke:
                                    tg.cancel_scope.cancel()
                                    return
                                await anyio.sleep(WATCH_S)

                        tg.start_soon(watch)
                        await process.wait()
                        tg.cancel_scope.cancel()
                timed_out = scope.cancelled_caught and broke is None
            finally:
                with anyio.CancelScope(shield=True):
                    # the snippet may have left processes behind even when it exited by itself
                    await anyio.to_thread.run_sync(confinement.kill_all, process.pid)
                    await process.wait()
        duration = time.perf_counter() - t0

        def collect() -> tuple[str, str, bool]:
            nonlocal peak_disk
            peak_disk = max(peak_disk, _disk_use(workdir, file_count)[0])
            full = max(out_path.stat().st_size, err_path.stat().st_size) >= fsize
            read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
            return read(out_path), read(err_path), full

        stdout, stderr, output_full = await anyio.to_thread.run_sync(collect)
    finally:
        with anyio.CancelScope(shield=True):  # also clean up when the task is cancelled
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))
            await anyio.to_thread.run_sync(confinement.close)

    code = process.returncode
    counts = _count_tests(mode, stdout) if mode != "script" else None
    reason: Reason
    if broke is not None:
        reason = broke  # type: ignore[assignment]
    elif timed_out or code == -signal.SIGXCPU:
        reason = "timeout"
    elif code == MEMORY_EXIT or (
        code != 0 and ("MemoryError" in stderr or (mode != "script" and "MemoryError" in stdout))
    ):
        reason = "memory"
    elif code == -signal.SIGXFSZ or (code != 0 and (output_full or "[Errno 27]" in stderr)):
        reason = "output-limit"
    elif code != 0 and "BlockingIOError: [Errno 11]" in stderr:
        reason = "process-limit"  # a fork refused by pids.max or RLIMIT_NPROC
    elif code == 0:
        reason = "passed"
    elif mode == "pytest" and code == 5:
        reason = "no-tests"
    elif mode != "script" and code == 1:
        reason = "tests-failed"
    elif code is not None and code < 0:
        reason = "killed"
    else:
        reason = "exception"
    passed = reason == "passed"
    summary = {
        "passed": "passed" + (f": {counts.passed} test(s)" if counts else ""),
        "timeout": f"timed out after {time_limit_s:g}s (killed)",
        "memory": f"ran out of memory (limit {memory_limit_mb} MB)",
        "output-limit": f"hit the output limit of {output_limit_kb} KB",
        "disk-limit": f"wrote more than {disk_limit_mb:g} MB or {max_files} files (killed)",
        "process-limit": f"started more than {max_processes} processes (stopped)",
        "tests-failed": f"tests failed: {counts.failed if counts else '?'} failed, {counts.errors if counts else 0} errors, {counts.passed if counts else 0} passed",
        "no-tests": "no tests were collected",
        "killed": f"killed by signal {-(code or 0)}",
        "exception": _last_line(stderr) or f"exited with code {code}",
    }[reason]
    return RunReport(
        passed=passed,
        reason=reason,
        exit_code=code,
        stdout=_clip(stdout, clip_chars),
        stderr=_clip(stderr, clip_chars),
        duration_s=round(duration, 3),
        mode=mode,
        tests=counts,
        files=names,
        limits=limits,
        summary=summary,
        disk_peak_bytes=peak_disk,
        processes_peak=peak_procs,
        confinement=confinement.mode,
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class CodeRunner(ToolAgent):
    """Runs a Python snippet, or a snippet and its tests, under time and memory limits.

    Input: the first program found in the directive's context (a dict with ``files`` or
    ``code``/``tests``, or text with fenced Python blocks), else the prompt itself.
    Output: a ``RunReport`` as a dict, plus ``approved`` (= passed) and ``feedback`` so a
    runner can also be the reviewer of a review loop ("approve when the tests pass").

    Args:
        time_limit_s: Wall-clock limit per run.
        memory_limit_mb: Address-space limit per process.
        output_limit_kb: Largest output file per run.
        disk_limit_mb: Most the run's scratch directory may hold.
        max_processes: Most processes alive at once.
        max_files: Most files in the scratch directory.
        test_runner: ``pytest`` or ``unittest``.
        name: The agent's name in plans.

    Raises:
        ValueError: a limit no run can work under (see ``check_limits``).
    """

    description = "Runs Python code and its tests in a subprocess with time and memory limits; reports pass/fail with output."
    skills = ("run code", "python", "tests", "pytest", "execute")

    def __init__(
        self,
        time_limit_s: float = 5.0,
        memory_limit_mb: int = 256,
        *,
        output_limit_kb: int = 1024,
        disk_limit_mb: int = 64,
        max_processes: int = 16,
        max_files: int = 2000,
        test_runner: Literal["pytest", "unittest"] = "pytest",
        name: str = "code-runner",
    ) -> None:
        check_limits(
            time_limit_s=time_limit_s,
            memory_limit_mb=memory_limit_mb,
            output_limit_kb=output_limit_kb,
            disk_limit_mb=disk_limit_mb,
            max_processes=max_processes,
            max_files=max_files,
        )
        if test_runner not in ("pytest", "unittest"):
            raise ValueError(f"test_runner must be 'pytest' or 'unittest', not {test_runner!r}")
        self.name = name
        self.time_limit_s = float(time_limit_s)
        self.memory_limit_mb = int(memory_limit_mb)
        self.output_limit_kb = int(output_limit_kb)
        self.disk_limit_mb = int(disk_limit_mb)
        self.max_processes = int(max_processes)
        self.max_files = int(max_files)
        self.test_runner = test_runner

    def find_program(self, directive: Directive) -> Program:
        """The program to run: from the context first, then the prompt."""
        for _, value in context_items(directive):
            program = extract_program(value)
            if program is not None and isinstance(value, Mapping):
                return program
        for _, value in context_items(directive):
            if isinstance(value, str) and "```" in value and (program := extract_program(value)):
                return program
        program = extract_program(directive.prompt)
        if program is None or not program.files:
            raise AgentError(
                "no code to run: give a snippet in the prompt or a program in the context"
            )
        return program

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Run the program and return the report (never raises for the program's own failures)."""
        program = self.find_program(directive)
        t0 = time.perf_counter()
        report = await run_program(
            program,
            time_limit_s=self.time_limit_s,
            memory_limit_mb=self.memory_limit_mb,
            output_limit_kb=self.output_limit_kb,
            disk_limit_mb=self.disk_limit_mb,
            max_processes=self.max_processes,
            max_files=self.max_files,
            test_runner=self.test_runner,
        )
        self.record(
            directive,
            "python.subprocess",
            {"files": report.files, "mode": report.mode, **report.limits},
            {
                "passed": report.passed,
                "reason": report.reason,
                "exit_code": report.exit_code,
                "tests": report.tests.model_dump() if report.tests else None,
            },
            ok=report.passed,
            duration_s=time.perf_counter() - t0,
        )
        out = report.model_dump()
        out["approved"] = report.passed
        detail = report.stderr.strip() or report.stdout.strip()
        out["feedback"] = report.summary + (
            f"\n\n{_clip(detail, 1500)}" if detail and not report.passed else ""
        )
        return out
