"""Import time of ``toolkit`` in a fresh process, beside its core dependencies, and the first run.

Each contender is a statement run in a fresh interpreter, timed inside it with
``time.perf_counter`` (so the interpreter's own start-up, the same for all, is left out):
  - ``import anyio, pydantic, yaml, orjson``: the core dependencies, the baseline;
  - the same plus one pydantic model (``defer_build``): what any library that defines a
    model pays on top, since the first model class loads ``pydantic.main`` and
    ``pydantic.fields`` (for reference: the floor of a pydantic-based core);
  - ``import toolkit`` and ``from toolkit import Orchestrator, MockAgent``;
  - that import followed by a first and a second 3-step ``MockAgent`` pipeline run,
    so deferring work from import to the first run shows up as a first-run cost;
  - ``switchboard --help`` and ``switchboard run --help``: ``toolkit.cli.main`` with
    those arguments, imported and run (the help printed to nowhere), so the CLI's own
    import path is timed the same way.
Every contender gets one warm-up run, then ``--repeat`` interleaved rounds; figures are
medians in ms and the target is a ratio between figures of this run (PASS or FAIL).

Bytecode: an installed package has its ``.pyc`` files (pip compiles them); a process with
``PYTHONDONTWRITEBYTECODE`` recompiles the toolkit's sources on every start while the
dependencies' ``.pyc`` files are already there. By default the children share a fresh
``PYTHONPYCACHEPREFIX``, written by the warm-up, so every contender loads bytecode, as
installed; ``--no-bytecode`` measures with sources compiled on each start instead.
``--importtime`` also prints the modules that cost most under ``python -X importtime``.

Usage: ``python benchmarks/bench_import.py [--repeat 21] [--no-bytecode] [--importtime]
[--against DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)

CORE_DEPS = "import anyio, pydantic, yaml, orjson"
ONE_MODEL = (
    CORE_DEPS + "\nfrom pydantic import BaseModel, ConfigDict\n"
    "class M(BaseModel):\n    model_config = ConfigDict(defer_build=True)\n    x: int = 0"
)
TOOLKIT = "import toolkit"
ORCHESTRATOR = "from toolkit import Orchestrator, MockAgent"

# ``switchboard ARGS``: the console script calls ``toolkit.cli.main``; argparse prints the
# help and raises SystemExit
CLI = """
import contextlib, io, time
_t0 = time.perf_counter()
from toolkit.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
print((time.perf_counter() - _t0) * 1000)
"""
CLI_HELP = CLI.format(argv=["--help"])
CLI_RUN_HELP = CLI.format(argv=["run", "--help"])

TIMED = """
import time
_t0 = time.perf_counter()
{statement}
_t1 = time.perf_counter()
print((_t1 - _t0) * 1000)
"""

# one deferred model, then its first validation: pydantic's own first-use cost (building
# the schema, and loading its plugins: ``importlib.metadata`` scans every installed
# distribution's entry points), which any pydantic program pays once
ONE_MODEL_VALIDATED = f"""
import time
_t0 = time.perf_counter()
{ONE_MODEL}
_t1 = time.perf_counter()
M(x=1)
_t2 = time.perf_counter()
print((_t1 - _t0) * 1000, (_t2 - _t1) * 1000)
"""

# the import, then a first and a second run, each timed from nothing to its result: the
# agent, the orchestrator and the plan made (validated: schemas are built on first use)
# and the run; so what the import defers to first use shows up in the first run
FIRST_RUN = """
import time
_t0 = time.perf_counter()
from toolkit import Orchestrator, MockAgent
_t1 = time.perf_counter()
import anyio
from toolkit import Plan, Task

async def _main():
    times = []
    for _ in range(2):
        t = time.perf_counter()
        orch = Orchestrator([MockAgent("m", reply="{prompt}+m")])
        plan = Plan(tasks=[Task(id="a", agent="m"), Task(id="b", agent="m", depends_on=["a"]),
                           Task(id="c", agent="m", depends_on=["b"])])
        result = await orch.run("go", plan)
        times.append(time.perf_counter() - t)
        assert result.status == "succeeded", result.error
    return times

