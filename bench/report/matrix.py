"""The cross-paper matrix (``bench report matrix=true``): methods × protocols, each cell the protocol's primary column
(``Protocol.primary``) as the mean over seeds with its 95% bootstrap CI, refused cells with their reasons as
footnotes, and a rank aggregate across protocols.

Cells: from the newest plan of ``bench matrix`` in the store (``cells.csv``: which cells ran, which were refused and
why) when there is one, else every method × protocol with results. Values: our successful rows of the newest run per
configuration (``select_runs`` latest), one value per seed (``seeds.per_seed``), the interval of
``seeds.interval_stats``. One protocol setting (hash) per protocol: the newest run's; others are named in a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report.seeds import interval_stats, per_seed
from bench.results import number_spec, write_csv_atomic
from core.columns import Column

RANKING = ("Rank aggregate: under each protocol, the methods with a value are ranked by its primary column (1 = best "
           "in the column's direction; ties share the mean of their ranks); a method's mean rank is the mean over the "
           "protocols where it has a value, and `cells` counts them. Refused, failed and missing cells are left out, "
           "not counted as last: a mean rank over few cells says less, and a protocol that serves fewer methods "
           "hands out smaller ranks.")
LONG_COLUMNS = ["protocol", "protocol_hash", "method", "metric", "translation", "direction", "status", "reason",
                "n_seeds", "seeds", "mean", "boot_low", "boot_high", "calibrated"]


@dataclass
class Matrix:
    values: pd.DataFrame  # LONG_COLUMNS: one line per method × protocol
    ranks: pd.DataFrame  # method, mean_rank, cells, ranks (protocol: rank)
    warnings: list[str] = field(default_factory=list)


def _setting(ours: pd.DataFrame, protocol: str, warnings: list[str]) -> pd.DataFrame:
    """The rows of ``protocol`` under one setting: the newest run's hash (others named in ``warnings``)."""
    rows = ours[ours["protocol"] == protocol]
    hashes = rows.sort_values("run_start")["protocol_hash"].unique()
    if len(hashes) > 1:
        warnings.append(f"{protocol}: results under {len(hashes)} settings; the matrix shows the newest "
                        f"({hashes[-1]}), not {', '.join(hashes[:-1])}")
    return rows[rows["protocol_hash"] == hashes[-1]] if len(hashes) else rows


def matrix_frame(selected: pd.DataFrame, primaries: dict[str, Column], cells: pd.DataFrame | None = None,
                 methods: list[str] | None = None, n_resamples: int = 2000) -> Matrix:
    """The matrix of ``selected`` result rows (filtered and selected, ``ResultRow`` columns + ``run_start``).
    ``primaries``: each protocol's primary column (the matrix's columns, in order). ``cells``: a ``bench matrix``
    plan (protocol, method, status run/refused, reason); without it the methods are ``methods`` or those with rows.
    A cell's status: ok (a value), refused (the plan's or the run's reason), failed (the newest run failed),
    missing (no finished run)."""
    warnings: list[str] = []
    ours = selected[selected["source"] == "ours"]
    if methods is None:
        methods = list(dict.fromkeys(cells["method"])) if cells is not None else sorted(set(ours["method"]))
    planned = {} if cells is None else {(c.protocol, c.method): c for c in cells.itertuples()}
    records = []
    for protocol, column in primaries.items():
        rows = _setting(ours, protocol, warnings)
        seeds = per_seed(rows)
        seeds = seeds[(seeds["metric"] == column.metric) & (seeds["translation"] == column.translation)]
        direction = next((d for d in rows.loc[rows["metric"] == column.metric, "direction"] if d), "")
        for method in methods:
            record = {"protocol": protocol, "protocol_hash": ",".join(sorted(set(rows["protocol_hash"]))),
                      "method": method, "metric": column.metric, "translation": column.translation,
                      "direction": direction, "status": "missing", "reason": "", "n_seeds": 0, "seeds": "",
                      "mean": math.nan, "boot_low": math.nan, "boot_high": math.nan, "calibrated": True}
            plan = planned.get((protocol, method))
            values = seeds[seeds["method"] == method].groupby("seed")["value"].mean()
            mine = rows[rows["method"] == method]
            if plan is not None and plan.status == "refused":
                record |= {"status": "refused", "reason": plan.reason}
            elif len(values):
                stats = interval_stats(values.to_numpy(), n_resamples)
                record |= {k: stats[k] for k in ("n_seeds", "mean", "boot_low", "boot_high")}
                record |= {"status": "ok", "seeds": ",".join(map(str, values.index)),
                           "calibrated": bool(seeds.loc[seeds["method"] == method, "calibrated"].all())}
            elif (mine["status"] == "refused").any():
                note = next(n for n, s in zip(mine["note"], mine["status"], strict=True) if s == "refused")
                record |= {"status": "refused", "reason": note.removeprefix(f"refused: {method} ")}
            elif (mine["status"] == "failed").any():
                record["status"] = "failed"
            records.append(record)
    values = pd.DataFrame(records, columns=LONG_COLUMNS)
    return Matrix(values, rank_frame(values), warnings)


