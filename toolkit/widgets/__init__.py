"""Notebook widgets: a live, replayable run dashboard and its parts.

Built on anywidget: each view is a small Python class plus one ES module and one
stylesheet in ``static/``, with no build step and no npm at install time, and it
renders in JupyterLab 4, Notebook 7, VS Code and Colab. Views are trace sinks, so
``orch.run(..., sinks=[view])`` or ``view.attach(orch)`` shows a run live, and
``RunView.from_trace(path)`` / ``from_store(db, run_id)`` replay a recorded one.

This package is imported only when a notebook uses it: ``import toolkit`` does not
load anywidget or ipywidgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit._lazy import lazy_exports

_EXPORTS = {
    "RunView": "toolkit.widgets.views",
    "FlowView": "toolkit.widgets.views",
    "PlanView": "toolkit.widgets.views",
    "MetricsView": "toolkit.widgets.views",
    "GanttView": "toolkit.widgets.views",
    "PARTS": "toolkit.widgets.views",
    "RunHistory": "toolkit.widgets.history",
    "LogFilter": "toolkit.widgets.history",
    "render_html": "toolkit.widgets.export",
}

__all__ = [
    "PARTS",
    "FlowView",
    "GanttView",
    "LogFilter",
    "MetricsView",
    "PlanView",
    "RunHistory",
    "RunView",
    "render_html",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from toolkit.widgets.export import render_html
    from toolkit.widgets.history import LogFilter, RunHistory
    from toolkit.widgets.views import PARTS, FlowView, GanttView, MetricsView, PlanView, RunView
