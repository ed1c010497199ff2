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


def study_report(cfg) -> int:
    """``study=[...] study_page=...``: the user study's average-rank table, printed and written as Markdown + CSV."""
    from bench.report.study_answers import study_table, to_markdown
    from bench.results import write_csv_atomic
    from core.errors import BenchError

    files = OmegaConf.to_container(cfg.study) if OmegaConf.is_list(cfg.study) else [cfg.study]
    if not files or not cfg.study_page:
        raise BenchError("study= needs the answers files and study_page= the page they came from",
                         hint="e.g. `python -m bench report study=[a.json,b.json] study_page=study.html`")
    table, data = study_table([Path(str(f)) for f in files], Path(cfg.study_page), n_resamples=int(cfg.n_resamples))
    out = Path(cfg.out_dir) / "study"
    text = to_markdown(table, digits=int(cfg.digits))
    heading = (f"Appearance-similarity user study {data['study_id']} (SIA Table 1): average rank, 1 = most similar "
               f"to the source; spread over raters (std, percentile bootstrap 95% CI)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "average_rank.md").write_text(f"{heading}\n\n{text}\n", encoding="utf-8")
    csv = write_csv_atomic(table, out / "average_rank.csv")
    print(f"{heading}\n\n{text}\n\n→ {out / 'average_rank.md'}, {csv}")
    return 0


def matrix_report(cfg) -> int:
    """``matrix=true``: the cross-paper matrix (methods × protocols, primary column, CI over seeds, refusals, rank
    aggregate), printed and written as Markdown + CSV under ``<out_dir>/matrix/``."""
    from bench.report import ReportOptions
    from bench.report.matrix import from_store, write

    filters = OmegaConf.to_container(cfg.filters, resolve=True)
    opts = ReportOptions(tracking_uri=cfg.tracking.uri, experiments=list(cfg.experiments or []),
                         protocol=filters["protocol"], method=filters["method"], scale=filters["scale"],
                         n_resamples=int(cfg.n_resamples), include_tuning=bool(cfg.include_tuning),
                         runs_dir=Path(cfg.runs_dir) if cfg.runs_dir else None)
    text, files = write(from_store(opts), Path(cfg.out_dir) / "matrix", int(cfg.digits))
    print(f"{text}\n→ {', '.join(map(str, files))}")
    return 0


def main(argv: list[str]) -> int:
    from bench.report import ReportOptions, build_report

    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__.strip(), "\n\nOptions (key=value; protocol=, method=, scale= are filter shortcuts):\n")
        print((CONFIG_DIR / "report.yaml").read_text())
        return 0
    cfg = compose_primary("report", parse(argv))
    if cfg.study is not None:
        return study_report(cfg)
    if cfg.matrix:
        return matrix_report(cfg)
    filters = OmegaConf.to_container(cfg.filters, resolve=True)
    opts = ReportOptions(
        out_dir=Path(cfg.out_dir), tracking_uri=cfg.tracking.uri, experiments=list(cfg.experiments or []),
        protocol=filters["protocol"], method=filters["method"], scale=filters["scale"], select=cfg.select,
        runs=OmegaConf.to_container(cfg.runs) if OmegaConf.is_list(cfg.runs) else cfg.runs,
        uncertainty=cfg.uncertainty, n_resamples=int(cfg.n_resamples),
        references=OmegaConf.to_container(cfg.references) if OmegaConf.is_list(cfg.references) else cfg.references,
        include_tuning=bool(cfg.include_tuning),
        figures=bool(cfg.figures), max_images=int(cfg.max_images), digits=int(cfg.digits),
        configs_dir=Path(cfg.configs_dir) if cfg.configs_dir else CONFIG_DIR,
        runs_dir=Path(cfg.runs_dir) if cfg.runs_dir else None,
        export_runs=Path(cfg.export_runs) if cfg.export_runs else None)
    result = build_report(opts)
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"{len(result.groups)} protocol setting(s), {len(result.files)} files → {result.index}")
    if result.exported:
        print(f"{len(result.exported)} run(s) exported to {opts.export_runs} (render them with runs_dir=<that folder>)")
    return 0
