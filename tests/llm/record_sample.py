"""Record the workshop cassette ``sample_agents/cassettes/llm-research.json``.

It runs the LLM research team against the fake OpenAI-compatible server with the
scripted replies below (hand-written, plausible; not a real model's output) and saves
every exchange. Run it again after changing the team or the prompts:

    .venv/bin/python -m tests.llm.record_sample [path]

The test ``test_sample_cassette.py`` checks the committed cassette still matches.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from toolkit.llm.testing import FakeOpenAI, Scripted

NOTE = (
    "Recorded against a scripted local OpenAI-compatible server (toolkit/llm/testing.py) by "
    "tests/llm/record_sample.py, not against OpenAI: the replies are hand-written and the token "
    "counts are the fake server's word counts. Model name and prices are gpt-4o-mini's."
)

BAD_PLAN = {
    "name": "queue-briefing",
    "tasks": [
        {
            "id": "research",
            "agent": "researcher",
            "goal": "gather the facts",
            "prompt": "{{input}}",
        },
        {
            "id": "check",
            "agent": "fact-checker",
            "goal": "verify the facts",
            "prompt": "Check these notes:\n{{research}}",
        },
        {
            "id": "draft",
            "agent": "writer",
            "goal": "write the briefing",
            "prompt": "Write the briefing from:\n{{check}}",
        },
    ],
}

PLAN = {
    "name": "queue-briefing",
    "tasks": [
        {
            "id": "research",
            "agent": "researcher",
            "goal": "gather the facts",
            "prompt": "List the key facts for this request:\n{{input}}",
        },
        {
            "id": "draft",
            "agent": "writer",
            "goal": "write the briefing",
            "prompt": "Write a briefing of about 150 words for engineers from these notes:\n{{research}}",
        },
        {
            "id": "edit",
            "agent": "editor",
            "goal": "tighten the briefing",
            "prompt": "Edit this briefing for clarity and concision:\n{{draft}}",
        },
    ],
    "synthesize": "last",
}

NOTES = """\
- A queue decouples producers from consumers: each side can deploy, scale and fail independently.
- It absorbs bursts: producers keep accepting work while consumers drain the backlog at their own pace.
- Retries move into the consumer: a failed message is redelivered instead of failing the caller's request.
- Most brokers give at-least-once delivery, so consumers must be idempotent.
- Costs: another system to run and monitor, added latency, and harder end-to-end tracing.
- Queue depth and message age are the signals to alert on."""

DRAFT = """\
Putting a message queue between services lets each side move at its own pace. The producer \
hands off work and returns; consumers pick it up when they can. That decoupling means you can \
deploy, scale or restart a consumer without the producer noticing, and a traffic burst becomes \
a growing backlog instead of a wave of timeouts. Failures get gentler too: a message that fails \
is redelivered and retried, rather than surfacing as an error to the user who triggered it.

There is a price. Brokers usually deliver at least once, so every consumer has to be idempotent. \
The queue is one more system to operate, it adds latency, and following one request across \
services gets harder. Watch queue depth and the age of the oldest message: they tell you when \
consumers are falling behind."""

EDITED = """\
A message queue between services lets each side work at its own pace. Producers hand off work \
and return; consumers process it when they can. You can deploy, scale or restart consumers \
without touching producers, and a traffic burst becomes a backlog instead of a wave of timeouts. \
Failed messages are redelivered and retried instead of failing the user's request.

The trade-offs: delivery is usually at-least-once, so consumers must be idempotent; the queue \
is another system to run; it adds latency; and tracing a request end to end gets harder. Alert \
on queue depth and the age of the oldest message."""

ANSWER = (
    EDITED
    + "\n\nIn short: use a queue when producers must not wait on consumers, and budget for idempotency and monitoring."
)


def script() -> list[Scripted | str]:
    """The server's replies, in the order the run asks for them."""
    return [
        json.dumps(BAD_PLAN, indent=1),
        json.dumps(PLAN, indent=1),
        Scripted(
            status=429,
            error="Rate limit reached for gpt-4o-mini: retry shortly",
            headers={"retry-after-ms": "200"},
        ),
        NOTES,
        DRAFT,
        EDITED,
        ANSWER,
    ]


def record(path: Path) -> object:
    """Run the team against the scripted server and save the cassette at ``path``."""
    from sample_agents.cassettes.llm_research import build
    from toolkit.llm import Cassette

    with FakeOpenAI(script()) as fake:
        saved = os.environ.get("OPENAI_BASE_URL")
        os.environ["OPENAI_BASE_URL"] = fake.base_url  # the team itself names no endpoint
        try:
            orch, request = build(cassette=Cassette(path, "record", note=NOTE))
            result = orch.run_sync(request)
        finally:
            if saved is None:
                os.environ.pop("OPENAI_BASE_URL", None)
            else:
                os.environ["OPENAI_BASE_URL"] = saved
    return result


if __name__ == "__main__":  # pragma: no cover
    from sample_agents.cassettes.llm_research import CASSETTE

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CASSETTE
    outcome = record(target)
    print(f"recorded {target}: {outcome}")
