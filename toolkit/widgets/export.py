"""A run's dashboard as one standalone HTML file: shareable, no kernel needed.

The page inlines the same ES module the notebook widget runs, the stylesheet, and the
view's data. The data goes in a ``<script type="application/json">`` element with
``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no payload
can close the element or open a tag; the module reads it with ``JSON.parse`` and
draws every string with ``textContent``. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

__all__ = ["add_details", "dashboard_data", "detail_key", "embed_json", "render_html"]

_STATIC = Path(__file__).parent / "static"

_SURROGATE = re.compile("[\ud800-\udfff]")
"""A UTF-16 surrogate code point: Python strings may hold one (from ``surrogateescape``,
a model's broken output), UTF-8 cannot encode it."""


def detail_key(row: dict[str, Any]) -> str:
    """Where the static page finds a row's event details: its seq, prefixed by its run
    for a team's event (each run numbers its own events)."""
    run = row.get("run")
    return f"{run}:{row['seq']}" if run else str(row["seq"])


def add_details(details: dict[str, str], history: Any, rows: list[dict[str, Any]]) -> None:
    """Put the details of each row's event in ``details`` (cut at 4,000 characters)."""
    from toolkit.widgets.projection import event_detail

    for row in rows:
        key = detail_key(row)
        if key not in details:
            event = history.find(row["seq"], row.get("run"))
            if event is not None:
                details[key] = event_detail(event)[:4000]


def dashboard_data(view: Any, history: Any, arrows: Any, log: Any) -> dict[str, Any]:
    """A view's traits at the end of its run, as the static page needs them.

    Args:
        view: The view (its traits, already moved to the end of the run).
        history: Its ``RunHistory`` (for the details of the rows shown).
        arrows: Its message ``RowWindow``.
        log: Its log ``RowWindow``.
    """
    details: dict[str, str] = {}
    add_details(details, history, [*arrows.head, *arrows.tail, *log.head, *log.tail])
    return {
        "parts": list(view.parts),
        "title": view.title,
        "snapshot": view.snapshot,
        "arrows_head": [*arrows.head, *arrows.tail],
        "arrows_tail": [],
        "log_head": [*log.head, *log.tail],
        "log_tail": [],
        "totals": view.totals,
        "cursor": view.cursor,
        "total": view.total,
        "following": view.following,
        "playing": False,
        "speed": view.speed,
        "selected": -1,
        "selected_run": "",
        "detail": "",
        "log_filter": {"text": "", "kind": ""},
        "static": True,
        "height": view.height,
        "details": details,
    }


def embed_json(data: Any) -> str:
    """JSON safe to place inside an HTML ``<script>`` element, and encodable as UTF-8."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    # a lone surrogate stays in the data as a JSON escape, so the page is valid UTF-8
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _module_source() -> str:
    source = (_STATIC / "dashboard.js").read_text(encoding="utf-8")
    if "</script" in source.lower():  # pragma: no cover - guards future edits of the module
        raise ValueError("dashboard.js must not contain '</script'")
    return source


def render_html(data: dict[str, Any], *, title: str) -> str:
    """The standalone page for a view's exported data (``view.export_data()``)."""
    css = (_STATIC / "dashboard.css").read_text(encoding="utf-8")
    if "</style" in css.lower():  # pragma: no cover
        raise ValueError("dashboard.css must not contain '</style'")
    boot = 'mountStatic(document.getElementById("sb-root"), JSON.parse(document.getElementById("sb-data").textContent));'
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'none'\">\n"
        f"<title>{html.escape(_SURROGATE.sub(chr(0xFFFD), title))}</title>\n"
        f"<style>\n{css}\n</style>\n</head>\n<body>\n"
        '<div id="sb-root"></div>\n'
        f'<script type="application/json" id="sb-data">{embed_json(data)}</script>\n'
        f'<script type="module">\n{_module_source()}\n{boot}\n</script>\n'
        "</body>\n</html>\n"
    )
