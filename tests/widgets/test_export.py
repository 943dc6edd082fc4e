"""Untrusted text stays text: rows, the static HTML export and the front-end module."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.widgets.conftest import HOSTILE
from toolkit.events import TraceEvent
from toolkit.widgets import RunView
from toolkit.widgets.export import embed_json, render_html

STATIC = Path(__file__).parents[2] / "toolkit" / "widgets" / "static"


class PageParser(HTMLParser):
    """Collects every tag, attribute and script body of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "title"):
            self._in = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif self._in == "title":
            self.title += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_rows_carry_payloads_verbatim(events: list[TraceEvent]) -> None:
    """Python never escapes or strips payload text: the front end shows it as text, so it must arrive literally."""
    view = RunView(events)
    texts = strings(view.arrows_head + view.arrows_tail + view.log_head + view.log_tail)
    assert any(t.startswith("<script>window.__pwned") for t in texts)
    assert not any("&lt;script" in t for t in texts)


def test_static_export_has_no_injected_markup(events: list[TraceEvent], tmp_path: Path) -> None:
    """The exported page has exactly two scripts (the JSON data and the module), no event-handler
    attributes, no <img>, and the data's JSON holds the hostile payload as a plain string."""
    path = tmp_path / "run.html"
    page = RunView(events).to_html(path, title="</title><script>alert(1)</script>")
    assert path.read_text(encoding="utf-8") == page
    parsed = parse(page)
    assert [attrs.get("type") for attrs, _ in parsed.scripts] == ["application/json", "module"]
    assert not any(tag == "img" for tag, _ in parsed.tags)
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    assert parsed.title == "</title><script>alert(1)</script>"
    data_text = parsed.scripts[0][1]
    assert "<" not in data_text and ">" not in data_text and "&" not in data_text
    data = json.loads(data_text)
    assert data["static"] is True
    assert data["snapshot"]["participants"][:2] == ["user", "orchestrator"]
    assert any(json.dumps(HOSTILE)[1:-1] in text for text in data["details"].values())
    module = parsed.scripts[1][1]
    assert (STATIC / "dashboard.js").read_text(encoding="utf-8").strip() in module
    assert "Content-Security-Policy" in page and "connect-src" not in page


def test_export_is_the_whole_run_even_mid_replay(events: list[TraceEvent]) -> None:
    """to_html exports the finished run, whatever the cursor was."""
    view = RunView(events)
    view._autoplay = False
    view.seek(3)
    data = json.loads(parse(view.to_html()).scripts[0][1])
    assert data["cursor"] == data["total"] == len(events)
    assert len(data["arrows_head"]) == 20


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.text() | st.integers() | st.none(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_embedded_json_never_closes_its_script(value: Any) -> None:
    """For any JSON value, the embedded text has no <, > or & and parses back to the same value."""
    text = embed_json(value)
    assert not re.search(r"[<>&]", text)
    assert json.loads(text) == value


def test_render_html_breakout_attempt() -> None:
    """A string that tries to close the data script stays inside it."""
    payload = "</script><script>alert(1)</script><!--"
    page = render_html({"parts": ["flow"], "snapshot": {"run": {"name": payload}}}, title="t")
    parsed = parse(page)
    assert len(parsed.scripts) == 2
    assert json.loads(parsed.scripts[0][1])["snapshot"]["run"]["name"] == payload


def test_front_end_module_never_parses_html() -> None:
    """The module builds the DOM from text nodes: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval."""
    source = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "srcdoc",
    ):
        assert sink not in code, sink
    assert "createTextNode" in code and "textContent" in code


def test_a_lone_surrogate_exports_as_valid_utf8(tmp_path: Path) -> None:
    """A lone surrogate in a request, a reply or a title: to_html() is valid UTF-8, and the data
    keeps the code point as a JSON escape."""
    from toolkit import MockAgent, Orchestrator, Plan, Task

    orch = Orchestrator([MockAgent("a", reply="bad \udc80 reply")], seed=1)
    result = orch.run_sync(
        "hi \ud800", Plan(name="p", tasks=[Task(id="t", agent="a", prompt="{{input}}")])
    )
    page = RunView(result).to_html(tmp_path / "run.html", title="t\udfff")
    page.encode("utf-8")
    assert (tmp_path / "run.html").read_text(encoding="utf-8") == page
    data = re.search(r'id="sb-data">(.*?)</script>', page, re.S).group(1)
    assert "\\udc80" in data and "\\ud800" in data
    assert json.loads(data)["snapshot"] is not None


@given(st.text(st.characters(exclude_categories=())) | st.sampled_from(["\ud800", "a\udfffb"]))
@settings(max_examples=200, deadline=None)
def test_embedded_json_is_always_utf8_and_round_trips(value: str) -> None:
    """Any string, lone surrogates included, embeds as UTF-8 JSON that parses back to itself."""
    text = embed_json({"v": value})
    text.encode("utf-8")
    assert json.loads(text)["v"] == value