def rank_frame(values: pd.DataFrame) -> pd.DataFrame:
    """Per protocol, rank the ok cells by mean (1 = best by ``direction``; ties averaged; a protocol whose column
    has no direction is not ranked); per method the mean rank over its ranked cells, their count and the ranks."""
    ranked = []
    for _, g in values[values["status"] == "ok"].groupby("protocol", sort=False):
        direction = g["direction"].iloc[0]
        if direction in {"higher", "lower"}:
            ranked.append(g.assign(rank=g["mean"].rank(method="average", ascending=direction == "lower")))
    columns = ["method", "mean_rank", "cells", "ranks"]
    if not ranked:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(ranked)
    out = [{"method": m, "mean_rank": float(g["rank"].mean()), "cells": len(g),
            "ranks": "; ".join(f"{p} {r:g}" for p, r in zip(g["protocol"], g["rank"], strict=True))}
           for m, g in frame.groupby("method", sort=False)]
    return pd.DataFrame(out, columns=columns).sort_values(["mean_rank", "cells"], ascending=[True, False],
                                                          ignore_index=True)


def cell_text(r: pd.Series, digits: int = 3) -> str:
    """``0.612 [0.600, 0.620]`` (mean, 95% bootstrap CI); ``0.612 (1 seed)``; ``0.612 (seeds equal)``; a refused
    cell ``no: <reason>`` (numbered by ``numbered_reasons``), ``FAILED``, or ``—`` when missing."""
    if r["status"] == "refused":
        return f"no: {r['reason']}"
    if r["status"] != "ok":
        return "FAILED" if r["status"] == "failed" else "—"
    mean, low, high = float(r["mean"]), float(r["boot_low"]), float(r["boot_high"])
    fmt = f"{{:{number_spec(mean, digits)}}}"
    mark = "" if r["calibrated"] else " †"
    if math.isnan(low):
        return f"{fmt.format(mean)} (1 seed){mark}"
    if np.isclose(low, high) and np.isclose(low, mean):
        return f"{fmt.format(mean)} (seeds equal){mark}"
    return f"{fmt.format(mean)} [{fmt.format(low)}, {fmt.format(high)}]{mark}"


def render(matrix: Matrix, digits: int = 3) -> tuple[pd.DataFrame, list[str], str]:
    """(the wide table: methods × protocols, the footnoted reasons, the Markdown text with its captions)."""
    from bench.commands.list import numbered_reasons

    v = matrix.values.assign(cell=[cell_text(r, digits) for _, r in matrix.values.iterrows()])
    arrow = {"higher": " ↑", "lower": " ↓"}
    v["column"] = [f"{p} ({Column(m, t).heading}{arrow.get(d, '')})"
                   for p, m, t, d in zip(v["protocol"], v["metric"], v["translation"], v["direction"], strict=True)]
    wide = v.pivot(index="method", columns="column", values="cell").reindex(
        index=list(dict.fromkeys(v["method"])), columns=list(dict.fromkeys(v["column"])))
    wide, reasons = numbered_reasons(wide)
    ranks = matrix.ranks.set_index("method")
    wide["mean rank"] = [f"{ranks.loc[m, 'mean_rank']:.2f}" if m in ranks.index else "—" for m in wide.index]
    wide["cells"] = [int(ranks.loc[m, "cells"]) if m in ranks.index else 0 for m in wide.index]
    wide.index.name = "method"
    seeds = sorted({int(n) for n in matrix.values["n_seeds"] if n})
    lines = [f"Cross-paper matrix: each cell the protocol's primary column, mean over seeds "
             f"({'/'.join(map(str, seeds)) or 'no'} seeds) with its 95% bootstrap CI over seeds (whole seeds "
             "resampled; with few seeds it is too narrow, see the report's over-seeds tables). ↑/↓: higher/lower "
             "is better. `no [k]`: refused, reason k below; FAILED: the newest run failed; —: no finished run."]
    if not matrix.values["calibrated"].all():
        lines.append("†: uncalibrated (metric or encoder weights other than the published ones).")
    lines += [RANKING, *[f"warning: {w}" for w in matrix.warnings]]
    notes = "".join(f"\n- [{i}] {reason}" for i, reason in enumerate(reasons, 1))
    text = "\n\n".join(lines) + "\n\n" + wide.to_markdown() + "\n" + (f"\nrefused:\n{notes}\n" if notes else "")
    return wide, reasons, text


