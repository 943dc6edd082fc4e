"""A code reviewer without a model: static checks of Python source with ``ast``.

It finds what a careful human reviewer flags first: code that does not parse, risky
calls (``eval``, ``exec``, ``os.system``, ``subprocess`` with ``shell=True``,
``pickle.loads``, ``yaml.load`` without a safe loader), bare ``except:``, functions
that branch too much (cyclomatic complexity) or run too long, mutable default
arguments and missing docstrings. Each finding is an ``Issue`` with a line, a rule id,
a message and a severity; the score starts at 100 and loses points per issue.

The verdict is a dict with ``approved`` and ``feedback``, the shape the orchestrator
reads from a reviewer, so this agent can judge a developer's drafts in a review loop.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from sample_agents.tools.base import ToolAgent
from toolkit.agents import AgentError, Directive

__all__ = ["CodeReviewer", "Issue", "Review", "complexity", "review_source"]

Severity = Literal["error", "warning", "info"]
PENALTY: dict[str, int] = {"error": 25, "warning": 8, "info": 3}
"""Points a finding of each severity costs."""


class Issue(BaseModel):
    """One finding."""

    line: int
    rule: str
    """A stable id such as ``risky-call`` or ``complexity``."""
    message: str
    severity: Severity


class Review(BaseModel):
    """A reviewer's verdict on one piece of code."""

    score: int = Field(ge=0, le=100)
    approved: bool
    issues: list[Issue]
    feedback: str
    """The issues as readable text, one per line (``line 3: [risky-call] ... (error)``)."""
    functions: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Per function: complexity and length in lines."""


_BRANCHES = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.IfExp,
    ast.ExceptHandler,
    ast.With,
    ast.AsyncWith,
    ast.Assert,
    ast.comprehension,
    ast.match_case,
)


def complexity(node: ast.AST) -> int:
    """McCabe-style cyclomatic complexity of a function: 1 + its decision points.

    Counts ``if``/``elif``, loops, ``except`` handlers, ``with``, ``assert``,
    conditional expressions, comprehension loops and their ``if``s, ``match`` cases and
    each extra operand of ``and``/``or``. Nested functions count for themselves.
    """
    total = 1
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(child, (ast.With, ast.AsyncWith)):
            pass  # a context manager is not a decision
        elif isinstance(child, _BRANCHES):
            total += 1
            if isinstance(child, ast.comprehension):
                total += len(child.ifs)
        elif isinstance(child, ast.BoolOp):
            total += len(child.values) - 1
        stack.extend(ast.iter_child_nodes(child))
    return total


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


_RISKY: dict[str, str] = {
    "eval": "eval() runs arbitrary code from a string; parse the input instead (ast.literal_eval, int(), json)",
    "exec": "exec() runs arbitrary code from a string",
    "os.system": "os.system() runs a shell command; use subprocess.run with a list of arguments",
    "os.popen": "os.popen() runs a shell command; use subprocess.run with a list of arguments",
    "pickle.loads": "pickle.loads() can run arbitrary code from untrusted bytes; use json",
    "pickle.load": "pickle.load() can run arbitrary code from an untrusted file; use json",
    "marshal.loads": "marshal.loads() is unsafe on untrusted data",
    "__import__": "__import__() with a computed name loads arbitrary modules; import explicitly",
}


class _Checker(ast.NodeVisitor):
    def __init__(self, max_complexity: int, max_lines: int, require_docstrings: bool) -> None:
        self.issues: list[Issue] = []
        self.functions: dict[str, dict[str, int]] = {}
        self.max_complexity = max_complexity
        self.max_lines = max_lines
        self.require_docstrings = require_docstrings
        self._scope: list[str] = []

    def add(self, node: ast.AST | int, rule: str, message: str, severity: Severity) -> None:
        line = node if isinstance(node, int) else getattr(node, "lineno", 1)
        self.issues.append(Issue(line=line, rule=rule, message=message, severity=severity))

    def visit_Module(self, node: ast.Module) -> None:
        if self.require_docstrings and node.body and ast.get_docstring(node) is None:
            self.add(
                1, "missing-docstring", "the module has no docstring saying what it is for", "info"
            )
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        qualname = ".".join([*self._scope, node.name])
        score = complexity(node)
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        self.functions[qualname] = {"complexity": score, "lines": length}
        if score > self.max_complexity:
            severity: Severity = "error" if score > 2 * self.max_complexity else "warning"
            self.add(
                node,
                "complexity",
                f"{qualname}() has cyclomatic complexity {score} (limit {self.max_complexity}); split it up",
                severity,
            )
        if length > self.max_lines:
            self.add(
                node,
                "long-function",
                f"{qualname}() is {length} lines long (limit {self.max_lines})",
                "warning",
            )
        if (
            self.require_docstrings
            and not node.name.startswith("_")
            and ast.get_docstring(node) is None
        ):
            self.add(node, "missing-docstring", f"{qualname}() has no docstring", "warning")
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if isinstance(default, (ast.List, ast.Dict, ast.Set)):
                self.add(
                    default,
                    "mutable-default",
                    f"{qualname}() has a mutable default argument; use None",
                    "warning",
                )
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if (
            self.require_docstrings
            and not node.name.startswith("_")
            and ast.get_docstring(node) is None
        ):
            self.add(node, "missing-docstring", f"class {node.name} has no docstring", "warning")
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name in _RISKY:
            self.add(node, "risky-call", _RISKY[name], "error")
        elif name.startswith("subprocess.") or name in (
            "run",
            "Popen",
            "call",
            "check_call",
            "check_output",
        ):
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value in (False, None, 0)
                ):
                    self.add(
                        node,
                        "risky-call",
                        f"{name}(..., shell=True) runs a shell; pass a list of arguments",
                        "error",
                    )
        elif name in ("yaml.load", "yaml.load_all") and not any(
            kw.arg == "Loader" for kw in node.keywords
        ):
            self.add(
                node,
                "risky-call",
                f"{name}() without a Loader can build arbitrary objects; use yaml.safe_load",
                "error",
            )
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.add(
                node,
                "bare-except",
                "bare 'except:' also catches KeyboardInterrupt and SystemExit; name the exception",
                "error",
            )
        elif len(node.body) == 1 and isinstance(node.body[0], ast.Pass):
            self.add(node, "swallowed-exception", "the exception is silently ignored", "warning")
        self.generic_visit(node)


def review_source(
    source: str,
    *,
    min_score: int = 80,
    max_complexity: int = 10,
    max_function_lines: int = 50,
    require_docstrings: bool = True,
    filename: str = "<code>",
) -> Review:
    """Review Python source; approved means no error-severity issue and ``score >= min_score``."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        issue = Issue(
            line=exc.lineno or 1,
            rule="syntax",
            message=f"syntax error: {exc.msg}",
            severity="error",
        )
        return Review(
            score=0, approved=False, issues=[issue], feedback=_feedback([issue], 0, False)
        )
    except ValueError as exc:  # e.g. null bytes
        issue = Issue(line=1, rule="syntax", message=f"cannot parse: {exc}", severity="error")
        return Review(
            score=0, approved=False, issues=[issue], feedback=_feedback([issue], 0, False)
        )
    checker = _Checker(max_complexity, max_function_lines, require_docstrings)
    checker.visit(tree)
    issues = sorted(checker.issues, key=lambda i: (i.line, i.rule))
    score = max(0, 100 - sum(PENALTY[i.severity] for i in issues))
    approved = score >= min_score and not any(i.severity == "error" for i in issues)
    return Review(
        score=score,
        approved=approved,
        issues=issues,
        feedback=_feedback(issues, score, approved),
        functions=checker.functions,
    )


