"""The code runner: real subprocesses under time, memory and output limits."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from sample_agents.tools import code_runner
from sample_agents.tools.code_runner import CodeRunner, Program, extract_program, run_program
from tests.tools.conftest import call
from toolkit.agents import AgentError


def run(files: dict[str, str], **limits: float) -> dict:
    return anyio.run(lambda: run_program(Program(files=files), **limits)).model_dump()


def test_snippet_passes_with_its_output() -> None:
    """A snippet that prints passes with exit code 0 and its stdout."""
    report = call(CodeRunner(time_limit_s=5), "print(sum(range(10)))")
    assert report["passed"] and report["approved"]
    assert report["reason"] == "passed"
    assert report["exit_code"] == 0
    assert report["stdout"].strip() == "45"


def test_infinite_loop_is_killed_within_the_limit() -> None:
    """A snippet that loops forever is killed as a timeout, close to the 1 s limit."""
    t0 = time.perf_counter()
    report = call(CodeRunner(time_limit_s=1), "while True:\n    pass\n")
    elapsed = time.perf_counter() - t0
    assert report["reason"] == "timeout" and not report["passed"]
    assert report["exit_code"] == -9
    assert elapsed < 5


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_child_processes_die_with_the_group() -> None:
    """A snippet that starts a sleeping child and hangs is killed together with that child."""
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    report = run({"main.py": code}, time_limit_s=1.5)
    assert report["reason"] == "timeout"
    pid = int(report["stdout"].split()[0])
    deadline = (
        time.monotonic() + 2
    )  # SIGKILL is sent before the report returns; the state flips within ms
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(pid)


def test_allocating_two_gigabytes_is_a_memory_failure() -> None:
    """Allocating 2 GB under a 256 MB limit fails fast with reason 'memory'."""
    report = call(
        CodeRunner(time_limit_s=5, memory_limit_mb=256), "block = bytearray(2 * 1024**3)\n"
    )
    assert report["reason"] == "memory" and not report["passed"]
    assert "MemoryError" in report["stderr"]


def test_syntax_error_names_the_line() -> None:
    """A syntax error is reported without running anything, with its file and line."""
    report = call(CodeRunner(), "x = 1\ndef broken(:\n    pass\n")
    assert report["reason"] == "syntax"
    assert "line 2" in report["summary"]
    assert report["exit_code"] is None


def test_exception_reports_the_last_traceback_line() -> None:
    """An uncaught exception fails with reason 'exception' and the error as summary."""
    report = call(CodeRunner(), "raise ValueError('boom')")
    assert report["reason"] == "exception"
    assert report["summary"] == "ValueError: boom"
    assert report["exit_code"] == 1


def test_runaway_output_hits_the_output_limit() -> None:
    """A snippet printing without end stops at the output-file limit instead of filling the disk."""
    report = run(
        {"main.py": "while True:\n    print('x' * 1000)\n"}, time_limit_s=5, output_limit_kb=64
    )
    assert report["reason"] == "output-limit"
    assert len(report["stdout"]) <= 4100 + 100  # clipped in the report


CODE = "def add(a, b):\n    return a + b\n"
PASSING = "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FAILING = "from solution import add\n\ndef test_ok():\n    assert add(1, 1) == 2\n\ndef test_wrong():\n    assert add(1, 1) == 3\n"


def test_passing_tests_in_fenced_blocks() -> None:
    """Code and tests given as fenced blocks run under pytest; all pass."""
    prompt = f"Here is the code:\n```python\n{CODE}```\nand tests:\n```python\n{PASSING}```\n"
    report = call(CodeRunner(time_limit_s=20), prompt)
    assert report["mode"] == "pytest"
    assert report["passed"], report["stdout"]
    assert report["tests"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 0}


def test_failing_tests_are_counted_and_explained() -> None:
    """One failing test makes the run fail with reason 'tests-failed', counts, and the assertion in the feedback."""
    report = call(CodeRunner(time_limit_s=20), context={"dev": {"code": CODE, "tests": FAILING}})
    assert report["reason"] == "tests-failed"
    assert report["tests"]["passed"] == 1 and report["tests"]["failed"] == 1
    assert "test_wrong" in report["feedback"]
    assert report["approved"] is False


def test_unittest_runner() -> None:
    """With test_runner='unittest' a TestCase runs through unittest and is counted."""
    tests = "import unittest\nfrom solution import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n"
    report = call(
        CodeRunner(time_limit_s=20, test_runner="unittest"),
        context={"d": {"code": CODE, "tests": tests}},
    )
    assert report["mode"] == "unittest" and report["passed"]
    assert report["tests"]["passed"] == 1


def test_unsafe_file_names_are_refused() -> None:
    """A program whose file name leaves the working directory is refused before anything runs."""
    with pytest.raises(AgentError, match="refusing file name"):
        anyio.run(lambda: run_program(Program(files={"../evil.py": "print(1)"})))


def test_nothing_to_run_is_an_agent_error() -> None:
    """An empty prompt and no context is an AgentError, not a crash."""
    with pytest.raises(AgentError, match="no code to run"):
        call(CodeRunner(), "   ")


def test_extract_program_shapes() -> None:
    """Files dicts, code/tests dicts, fenced text and plain text all become programs."""
    assert extract_program({"files": {"a.py": "x=1"}}).files == {"a.py": "x=1"}
    assert extract_program({"code": CODE, "tests": PASSING, "module": "m"}).files.keys() == {
        "m.py",
        "test_m.py",
    }
    assert extract_program("print(1)").files == {"solution.py": "print(1)"}
    assert extract_program({"other": 1}) is None


def test_cancelled_run_kills_the_process_and_removes_its_directory(tmp_path) -> None:
    """When the caller gives up (a task timeout), the child is killed and the temporary directory removed."""
    from pathlib import Path

    pid_file = tmp_path / "pid"
    # the child records its pid and its working directory (the run's own temporary
    # directory), so the test checks exactly that directory, whatever else is in /tmp
    code = (
        "import os, time\n"
        f"open({str(pid_file)!r}, 'w').write(f'{{os.getpid()}} {{os.getcwd()}}')\n"
        "time.sleep(60)\n"
    )

    async def main() -> None:
        with anyio.move_on_after(1.0):
            await run_program(Program(files={"main.py": code}), time_limit_s=30)

    t0 = time.perf_counter()
    anyio.run(main)
    assert time.perf_counter() - t0 < 5
    pid, workdir = pid_file.read_text().split(" ", 1)
    assert not _alive(int(pid))
    assert Path(workdir).name.startswith("switchboard-run-")
    assert not Path(workdir).exists()


def test_fenced_tests_name_the_code_module() -> None:
    """Fenced code plus tests that import 'durations' are written as durations.py, so the import works."""
    text = (
        "```python\ndef double(x):\n    return 2 * x\n```\n"
        "```python\nimport pytest\nfrom durations import double\n\ndef test_double():\n    assert double(2) == 4\n```\n"
    )
    program = extract_program(text)
    assert sorted(program.files) == ["durations.py", "test_durations.py"]
    report = call(CodeRunner(time_limit_s=20), text)
    assert report["passed"], report["stdout"]


def test_memory_error_inside_a_test_is_a_memory_failure() -> None:
    """A test that allocates too much fails the run with reason 'memory'; a clean run mentioning it passes."""
    tests = "def test_big():\n    bytearray(2 * 1024**3)\n"
    report = call(CodeRunner(time_limit_s=20), context={"d": {"code": "X = 1\n", "tests": tests}})
    assert report["reason"] == "memory" and report["tests"]["failed"] == 1
    ok = call(CodeRunner(), "import sys\nprint('MemoryError is just a word here', file=sys.stderr)")
    assert ok["reason"] == "passed"


DAEMON = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        out = open(sys.argv[0] + '.pid.tmp', 'w')\n"
    "        out.write(str(os.getpid())); out.close()\n"
    # renamed whole, so the parent never reads a file that exists but is still empty
    "        os.rename(sys.argv[0] + '.pid.tmp', sys.argv[0] + '.pid')\n"
    "        with open({log!r}, 'a') as log:\n"
    "            while True:\n"
    "                log.write('x'); log.flush(); time.sleep(0.005)\n"
    "    os._exit(0)\n"
    "os.wait()\n"
    "while not os.path.exists(sys.argv[0] + '.pid'):\n"
    "    time.sleep(0.005)\n"
    "print(open(sys.argv[0] + '.pid').read(), flush=True)\n"
)


def _wait_dead(pid: int) -> bool:
    deadline = (
        time.monotonic() + 5
    )  # SIGKILL was sent before the report returned; the state flips within ms
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _alive(pid)


@pytest.mark.parametrize("confinement", ["cgroup-if-available", "sweep"])
@pytest.mark.parametrize("then", ["exits", "hangs"])
def test_a_setsid_double_forked_daemon_dies_with_the_run(
    tmp_path, monkeypatch: pytest.MonkeyPatch, then: str, confinement: str
) -> None:
    """A grandchild that left the session (setsid + double fork) and keeps writing is killed when
    the run ends, whether the snippet exits by itself or is killed at its time limit, both with a
    cgroup (where the machine allows one) and with the marker/tree sweep alone."""
    if confinement == "sweep":
        monkeypatch.setattr(code_runner, "_cgroup_roots", lambda: [])
    log = tmp_path / "daemon.log"
    code = DAEMON.format(log=str(log)) + ("time.sleep(60)\n" if then == "hangs" else "")
    report = run({"main.py": code}, time_limit_s=3 if then == "hangs" else 20)
    assert report["reason"] == ("timeout" if then == "hangs" else "passed"), report
    if confinement == "sweep":
        assert report["confinement"] == "sweep"
    pid = int(report["stdout"].split()[0])
    assert _wait_dead(pid)
    size = log.stat().st_size
    assert size > 0  # the daemon did run
    time.sleep(0.05)  # not a wait for state: it proves no writer is left
    assert log.stat().st_size == size


def test_many_small_files_stop_at_the_disk_limit_and_nothing_is_left(tmp_path) -> None:
    """A snippet writing 150 MB in 64 KB files, half in its directory and half through tempfile, is
    stopped as 'disk-limit' soon after 8 MB, and no file of it is left once the run is over."""
    code = (
        "import os, tempfile\n"
        "print(tempfile.gettempdir(), flush=True)\n"
        "block = b'x' * 65536\n"
        "for i in range(2400):\n"
        "    if i % 2:\n"
        "        with open(f'f{i}.bin', 'wb') as fh: fh.write(block)\n"
        "    else:\n"
        "        with tempfile.NamedTemporaryFile(delete=False) as fh: fh.write(block)\n"
        "print('wrote everything')\n"
    )
    report = run({"main.py": code}, time_limit_s=60, disk_limit_mb=8)
    assert report["reason"] == "disk-limit", report
    assert "wrote everything" not in report["stdout"]
    # the watcher looks every 20 ms; the overshoot seen is what a snippet writes meanwhile
    assert 8 * 2**20 < report["disk_peak_bytes"] < 150 * 2**20
    # tempfile wrote into the run's scratch folder (TMPDIR), which is gone with everything in it
    used_tmp = Path(report["stdout"].split()[0])
    assert used_tmp.parent.name.startswith("switchboard-run-") and not used_tmp.parent.exists()


def test_too_many_files_is_a_disk_limit() -> None:
    """Creating more files than max_files ends the run as 'disk-limit', even when they are empty."""
    code = "import os\nfor i in range(100000):\n    open(f'e{i}', 'w').close()\n"
    report = run({"main.py": code}, time_limit_s=60, max_files=200)
    assert report["reason"] == "disk-limit", report


def test_process_count_is_limited() -> None:
    """A snippet that tries to keep 40 processes alive under max_processes=6 is stopped as
    'process-limit' and never has more than a few processes beyond the limit at once."""
    code = (
        "import subprocess, sys\n"
        "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']) for _ in range(40)]\n"
        "print('started all', flush=True)\n"
        "for k in kids: k.wait()\n"
    )
    report = run({"main.py": code}, time_limit_s=60, max_processes=6)
    assert report["reason"] == "process-limit", report
    assert "started all" not in report["stdout"]


@pytest.mark.parametrize(
    ("limits", "word"),
    [
        ({"time_limit_s": -5}, "time_limit_s"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": float("nan")}, "time_limit_s"),
        ({"time_limit_s": float("inf")}, "time_limit_s"),
        ({"memory_limit_mb": 0}, "memory_limit_mb"),
        ({"output_limit_kb": -1}, "output_limit_kb"),
        ({"disk_limit_mb": 0}, "disk_limit_mb"),
        ({"max_processes": 0}, "max_processes"),
        ({"max_files": -3}, "max_files"),
    ],
)
def test_impossible_limits_are_refused_with_their_name(limits: dict, word: str) -> None:
    """A limit no run can work under (negative, zero, NaN, infinite) is refused, naming the limit,
    by the agent and by run_program, before anything runs."""
    with pytest.raises(ValueError, match=f"impossible limits: {word}"):
        CodeRunner(**limits)
    with pytest.raises(ValueError, match=word):
        anyio.run(lambda: run_program(Program(files={"m.py": "print(1)"}), **limits))