def write(matrix: Matrix, out_dir: Path, digits: int = 3) -> tuple[str, list[Path]]:
    """``matrix.md``, ``matrix.csv`` (the wide table), ``matrix.long.csv`` (numbers) and ``ranks.csv`` under
    ``out_dir``; returns the Markdown text and the files."""
    wide, _, text = render(matrix, digits)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "matrix.md"
    md.write_text(text, encoding="utf-8")
    files = [md, write_csv_atomic(wide.reset_index(), out_dir / "matrix.csv"),
             write_csv_atomic(matrix.values, out_dir / "matrix.long.csv"),
             write_csv_atomic(matrix.ranks, out_dir / "ranks.csv")]
    return text, files


def plan_cells(store: object, scale: str | None) -> tuple[pd.DataFrame | None, str | None]:
    """The newest ``bench matrix`` plan in the store (at ``scale`` when given): (its cells, its scale), or
    (None, None) when the store has none."""
    import tempfile

    plans = [r for r in store.runs if r.kind == "matrix" and (scale is None or r.tags.get("bench.scale") == scale)]
    for run in sorted(plans, key=lambda r: r.start_time, reverse=True):
        if "cells.csv" in {a.path for a in store.client.list_artifacts(run.run_id)}:
            with tempfile.TemporaryDirectory(prefix="bench-matrix-") as tmp:
                local = store.client.download_artifacts(run.run_id, "cells.csv", tmp)
                cells = pd.read_csv(local, keep_default_na=False)
            return cells, run.tags.get("bench.scale")
    return None, None


def from_store(opts: object) -> Matrix:
    """The matrix of the store ``opts`` (``ReportOptions``) names, at ``opts.scale`` (else the newest plan's scale,
    else the only scale with results); ``opts.protocol``/``opts.method`` narrow it. Raises ``BenchError`` when the
    scale is ambiguous."""
    from bench.report.aggregate import apply_filters, as_list, select_runs
    from bench.report.build import load_store
    from core.errors import BenchError
    from protocols import PROTOCOLS

    store = load_store(opts)
    scales = as_list(opts.scale)
    cells, plan_scale = plan_cells(store, scales[0] if len(scales) == 1 else None)
    scale = scales or ([plan_scale] if plan_scale else sorted({s for s in store.rows["scale"] if s}))
    if len(scale) != 1:
        raise BenchError(f"the store holds results at several scales ({', '.join(scale)}); a matrix shows one",
                         hint=f"add scale={scale[0]}")
    rows = select_runs(apply_filters(store.rows, opts.protocol, opts.method, scale, opts.include_tuning), "latest")
    if cells is not None:
        keep = pd.Series(True, index=cells.index)
        if protocols := as_list(opts.protocol):
            keep &= cells["protocol"].isin(protocols)
        if methods := as_list(opts.method):
            keep &= cells["method"].isin(methods)
        cells = cells[keep]
    names = list(dict.fromkeys(cells["protocol"])) if cells is not None else sorted(set(rows["protocol"]))
    warnings = [f"{p}: not a registered protocol here, left out" for p in names if p not in PROTOCOLS]
    primaries = {p: PROTOCOLS.get(p).primary_column() for p in names if p in PROTOCOLS}
    matrix = matrix_frame(rows, primaries, cells, n_resamples=int(opts.n_resamples))
    matrix.warnings += warnings
    return matrix
