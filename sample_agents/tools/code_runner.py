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

This is resource limiting, not a security sandbox: the snippet can still read the
file system and open network connections as the user running it.
"""

from __future__ import annotations

import contextlib
import os
import re
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

__all__ = ["CodeRunner", "Program", "RunReport", "TestCounts", "extract_program", "run_program"]

MEMORY_EXIT = 86
"""Exit code the bootstrap uses when the snippet ran out of memory."""

_BOOTSTRAP = r"""
import os, resource, runpy, sys
mem, cpu, fsize, mode, *targets = sys.argv[1:]
mem, cpu, fsize = int(mem), int(cpu), int(fsize)
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
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

Reason = Literal["passed", "syntax", "exception", "timeout", "memory", "tests-failed", "no-tests", "output-limit", "killed"]


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
        return sorted(n for n in self.files if Path(n).name.startswith("test_") or Path(n).name.endswith("_test.py"))


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
            return Program(files={str(k): str(v) for k, v in value["files"].items()}, main=value.get("main"))
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
    return text[:head] + f"\n… [{len(text) - limit} characters clipped] …\n" + text[-(limit - head):]


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


async def run_program(
    program: Program,
    *,
    time_limit_s: float = 5.0,
    memory_limit_mb: int = 256,
    output_limit_kb: int = 1024,
    clip_chars: int = 4000,
    test_runner: Literal["pytest", "unittest"] = "pytest",
) -> RunReport:
    """Run ``program`` in a fresh temporary directory under the limits; never raises for its failures.

    Args:
        program: The files; test files make it a test run, otherwise ``main`` runs as a script.
        time_limit_s: Wall-clock limit; the process group is killed when it passes.
        memory_limit_mb: Address-space limit of the child (``RLIMIT_AS``).
        output_limit_kb: Largest file the child may write, stdout and stderr included.
        clip_chars: Stdout and stderr are clipped to this many characters in the report.
        test_runner: ``pytest`` (also runs ``unittest`` cases) or ``unittest``.

    Raises:
        AgentError: a file name that is not a plain ``name.py``, or nothing to run.
    """
    limits = {"time_limit_s": time_limit_s, "memory_limit_mb": memory_limit_mb, "output_limit_kb": output_limit_kb}
    bad = [n for n in program.files if not _SAFE_NAME.match(n)]
    if bad:
        raise AgentError(f"refusing file name(s) {', '.join(map(repr, bad))}: use plain names like 'module.py'")
    if not program.files:
        raise AgentError("nothing to run: the program has no files")
    names = sorted(program.files)
    tests = program.test_files
    mode: Literal["script", "pytest", "unittest"] = test_runner if tests else "script"
    if mode == "script" and (program.main or names[0]) not in program.files:
        raise AgentError(f"the main file {program.main!r} is not among the files")
    problem = await anyio.to_thread.run_sync(_syntax_problem, program.files)
    if problem:
        return RunReport(passed=False, reason="syntax", mode="none", stderr=f"SyntaxError: {problem}",
                         files=names, limits=limits, summary=f"syntax error in {problem}")

    workdir = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="switchboard-run-")))
    try:
        def prepare() -> None:
            for name, source in program.files.items():
                (workdir / name).write_text(source, encoding="utf-8")
            if mode == "pytest":
                (workdir / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")

        await anyio.to_thread.run_sync(prepare)
        targets = tests if mode != "script" else [program.main or names[0]]
        mem = int(memory_limit_mb) * 1024 * 1024
        cpu = max(1, int(time_limit_s + 0.999)) + 1
        fsize = int(output_limit_kb) * 1024
        command = [sys.executable, "-I", "-B", "-c", _BOOTSTRAP, str(mem), str(cpu), str(fsize), mode, *targets]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "C.UTF-8",
               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        out_path, err_path = workdir / ".stdout", workdir / ".stderr"
        timed_out = False
        t0 = time.perf_counter()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = await anyio.open_process(command, cwd=workdir, env=env, stdin=None, stdout=out, stderr=err,
                                               start_new_session=True)
            try:
                with anyio.move_on_after(time_limit_s):
                    await process.wait()
                if process.returncode is None:
                    timed_out = True
            finally:
                with anyio.CancelScope(shield=True):
                    _kill_group(process.pid)
                    await process.wait()
        duration = time.perf_counter() - t0

        def collect() -> tuple[str, str, bool]:
            full = max(out_path.stat().st_size, err_path.stat().st_size) >= fsize
            read = lambda p: p.read_text(encoding="utf-8", errors="replace")  # noqa: E731
            return read(out_path), read(err_path), full

        stdout, stderr, output_full = await anyio.to_thread.run_sync(collect)
    finally:
        with anyio.CancelScope(shield=True):  # also clean up when the task is cancelled
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))

    code = process.returncode
    counts = _count_tests(mode, stdout) if mode != "script" else None
    reason: Reason
    if timed_out or code == -signal.SIGXCPU:
        reason = "timeout"
    elif code == MEMORY_EXIT or (code != 0 and ("MemoryError" in stderr or (mode != "script" and "MemoryError" in stdout))):
        reason = "memory"
    elif code == -signal.SIGXFSZ or (code != 0 and (output_full or "[Errno 27]" in stderr)):
        reason = "output-limit"
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
        "tests-failed": f"tests failed: {counts.failed if counts else '?'} failed, {counts.errors if counts else 0} errors, {counts.passed if counts else 0} passed",
        "no-tests": "no tests were collected",
        "killed": f"killed by signal {-(code or 0)}",
        "exception": _last_line(stderr) or f"exited with code {code}",
    }[reason]
    return RunReport(passed=passed, reason=reason, exit_code=code, stdout=_clip(stdout, clip_chars),
                     stderr=_clip(stderr, clip_chars), duration_s=round(duration, 3), mode=mode, tests=counts,
                     files=names, limits=limits, summary=summary)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class CodeRunner(ToolAgent):
    """Runs a Python snippet, or a snippet and its tests, under time and memory limits.

    Input: the first program found in the directive's context (a dict with ``files`` or
    ``code``/``tests``, or text with fenced Python blocks), else the prompt itself.
    Output: a ``RunReport`` as a dict, plus ``approved`` (= passed) and ``feedback`` so a
    runner can also be the reviewer of a review loop ("approve when the tests pass").

    Args:
        time_limit_s: Wall-clock limit per run.
        memory_limit_mb: Address-space limit per run.
        output_limit_kb: Largest output file per run.
        test_runner: ``pytest`` or ``unittest``.
        name: The agent's name in plans.
    """

    description = "Runs Python code and its tests in a subprocess with time and memory limits; reports pass/fail with output."
    skills = ("run code", "python", "tests", "pytest", "execute")

    def __init__(self, time_limit_s: float = 5.0, memory_limit_mb: int = 256, *, output_limit_kb: int = 1024,
                 test_runner: Literal["pytest", "unittest"] = "pytest", name: str = "code-runner") -> None:
        self.name = name
        self.time_limit_s = float(time_limit_s)
        self.memory_limit_mb = int(memory_limit_mb)
        self.output_limit_kb = int(output_limit_kb)
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
            raise AgentError("no code to run: give a snippet in the prompt or a program in the context")
        return program

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Run the program and return the report (never raises for the program's own failures)."""
        program = self.find_program(directive)
        t0 = time.perf_counter()
        report = await run_program(program, time_limit_s=self.time_limit_s, memory_limit_mb=self.memory_limit_mb,
                                   output_limit_kb=self.output_limit_kb, test_runner=self.test_runner)
        self.record(directive, "python.subprocess", {"files": report.files, "mode": report.mode, **report.limits},
                    {"passed": report.passed, "reason": report.reason, "exit_code": report.exit_code,
                     "tests": report.tests.model_dump() if report.tests else None},
                    ok=report.passed, duration_s=time.perf_counter() - t0)
        out = report.model_dump()
        out["approved"] = report.passed
        detail = report.stderr.strip() or report.stdout.strip()
        out["feedback"] = report.summary + (f"\n\n{_clip(detail, 1500)}" if detail and not report.passed else "")
        return out
