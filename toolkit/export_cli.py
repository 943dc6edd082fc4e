"""``switchboard export otel|html|mermaid SOURCE``: a run out to a backend, a page, a diagram.

SOURCE is anything the source layer opens (``toolkit.sources.open_path``): a trace
(``.jsonl``), a file still being written (``--follow``), a workflow run live (``.yaml``,
with ``--input``/``--seed``/``--mock``), or a stored run (``--store DB [--run ID]``).
Plugged into the CLI through the ``switchboard.commands`` entry-point group
(``register``), like the terminal app's commands: ``export html`` renders with the
notebook widgets' page, and the core CLI must not reach the widget libraries. Errors are
one ``switchboard: error:`` line and exit code 2, as everywhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``export`` and its three formats to the CLI's subcommands."""
    p = sub.add_parser(
        "export",
        help="export a run: otel (spans to an OTLP backend), html (a static page), mermaid (a diagram)",
    )
    p.set_defaults(func=_no_format)
    formats = p.add_subparsers(dest="format", metavar="FORMAT", parser_class=type(p))

    o = formats.add_parser(
        "otel",
        help="send the run as OpenTelemetry GenAI spans over OTLP/HTTP "
        "(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS)",
    )
    _source_args(o)
    o.add_argument(
        "--endpoint",
        help="the OTLP/HTTP base URL or traces URL (default: OTEL_EXPORTER_OTLP_ENDPOINT, "
        "else http://localhost:4318)",
    )
    o.add_argument("--timeout", type=float, help="seconds per export request (default 10)")
    o.add_argument(
        "--no-content",
        action="store_true",
        help="leave message bodies, inputs, outputs and tool data out of the spans",
    )
    o.add_argument(
        "--max-text", type=int, default=4096, help="characters of text per attribute (4096)"
    )
    o.set_defaults(func=cmd_export_otel)

    h = formats.add_parser("html", help="write the run's dashboard as one standalone HTML page")
    _source_args(h)
    h.add_argument("-o", "--output", help="the file to write (default: standard output)")
    h.add_argument("--title", help="the page title (default: the run's name)")
    h.set_defaults(func=cmd_export_html)

    m = formats.add_parser(
        "mermaid", help="print the run as a Mermaid sequence diagram of who sent what to whom"
    )
    _source_args(m)
    m.add_argument("-o", "--output", help="the file to write (default: standard output)")
    m.add_argument("--markdown", action="store_true", help="wrap the diagram in a ```mermaid fence")
    m.add_argument("--width", type=int, default=60, help="payload characters per arrow (60)")
    m.add_argument("--max-messages", type=int, default=500, help="arrows drawn at most (500)")
    m.add_argument(
        "--no-notes", action="store_true", help="draw messages only (no failure/retry notes)"
    )
    m.set_defaults(func=cmd_export_mermaid)


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="a trace (.jsonl) or a workflow (.yaml, run live)")
    p.add_argument("--store", help="read the run from this SQLite run store instead")
    p.add_argument("--run", help="the run id in the store (default: the newest)")
    p.add_argument(
        "--follow", action="store_true", help="read a trace still being written until its run ends"
    )
    p.add_argument("--input", help="the request, for a workflow run live")
    p.add_argument("--seed", type=int, help="seed of the mock agents, for a workflow run live")
    p.add_argument(
        "--mock", action="store_true", help="run a workflow with every real agent mocked"
    )


def _no_format(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError

    raise CLIError("choose a format: switchboard export otel|html|mermaid SOURCE")


def _events(args: argparse.Namespace) -> list[Any]:
    """The events SOURCE names, read through the source layer; problems as one warning."""
    from toolkit.cli import CLIError, _report, _say
    from toolkit.export import collect
    from toolkit.sources import SourceError, open_path, open_store

    try:
        if args.store:
            if args.source:
                raise SourceError("give either a SOURCE or --store, not both")
            source = open_store(Path(args.store), args.run)
        else:
            if args.run:
                raise SourceError("--run needs --store DB")
            if not args.source:
                raise SourceError("give a trace (.jsonl), a workflow (.yaml) or --store DB")
            target: Any = args.source if "://" in args.source else Path(args.source)
            try:
                source = open_path(
                    target,
                    follow=args.follow,
                    input_text=args.input,
                    seed=args.seed,
                    mock=args.mock,
                )
            except (AttributeError, TypeError):  # a source layer without URL sources
                raise SourceError(f"{args.source}: cannot open this kind of source") from None
        events, problems = collect(source)
    except SourceError as exc:
        raise CLIError(str(exc)) from None
    if problems:
        _say("warning", _report(source.label, problems, "problem(s)"))
    if not events:
        raise CLIError(f"{source.label}: no events to export")
    return events


def cmd_export_otel(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.otel import export_events, otlp_exporter
    from toolkit.text import safe_line

    events = _events(args)
    _quiet_exporter()
    exporter = otlp_exporter(args.endpoint, timeout_s=args.timeout)
    report = export_events(
        events, exporter, content=not args.no_content, max_text=max(16, args.max_text)
    )
    if report.problems:
        raise CLIError("; ".join(report.problems))
    traces = ", ".join(report.trace_ids)
    print(
        f"exported {report.spans} span(s) of {len(report.trace_ids)} run(s) "
        f"(trace {traces}) to {safe_line(report.destination, 300)}"
    )
    return 0


def cmd_export_html(args: argparse.Namespace) -> int:
    from toolkit.cli import CLIError
    from toolkit.export import html_page

    if not args.output and sys.stdout.isatty():
        raise CLIError("the page is HTML: write it with -o FILE (or redirect the output)")
    page = html_page(_events(args), title=args.title)
    _write(args.output, page)
    return 0


def cmd_export_mermaid(args: argparse.Namespace) -> int:
    from toolkit.export import mermaid_diagram

    diagram = mermaid_diagram(
        _events(args),
        width=max(10, args.width),
        notes=not args.no_notes,
        max_messages=max(1, args.max_messages),
        markdown=args.markdown,
    )
    _write(args.output, diagram)
    return 0


def _write(output: str | None, text: str) -> None:
    from toolkit.cli import CLIError
    from toolkit.text import safe_line

    if not output:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"{output}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {safe_line(output, 300)} ({len(text.encode('utf-8')):,} bytes)")


def _quiet_exporter() -> None:
    from toolkit.otel import quiet_exporter_logs

    quiet_exporter_logs()
