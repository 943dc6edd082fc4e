"""A fresh clone installs the versions that were tested: requirements.lock pins them all.

``make setup`` installs ``requirements.lock`` and then the project itself without
dependencies, so a requirement added to ``pyproject.toml`` without re-locking would be
missing from every fresh install. These tests catch that before a fresh clone does.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def canonical(name: str) -> str:
    """A distribution name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, Version]:
    """Distribution -> the version requirements.lock pins it at."""
    pinned = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "# -":
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"not a pin: {line}"
        pinned[canonical(requirement.name)] = Version(specifier.version)
    return pinned


def declared() -> list[Requirement]:
    """Every requirement of the core and of each extra, other than the project's own extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for requirements in project["optional-dependencies"].values():
        lines.extend(requirements)
    return [Requirement(r) for r in lines if canonical(Requirement(r).name) != project["name"]]


def test_the_lock_pins_every_declared_requirement_at_a_version_it_allows() -> None:
    """Each requirement in pyproject.toml is pinned in requirements.lock, inside its range
    (after changing a dependency, `make lock`)."""
    pinned = pins()
    problems = []
    for requirement in declared():
        version = pinned.get(canonical(requirement.name))
        if version is None:
            problems.append(f"{requirement} is not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} but requirements.lock pins {version}")
    assert problems == [], "; ".join(problems) + " (run `make lock`)"
