"""``python -m bench report``: leaderboards, paper-style tables, ablations and figures from the MLflow store."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from bench.config import CONFIG_DIR
from bench.report.config import as_list_override, compose_primary

SUMMARY = "tables (CSV/Markdown/HTML), figures and index.html under results/report from the MLflow store"
SHORTCUTS = {"protocol": "filters.protocol", "method": "filters.method", "scale": "filters.scale"}


def parse(argv: list[str]) -> list[str]:
    overrides = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in SHORTCUTS:
            arg = f"{SHORTCUTS[key]}={value}"
        overrides.append(as_list_override(arg) if sep else arg)
    return overrides


def main(argv: list[str]) -> int:
    from bench.report import ReportOptions, build_report

    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__.strip(), "\n\nOptions (key=value; protocol=, method=, scale= are filter shortcuts):\n")
        print((CONFIG_DIR / "report.yaml").read_text())
        return 0
    cfg = compose_primary("report", parse(argv))
    filters = OmegaConf.to_container(cfg.filters, resolve=True)
    opts = ReportOptions(
        out_dir=Path(cfg.out_dir), tracking_uri=cfg.tracking.uri, experiments=list(cfg.experiments or []),
        protocol=filters["protocol"], method=filters["method"], scale=filters["scale"], select=cfg.select,
        runs=OmegaConf.to_container(cfg.runs) if OmegaConf.is_list(cfg.runs) else cfg.runs,
        uncertainty=cfg.uncertainty, n_resamples=int(cfg.n_resamples),
        references=OmegaConf.to_container(cfg.references) if OmegaConf.is_list(cfg.references) else cfg.references,
        include_tuning=bool(cfg.include_tuning),
        figures=bool(cfg.figures), max_images=int(cfg.max_images), digits=int(cfg.digits),
        configs_dir=Path(cfg.configs_dir) if cfg.configs_dir else CONFIG_DIR)
    result = build_report(opts)
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"{len(result.groups)} protocol setting(s), {len(result.files)} files → {result.index}")
    return 0
