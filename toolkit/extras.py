"""Which optional part of Switchboard needs which extra, and the one line that says so.

The core (orchestrator, agents, events, recorders, store, workflow files, CLI) needs
only anyio, pydantic, PyYAML and orjson. The terminal app, the notebook widgets, the LLM
agents and the pandas metrics each come with an extra of the ``switchboard`` package
(``pip install 'switchboard[tui]'``). A feature used without its extra raises
``MissingExtraError``, whose message is one line naming what to install; the command
line prints that line and exits with code 2.

``EXTRAS`` is the single table of which modules each extra provides; a test checks it
against the extras declared in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXTRAS", "MissingExtraError", "extra_for", "needs_extra"]

EXTRAS: dict[str, tuple[str, ...]] = {
    "tui": ("textual",),
    "notebook": ("anywidget", "ipywidgets", "traitlets"),
    "llm": ("openai", "httpx2"),
    "metrics": ("pandas",),
    "temporal": ("temporalio",),
    "redis": ("redis",),
    "remote": ("starlette", "uvicorn", "sse_starlette", "httpx"),
    "a2a": ("a2a",),
    "otel": ("opentelemetry",),
}
"""Extra name -> the top-level modules it installs that Switchboard imports."""


class MissingExtraError(ImportError):
    """A feature was used without the extra that installs what it imports."""

    def __init__(self, feature: str, extra: str, module: str | None = None) -> None:
        self.feature = feature
        """What was used, as the user named it (``switchboard tui``, ``toolkit.metrics``)."""
        self.extra = extra
        """The extra to install."""
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install 'switchboard[{extra}]'",
            name=module,
        )

    def for_feature(self, feature: str) -> MissingExtraError:
        """The same missing extra, worded for another feature (a CLI command, say)."""
        return MissingExtraError(feature, self.extra, self.name)


def extra_for(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is looked up by its top level)."""
    if not module:
        return None
    top = module.partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


@contextmanager
def needs_extra(extra: str, feature: str) -> Iterator[None]:
    """Turn a missing module of ``extra`` imported inside the block into a MissingExtraError.

    A missing module that ``extra`` does not provide is a real bug and propagates as is.

    Args:
        extra: the extra the block's imports come from (a key of ``EXTRAS``).
        feature: what the user is using, for the message (``toolkit.metrics``).
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        if extra_for(exc.name) != extra:
            raise
        raise MissingExtraError(feature, extra, exc.name) from None
