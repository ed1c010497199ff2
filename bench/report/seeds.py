"""Statistics over seeds for settings run with several seeds: each method's mean with two 95% intervals, and paired
differences against the reference rows (issue 13, fidelity item 7).

For one protocol setting (protocol, protocol hash, scale), metric column and method, the values are one number per
seed (repeated runs of one seed, under ``select=all``, are averaged first). Two intervals of the mean are given side
by side, because with few seeds neither is good:

- 95% CI (bootstrap over seeds): the percentile bootstrap of ``aggregate.bootstrap_ci`` (whole seeds resampled).
  With n seeds there are only C(2n−1, n) distinct resamples (10 for n = 3), and the interval never leaves the range
  of the seed values, so it is too narrow for small n.
- t: the Student-t interval mean ± t(0.975, n−1)·s/√n (``scipy.stats.t``), which assumes normal seed values.

Paired differences: per seed s, d_s = metric(method, s) − metric(reference, s) in the same setting and column; the
mean of d_s and both intervals. A reference row with a single seed (the non-learned rows are deterministic) is
paired with every seed of the method, and the table says so. Our rows only; reported rows have no seeds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bench.report import figures
from bench.report.aggregate import bootstrap_ci
from bench.report.html import Section
from bench.report.tables import Row, Table, column_label, row_classes, row_label
from bench.results import number_spec, write_csv_atomic

# The non-learned rows every run has by default (bench/configs/run.yaml): floors and ceilings to compare against.
REFERENCE_ROWS = ("exemplar_copy", "colour_transfer", "input_copy")
LEVEL = 0.95
SETTING = ["protocol", "protocol_hash", "scale"]
ROW = [*SETTING, "method", "calibrated"]
COLUMN = ["metric", "translation", "direction"]
STAT_COLUMNS = ["n_seeds", "seeds", "mean", "std", "boot_low", "boot_high", "t_low", "t_high"]
PAIRED_COLUMNS = [*SETTING, "method", "calibrated", "reference", *COLUMN, "n_seeds", "seeds", "pairing",
                  "method_mean", "reference_mean", "mean", "std", "boot_low", "boot_high", "t_low", "t_high",
                  "boot_excludes_zero", "t_excludes_zero", "better", "note"]


def per_seed(selected: pd.DataFrame) -> pd.DataFrame:
    """Our successful metric rows, one value per (setting, method, calibration, column, seed): runs of one seed
    (``select=all``) are averaged. Columns: ROW + COLUMN + seed, value."""
    ok = selected[(selected["source"] == "ours") & (selected["status"] == "ok") & selected["value"].notna()
                  & (selected["metric"] != "") & selected["seed"].notna()]
    ok = ok.assign(seed=ok["seed"].astype(int), value=ok["value"].astype(float))
    return ok.groupby([*ROW, *COLUMN, "seed"], sort=False, dropna=False)["value"].mean().reset_index()


def is_multi_seed(seeds: pd.DataFrame) -> bool:
    """Whether any method row of these per-seed values has two or more seeds."""
    return bool(len(seeds)) and int(seeds.groupby([*ROW, *COLUMN], dropna=False)["seed"].nunique().max()) >= 2


def distinct_resamples(n: int) -> int:
    """How many different multisets a bootstrap of n values can draw: C(2n−1, n) (10 for n = 3)."""
    return math.comb(2 * n - 1, n)


def interval_stats(values: np.ndarray, n_resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean, std (ddof 1) and the two 95% intervals of the mean of ``values`` (one per seed). With one value the
    spread and both intervals are NaN; with zero spread both intervals are the mean itself."""
    values = np.asarray(values, dtype=float)
    n = values.size
    mean = float(values.mean()) if n else math.nan
    out = {"n_seeds": n, "mean": mean, "std": math.nan, "boot_low": math.nan, "boot_high": math.nan,
           "t_low": math.nan, "t_high": math.nan}
    if n < 2:
        return out
    std = float(values.std(ddof=1))
    out["std"] = std
    out["boot_low"], out["boot_high"] = bootstrap_ci(values, n_resamples, LEVEL, seed)
    if std == 0.0:  # scipy returns NaN for a zero scale; the interval of a constant is the constant
        out["t_low"] = out["t_high"] = mean
    else:
        low, high = stats.t.interval(LEVEL, n - 1, loc=mean, scale=std / math.sqrt(n))
        out["t_low"], out["t_high"] = float(low), float(high)
    return out


