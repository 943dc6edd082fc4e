"""``switchboard export mermaid`` and ``export html``: every source exports, the diagram is
one arrow per message in order, and hostile names and text can neither break the diagram's
grammar, close its Markdown fence, nor inject markup (the escaping rule of
``toolkit.mermaid``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_cli import assert_user_error, cli, stderr_lines
from tests.widgets.test_export import parse, strings
from toolkit import FunctionAgent, Orchestrator
from toolkit.events import TraceEvent
from toolkit.export import collect
from toolkit.mermaid import escape, sequence_diagram
from toolkit.patterns import pipeline
from toolkit.recorder import write_trace
from toolkit.sources import open_trace

SAMPLE = Path(__file__).parents[2] / "sample_agents" / "traces" / "feature-review.jsonl"

HOSTILE = [
    "line one\nNote over p0: injected",
    "a; p0->>p1: forged arrow",
    "%%{init: {'theme': 'dark', 'securityLevel': 'loose'}}%%",
    "```\n# escaped the fence",
    '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "end\nloop forever",
    "#35; #lt; &amp; \x1b[31mred\x1b[0m \u202egnp.exe \u2028sep \x00nul",
    "-->>p9: x --x p0 -) p1",
    "participant p5 as evil",
]
"""Text that would end a line, forge an arrow or a participant, switch the renderer's
settings, close the fence, inject markup or hide characters, if it were not escaped."""

LABEL = r"(?:[A-Za-z0-9 .,:_()/'?!@+=\[\]]|#\d+;|[^\x00-\x7f])*"
LINE = re.compile(
    rf"^(?:sequenceDiagram|    participant p\d+ as (?P<a>{LABEL})|"
    rf"    p\d+(?:->>|-->>|--x|-\))p\d+: (?P<b>{LABEL})|    Note over p\d+: (?P<c>{LABEL}))$"
)


def unescape(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def hostile_events() -> list[TraceEvent]:
    """A run whose agent names and every payload are hostile text."""
    name = "evil\n-->>p0;" + HOSTILE[4]

    def talker(prompt: str) -> str:
        return " | ".join(HOSTILE)

    def quoter(prompt: str) -> str:
        return HOSTILE[2]

    orch = Orchestrator([FunctionAgent(talker, name=name), FunctionAgent(quoter, name="x```y")])
    return orch.run_sync(HOSTILE[0] + HOSTILE[3], pipeline(name, "x```y")).events


def test_the_diagram_draws_every_message_in_order() -> None:
    """One arrow per message, in the run's order, between the declared participants, with
    the role words of ``toolkit.describe`` (retry, fallback, review, revision)."""
    events = open_trace(SAMPLE).preload()
    text = sequence_diagram(events, notes=False)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    declared = dict(re.findall(r"participant (p\d+) as (.*)", text))
    assert [unescape(v) for v in declared.values()] == [
        "user",
        "orchestrator",
        "developer",
        "backup-dev",
        "reviewer",
        "tester",
    ]
    arrows = [line for line in lines if re.match(r"    p\d+(->>|-->>|--x|-\))p\d+: ", line)]
    messages = [e.envelope for e in events if e.kind == "message_sent"]
    assert len(arrows) == len(messages)
    names = {v: k for k, v in declared.items()}
    for line, env in zip(arrows, messages, strict=True):
        src, dst = re.match(r"    (p\d+)\S*?(p\d+):", line).groups()  # type: ignore[union-attr]
        assert (unescape(src), unescape(dst)) == (
            names[escape(env.sender)],
            names[escape(env.recipient)],
        )
    words = " ".join(unescape(a) for a in arrows)
    for role in ("retry #2", "fallback #3", "review", "revision", "error"):
        assert role in words
    assert sum("--x" in a for a in arrows) == 2


def test_hostile_text_cannot_break_the_diagram() -> None:
    """With hostile agent names and payloads, every line of the diagram is still one of
    the four line forms; no raw newline, semicolon, %%, backtick, angle bracket, ampersand
    or control character survives; the text is there, as entity codes."""
    events = hostile_events()
    text = sequence_diagram(events, width=400)
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, line
        label = re.sub(r"#\d+;", "", match["a"] or match["b"] or match["c"] or "")
        assert not re.search(r"[#;%`<>&\"\x00-\x1f\x7f\u202e\u2028-]", label), line
    decoded = unescape(text)
    assert "forged arrow" in decoded and "<script>" in decoded and "```" in decoded
    fenced = sequence_diagram(events, markdown=True)
    assert fenced.count("```") == 2 and fenced.startswith("```mermaid\n")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escape_keeps_only_the_safe_set_and_round_trips(text: str) -> None:
    """Any text escapes to safe characters and entity codes only, and decodes back."""
    out = escape(text)
    assert re.fullmatch(LABEL, out)
    assert not re.search(r"[\x00-\x1f\x7f;%`<>&\"-]", re.sub(r"#\d+;", "", out))
    assert unescape(out) == text


def test_cli_mermaid_reads_every_kind_of_source(tmp_path: Path, fast_workflow: Path) -> None:
    """A trace, a followed trace, a stored run and a workflow run live all export the
    same kind of diagram; ``-o`` writes a file, ``--markdown`` fences it."""
    out = tmp_path / "run.md"
    proc = cli("export", "mermaid", SAMPLE, "--markdown", "-o", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("```mermaid\nsequenceDiagram\n") and text.endswith("```\n")
    followed = cli("export", "mermaid", SAMPLE, "--follow")
    assert followed.returncode == 0 and followed.stdout == sequence_diagram(
        open_trace(SAMPLE).preload()
    )
    db = tmp_path / "runs.db"
    assert cli("run", fast_workflow, "--store", db).returncode == 0
    stored = cli("export", "mermaid", "--store", db)
    live = cli("export", "mermaid", fast_workflow)
    for proc in (stored, live):
        assert proc.returncode == 0, proc.stderr
        assert stderr_lines(proc) == []
        assert "participant p3 as backup#45;dev" in proc.stdout
        assert proc.stdout.count("-->>") == followed.stdout.count("-->>")


def test_cli_export_errors_are_one_line(tmp_path: Path) -> None:
    """Bad sources and bad combinations are one ``switchboard: error:`` line, exit 2."""
    assert_user_error(cli("export", "mermaid", tmp_path / "missing.jsonl"), "missing.jsonl")
    assert_user_error(cli("export", "mermaid"), "--store")
    assert_user_error(cli("export", "html", SAMPLE, "--store", "x.db"), "not both")
    assert_user_error(cli("export", "otel", SAMPLE, "--run", "r1"), "--store")
    assert_user_error(cli("export", "mermaid", tmp_path / "notes.txt"), "expected")
    assert_user_error(cli("export"), "otel|html|mermaid")
    assert_user_error(
        cli("export", "mermaid", SAMPLE, "-o", tmp_path / "no" / "dir.md"), "cannot write"
    )


def test_cli_html_writes_the_dashboard_page(tmp_path: Path) -> None:
    """``export html`` writes the widget's standalone page: its data holds the run's
    messages as plain JSON strings (hostile ones included), and no markup of theirs."""
    trace = tmp_path / "hostile.jsonl"
    write_trace(trace, hostile_events())
    page_path = tmp_path / "run.html"
    proc = cli("export", "html", trace, "-o", page_path, "--title", "</title><b>x</b>")
    assert proc.returncode == 0, proc.stderr
    page = parse(page_path.read_text(encoding="utf-8"))
    assert [t for t, _ in page.tags if t in ("script", "img", "b")] == ["script", "script"]
    assert page.title == "</title><b>x</b>"
    data: Any = json.loads(page.scripts[0][1])
    assert data["static"] is True and data["arrows_head"]
    assert any(HOSTILE[4] in text for text in strings(data["arrows_head"]))
    assert "<script>alert" not in page_path.read_text(encoding="utf-8")


def test_collect_reads_a_source_whole() -> None:
    """``collect`` gives a recorded source's events and its notices."""
    events, problems = collect(open_trace(SAMPLE))
    assert [e.seq for e in events] == list(range(len(events))) and problems == []
