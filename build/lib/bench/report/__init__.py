"""``bench report``: leaderboards, paper-style tables, ablations and figures from the MLflow store."""

from __future__ import annotations

from typing import Any

__all__ = ["ReportOptions", "ReportResult", "Store", "build_report", "load_store"]


def __getattr__(name: str) -> Any:  # lazy: `bench tune` uses bench.report.config without pandas/matplotlib
    if name in __all__:
        from bench.report import build

        return getattr(build, name)
    raise AttributeError(name)