def seed_frame(seeds: pd.DataFrame, n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One line per method row and column: ROW + COLUMN + STAT_COLUMNS (``seeds`` lists the seed ids)."""
    records = []
    for key, g in seeds.groupby([*ROW, *COLUMN], sort=False, dropna=False):
        g = g.sort_values("seed")
        records.append({**dict(zip([*ROW, *COLUMN], key, strict=True)), "seeds": ",".join(map(str, g["seed"])),
                        **interval_stats(g["value"].to_numpy(), n_resamples, seed)})
    return pd.DataFrame(records, columns=[*ROW, *COLUMN, *STAT_COLUMNS])


def _excludes_zero(low: float, high: float) -> bool:
    return not (math.isnan(low) or math.isnan(high)) and (low > 0 or high < 0)


def _pair(method: pd.Series, reference: pd.Series) -> tuple[pd.Series, str, str]:
    """The differences d_s (indexed by the method's seed), how they were paired, and a note on dropped seeds."""
    if len(reference) == 1 and list(reference.index) != list(method.index):
        only = reference.index[0]
        return method - reference.iloc[0], f"reference has 1 seed ({only}): paired with every seed", ""
    common = method.index.intersection(reference.index)
    left_out = sorted(set(method.index) - set(common))
    note = f"method seeds {','.join(map(str, left_out))} have no reference run: left out" if left_out else ""
    return (method[common] - reference[common]), "by seed", note


def paired_frame(seeds: pd.DataFrame, references: Iterable[str] = REFERENCE_ROWS, n_resamples: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Every method row minus every reference row present in the same setting, per column: PAIRED_COLUMNS.
    ``better``: the mean difference favours the method by the column's direction (None without a direction or
    when it is 0)."""
    records = []
    for setting, g in seeds.groupby(SETTING, sort=False, dropna=False):
        for reference in [r for r in references if r in set(g["method"])]:
            ref = g[g["method"] == reference]
            for key, m in g[g["method"] != reference].groupby(["method", "calibrated", *COLUMN], sort=False,
                                                              dropna=False):
                column = dict(zip(["method", "calibrated", *COLUMN], key, strict=True))
                r = ref[(ref["metric"] == column["metric"]) & (ref["translation"] == column["translation"])]
                if r.empty:
                    continue  # the reference has no such column in this setting: nothing to pair with
                r_values = r.groupby("seed")["value"].mean()  # the reference row at either calibration
                m_values = m.set_index("seed")["value"].sort_index()
                diffs, pairing, note = _pair(m_values, r_values)
                diffs = diffs.dropna()
                s = interval_stats(diffs.to_numpy(), n_resamples, seed)
                direction = column["direction"]
                better = None
                if direction in {"higher", "lower"} and s["n_seeds"] and s["mean"] != 0:
                    better = bool((s["mean"] > 0) == (direction == "higher"))
                used_ref = r_values if pairing != "by seed" else r_values[diffs.index]
                records.append({**dict(zip(SETTING, setting, strict=True)), **column, "reference": reference,
                                "seeds": ",".join(map(str, diffs.index)), "pairing": pairing,
                                "method_mean": float(m_values[diffs.index].mean()) if len(diffs) else math.nan,
                                "reference_mean": float(used_ref.mean()) if len(used_ref) else math.nan, **s,
                                "boot_excludes_zero": _excludes_zero(s["boot_low"], s["boot_high"]),
                                "t_excludes_zero": _excludes_zero(s["t_low"], s["t_high"]), "better": better,
                                "note": note or ("" if len(diffs) else "no seed in common with the reference")})
    return pd.DataFrame(records, columns=PAIRED_COLUMNS)


# -- tables -----------------------------------------------------------------------------------------------------------
# seed values this close count as equal: a deterministic row's metric can differ in the last bits between runs
# (threads change the order of a float sum), which would otherwise print a zero-width interval
EQUAL_RTOL = 1e-9


def interval_text(r: pd.Series, digits: int, signed: bool = False, marks: tuple[str, str] = ("", "")) -> str:
    """``0.610 [0.600, 0.620] · t [0.480, 0.740]`` from a line of ``seed_frame``/``paired_frame``; the mean alone
    when there is no interval (one seed), ``0.244 (all seeds equal)`` when both intervals are that point. ``marks``
    (bootstrap, t) are appended to their interval, e.g. ``" ▲"``."""
    mean, low, high, t_low, t_high = (float(r[k]) for k in ("mean", "boot_low", "boot_high", "t_low", "t_high"))
    if math.isnan(mean):
        return "—"
    fmt = f"{{:{number_spec(mean, digits, signed)}}}"
    if math.isnan(low):
        return fmt.format(mean)
    if float(r["std"]) <= EQUAL_RTOL * max(1.0, abs(mean)):  # equal up to float summation order
        return f"{fmt.format(mean)} (all seeds equal){marks[0]}"
    return (f"{fmt.format(mean)} [{fmt.format(low)}, {fmt.format(high)}]{marks[0]} · "
            f"t [{fmt.format(t_low)}, {fmt.format(t_high)}]{marks[1]}")


def interval_caption(n_seeds: list[int], n_resamples: int) -> str:
    """The footnote that names both interval methods and how crude the bootstrap is at these seed counts."""
    counts = sorted({n for n in n_seeds if n >= 2})
    crude = "; ".join(f"n seeds = {n}: {distinct_resamples(n)} distinct resamples" for n in counts)
    return (f"Brackets: 95% CI (bootstrap over seeds): percentile bootstrap of the mean, {n_resamples} resamples "
            f"of whole seeds ({crude}; the interval cannot leave the range of the seed values, so it is too narrow "
            "with few seeds). t: Student-t 95% interval, mean ± t(0.975, n−1)·s/√n (assumes normal seed values). "
            "A value without brackets comes from one seed; 'all seeds equal': no spread, both intervals are that "
            "point.")


def _row(method: str, scale: str, calibrated: bool, name: str = "") -> Row:
    """An empty table row labelled like the protocol table's (scale and calibration marks; badges in HTML)."""
    r = pd.Series({"method": method, "source": "ours", "scale": scale, "calibrated": calibrated, "variant_of": "",
                   "status": "ok"})
    return Row(label=row_label(r) + name, cells={}, classes=row_classes(r), name=method + name)


def _columns(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(frame["metric"], frame["translation"], strict=True)))


def seeds_table(frame: pd.DataFrame, protocol: str, protocol_hash: str, digits: int, n_resamples: int) -> Table:
    """Rows: our method rows; cells: mean over seeds, bootstrap CI and t-interval; extra: n seeds and their ids."""
    columns = [column_label(m, t) for m, t in _columns(frame)]
    rows = []
    for (method, scale, calibrated), g in frame.groupby(["method", "scale", "calibrated"], sort=False):
        row = _row(method, scale, calibrated)
        for _, r in g.iterrows():
            row.cells[column_label(r["metric"], r["translation"])] = interval_text(r, digits)
        row.extra = {"n seeds": "/".join(map(str, sorted(set(g["n_seeds"])))),
                     "seeds": "; ".join(dict.fromkeys(g["seeds"]))}
        rows.append(row)
    rows.sort(key=lambda r: r.label.lower())
    caption = ("Mean over seeds of each method row (this setting only). " + interval_caption(
        frame["n_seeds"].tolist(), n_resamples))
    return Table(title=f"{protocol} — setting {protocol_hash}: mean over seeds", slug=f"seeds__{protocol}__"
                 f"{protocol_hash}", columns=columns, rows=rows, extra_columns=["n seeds", "seeds"], caption=caption)


def paired_table(frame: pd.DataFrame, protocol: str, protocol_hash: str, digits: int, n_resamples: int) -> Table:
    """Rows: ``method − reference`` per reference row; cells: mean difference with both intervals, ▲/▼ and bold
    where the bootstrap CI excludes 0."""
    columns = [column_label(m, t) for m, t in _columns(frame)]
    order = {r: i for i, r in enumerate(dict.fromkeys(frame["reference"]))}
    keyed = []
    for (reference, method, scale, calibrated), g in frame.groupby(["reference", "method", "scale", "calibrated"],
                                                                   sort=False):
        row = _row(method, scale, calibrated, f" − {reference}")
        for _, r in g.iterrows():
            column = column_label(r["metric"], r["translation"])
            arrow = " *" if r["better"] is None else " ▲" if r["better"] else " ▼"
            marks = (arrow if r["boot_excludes_zero"] else "", arrow if r["t_excludes_zero"] else "")
            row.cells[column] = interval_text(r, digits, True, marks)
            if r["boot_excludes_zero"]:
                row.best.add(column)
        row.extra = {"n seeds": "/".join(map(str, sorted(set(g["n_seeds"])))),
                     "pairing": "; ".join(dict.fromkeys(g["pairing"])),
                     "note": "; ".join(dict.fromkeys(n for n in g["note"] if n))}
        keyed.append(((order[reference], row.label.lower()), row))
    rows = [row for _, row in sorted(keyed, key=lambda kv: kv[0])]
    caption = ("Paired differences d_s = metric(method, seed s) − metric(reference, seed s), same setting and "
               "column; mean of d_s over seeds (+ = the method scores higher). ▲/▼ after an interval: it excludes 0 "
               "(▲ the method is better than the reference by the column's direction, ▼ worse; * no direction); "
               "bold: the bootstrap CI excludes 0. A reference with one seed "
               "(the non-learned rows are deterministic) is paired with every seed of the method ('pairing'). "
               + interval_caption(frame["n_seeds"].tolist(), n_resamples))
    return Table(title=f"{protocol} — setting {protocol_hash}: paired differences against the reference rows",
                 slug=f"paired__{protocol}__{protocol_hash}", columns=columns, rows=rows,
                 extra_columns=["n seeds", "pairing", "note"], caption=caption)


# -- the report's block for one protocol setting ----------------------------------------------------------------------
def write_seed_block(raw: pd.DataFrame, protocol: str, protocol_hash: str, references: Iterable[str] | None,
                     digits: int, n_resamples: int, with_figure: bool, tables_dir: Path, figures_dir: Path,
                     section: Section, out_dir: Path, files: list[Path]) -> dict[str, str]:
    """When some method row of this setting has ≥ 2 seeds: the mean-over-seeds table, the paired-difference table
    (md/csv/html + long CSV) and its figure, added to ``section``. Returns their paths for the manifest (relative
    to ``out_dir``); a single-seed setting writes nothing and returns {}."""
    seeds = per_seed(raw)
    if not is_multi_seed(seeds):
        return {}
    written: dict[str, str] = {}
    stats_frame = seed_frame(seeds, n_resamples)
    counts = ", ".join(map(str, sorted({int(n) for n in stats_frame["n_seeds"]})))
    section.heading(f"{protocol} — setting {protocol_hash}: over seeds (n seeds per row: {counts})",
                    anchor=f"seeds-{protocol}__{protocol_hash}")

    def add(table: Table, long: pd.DataFrame, key: str) -> None:  # md/csv/html + the long CSV, into the section
        paths = table.write(tables_dir)
        paths["long csv"] = write_csv_atomic(long, tables_dir / f"{table.slug}.long.csv")
        files.extend(paths.values())
        section.table(table, paths, out_dir)
        written[key] = table.slug

    add(seeds_table(stats_frame, protocol, protocol_hash, digits, n_resamples), stats_frame, "seeds_table")
    paired = paired_frame(seeds, REFERENCE_ROWS if references is None else references, n_resamples)
    if paired.empty:
        section.text("No reference row (" + ", ".join(REFERENCE_ROWS if references is None else references)
                     + ") in this setting: no paired differences.")
        return written
    table = paired_table(paired, protocol, protocol_hash, digits, n_resamples)
    add(table, paired, "paired_table")
    if with_figure:
        chart = figures.paired_chart(paired, f"{protocol} — setting {protocol_hash}: paired differences",
                                     figures_dir / f"{table.slug}.png")
        section.figure(chart, out_dir, f"paired differences {protocol} {protocol_hash}")
        if chart is not None:
            files.append(chart)
            written["paired_chart"] = str(chart.relative_to(out_dir))
    return written
