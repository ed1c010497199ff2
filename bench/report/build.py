"""Build ``results/report/``: read the MLflow store (or an exported runs folder), pick runs, aggregate, write
tables, figures and index.html."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.config import CONFIG_DIR
from bench.owners import reap_orphans
from bench.report import figures, seeds
from bench.report.aggregate import aggregate, apply_filters, as_list, select_runs
from bench.report.html import Section, render_index
from bench.report.runs_folder import FolderClient, export_runs
from bench.report.source import RunInfo, collect_rows, connect, default_tracking_uri, download, list_images, load_runs
from bench.report.tables import (
    Table,
    ablation_frame,
    ablation_table,
    group_label,
    leaderboard_frame,
    leaderboard_table,
    protocol_table,
)
from bench.results import write_csv_atomic
from core.errors import BenchError

OWNED = ("tables", "figures", "index.html", "manifest.json")


@dataclass
class ReportOptions:
    out_dir: Path = Path("results/report")
    tracking_uri: str | None = None
    experiments: list[str] = field(default_factory=list)
    protocol: Any = None
    method: Any = None
    scale: Any = None
    select: str = "latest"
    runs: Any = None
    uncertainty: str = "std"
    n_resamples: int = 2000
    references: Any = None  # rows to pair against in multi-seed settings; None: seeds.REFERENCE_ROWS
    include_tuning: bool = False
    figures: bool = True
    max_images: int = 12
    digits: int = 3
    configs_dir: Path | None = CONFIG_DIR
    runs_dir: Path | None = None  # read an exported runs folder (bench.report.runs_folder) instead of MLflow
    export_runs: Path | None = None  # also write the runs behind the tables there


@dataclass
class ReportResult:
    index: Path
    out_dir: Path
    groups: list[dict[str, Any]]
    aggregated: pd.DataFrame
    files: list[Path]
    warnings: list[str]
    exported: list[Path] = field(default_factory=list)  # run folders written by ``export_runs``


def slug(*parts: str) -> str:
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", p) or "none" for p in parts)


def _clean(out_dir: Path) -> None:
    """Remove what a previous report wrote (only when it was ours: it left a manifest.json)."""
    if not (out_dir / "manifest.json").exists():
        return
    for name in OWNED:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _group_meta(rows: pd.DataFrame) -> dict[str, Any]:
    def values(column: str) -> list[str]:
        return sorted({str(v) for v in rows[column].dropna() if str(v) != ""})

    return {"scales": values("scale"), "seeds": values("seed"), "data_sources": values("data_source"),
            "data_fingerprints": values("data_fingerprint"), "runs": list(dict.fromkeys(rows["run_name"])),
            "git_commits": values("git_commit"), "calibrated": sorted({bool(v) for v in rows["calibrated"]})}


@dataclass
class Store:
    """Everything read from MLflow once: the runs and all their result rows (before filters and selection)."""

    uri: str
    client: Any
    runs: list[RunInfo]
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # runs closed as KILLED (owner gone) or running elsewhere


def load_store(opts: ReportOptions) -> Store:
    if opts.runs_dir is not None and opts.export_runs is not None:
        source, dest = Path(opts.runs_dir).resolve(), Path(opts.export_runs).resolve()
        if dest == source or source in dest.parents or dest in source.parents:
            where = "the same folder as" if dest == source else "inside" if source in dest.parents else "around"
            raise BenchError(f"export_runs ({dest}) is {where} runs_dir ({source}): the runs would be read twice",
                             hint="the runs are already there; drop export_runs, or export into a separate folder")
    if opts.runs_dir is not None:  # exported runs: no MLflow, no owner processes to check
        client: Any = FolderClient(Path(opts.runs_dir))
        uri, killed, elsewhere = f"runs folder {Path(opts.runs_dir)}", [], []
        runs = client.load_runs()
        if opts.experiments:
            runs = [r for r in runs if r.experiment in opts.experiments]
    else:
        uri = opts.tracking_uri or default_tracking_uri()
        client = connect(uri)
        killed, elsewhere = reap_orphans(client, "bench report")  # before reading: their rows then say KILLED
        runs = load_runs(client, list(opts.experiments) or None)
    protocols = as_list(opts.protocol)
    rows = collect_rows(client, runs, opts.configs_dir, protocols or None)
    if rows.empty and protocols:
        known = sorted({r.tags["bench.protocol"] for r in runs if r.kind == "run" and "bench.protocol" in r.tags})
        raise BenchError(f"no results match the filters (protocol {', '.join(protocols)})",
                         hint=f"protocols in the store: {', '.join(known) or 'none'}")
    if rows.empty:
        raise BenchError(f"the {'' if opts.runs_dir is not None else 'MLflow store '}{uri} holds no `bench run` "
                         "results",
                         hint="run `python -m bench run protocol=... method=...` first")
    return Store(uri, client, runs, rows, killed + elsewhere)


def build_report(opts: ReportOptions, store: Store | None = None) -> ReportResult:
    """Write the report; ``store`` (from ``load_store``) avoids re-reading MLflow when building several views."""
    out_dir = Path(opts.out_dir).resolve()  # artifacts download to absolute paths; links are made relative to it
    store = store or load_store(opts)
    uri, client, runs, rows = store.uri, store.client, store.runs, store.rows
    by_id = {r.run_id: r for r in runs}
    available = {c: sorted({str(v) for v in rows[c] if v}) for c in ("protocol", "method", "scale")}
    rows = apply_filters(rows, opts.protocol, opts.method, opts.scale, opts.include_tuning)
    if rows.empty:
        raise BenchError("no results match the filters",
                         hint="in the store: " + "; ".join(f"{c}: {', '.join(v)}" for c, v in available.items()))
    selected = select_runs(rows, opts.select, opts.runs)
    agg = aggregate(selected, opts.uncertainty, opts.n_resamples)
    exported = _export(client, by_id, selected, opts)

    _clean(out_dir)
    tables_dir, figures_dir = out_dir / "tables", out_dir / "figures"
    files: list[Path] = []
    warnings: list[str] = list(store.notes)
    header = [f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} from "
              + (uri if opts.runs_dir is not None else f"MLflow store {uri}")
              + (f"; its {len(exported)} run(s) exported to {opts.export_runs}" if exported else ""),
              f"Runs: {opts.select} per configuration (protocol, setting hash, scale, seed, method)"
              + (f"; only runs {opts.runs}" if opts.runs else "")
              + f"; {selected['run_id'].nunique()} run(s) used of {sum(r.kind == 'run' for r in runs)} in the "
              + ("folder" if opts.runs_dir is not None else "store"),
              f"Filters: protocol={opts.protocol or 'all'}, method={opts.method or 'all'}, scale={opts.scale or 'all'}",
              "Spread: " + ("95% CI (bootstrap over seeds)" if opts.uncertainty == "ci95" else "std over seeds")
              + " where there are ≥2 seeds, else the per-sample std of the single run (see each row's 'spread')"]

    ours = agg[agg["source"] == "ours"]
    group_keys = list(dict.fromkeys(zip(ours["protocol"], ours["protocol_hash"], strict=True)))
    group_keys.sort(key=lambda k: k[0])
    protocols_section = Section("Protocol tables", "protocols")
    groups: list[dict[str, Any]] = []
    for protocol in dict.fromkeys(p for p, _ in group_keys):
        hashes = [h for p, h in group_keys if p == protocol]
        protocols_section.heading(protocol, anchor=f"protocol-{slug(protocol)}")
        if len(hashes) > 1:
            message = (f"{protocol} has results under {len(hashes)} different settings (hashes {', '.join(hashes)}); "
                       "they are shown in separate tables and are not comparable across tables.")
            warnings.append(message)
            protocols_section.text(message, "warn")
        for phash in hashes:
            group = _write_group(client, by_id, agg, selected, protocol, phash, opts, tables_dir, figures_dir,
                                 protocols_section, out_dir, files)
            groups.append(group)

    data = Section("Data files", "data")
    data.text("Every aggregated number in long format (one row per method × metric × translation × setting), and "
              "a manifest of this report (options, settings, files).")
    data.links({"aggregated.long.csv": tables_dir / "aggregated.long.csv", "manifest.json": out_dir / "manifest.json"},
               out_dir)
    sections = [_leaderboard_section(agg, tables_dir, out_dir, files), protocols_section,
                _ablation_section(agg, opts, tables_dir, figures_dir, out_dir, files),
                _tuning_section(client, runs, opts, figures_dir, out_dir, files),
                _runs_section(by_id, selected), data]
    index = render_index("Exemplar-guided I2I benchmark report", header, sections, out_dir / "index.html")
    write_csv_atomic(agg, tables_dir / "aggregated.long.csv")
    manifest = {"tracking_uri": uri, "options": {k: str(v) for k, v in asdict(opts).items()}, "groups": groups,
                "warnings": warnings, "files": sorted(str(p.relative_to(out_dir)) for p in files)}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return ReportResult(index=index, out_dir=out_dir, groups=groups, aggregated=agg, files=files, warnings=warnings,
                        exported=exported)


def _export(client, by_id: dict[str, RunInfo], selected: pd.DataFrame, opts: ReportOptions) -> list[Path]:
    """Write the runs whose rows the tables show, and the tuning studies shown, to ``opts.export_runs`` (nothing
    when it is unset). A study goes without its trials: the report shows its record and plots only."""
    if opts.export_runs is None:
        return []
    ids = list(dict.fromkeys(selected.sort_values("run_start")["run_id"]))
    runs = [by_id[i] for i in ids] + _studies(list(by_id.values()), opts)
    return export_runs(client, runs, Path(opts.export_runs).resolve())


def _write_group(client, by_id: dict[str, RunInfo], agg: pd.DataFrame, selected: pd.DataFrame, protocol: str,
                 phash: str, opts: ReportOptions, tables_dir: Path, figures_dir: Path, section: Section,
                 out_dir: Path, files: list[Path]) -> dict[str, Any]:
    ours = agg[(agg["source"] == "ours") & (agg["protocol"] == protocol) & (agg["protocol_hash"] == phash)]
    # the paper's rows logged by runs of this setting (their caveat names this setting's data source)
    reported = agg[(agg["source"] != "ours") & (agg["protocol"] == protocol) & (agg["protocol_hash"] == phash)]
    part = pd.concat([ours, reported], ignore_index=True)
    raw = selected[(selected["source"] == "ours") & (selected["protocol"] == protocol)
                   & (selected["protocol_hash"] == phash)]
    meta = _group_meta(raw)
    table = protocol_table(part, protocol, phash, opts.digits)
    written = table.write(tables_dir)
    written["long csv"] = write_csv_atomic(part, tables_dir / f"{table.slug}.long.csv")
    files += written.values()
    marks = []
    if False in meta["calibrated"]:
        marks.append("UNCALIBRATED metrics in some rows")
    if "smoke" in meta["scales"]:
        marks.append("SMOKE scale (not comparable to papers)")
    section.heading(f"{protocol} — setting {phash}" + (f" ({'; '.join(marks)})" if marks else ""),
                    anchor=f"group-{table.slug}")
    section.text(f"scale {', '.join(meta['scales']) or '?'} · seeds {', '.join(meta['seeds']) or '?'} · data "
                 f"{', '.join(meta['data_sources']) or '?'} (fingerprint {', '.join(meta['data_fingerprints']) or '?'})"
                 f" · runs {', '.join(meta['runs'])} · commits {', '.join(meta['git_commits']) or '?'}")
    section.table(table, written, out_dir)
    bars = grid = None
    if opts.figures:
        bars = figures.bar_chart(part, f"{protocol} — setting {phash}", figures_dir / f"bars__{table.slug}.png")
        section.figure(bars, out_dir, f"bar chart {protocol} {phash}")
        grid = _qualitative(client, by_id, raw, table.slug, f"{protocol} — setting {phash}", opts, figures_dir,
                            section, out_dir, files)
        files += [p for p in (bars, grid) if p is not None]
    references = as_list(opts.references) if opts.references is not None else None
    over_seeds = seeds.write_seed_block(raw, protocol, phash, references, opts.digits, opts.n_resamples, opts.figures,
                                        tables_dir, figures_dir, section, out_dir, files)
    return {"protocol": protocol, "protocol_hash": phash, "table": table.slug, **meta,
            "methods": sorted(set(ours["method"])), "reported_sources": sorted(set(reported["source"])),
            "bar_chart": str(bars.relative_to(out_dir)) if bars else None,
            "qualitative": str(grid.relative_to(out_dir)) if grid else None, **over_seeds}


def _qualitative(client, by_id: dict[str, RunInfo], raw: pd.DataFrame, name: str, title: str, opts: ReportOptions,
                 figures_dir: Path, section: Section, out_dir: Path, files: list[Path]) -> Path | None:
    """The image artifacts of the newest run of this setting that has any, tiled into one labelled grid."""
    found, run = [], None
    for run_id in reversed(list(dict.fromkeys(raw.sort_values("run_start")["run_id"]))):
        run = by_id[run_id]
        if found := list_images(client, run, limit=opts.max_images):
            break
    images = []
    for owner, artifact in found:
        local = download(client, owner.run_id, artifact, figures_dir / "qualitative" / name / owner.run_id)
        label = owner.tags.get("bench.method", "") or owner.name
        images.append((f"{label}: {artifact}", local))
        files.append(local)
    if not images or run is None:
        section.text("No image artifacts in the runs of this setting.")
        return None
    if len(images) == 1:  # a protocol's own figure (already a grid): show it at its size, not redrawn smaller
        grid = images[0][1]
    else:
        grid = figures.image_grid(images, f"{title} — images of run {run.name}",
                                  figures_dir / f"qualitative__{name}.png")
    section.figure(grid, out_dir, f"qualitative grid {title}")
    section.links({label: path for label, path in images}, out_dir)
    return grid


def _leaderboard_section(agg: pd.DataFrame, tables_dir: Path, out_dir: Path, files: list[Path]) -> Section:
    section = Section("Leaderboard", "leaderboard")
    frame = leaderboard_frame(agg)
    if frame.empty:
        section.text("No ranked results (no successful runs with a metric direction).")
        return section
    table = leaderboard_table(frame)
    written = table.write(tables_dir)
    written["long csv"] = write_csv_atomic(frame, tables_dir / "leaderboard.long.csv")
    files += written.values()
    section.table(table, written, out_dir)
    return section


def _ablation_section(agg: pd.DataFrame, opts: ReportOptions, tables_dir: Path, figures_dir: Path, out_dir: Path,
                      files: list[Path]) -> Section:
    section = Section("Ablations", "ablations")
    frame = ablation_frame(agg)
    if frame.empty:
        section.text("No ablation variants (method configs that declare `variant_of`) in the selected runs.")
        return section
    files.append(write_csv_atomic(frame, tables_dir / "ablations.long.csv"))
    ours = frame[frame["source"] == "ours"]
    groups = list(dict.fromkeys(zip(ours["protocol"], ours["protocol_hash"], strict=True)))
    reported = frame[frame["source"] != "ours"]
    groups += [(p, "reported") for p in dict.fromkeys(reported["protocol"]) if p not in {q for q, _ in groups}]
    for protocol, phash in sorted(groups):
        # a paper's ablation rows as logged by runs of this setting (once per paper row when no own variant ran)
        g = frame[(frame["protocol"] == protocol) & ((frame["protocol_hash"] == phash) | (phash == "reported"))]
        if phash == "reported":
            g = g.drop_duplicates(["variant", "full_method", "metric", "translation"], keep="last")
        table: Table = ablation_table(g, protocol, phash, opts.digits)
        table.slug = slug("ablation", protocol, phash)
        written = table.write(tables_dir)
        files += written.values()
        section.heading(f"{protocol} — setting {phash}", anchor=f"ablation-{table.slug}")
        section.table(table, written, out_dir)
        if opts.figures:
            chart = figures.ablation_chart(g, f"Ablations {group_label(protocol, phash)}",
                                           figures_dir / f"{table.slug}.png")
            section.figure(chart, out_dir, f"ablation deltas {protocol} {phash}")
            files += [chart] if chart else []
    return section


def _tuning_section(client, runs: list[RunInfo], opts: ReportOptions, figures_dir: Path, out_dir: Path,
                    files: list[Path]) -> Section:
    """One block per ``bench tune`` study: objective, best value and parameters, and Optuna's plots."""
    section = Section("Loss-weight searches (bench tune)", "tuning")
    studies = _studies(runs, opts)
    if not studies:
        section.text("No tuning studies in the " + ("runs folder." if opts.runs_dir is not None else "store."))
    for study in studies:
        name = study.tags.get("bench.study", study.name)
        section.heading(f"Study {name}", anchor=f"study-{slug(name)}")
        best = {k.removeprefix("best."): v for k, v in study.tags.items()
                if k.startswith("best.") and k != "best.trial"}
        trials = {k.removeprefix("trials."): int(v) for k, v in study.metrics.items() if k.startswith("trials.")}
        tag = {k.removeprefix("bench."): v for k, v in study.tags.items()}
        section.text(f"protocol {tag.get('protocol', '?')} · method {tag.get('method', '?')} · scale "
                     f"{tag.get('scale', '?')} · objective {tag.get('objective', '?')} ({tag.get('direction', '?')})"
                     f" · best value {study.metrics.get('best_value', float('nan')):.4g} · trials {trials or '?'}")
        if best:
            section.text("best parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(best.items())))
        names = [a.path for a in client.list_artifacts(study.run_id, "plots")]
        for artifact in sorted(n for n in names if n.endswith(".png")):
            local = download(client, study.run_id, artifact, figures_dir / "tune" / slug(name))
            files.append(local)
            section.figure(local, out_dir, f"{name} {artifact}")
        wanted = {"best.yaml", "best_overrides.txt"}
        overrides = [a.path for a in client.list_artifacts(study.run_id) if a.path in wanted]
        links = {}
        for artifact in overrides:
            local = download(client, study.run_id, artifact, out_dir / "tables" / "tune" / slug(name))
            files.append(local)
            links[artifact] = local
        section.links(links, out_dir)
    return section


def _studies(runs: list[RunInfo], opts: ReportOptions) -> list[RunInfo]:
    """The ``bench tune`` studies the filters keep."""
    studies = [r for r in runs if r.kind == "tune"]
    if protocols := as_list(opts.protocol):
        studies = [r for r in studies if r.tags.get("bench.protocol") in protocols]
    if methods := as_list(opts.method):
        studies = [r for r in studies if r.tags.get("bench.method") in methods]
    return studies


def _runs_section(by_id: dict[str, RunInfo], selected: pd.DataFrame) -> Section:
    section = Section("Runs used", "runs")
    ids = list(dict.fromkeys(selected.sort_values("run_start")["run_id"]))
    ours = selected[selected["source"] == "ours"]
    # from the rows, not the run's tag: a method's own random VGG makes its rows uncalibrated, not the protocol's
    calibrated = {rid: "yes" if all(g["calibrated"]) else "no" if not any(g["calibrated"]) else "some rows"
                  for rid, g in ours.groupby("run_id")}
    lines = []
    for run_id in ids:
        run = by_id[run_id]
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.start_time / 1000))
        cells = [run.tags.get("bench.run_name", run.name), run_id, started, run.tags.get("bench.protocol", ""),
                 run.tags.get("bench.protocol_hash", ""), run.tags.get("bench.scale", ""),
                 run.tags.get("bench.seed", ""), calibrated.get(run_id, ""),
                 run.tags.get("bench.git_commit", ""), run.experiment]
        lines.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ["run", "MLflow id", "started", "protocol", "setting", "scale", "seed",
                                              "calibrated", "commit", "experiment"])
    section.raw(f'<table class="bench" id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table>')
    return section


def _esc(value: Any) -> str:
    import html

    return html.escape(str(value))
