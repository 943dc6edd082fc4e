"""The code reviewer's checks and the template-driven developer that answers its feedback."""

from __future__ import annotations

import anyio
import pytest

from sample_agents.tools.code_runner import Program, run_program
from sample_agents.tools.developer import FeatureDeveloper, build_code, feature_tests, flagged_rules
from sample_agents.tools.reviewer import CodeReviewer, complexity, review_source
from tests.tools.conftest import call
from toolkit.agents import AgentError

RISKY = '''\
"""Risky module."""
import os
import pickle
import subprocess


def run(cmd, data):
    """Do risky things."""
    os.system(cmd)
    subprocess.run(cmd, shell=True)
    subprocess.run(["ls"], shell=False)
    exec(cmd)
    try:
        return pickle.loads(data)
    except:
        return None
'''


def _rules(review) -> list[tuple[int, str]]:
    return [(i.line, i.rule) for i in review.issues]


def test_risky_calls_and_bare_except_are_errors_with_lines() -> None:
    """os.system, subprocess with shell=True, exec, pickle.loads and a bare except are flagged at their lines."""
    review = review_source(RISKY)
    assert _rules(review) == [
        (9, "risky-call"),
        (10, "risky-call"),
        (12, "risky-call"),
        (14, "risky-call"),
        (15, "bare-except"),
    ]
    assert all(i.severity == "error" for i in review.issues)
    assert not review.approved
    assert review.score == 0  # five errors cost 125 points; the score floors at 0


def test_clean_code_is_approved_with_full_score() -> None:
    """Documented, simple, safe code scores 100 and is approved, with 'APPROVED' in the feedback."""
    review = review_source(
        '"""Maths."""\n\n\ndef add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n'
    )
    assert review.score == 100 and review.approved and review.issues == []
    assert review.feedback.startswith("APPROVED")


def test_syntax_error_scores_zero_with_its_line() -> None:
    """Code that does not parse gets score 0 and one syntax issue at the right line."""
    review = review_source("x = 1\nif x\n    pass\n")
    assert review.score == 0 and not review.approved
    assert _rules(review) == [(2, "syntax")]


def test_complexity_counts_branches() -> None:
    """Complexity is 1 + ifs, loops, handlers, boolean operands and comprehension conditions."""
    import ast

    source = (
        "def f(x):\n"
        "    if x and x > 1 or x < 0:\n"  # if +1, and/or +2
        "        for i in range(3):\n"  # +1
        "            pass\n"
        "    try:\n        pass\n    except ValueError:\n        pass\n"  # +1
        "    return [i for i in x if i]\n"  # +1 loop, +1 if
    )
    assert complexity(ast.parse(source).body[0]) == 8


def test_complex_and_long_functions_are_flagged() -> None:
    """A function above the complexity limit and one above the length limit get warnings."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(12))
    long_body = "\n".join(f"    y{i} = {i}" for i in range(60))
    source = f'"""M."""\n\n\ndef branchy(x):\n    """B."""\n{branches}\n\n\ndef long(x):\n    """L."""\n{long_body}\n'
    review = review_source(source)
    rules = {i.rule for i in review.issues}
    assert rules == {"complexity", "long-function"}
    assert review.functions["branchy"]["complexity"] == 13


def test_reviewer_agent_reads_the_draft_in_a_loop() -> None:
    """In a review loop the reviewer reviews context['draft'] (a developer dict) and returns a verdict dict."""
    verdict = call(
        CodeReviewer(), "Review this work...", context={"draft": {"code": "eval('1')\n"}}
    )
    assert verdict["approved"] is False
    assert "[risky-call]" in verdict["feedback"]
    assert {"score", "approved", "issues", "feedback", "functions"} <= verdict.keys()


def test_reviewer_without_code_is_an_agent_error() -> None:
    """No draft, no code in the context and an empty prompt is an AgentError."""
    with pytest.raises(AgentError, match="nothing to review"):
        call(CodeReviewer(), "")


def test_developer_fixes_blockers_first_then_the_rest() -> None:
    """Round 1 has errors; fixing the errors leaves warnings; fixing those gives an approved draft."""
    reviewer, developer = CodeReviewer(), FeatureDeveloper()
    draft = call(developer, "implement the spec")
    verdicts = []
    for round_ in range(2, 5):
        verdict = call(reviewer, context={"draft": draft})
        verdicts.append(verdict)
        if verdict["approved"]:
            break
        draft = call(
            developer,
            "implement the spec",
            context={"draft": draft, "feedback": verdict["feedback"]},
            round=round_,
        )
    assert [v["approved"] for v in verdicts] == [False, False, True]
    assert any(i["severity"] == "error" for i in verdicts[0]["issues"])
    assert not any(i["severity"] == "error" for i in verdicts[1]["issues"])
    assert draft["fixed"] == ["bare-except", "complexity", "missing-docstring", "risky-call"]
    assert "eval(" not in draft["code"]


@pytest.mark.parametrize(
    "fixed",
    [frozenset(), frozenset({"risky-call", "bare-except", "complexity", "missing-docstring"})],
)
def test_every_draft_passes_the_feature_tests(fixed: frozenset[str]) -> None:
    """Both the first prototype and the final code pass the bundled tests (the review is about quality)."""
    program = Program(
        files={"durations.py": build_code(fixed), "test_durations.py": feature_tests()}
    )
    report = anyio.run(lambda: run_program(program, time_limit_s=20))
    assert report.passed, report.stdout
    assert report.tests is not None and report.tests.passed == 7


def test_feedback_parsing_keeps_the_worst_severity() -> None:
    """A rule flagged as warning and as error counts as error; unknown text is ignored."""
    feedback = "line 1: [complexity] a (warning)\nline 9: [complexity] b (error)\nline 3: [missing-docstring] c (info)\nnoise"
    assert flagged_rules(feedback) == {"complexity": "error", "missing-docstring": "info"}


def test_reviewer_skips_fenced_test_blocks() -> None:
    """In a Markdown draft the reviewer reviews the code block, not the undocumented test block."""
    draft = (
        'Here it is:\n```python\n"""Doubling."""\n\n\ndef double(x):\n    """Twice x."""\n    return 2 * x\n```\n'
        "```python\nfrom m import double\n\ndef test_double():\n    assert double(2) == 4\n```\n"
    )
    verdict = call(CodeReviewer(), context={"draft": draft})
    assert verdict["approved"] and verdict["issues"] == []
