"""``toolkit.services.Service``: a service that never gets ready does not outlive its user."""

from __future__ import annotations

import sys

import pytest

from toolkit.services import Service


def test_a_service_whose_readiness_check_fails_is_killed() -> None:
    """The probe raising (or the wait for readiness giving up) stops the process group
    before the error goes on, so a failed start leaves no process behind."""

    def probe() -> bool:
        raise RuntimeError("the probe broke")

    service = Service([sys.executable, "-c", "import time; time.sleep(600)"], probe, name="idle")
    with pytest.raises(RuntimeError, match="the probe broke"):
        service.start()
    assert service.proc is not None and service.proc.poll() is not None
