"""matplotlib figures: bar charts with error bars per metric, ablation deltas, paired differences against the
reference rows with interval whiskers, qualitative grids of run images."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bench.report.tables import column_label, ordered_columns, row_label

OURS, REPORTED, UNCALIBRATED = "#4c72b0", "#9aa9bf", "#e8590c"


def _grid(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(max_cols, max(1, n))
    return math.ceil(n / cols), cols


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def bar_chart(agg: pd.DataFrame, title: str, path: Path) -> Path | None:
    """One panel per metric column: our methods (error bar = the table's spread) and reported values (hatched).
    Uncalibrated rows are orange and marked †; a smoke/reduced scale is named in the tick label."""
    data = agg[agg["status"].isin(["ok", "reported"]) & agg["value"].notna() & (agg["metric"] != "")]
    pairs = ordered_columns(data)
    if not pairs:
        return None
    nrows, ncols = _grid(len(pairs))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), squeeze=False)
    for ax, (metric, translation) in zip(axes.flat, pairs, strict=False):
        g = data[(data["metric"] == metric) & (data["translation"] == translation)]
        g = g.sort_values(["source", "method"], key=lambda s: s.map(lambda v: (v != "ours", str(v).lower())))
        labels, values, lower, upper, colours, hatches = [], [], [], [], [], []
        for _, r in g.iterrows():
            ours = r["source"] == "ours"
            labels.append(row_label(r).replace(f" ({r['source']})", " (rep.)") + ("" if r["calibrated"] else " †"))
            values.append(r["value"])
            if not math.isnan(r.get("ci_low", math.nan)):
                lower.append(r["value"] - r["ci_low"])
                upper.append(r["ci_high"] - r["value"])
            else:
                spread = 0.0 if pd.isna(r["std"]) else float(r["std"])
                lower.append(spread)
                upper.append(spread)
            colours.append(REPORTED if not ours else OURS if r["calibrated"] else UNCALIBRATED)
            hatches.append("" if ours else "//")
        x = np.arange(len(values))
        bars = ax.bar(x, values, color=colours, yerr=[lower, upper], capsize=3, edgecolor="#333", linewidth=0.5)
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        direction = g["direction"].iloc[0] if len(g) else ""
        arrow = {"higher": " (↑ better)", "lower": " (↓ better)"}.get(direction, "")
        ax.set_title(column_label(metric, translation) + arrow, fontsize=9)
        ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.suptitle(f"{title}\nbars: ours (blue), uncalibrated † (orange), reported (hatched); error bars: spread",
                 fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def ablation_chart(frame: pd.DataFrame, title: str, path: Path) -> Path | None:
    """Horizontal bars of variant − full per metric column; green = better than the full method, red = worse."""
    data = frame[frame["delta"].notna()]
    if data.empty:
        return None
    pairs = list(dict.fromkeys(zip(data["metric"], data["translation"], strict=True)))
    nrows, ncols = _grid(len(pairs), 3)
    height = 0.4 * len(data[["variant", "source"]].drop_duplicates()) + 1.4
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.8 * ncols, height * nrows), squeeze=False)
    for ax, (metric, translation) in zip(axes.flat, pairs, strict=False):
        g = data[(data["metric"] == metric) & (data["translation"] == translation)]
        colours = ["#2b8a3e" if b else "#c92a2a" if b is False else "#868e96" for b in g["better"]]
        y = np.arange(len(g))
        ax.barh(y, g["delta"], color=colours)
        ax.axvline(0, color="#333", linewidth=0.8)
        labels = [f"{v} vs {f}" + ("" if src == "ours" else " (rep.)")
                  for v, f, src in zip(g["variant"], g["full_method"], g["source"], strict=True)]
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_title(f"Δ {column_label(metric, translation)}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.suptitle(f"{title}\nΔ = variant − full method; green better, red worse", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def paired_chart(frame: pd.DataFrame, title: str, path: Path) -> Path | None:
    """One panel per metric column: each ``method − reference`` mean difference (dot) with its bootstrap 95% CI
    (thick whisker) and t-interval (thin), and the zero line; green/red = the bootstrap CI excludes 0 in the
    method's favour / against it (by the column's direction), grey = it does not (or one seed: no whisker)."""
    data = frame[frame["mean"].notna()]
    if data.empty:
        return None
    pairs = list(dict.fromkeys(zip(data["metric"], data["translation"], strict=True)))
    nrows, ncols = _grid(len(pairs), 2)  # long row labels: two panels a line
    height = 0.32 * len(data[["method", "reference", "scale", "calibrated"]].drop_duplicates()) + 1.4
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, height * nrows), squeeze=False)
    for ax, (metric, translation) in zip(axes.flat, pairs, strict=False):
        g = data[(data["metric"] == metric) & (data["translation"] == translation)]
        y = np.arange(len(g))[::-1]  # first row on top, as in the table
        for yi, (_, r) in zip(y, g.iterrows(), strict=True):
            marked = bool(r["boot_excludes_zero"])
            colour = ("#2b8a3e" if r["better"] else "#c92a2a") if marked and r["better"] is not None else "#868e96"
            if not math.isnan(r["t_low"]):
                ax.plot([r["t_low"], r["t_high"]], [yi, yi], color=colour, linewidth=0.8, alpha=0.6)
                ax.plot([r["boot_low"], r["boot_high"]], [yi, yi], color=colour, linewidth=3.0)
            ax.plot([r["mean"]], [yi], "o", color=colour, markersize=4)
        ax.axvline(0, color="#333", linewidth=0.8)
        labels = [f"{m} − {ref} (n={n})" for m, ref, n in zip(g["method"], g["reference"], g["n_seeds"], strict=True)]
        ax.set_yticks(y, labels, fontsize=7)
        arrow = {"higher": " (↑ better)", "lower": " (↓ better)"}.get(g["direction"].iloc[0], "")
        ax.set_title(f"Δ {column_label(metric, translation)}{arrow}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.suptitle(f"{title}\nmean paired difference over seeds; thick: 95% CI (bootstrap over seeds), thin: t-interval;"
                 "\ngreen/red: bootstrap CI excludes 0 (method better/worse than the reference)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def image_grid(images: list[tuple[str, Path]], title: str, path: Path, max_images: int = 12) -> Path | None:
    """A labelled grid of the runs' own image artifacts (samples, protocol figures)."""
    images = images[:max_images]
    if not images:
        return None
    nrows, ncols = _grid(len(images), 3)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.6 * nrows), squeeze=False)
    for ax, (label, file) in zip(axes.flat, images, strict=False):
        ax.imshow(plt.imread(file), interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    for ax in list(axes.flat)[len(images):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
