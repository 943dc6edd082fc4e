"""Payloads over Temporal's size limit: kept in files outside the history, passed by reference.

Temporal caps a payload at 2 MB (and warns from 256 KB); a long model answer or a big
tool output can be larger, and it travels in an agent call's result, in the next
call's context and in the run's result. ``FileStorageDriver`` plugs into the SDK's
external storage: a payload over the threshold is written once to a file named by its
SHA-256 (content-addressed, so a retried write is harmless) and the history keeps a
small claim. Every process of a run (the starter and the workers) must see the same
directory: the same machine, or a shared file system.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

__all__ = ["DEFAULT_BLOBS", "THRESHOLD", "FileStorageDriver", "data_converter"]

DEFAULT_BLOBS = Path(".switchboard") / "temporal-blobs"
"""Where large payloads go when no directory is named (relative to the working directory)."""
THRESHOLD = 256 * 1024
"""Payloads of at least this many bytes are kept outside the history."""


class FileStorageDriver(StorageDriver):
    """Payloads as files in ``directory``, each named by the SHA-256 of its bytes."""

    def __init__(self, directory: str | Path, name: str = "switchboard-files") -> None:
        self.directory = Path(directory).resolve()
        self._name = name

    def name(self) -> str:
        return self._name

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a payload key: {key[:80]!r}")
        return self.directory / key[:2] / key

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        claims = []
        for payload in payloads:
            data = payload.SerializeToString()
            key = hashlib.sha256(data).hexdigest()
            path = self._path(key)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{key}.{os.getpid()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)  # atomic: a reader never sees half a payload
            claims.append(StorageDriverClaim({"key": key}))
        return claims

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        out = []
        for claim in claims:
            payload = Payload()
            payload.ParseFromString(self._path(claim.claim_data["key"]).read_bytes())
            out.append(payload)
        return out


def data_converter(blobs: str | Path | None = None, threshold: int = THRESHOLD) -> DataConverter:
    """The converter of every Switchboard client and worker: pydantic models, large
    payloads in files under ``blobs`` (default ``DEFAULT_BLOBS``)."""
    import dataclasses

    from temporalio.contrib.pydantic import pydantic_data_converter

    driver = FileStorageDriver(DEFAULT_BLOBS if blobs is None else blobs)
    return dataclasses.replace(
        pydantic_data_converter,
        external_storage=ExternalStorage(drivers=[driver], payload_size_threshold=threshold),
    )
