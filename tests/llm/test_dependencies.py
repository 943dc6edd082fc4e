"""What the LLM layer imports is declared in pyproject.toml, at versions that have what it uses."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    out: dict[str, Requirement] = {}
    for line in lines:
        req = Requirement(line)
        if "switchboard" not in req.name:  # an extra naming other extras of the project
            out[req.name.lower().replace("_", "-")] = req
    return out


def _third_party_imports(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {
        n
        for n in names
        if n not in sys.stdlib_module_names and n not in ("toolkit", "tui", "sample_agents")
    }


def test_every_module_the_llm_layer_imports_is_declared() -> None:
    """Each third-party module toolkit/llm imports comes from a distribution declared in pyproject.toml."""
    dists = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = []
    for module in sorted(_third_party_imports(ROOT / "toolkit" / "llm")):
        owners = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not owners & declared.keys():
            missing.append(f"{module} (from {', '.join(sorted(owners))})")
    assert missing == [], f"imported but not declared: {missing}"


def test_the_declared_openai_is_one_built_on_httpx2() -> None:
    """openai before 3.0 is built on httpx, whose errors and TLS context the client does not use:
    the declared openai admits no 1.x or 2.x release, and the declared httpx2 admits the installed one."""
    declared = _declared()
    openai = declared["openai"]
    assert not any(openai.specifier.contains(v) for v in ("1.40.0", "1.109.1", "2.0.0", "2.54.0"))
    assert openai.specifier.contains(importlib.metadata.version("openai"))
    assert declared["httpx2"].specifier.contains(importlib.metadata.version("httpx2"))
    assert Version(importlib.metadata.version("openai")).major >= 3