def _feedback(issues: list[Issue], score: int, approved: bool) -> str:
    head = f"{'APPROVED' if approved else 'CHANGES REQUESTED'} (score {score}/100)"
    if not issues:
        return head + ": no issues found."
    return (
        head
        + "\n"
        + "\n".join(f"line {i.line}: [{i.rule}] {i.message} ({i.severity})" for i in issues)
    )


_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_TEST_BLOCK = re.compile(r"^\s*def test_|unittest\.TestCase", re.MULTILINE)


def code_to_review(value: Any) -> str | None:
    """The Python source in a draft: a dict's ``code`` (or its non-test ``files``), fenced blocks, or the text."""
    if isinstance(value, Mapping):
        if isinstance(value.get("code"), str):
            return value["code"]
        files = value.get("files")
        if isinstance(files, Mapping):
            sources = [
                str(v) for k, v in files.items() if not str(k).split("/")[-1].startswith("test_")
            ]
            return "\n\n".join(sources) if sources else None
        return None
    if isinstance(value, str) and value.strip():
        blocks = _FENCE.findall(value)
        code = [
            b for b in blocks if not _TEST_BLOCK.search(b)
        ] or blocks  # review the code, not its tests
        return "\n\n".join(code) if code else value
    return None


class CodeReviewer(ToolAgent):
    """Reviews Python code statically and returns a score, issues and a verdict.

    Input: in a review loop, the draft (``context["draft"]``); otherwise the first
    dependency result holding code, else the prompt. Output: a ``Review`` as a dict
    (``score``, ``approved``, ``issues``, ``feedback``, ``functions``).

    Args:
        min_score: The lowest score that can be approved.
        max_complexity: Cyclomatic complexity above this is flagged.
        max_function_lines: Functions longer than this are flagged.
        require_docstrings: Flag public functions, classes and modules without one.
        name: The agent's name in plans.
    """

    description = "Reviews Python code with static checks (syntax, complexity, risky calls, docstrings); returns a score and issues."
    skills = ("code review", "python", "static analysis", "security", "quality")

    def __init__(
        self,
        min_score: int = 80,
        max_complexity: int = 10,
        max_function_lines: int = 50,
        require_docstrings: bool = True,
        *,
        name: str = "reviewer",
    ) -> None:
        self.name = name
        self.min_score = int(min_score)
        self.max_complexity = int(max_complexity)
        self.max_function_lines = int(max_function_lines)
        self.require_docstrings = bool(require_docstrings)

    def find_source(self, directive: Directive) -> str:
        """The code under review (see the class docstring)."""
        if "draft" in directive.context and (code := code_to_review(directive.context["draft"])):
            return code
        for value in directive.context.values():
            if (code := code_to_review(value)) and isinstance(value, Mapping):
                return code
        code = code_to_review(directive.prompt)
        if code is None:
            raise AgentError("nothing to review: no code in the draft, the context or the prompt")
        # a review-loop prompt wraps the draft in an instruction line; review the code only
        return re.sub(r"\AReview this work and answer APPROVED or give feedback:\n", "", code)

    async def run(self, directive: Directive) -> dict[str, Any]:
        """Review the code and return the verdict as a dict."""
        source = self.find_source(directive)
        review = await self.use_tool(
            directive,
            "ast.review",
            {"lines": source.count("\n") + 1, "min_score": self.min_score},
            lambda: review_source(
                source,
                min_score=self.min_score,
                max_complexity=self.max_complexity,
                max_function_lines=self.max_function_lines,
                require_docstrings=self.require_docstrings,
            ),
            summary=lambda r: {"score": r.score, "approved": r.approved, "issues": len(r.issues)},
        )
        return review.model_dump()
