"""How far the code runner's watched limits overshoot, and how it tracked the run's processes.

The disk limit is enforced by a watcher that looks every ``WATCH_S`` seconds, so a snippet
can write past it until the next look; this measures the peak a fast writer reaches.
Workloads: 150 MB in 64 KB files (half through ``tempfile``) under ``--disk-mb``; 40
sleeping children under ``--procs``. Usage:
``PYTHONPATH=. python benchmarks/bench_code_runner.py [--repeat 3] [--disk-mb 8] [--procs 6]``.
"""

from __future__ import annotations

import argparse

import anyio

from sample_agents.tools.code_runner import Program, run_program

WRITER = (
    "import tempfile\n"
    "block = b'x' * 65536\n"
    "for i in range(2400):\n"
    "    if i % 2:\n"
    "        open(f'f{i}.bin', 'wb').write(block)\n"
    "    else:\n"
    "        tempfile.NamedTemporaryFile(delete=False).write(block)\n"
)
FORKER = (
    "import subprocess, sys\n"
    "kids = [subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']) for _ in range(40)]\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--disk-mb", type=int, default=8)
    parser.add_argument("--procs", type=int, default=6)
    args = parser.parse_args()
    for _ in range(args.repeat):
        r = anyio.run(
            lambda: run_program(
                Program(files={"main.py": WRITER}), time_limit_s=60, disk_limit_mb=args.disk_mb
            )
        )
        print(
            f"disk: {r.reason:<13} limit {args.disk_mb} MB, peak {r.disk_peak_bytes / 2**20:6.1f} MB"
            f"  ({r.confinement})"
        )
    for _ in range(args.repeat):
        r = anyio.run(
            lambda: run_program(
                Program(files={"main.py": FORKER}), time_limit_s=60, max_processes=args.procs
            )
        )
        print(
            f"processes: {r.reason:<13} limit {args.procs}, peak seen {r.processes_peak}  ({r.confinement})"
        )


if __name__ == "__main__":
    main()
