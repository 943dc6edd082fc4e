"""Cassettes: every model exchange of a run on file, so the run replays with no model.

Recording keeps, per exchange, the request body (model, messages, sampling options —
never a key or a header), the streamed chunks in order, the retries on the way, the
usage and the outcome. Replay hands those back without opening a socket, so an agent,
planner or synthesizer produces the same trace offline, with no key. That is how a run
against a real model becomes workshop material and a regression test.

An exchange is found by a hash of its normalized request plus an occurrence counter
(the second identical request gets the second recording). The file is JSON, indented,
validated by pydantic on load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.redact import redact

__all__ = [
    "CASSETTE_ENV",
    "CASSETTE_MODE_ENV",
    "Cassette",
    "CassetteError",
    "CassetteFile",
    "CassetteMiss",
    "Exchange",
    "Step",
    "active_cassette",
    "as_cassette",
    "request_key",
    "use_cassette",
]

CASSETTE_ENV = "SWITCHBOARD_CASSETTE"
"""Environment variable naming a cassette that every LLM call of the process uses."""
CASSETTE_MODE_ENV = "SWITCHBOARD_CASSETTE_MODE"
"""Its mode: ``replay`` (the default), ``record`` or ``auto``."""

CassetteMode = Literal["record", "replay", "auto"]
_MODES = ("record", "replay", "auto")


class CassetteError(Exception):
    """A cassette file that cannot be read or written."""


class CassetteMiss(CassetteError):
    """Replay met a request the cassette has no recording of."""


class Step(BaseModel):
    """One thing that happened during an exchange, in order: a streamed chunk or a retry."""

    model_config = ConfigDict(extra="forbid")

    chunk: str | None = None
    """Text the model streamed."""
    retry: str | None = None
    """Why an attempt failed and was retried (no secrets)."""


class Exchange(BaseModel):
    """One model call as recorded: the request and everything that came back."""

    model_config = ConfigDict(extra="forbid")

    key: str
    """Hash of the normalized request."""
    occurrence: int = 0
    """0 for the first call with this key in the recording, 1 for the second, …"""
    purpose: str = "agent"
    """``agent``, ``planner`` or ``synthesizer``."""
    agent: str = ""
    request: dict[str, Any]
    """The request body (model, messages, options); never a key or a header."""
    status: Literal["ok", "error"] = "ok"
    text: str = ""
    """The whole completion text."""
    steps: list[Step] = Field(default_factory=list)
    """Streamed chunks and retries, in the order they happened."""
    response_model: str | None = None
    """The model name the server reported."""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False
    """True when the server reported no usage and the counts are estimates."""
    attempts: int = 1
    latency_s: float = 0.0
    error: str | None = None
    """The error message of a failed call (secrets removed)."""
    error_type: str | None = None


class CassetteFile(BaseModel):
    """A cassette file's content."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    note: str = ""
    """Where and how it was recorded."""
    exchanges: list[Exchange] = Field(default_factory=list)


