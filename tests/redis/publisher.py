"""A run in another process, for the Redis tests: publishes to Redis and waits at a gate.

``python -m tests.redis.publisher URL TRACE [STEPS]`` runs a pipeline of mock agents with
a ``gate`` step in the middle that waits until the key ``{prefix}:test-gate`` exists, so
a test can see a follower in a third process show the run while it is still going. The
run is also recorded to TRACE, to compare what the follower showed with a local replay.
"""

from __future__ import annotations

import sys
import time

from toolkit import FunctionAgent, MockAgent, Orchestrator, pipeline
from toolkit.redis_streams import RedisStreamSink, RedisTarget


def main(url: str, trace: str, steps: int = 6) -> int:
    target = RedisTarget.parse(url)
    client = target.client()

    def gate(text: str) -> str:
        while not client.exists(f"{target.prefix}:test-gate"):
            time.sleep(0.01)
        return text + " (gate opened)"

    agents = [MockAgent(f"a{i}", latency=0) for i in range(3)]
    orch = Orchestrator([*agents, FunctionAgent(gate, "gate", thread=True)], seed=3)
    names = [f"a{i % 3}" for i in range(steps)]
    half = len(names) // 2
    plan = pipeline(*names[:half], "gate", *names[half:])
    result = orch.run_sync("publish me", plan, sinks=[RedisStreamSink(url)], trace=trace)
    print(result.run_id, result.status, result.error or "")
    return 0 if result.status == "succeeded" and result.error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:])))
