"""A server whose runs share a message bus (``switchboard serve --bus``) runs one run at a
time: on a bus an agent name is one participant, so a second run at once is refused."""

from __future__ import annotations

import pytest

from tests.serve.conftest import HERE
from toolkit.bus import MessageBus
from toolkit.serve.models import StartRequest
from toolkit.serve.runs import Catalog, RunRegistry, StartError


@pytest.mark.anyio
async def test_a_second_run_on_the_bus_is_refused_while_one_runs() -> None:
    """429 naming the running run and why; once it has finished, a new run starts."""
    catalog = Catalog.from_files([HERE / "slow.yaml", HERE / "team.yaml"])
    registry = RunRegistry(catalog, bus=MessageBus)
    async with registry.running():
        first = registry.start(StartRequest(workflow="slow"))
        with pytest.raises(StartError) as refused:
            registry.start(StartRequest(workflow="team"))
        assert refused.value.status == 429
        assert f"run {first.run_id} is running" in str(refused.value)
        assert "one run at a time" in str(refused.value)
        registry.cancel(first)
        async for _ in first.follow():
            pass
        assert first.status == "cancelled"
        second = registry.start(StartRequest(workflow="team"))
        async for _ in second.follow():
            pass
        assert second.status == "succeeded"


@pytest.mark.anyio
async def test_without_a_bus_runs_go_on_at_once() -> None:
    """The default in-process bus of each run is its own: runs overlap up to max_running."""
    registry = RunRegistry(Catalog.from_files([HERE / "slow.yaml"]))
    async with registry.running():
        runs = [registry.start(StartRequest(workflow="slow")) for _ in range(2)]
        assert [r.status for r in runs] == ["running", "running"]
        for run in runs:
            registry.cancel(run)