def request_key(body: dict[str, Any]) -> str:
    """Hash of a request body, normalized (sorted keys, no whitespace)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _clip(text: str, n: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def describe_request(body: dict[str, Any]) -> str:
    """A one-line description of a request for error messages."""
    messages = body.get("messages") or []
    last = messages[-1].get("content", "") if messages else ""
    # an error message: secret-shaped text in the prompt is masked (before clipping)
    return f"model={body.get('model')!r}, {len(messages)} message(s), last: {_clip(redact(str(last)))!r}"


class Cassette:
    """Records model exchanges to a JSON file, or replays them without a network.

    Args:
        path: The cassette file.
        mode: ``replay`` (default) answers from the file and never touches the
            network; a request missing from it raises ``CassetteMiss``. ``record``
            starts an empty cassette and records every exchange (the file is rewritten
            after each one, so a crashed run keeps what it got). ``auto`` replays what
            the file has and records what it lacks.
        note: Free text saved in the file (where it was recorded, against what).
        pace: Replay speed: 0 (default) answers at once; 1.0 takes each call's
            recorded latency, streaming its chunks over that time, so a live view
            shows agents typing as they did; 0.5 is twice as fast.
    """

    def __init__(
        self, path: str | Path, mode: CassetteMode = "replay", note: str = "", *, pace: float = 0.0
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"cassette mode must be one of {', '.join(_MODES)}, not {mode!r}")
        if pace < 0:
            raise ValueError("pace must be 0 or more")
        self.path = Path(path)
        self.mode: CassetteMode = mode
        self.pace = pace
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        if mode == "record":
            self.file = CassetteFile(note=note)
        else:
            self.file = (
                self._load() if self.path.exists() or mode == "replay" else CassetteFile(note=note)
            )
            if note:
                self.file.note = note
        self._index = {(x.key, x.occurrence): x for x in self.file.exchanges}

    def _load(self) -> CassetteFile:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CassetteError(
                f"cannot read cassette {self.path}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError as exc:
            raise CassetteError(
                f"{self.path} is not a valid cassette: byte {exc.start} is not UTF-8"
            ) from None
        try:
            return CassetteFile.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise CassetteError(f"{self.path} is not a valid cassette: {problems}") from None

    @property
    def exchanges(self) -> list[Exchange]:
        """The recorded exchanges, in the order they finished."""
        return list(self.file.exchanges)

    def next_occurrence(self, key: str) -> int:
        """Claim the next occurrence number of ``key`` (call once per request, when it starts)."""
        with self._lock:
            n = self._counters.get(key, 0)
            self._counters[key] = n + 1
            return n

    def rewind(self) -> None:
        """Start counting occurrences again, to replay the recording from its beginning."""
        with self._lock:
            self._counters.clear()

    def find(self, key: str, occurrence: int) -> Exchange | None:
        """The recording of this request, or None.

        In replay mode, asking for more occurrences of a request than were recorded
        starts again from the first, so the same run can be replayed twice in one
        process (a notebook re-running a cell) without ``rewind()``.
        """
        found = self._index.get((key, occurrence))
        if found is None and self.mode == "replay" and occurrence > 0:
            recorded = sum(1 for k, _ in self._index if k == key)
            if recorded:
                found = self._index.get((key, occurrence % recorded))
        return found

    def can_record(self) -> bool:
        return self.mode in ("record", "auto")

    def miss(self, body: dict[str, Any], key: str, occurrence: int) -> CassetteMiss:
        """The error for a request this cassette has not recorded."""
        return CassetteMiss(
            f"cassette {self.path} has no recording of this request ({describe_request(body)}; "
            f"key {key}, occurrence {occurrence + 1}; the cassette holds {len(self.file.exchanges)} exchange(s)). "
            "The run differs from the recorded one; record it again with mode='record' (or 'auto')."
        )

    def add(self, exchange: Exchange) -> None:
        """Keep an exchange and rewrite the file."""
        with self._lock:
            self.file.exchanges.append(exchange)
            self._index[(exchange.key, exchange.occurrence)] = exchange
            self._save_locked()

    def save(self) -> None:
        """Write the cassette file (atomically)."""
        with self._lock:
            self._save_locked()

    def _save_locked(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            self.file.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8"
        )
        os.replace(tmp, self.path)

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, mode={self.mode!r}, exchanges={len(self.file.exchanges)})"


_ACTIVE: list[Cassette] = []
_ACTIVE_LOCK = threading.Lock()
_FROM_ENV: dict[tuple[str, str], Cassette] = {}


@contextlib.contextmanager
def use_cassette(
    path: str | Path | Cassette, mode: CassetteMode = "replay", note: str = ""
) -> Iterator[Cassette]:
    """Make every LLM agent, planner and synthesizer in the block use one cassette.

    Process-wide (not per task or thread), so a run started with ``run_sync`` from a
    notebook, which runs on its own thread, uses it too. An agent given its own
    ``cassette=`` keeps that one.

    Example:
        >>> with use_cassette("run.json", mode="record"):   # doctest: +SKIP
        ...     orch.run_sync("Write a haiku about queues")
    """
    cassette = path if isinstance(path, Cassette) else Cassette(path, mode, note)
    with _ACTIVE_LOCK:
        _ACTIVE.append(cassette)
    try:
        yield cassette
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.remove(cassette)


def active_cassette() -> Cassette | None:
    """The innermost ``use_cassette`` block's cassette, else the one named by
    ``SWITCHBOARD_CASSETTE`` (mode from ``SWITCHBOARD_CASSETTE_MODE``), else None."""
    with _ACTIVE_LOCK:
        if _ACTIVE:
            return _ACTIVE[-1]
    path = os.environ.get(CASSETTE_ENV)
    if not path:
        return None
    mode = os.environ.get(CASSETTE_MODE_ENV, "replay")
    if mode not in _MODES:
        raise CassetteError(f"{CASSETTE_MODE_ENV} must be one of {', '.join(_MODES)}, not {mode!r}")
    with _ACTIVE_LOCK:
        cassette = _FROM_ENV.get((path, mode))
        if cassette is None:
            cassette = _FROM_ENV[(path, mode)] = Cassette(path, mode)  # type: ignore[arg-type]
        return cassette


def as_cassette(value: str | Path | Cassette | None) -> Cassette | None:
    """A ``cassette=`` argument as a ``Cassette``: a path means replay from that file."""
    if value is None or isinstance(value, Cassette):
        return value
    return Cassette(value, "replay")
