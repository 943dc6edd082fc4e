"""``switchboard cassette`` and ``switchboard llm-check``: look at a cassette, check an endpoint.

Plugged into the CLI through the ``switchboard.commands`` entry-point group
(``register``), so the core CLI does not import the LLM code. Recorded text is
untrusted: it is printed as literal, terminal-safe single lines.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``cassette`` and ``llm-check`` subcommands."""
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
