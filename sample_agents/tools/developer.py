"""A deterministic developer for the review-loop scenario: template-driven, no model.

The "build a feature" scenario needs a developer whose drafts really change in
response to a real reviewer, without an LLM. ``FeatureDeveloper`` implements one
bundled feature (``sample_agents/data/feature_spec.md``: a ``durations`` module that
parses and formats durations) from code templates. Its first draft is the kind of
prototype a hurried developer writes: it calls ``eval`` on numbers, has a bare
``except:``, a long ``if``/``elif`` chain and no docstrings. Each later round it reads
the reviewer's feedback (the ``[rule]`` ids in ``context["feedback"]``) and switches
the templates for the flagged rules to their fixed versions - blockers (``error``
issues) first, and the warnings and notes once no blocker is left - so the loop
takes three rounds to approval with the default ``CodeReviewer``. It does not write
code in any general sense: the fixes are prewritten alternatives, chosen by the
feedback it receives.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sample_agents.tools.base import ToolAgent
from toolkit.agents import Directive

__all__ = ["FEATURE_SPEC", "FIXABLE_RULES", "FeatureDeveloper", "build_code", "feature_tests"]

FEATURE_SPEC = Path(__file__).resolve().parent.parent / "data" / "feature_spec.md"
"""The bundled feature request the developer implements."""

FIXABLE_RULES = ("risky-call", "bare-except", "complexity", "missing-docstring")
"""Review rules this developer knows how to fix."""

_MODULE_DOC = (
    '"""Human-friendly durations: parse "1h30m" into seconds and format seconds back."""\n\n'
)

_NAIVE_LOOP = """\
    total = 0.0
    for number, unit in _PART.findall(text):
        try:
            value = {number_expr}
        except{except_type}:
            raise ValueError(f"bad number: {{number!r}}")
        if unit == "" or unit == "s" or unit == "sec":
            total += value
        elif unit == "m" or unit == "min":
            total += value * 60
        elif unit == "h" or unit == "hr":
            total += value * 3600
        elif unit == "d" or unit == "day":
            total += value * 86400
        elif unit == "w":
            total += value * 604800
        else:
            raise ValueError(f"unknown unit: {{unit!r}}")
    return total
"""

_TABLE_LOOP = """\
    total = 0.0
    for number, unit in _PART.findall(text):
        if unit not in _UNITS:
            raise ValueError(f"unknown unit: {{unit!r}}")
        try:
            value = {number_expr}
        except{except_type}:
            raise ValueError(f"bad number: {{number!r}}") from None
        total += value * _UNITS[unit]
    return total
"""

_TABLE = """\
_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400, "w": 604800}

"""

_PARSE_HEAD = """\
def parse_duration(text):
{doc}    text = text.strip().lower()
    if not text or not _WHOLE.fullmatch(text):
        raise ValueError(f"not a duration: {{text!r}}")
"""

_PARSE_DOC = '''\
    """Seconds in a duration such as "1h30m", "2h 15m 10s", "1.5h" or "90".

    Raises:
        ValueError: empty text, no number, or an unknown unit.
    """
'''

_FORMAT = """\


def format_duration(seconds):
{doc}    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{{count}}{{unit}}")
    return " ".join(parts) or "0s"
"""

_FORMAT_DOC = '''\
    """Whole seconds for display: 5400 -> "1h 30m", 0 -> "0s"."""
'''

_PATTERNS = """\
import re

_PART = re.compile(r"(\\d+(?:\\.\\d+)?)\\s*([a-z]*)")
_WHOLE = re.compile(r"(?:\\s*\\d+(?:\\.\\d+)?\\s*[a-z]*\\s*)+")

"""

_TESTS = """\
import pytest

from durations import format_duration, parse_duration


def test_single_units():
    assert parse_duration("45s") == 45
    assert parse_duration("10m") == 600
    assert parse_duration("2h") == 7200
    assert parse_duration("1d") == 86400
    assert parse_duration("90") == 90