_first, _second = anyio.run(_main)
print((_t1 - _t0) * 1000, (_t1 - _t0 + _first) * 1000, _first * 1000, _second * 1000)
"""


def child_env(bytecode: bool, cache_dir: str, root: str = ROOT) -> dict[str, str]:
    """The children's environment: ``toolkit`` from ``root``, bytecode cached in
    ``cache_dir`` or never written."""
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def run_child(script: str, env: Mapping[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter, in the directory its ``toolkit`` comes from
    (``python -c`` puts the current directory first on ``sys.path``)."""
    return subprocess.run(
        [sys.executable, *flags, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=dict(env),
        cwd=env["PYTHONPATH"].split(os.pathsep)[0],
    )


def timed_script(statement: str) -> str:
    return TIMED.format(statement=statement)


def measure(
    scripts: Mapping[str, str],
    repeat: int,
    env: Mapping[str, str],
    envs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, list[float]]:
    """Samples (ms) per contender: one warm-up each, then ``repeat`` interleaved rounds.

    A script prints one or more figures; each becomes ``key`` or ``key.N``. ``envs``
    gives some contenders an environment of their own (another ``toolkit``).
    """
    env_of = {key: (envs or {}).get(key, env) for key in scripts}
    for key, script in scripts.items():
        run_child(script, env_of[key])
    samples: dict[str, list[float]] = {}
    for _ in range(repeat):
        for key, script in scripts.items():
            values = [float(v) for v in run_child(script, env_of[key]).stdout.split()]
            for i, value in enumerate(values):
                samples.setdefault(key if i == 0 else f"{key}.{i}", []).append(value)
    return samples


def import_ms(
    statements: Mapping[str, str], repeat: int, bytecode: bool = True
) -> dict[str, float]:
    """Median ms of each import statement in a fresh interpreter (``measure``'s policy)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        scripts = {key: timed_script(statement) for key, statement in statements.items()}
        samples = measure(scripts, repeat, child_env(bytecode, cache_dir))
    return {key: statistics.median(values) for key, values in samples.items()}


def importtime_top(statement: str, env: Mapping[str, str], top: int) -> list[tuple[int, int, str]]:
    """The ``top`` modules by self time (µs) under ``-X importtime``: (self, cumulative, name)."""
    rows: list[tuple[int, int, str]] = []
    for line in run_child(statement, env, "-X", "importtime").stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append((int(self_us), int(cumulative_us), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--no-bytecode", action="store_true", help="compile sources on every start")
    parser.add_argument("--importtime", action="store_true", help="list the costliest modules")
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="also measure the toolkit of another source tree (e.g. an older commit's "
        "`git archive`), interleaved with this one",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    scripts = {
        "core_deps_ms": timed_script(CORE_DEPS),
        "core_deps_one_model_ms": ONE_MODEL_VALIDATED,
        "import_toolkit_ms": timed_script(TOOLKIT),
        "orchestrator_ms": timed_script(ORCHESTRATOR),
        "first_run": FIRST_RUN,
        "cli_help_ms": CLI_HELP,
        "cli_run_help_ms": CLI_RUN_HELP,
    }
    bytecode = not args.no_bytecode
    with tempfile.TemporaryDirectory() as cache_dir:
        env = child_env(bytecode, cache_dir)
        envs = {}
        if args.against:
            other = child_env(bytecode, cache_dir, str(Path(args.against).resolve()))
            scripts["against.orchestrator_ms"] = timed_script(ORCHESTRATOR)
            scripts["against.first_run"] = FIRST_RUN
            scripts["against.cli_help_ms"] = CLI_HELP
            scripts["against.cli_run_help_ms"] = CLI_RUN_HELP
            envs = {key: other for key in scripts if key.startswith("against.")}
        samples = measure(scripts, args.repeat, env, envs)
        top = importtime_top(ORCHESTRATOR, env, 15) if args.importtime else []
    f = {key: statistics.median(values) for key, values in samples.items()}
    base = f["core_deps_ms"]
    print(
        f"Import in a fresh process ({'bytecode cached' if bytecode else 'no bytecode: sources compiled'}; "
        f"one warm-up, then median of {args.repeat} interleaved rounds; ms, x core deps)"
    )
    rows = [
        ("import anyio, pydantic, yaml, orjson", base),
        ("  + one pydantic model (reference floor)", f["core_deps_one_model_ms"]),
        ("import toolkit", f["import_toolkit_ms"]),
        ("from toolkit import Orchestrator, MockAgent", f["orchestrator_ms"]),
        ("  that import, in the first-run process", f["first_run"]),
        ("  + first 3-step MockAgent run", f["first_run.1"]),
        ("switchboard --help", f["cli_help_ms"]),
        ("switchboard run --help", f["cli_run_help_ms"]),
    ]
    for label, value in rows:
        print(f"  {label:<46}{value:>8.1f} ms{value / base:>7.2f}x")
    print(
        f"  first run {f['first_run.2']:.2f} ms, second run {f['first_run.3']:.2f} ms: "
        f"the first pays {f['first_run.2'] - f['first_run.3']:.2f} ms more (made from nothing: agent, "
        f"orchestrator, plan, run); pydantic's own first validation of one model: "
        f"{f['core_deps_one_model_ms.1']:.2f} ms"
    )
    if args.against:
        print(f"  toolkit of {args.against}:")
        for label, value in (
            ("  from toolkit import Orchestrator, MockAgent", f["against.orchestrator_ms"]),
            ("  + first 3-step MockAgent run", f["against.first_run.1"]),
            ("  switchboard --help", f["against.cli_help_ms"]),
            ("  switchboard run --help", f["against.cli_run_help_ms"]),
        ):
            print(f"  {label:<46}{value:>8.1f} ms{value / base:>7.2f}x")
        print(
            f"    first run {f['against.first_run.2']:.2f} ms, "
            f"second run {f['against.first_run.3']:.2f} ms"
        )
    own = f["orchestrator_ms"] - f["core_deps_one_model_ms"]
    print(
        f"  the toolkit's own share, above the one-model floor: {own:.1f} ms ({own / base:.2f}x); "
        f"the floor alone is {f['core_deps_one_model_ms'] / base:.2f}x, the toolkit "
        f"{f['orchestrator_ms'] / f['core_deps_one_model_ms']:.2f}x of it"
    )
    if top:
        print("  costliest modules under -X importtime (self ms, cumulative ms):")
        for self_us, cumulative_us, name in top:
            print(f"    {self_us / 1000:>7.1f} {cumulative_us / 1000:>8.1f}  {name}")
    ratio = f["orchestrator_ms"] / base
    ok = ratio <= 1.5
    print(
        f"  [{'PASS' if ok else 'FAIL'}] from toolkit import Orchestrator, MockAgent <= 1.5x "
        f"import of the core dependencies ({ratio:.2f}x)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"bytecode": bytecode, **f}, indent=2))


if __name__ == "__main__":
    main()
