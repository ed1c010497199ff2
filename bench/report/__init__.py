"""``bench report``: leaderboards, paper-style tables, ablations and figures from the MLflow store."""

from bench.report.build import ReportOptions, ReportResult, Store, build_report, load_store

__all__ = ["ReportOptions", "ReportResult", "Store", "build_report", "load_store"]
