"""Ready agents and scenarios: workflow files in ``workflows/``, Python builders in
``scenarios``, real tool-using agents in ``tools``, small data in ``data``."""

from pathlib import Path

WORKFLOWS = Path(__file__).parent / "workflows"
"""The folder of the bundled workflow files."""
