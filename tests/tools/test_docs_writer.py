"""The docs writer: real files in the output folder, and refusal of names that leave it."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from sample_agents.tools.analyst import DataAnalyst
from sample_agents.tools.docs_writer import DocsWriter, safe_path, write_documents
from tests.tools.conftest import call
from toolkit.agents import AgentError


def test_docs_page_and_blog_post_from_the_analyst_report(tmp_path: Path) -> None:
    """From the analyst's report the writer writes both documents and reports their real sizes."""
    report = call(DataAnalyst())
    result = call(DocsWriter(str(tmp_path)), "write the docs", context={"analyze": report})
    names = [f["name"] for f in result["files"]]
    assert names == ["feedback-report.md", "blog-post.md"]
    for f in result["files"]:
        path = Path(f["path"])
        assert path.parent == tmp_path.resolve()
        assert f["bytes"] == path.stat().st_size > 200
    page = (tmp_path / "feedback-report.md").read_text()
    assert f"{report['rows']} pieces of customer feedback" in page
    assert report["top_requests"][0]["request"] in page
    blog = (tmp_path / "blog-post.md").read_text()
    assert blog.startswith("# ") and report["top_requests"][0]["request"] in blog


def test_one_document_kind_only(tmp_path: Path) -> None:
    """documents=['blog-post'] writes only the blog post."""
    result = call(
        DocsWriter(str(tmp_path), documents=["blog-post"]), context={"a": call(DataAnalyst())}
    )
    assert [f["name"] for f in result["files"]] == ["blog-post.md"]
    with pytest.raises(ValueError, match="unknown document kind"):
        DocsWriter(str(tmp_path), documents=["poem"])


def test_text_goes_to_the_named_file(tmp_path: Path) -> None:
    """Markdown text from a dependency goes to the 'file:' name of the prompt, in a subfolder if asked."""
    result = call(
        DocsWriter(str(tmp_path)),
        "file: reports/review.md",
        context={"edit": "# Report\n\nBody.\n"},
    )
    assert (tmp_path / "reports" / "review.md").read_text() == "# Report\n\nBody.\n"
    assert result["files"][0]["title"] == "Report"


def test_name_from_heading_when_none_is_given(tmp_path: Path) -> None:
    """Without a 'file:' line the file is named after the document's first heading."""
    call(DocsWriter(str(tmp_path)), "# Release Notes: v2!\n\nShipped.")
    assert (tmp_path / "release-notes-v2.md").exists()


@pytest.mark.parametrize(
    "name",
    ["../../etc/x", "/etc/passwd", "a/../../b.md", ".hidden.md", "a\\b.md", "x.py", "", "a//b.md"],
)
def test_unsafe_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    """Traversal, absolute, hidden, backslash, non-Markdown and empty names are refused before any write."""
    out = tmp_path / "out"
    with pytest.raises(AgentError, match="refusing to write"):
        call(DocsWriter(str(out)), context={"d": {"files": {"ok.md": "fine", name: "bad"}}})
    assert not out.exists()


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    """A name that resolves through a symlink to outside the output folder is refused."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(AgentError, match="outside the output folder"):
        safe_path(out, "link/escape.md")


def test_nothing_to_write_is_an_agent_error(tmp_path: Path) -> None:
    """An empty prompt and no context is an AgentError."""
    with pytest.raises(AgentError, match="nothing to write"):
        call(DocsWriter(str(tmp_path)), "file: x.md")


def test_a_planted_hard_link_is_refused_and_the_file_outside_is_untouched(tmp_path: Path) -> None:
    """A hard link at a document's name, pointing at a file outside the folder, is refused, and
    the outside file keeps its content."""
    out, secret = tmp_path / "out", tmp_path / "precious.txt"
    out.mkdir()
    secret.write_text("keep me\n")
    os.link(secret, out / "feedback-report.md")
    with pytest.raises(AgentError, match="hard link"):
        call(
            DocsWriter(str(out)),
            context={"d": {"files": {"feedback-report.md": "# overwritten\n"}}},
        )
    assert secret.read_text() == "keep me\n"


def test_a_symlink_at_the_file_name_is_refused(tmp_path: Path) -> None:
    """A symlink at a document's name, pointing outside, is refused and the target left alone."""
    out, target = tmp_path / "out", tmp_path / "target.md"
    out.mkdir()
    target.write_text("original\n")
    (out / "doc.md").symlink_to(target)
    with pytest.raises(AgentError, match="refusing to write"):
        write_documents(out, {"doc.md": "# new\n"})
    assert target.read_text() == "original\n"


def test_a_racing_symlink_swap_never_puts_a_write_outside(tmp_path: Path) -> None:
    """While another thread keeps swapping the subfolder 'sub' between a real folder and a symlink
    to a folder outside, 600 writes of 'sub/doc-N.md' each either land inside the output folder
    or are refused: nothing is ever written outside."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    stop = threading.Event()
    swaps = 0

    def swap() -> None:
        nonlocal swaps
        sub, link = out / "sub", out / "sub-link"
        link.symlink_to(outside, target_is_directory=True)
        made = 0
        while not stop.is_set():
            try:
                os.rename(link, sub)  # 'sub' is now a symlink to the folder outside
            except OSError:  # the writer made a real 'sub' meanwhile: move it aside
                with contextlib.suppress(OSError):
                    os.rename(sub, out / f"made-{made}")
                    made += 1
                continue
            os.rename(sub, link)  # and gone again
            swaps += 1

    writer = DocsWriter(str(out))
    results = {"inside": 0, "refused": 0}
    thread = threading.Thread(target=swap, daemon=True)
    thread.start()
    try:
        for i in range(600):
            try:
                call(writer, context={"d": {"files": {f"sub/doc-{i}.md": f"# doc {i}\n"}}})
                results["inside"] += 1
            except AgentError:
                results["refused"] += 1
    finally:
        stop.set()
        thread.join()
    assert swaps > 0 and results["inside"] + results["refused"] == 600
    assert list(outside.iterdir()) == []


def test_document_size_and_count_are_bounded(tmp_path: Path) -> None:
    """A document above max_bytes, or more documents than max_files, is refused before anything is written."""
    out = tmp_path / "out"
    with pytest.raises(AgentError, match="more than the limit"):
        call(
            DocsWriter(str(out), max_bytes=1000),
            context={"d": {"files": {"a.md": "ok", "b.md": "x" * 1001}}},
        )
    with pytest.raises(AgentError, match="at most 3"):
        call(
            DocsWriter(str(out), max_files=3),
            context={"d": {"files": {f"f{i}.md": "x" for i in range(4)}}},
        )
    assert not out.exists() or list(out.iterdir()) == []
