"""Lazy package exports: a name's module is imported on first use of the name.

``toolkit``, ``toolkit.llm`` and ``toolkit.widgets`` export many names but load
their modules only when a program touches them (as Textual's ``widgets/__init__``
does), so ``import toolkit`` stays fast and pulls in no pandas, anywidget or openai.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for a package.

    Args:
        package: The package's name (for the error message).
        exports: Each exported name and the module that defines it.
        namespace: The package's ``globals()``; a loaded name is cached there.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