def test_combined_and_fractional():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2h 15m 10s") == 8110
    assert parse_duration("1.5h") == 5400
    assert parse_duration("10M") == 600


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "h"])
def test_bad_input_raises(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format():
    assert format_duration(5400) == "1h 30m"
    assert format_duration(45) == "45s"
    assert format_duration(0) == "0s"
    assert format_duration(183600) == "2d 3h"
    with pytest.raises(ValueError):
        format_duration(-1)
"""


def feature_tests() -> str:
    """The feature's test file (``test_durations.py``), the same every round."""
    return _TESTS


def build_code(fixed: set[str] | frozenset[str] = frozenset()) -> str:
    """The ``durations`` module, with the fixes for the rules in ``fixed`` applied."""
    docs = "missing-docstring" in fixed
    fields = {
        "number_expr": "float(number)" if "risky-call" in fixed else "eval(number)",
        "except_type": " ValueError" if "bare-except" in fixed else "",
    }
    loop = _TABLE_LOOP if "complexity" in fixed else _NAIVE_LOOP
    return "".join(
        [
            _MODULE_DOC if docs else "",
            _PATTERNS,
            _TABLE if "complexity" in fixed else "",
            _PARSE_HEAD.format(doc=_PARSE_DOC if docs else ""),
            loop.format(**fields),
            _FORMAT.format(doc=_FORMAT_DOC if docs else ""),
        ]
    )


_FLAGGED = re.compile(r"\[(?P<rule>[a-z-]+)\][^\n]*\((?P<severity>error|warning|info)\)")


def flagged_rules(feedback: str) -> dict[str, str]:
    """Rule id -> worst severity, read from a reviewer's feedback text."""
    order = {"info": 0, "warning": 1, "error": 2}
    found: dict[str, str] = {}
    for match in _FLAGGED.finditer(feedback):
        rule, severity = match["rule"], match["severity"]
        if order[severity] > order.get(found.get(rule, "info"), -1) or rule not in found:
            found[rule] = severity
    return found


class FeatureDeveloper(ToolAgent):
    """Implements the bundled ``durations`` feature and revises it from review feedback.

    Output (a dict): ``module``, ``code``, ``tests``, ``round``, ``fixed`` (rules fixed so
    far), ``changes`` (what this round changed) and ``spec`` (the spec file). The
    ``CodeRunner`` runs ``code`` with ``tests``; the ``CodeReviewer`` reviews ``code``.

    Args:
        name: The agent's name in plans.
    """

    description = "Writes the bundled 'durations' feature in Python and revises it from reviewer feedback (template-driven)."
    skills = ("python", "develop", "implement", "feature", "fix")

    def __init__(self, *, name: str = "developer") -> None:
        self.name = name

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Write the first draft, or revise the previous one from ``context["feedback"]``."""
        previous = directive.context.get("draft")
        fixed = set(previous.get("fixed", ())) if isinstance(previous, Mapping) else set()
        feedback = str(directive.context.get("feedback") or "")
        flagged = flagged_rules(feedback)
        blockers = {rule for rule, severity in flagged.items() if severity == "error"}
        todo = (blockers or set(flagged)) & set(FIXABLE_RULES)
        unknown = sorted(set(flagged) - set(FIXABLE_RULES))
        fixed |= todo
        code = build_code(frozenset(fixed))
        changes = [f"fixed [{rule}]" for rule in sorted(todo)] or [
            "first draft from the feature spec"
        ]
        if unknown:
            changes.append(f"cannot fix [{'], ['.join(unknown)}] (no template for it)")
        self.record(
            directive,
            "templates.render",
            {"fixed": sorted(fixed), "flagged": flagged},
            {"lines": code.count("\n") + 1, "changes": changes},
        )
        return {
            "module": "durations",
            "code": code,
            "tests": feature_tests(),
            "round": directive.round,
            "fixed": sorted(fixed),
            "changes": changes,
            "spec": FEATURE_SPEC.name,
        }
