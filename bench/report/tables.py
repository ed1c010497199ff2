"""Paper-style tables (one per protocol setting), ablation tables with deltas and the cross-protocol leaderboard.

A ``Table`` keeps cell text plus per-row classes (ours / reported / smoke / uncalibrated / failed) and per-cell
"best" flags, so the Markdown, HTML and CSV renderings mark the same things.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.results import NOTE_SEPARATOR, REPORTED_INLINE, note_markers, number_spec, write_csv_atomic
from core.columns import Column

PAPER_SCALE = {"", "paper"}


@dataclass
class Row:
    label: str  # text form with marks, e.g. ``toy [smoke, uncalibrated]`` (CSV, Markdown)
    cells: dict[str, str]
    classes: list[str] = field(default_factory=list)
    best: set[str] = field(default_factory=set)
    extra: dict[str, str] = field(default_factory=dict)
    name: str = ""  # HTML shows this plus coloured badges for the marks; defaults to ``label``


@dataclass
class Table:
    title: str
    slug: str
    columns: list[str]
    rows: list[Row]
    extra_columns: list[str] = field(default_factory=list)
    caption: str = ""
    index_name: str = "method"

    def frame(self, marks: bool = False) -> pd.DataFrame:
        def cell(row: Row, column: str) -> str:
            text = row.cells.get(column, "")
            return f"**{text}**" if marks and column in row.best else text

        records = [{self.index_name: r.label, **{c: cell(r, c) for c in self.columns},
                    **{c: r.extra.get(c, "") for c in self.extra_columns}} for r in self.rows]
        return pd.DataFrame(records, columns=[self.index_name, *self.columns, *self.extra_columns])

    def footnotes(self) -> tuple[list[str], list[str]]:
        """(each row's ``note`` as footnote markers, the distinct note fragments): Markdown and HTML print a long note
        once under the table, not on every row (the CSV keeps the full text)."""
        numbers: dict[str, int] = {}
        notes = [r.extra.get("note", "") for r in self.rows] if "note" in self.extra_columns else []
        return note_markers(notes, numbers), list(numbers)

    def to_markdown(self) -> str:
        if not self.rows:
            return f"### {self.title}\n\n_(no rows)_\n\n{self.caption}\n"
        frame = self.frame(marks=True)
        markers, notes = self.footnotes()
        if notes:
            frame["note"] = markers
        listed = "".join(f"- [{i}] {note}\n" for i, note in enumerate(notes, 1))
        return f"### {self.title}\n\n{frame.to_markdown(index=False)}\n\n{self.caption}\n" + (
            f"\nnotes:\n\n{listed}" if notes else "")

    def to_html(self, table_id: str | None = None) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in [self.index_name, *self.columns, *self.extra_columns])
        markers, notes = self.footnotes()
        lines = []
        for i, r in enumerate(self.rows):
            cells = [f'<th scope="row">{html.escape(r.name or r.label)}{badges(r.classes)}</th>']
            for c in self.columns:
                text = html.escape(r.cells.get(c, ""))
                cells.append(f'<td class="best">{text}</td>' if c in r.best else f"<td>{text}</td>")
            extra = {**r.extra, "note": markers[i]} if notes else r.extra
            cells += [f"<td>{html.escape(extra.get(c, ''))}</td>" for c in self.extra_columns]
            lines.append(f'<tr class="{" ".join(r.classes)}">{"".join(cells)}</tr>')
        ident = f' id="{html.escape(table_id)}"' if table_id else ""
        listed = "".join(f"<br>[{i}] {html.escape(note)}" for i, note in enumerate(notes, 1))
        caption = (f"<caption>{html.escape(self.caption)}{listed}</caption>" if self.caption or notes else "")
        return (f'<table class="bench"{ident}>{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(lines)}</tbody></table>")

    def write(self, directory: Path) -> dict[str, Path]:
        """``<slug>.csv`` (paper layout, text cells), ``.md`` and a standalone ``.html``."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"csv": write_csv_atomic(self.frame(), directory / f"{self.slug}.csv")}
        paths["md"] = directory / f"{self.slug}.md"
        paths["md"].write_text(self.to_markdown())
        paths["html"] = directory / f"{self.slug}.html"
        paths["html"].write_text(standalone_html(self.title, self.to_html()))
        return paths


BADGE_TEXT = {"uncalibrated": "uncalibrated", "smoke": "smoke scale", "reduced": "reduced scale",
              "reported": "reported", "failed": "failed", "refused": "refused", "variant": "variant"}


def badges(classes: list[str]) -> str:
    return "".join(f' <span class="badge {c}">{BADGE_TEXT[c]}</span>' for c in classes if c in BADGE_TEXT)


TABLE_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
table.bench{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}
table.bench th,table.bench td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap}
table.bench thead th{background:#f0f0f0;text-align:center}
table.bench tbody th{text-align:left}
table.bench caption{caption-side:bottom;text-align:left;font-size:.85em;color:#555;padding-top:.3em}
td.best{font-weight:bold}
tr.reported{background:#f4f7fb;font-style:italic}
tr.uncalibrated{background:#fff1e6}
tr.smoke{background:#fffbe0}
tr.failed,tr.refused{color:#999}
.badge{font-size:.75em;border-radius:.6em;padding:0 .45em;margin-left:.3em;font-style:normal;font-weight:normal}
.badge.uncalibrated{background:#e8590c;color:#fff}.badge.smoke{background:#f2c200;color:#000}
.badge.reduced{background:#ffe58a;color:#000}.badge.reported{background:#4a6fa5;color:#fff}
.badge.failed,.badge.refused{background:#999;color:#fff}.badge.variant{background:#7b5ea7;color:#fff}
.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.4em .8em}
img.figure{max-width:100%;border:1px solid #ddd;margin:.4em 0}
"""


def standalone_html(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{TABLE_CSS}</style></head><body><h2>{html.escape(title)}</h2>{body}</body></html>")


# -- formatting ------------------------------------------------------------------------------------------------------
def column_label(metric: str, translation: str) -> str:
    """``SSIM A→B``: a column's heading (``core.columns.Column.heading``)."""
    return Column(metric, translation).heading


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def join_notes(notes: Iterable[object]) -> str:
    """A row's notes joined once per fragment: the per-column notes of a row repeat the same fragments (the task
    rule, the uncalibrated warning), which would otherwise fill a report cell with copies."""
    fragments = (f for n in notes if isinstance(n, str) and n for f in n.split(NOTE_SEPARATOR) if f)
    return NOTE_SEPARATOR.join(dict.fromkeys(fragments))


def format_value(r: pd.Series, digits: int = 3) -> str:
    if _missing(r["value"]):
        return "—"
    spec = number_spec(float(r["value"]), digits)
    text = f"{r['value']:{spec}}"
    if not _missing(r.get("ci_low")) and not _missing(r.get("ci_high")):
        return f"{text} [{r['ci_low']:{spec}}, {r['ci_high']:{spec}}]"
    if not _missing(r.get("std")):
        return f"{text} ± {r['std']:{spec}}"
    return text


def row_classes(r: pd.Series) -> list[str]:
    if r["source"] != "ours":
        return ["reported"]
    classes = ["ours"]
    if r["scale"] == "smoke":
        classes.append("smoke")
    elif r["scale"] not in PAPER_SCALE:
        classes.append("reduced")
    if not r["calibrated"]:
        classes.append("uncalibrated")
    if r["variant_of"]:
        classes.append("variant")
    if r["status"] in {"failed", "refused"}:
        classes.append(r["status"])
    return classes


def row_marks(r: pd.Series) -> list[str]:
    marks = [] if r["scale"] in PAPER_SCALE else [str(r["scale"])]
    return marks if r["calibrated"] else [*marks, "uncalibrated"]


def row_label(r: pd.Series) -> str:
    """``method``, ``method [smoke, uncalibrated]`` or ``MUNIT (reported: <paper, table>)``."""
    if r["source"] != "ours":
        return f"{r['method']} ({r['source']})"
    marks = row_marks(r)
    return f"{r['method']} [{', '.join(marks)}]" if marks else r["method"]


def ordered_columns(agg: pd.DataFrame) -> list[tuple[str, str]]:
    """Metric columns in the paper's order (the order of its reported rows), then ours in order of appearance."""
    valued = agg[agg["metric"] != ""]
    reported = valued[valued["source"] != "ours"]
    pairs = list(dict.fromkeys(zip(reported["metric"], reported["translation"], strict=True)))
    pairs += [p for p in dict.fromkeys(zip(valued["metric"], valued["translation"], strict=True)) if p not in pairs]
    return pairs


def _row_key(r: pd.Series) -> tuple:
    return (r["method"], r["source"], r["scale"], bool(r["calibrated"]))


def protocol_table(agg: pd.DataFrame, protocol: str, protocol_hash: str, digits: int = 3) -> Table:
    """Rows: our methods (mean over seeds, alphabetical), then the paper's reported rows (those logged by runs of
    this setting, with its caveat); columns: metric × translation."""
    pairs = ordered_columns(agg)
    columns = [column_label(m, t) for m, t in pairs]
    ours_ok = agg[(agg["source"] == "ours") & (agg["status"] == "ok") & (agg["metric"] != "")]
    best: dict[str, float] = {}
    for (metric, translation), g in ours_ok.groupby(["metric", "translation"]):
        direction = g["direction"].iloc[0]
        if direction in {"higher", "lower"} and len(g) > 1:
            best[column_label(metric, translation)] = g["value"].max() if direction == "higher" else g["value"].min()
    keys = [_row_key(r) for _, r in agg.iterrows()]
    groups: dict[tuple, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    order = sorted(groups, key=lambda k: (k[1] != "ours", k[0].lower(), k[2], not k[3]))  # ours, then the papers
    rows = []
    for key in order:
        g = agg.iloc[groups[key]]
        first = g.iloc[0]
        label, notes = row_label(first), list(g["note"])
        if first["source"] != "ours" and len(first["source"]) > REPORTED_INLINE + len("reported: "):
            # a long source (paper, table, data caveat) is the same on every reported row: a footnote, not the label
            label, notes = f"{first['method']} (reported)", [first["source"].replace(NOTE_SEPARATOR, ", "), *notes]
        name = first["method"] if first["source"] == "ours" else label
        row = Row(label=label, cells={}, classes=row_classes(first), name=name)
        status = "ok" if (g["status"] == "ok").any() else g["status"].iloc[0]
        for _, r in g[g["metric"] != ""].iterrows():
            column = column_label(r["metric"], r["translation"])
            row.cells[column] = format_value(r, digits) if r["status"] in {"ok", "reported"} else r["status"].upper()
            if r["source"] == "ours" and column in best and r["status"] == "ok" and r["value"] == best[column]:
                row.best.add(column)
        if status in {"failed", "refused", "running", "killed"}:  # a status row without metrics: say so in every column
            row.cells = {c: status.upper() for c in columns}
            row.classes = [c for c in row.classes if c not in {"failed", "refused"}] + [status]
        spread = next((k for k in g["err_kind"] if k), "")
        row.extra = {"seeds": str(int(g["seeds"].max())) if first["source"] == "ours" else "",
                     "n": next((n for n in g["n"] if n), ""), "spread": spread,
                     # a row that measured nothing has no calibration to state (not "yes")
                     "calibrated": "" if first["source"] != "ours" else "n/a" if status != "ok" else (
                         "yes" if first["calibrated"] else "NO"),
                     "note": join_notes(notes)}
        rows.append(row)
    slug = f"{protocol}__{protocol_hash or 'nohash'}"
    caption = (f"Protocol {protocol}, setting {protocol_hash}. Ours: mean over seeds ± spread (column 'spread' says "
               "which); bold = best of ours. Reported rows are the paper's numbers under the paper's own setting.")
    if agg["ci_low"].notna().any():  # only with uncertainty=ci95 and ≥ 2 seeds: name the interval and its limits
        counts = sorted({int(n) for n in agg.loc[agg["ci_low"].notna(), "seeds"]})
        crude = ", ".join(f"{math.comb(2 * n - 1, n)} for n seeds = {n}" for n in counts)
        caption += (" Brackets: 95% CI (bootstrap over seeds), percentile bootstrap of the mean; distinct resamples: "
                    f"{crude}. The t-interval is beside it in the 'mean over seeds' table.")
    return Table(title=f"{protocol} — setting {protocol_hash}", slug=slug, columns=columns, rows=rows,
                 extra_columns=["seeds", "n", "spread", "calibrated", "note"], caption=caption)


# -- ablations --------------------------------------------------------------------------------------------------------
def ablation_frame(agg: pd.DataFrame) -> pd.DataFrame:
    """Long format: every variant × metric column with its full method's value and the delta. Our variants are
    compared with our full method (same setting, scale and calibration); a paper's reported ablation rows with the
    paper's full-method row from the same source, so both deltas can be read side by side."""
    rows = agg[(agg["metric"] != "") & agg["status"].isin(["ok", "reported", "failed", "refused"])]
    records = []
    for _, v in rows[rows["variant_of"] != ""].iterrows():
        same = (rows["method"] == v["variant_of"]) & (rows["metric"] == v["metric"]) \
            & (rows["translation"] == v["translation"]) & (rows["source"] == v["source"])
        if v["source"] == "ours":
            same &= (rows["scale"] == v["scale"]) & (rows["calibrated"] == v["calibrated"])
        full = rows[same]
        usable = {"ok", "reported"}
        full_value = float(full["value"].iloc[0]) if len(full) and full["status"].iloc[0] in usable else np.nan
        value = float(v["value"]) if v["status"] in usable else np.nan
        delta = value - full_value
        better = (delta > 0) if v["direction"] == "higher" else (delta < 0) if v["direction"] == "lower" else None
        records.append({"protocol": v["protocol"], "protocol_hash": v["protocol_hash"], "source": v["source"],
                        "variant": v["method"], "full_method": v["variant_of"], "scale": v["scale"],
                        "calibrated": v["calibrated"], "metric": v["metric"], "translation": v["translation"],
                        "direction": v["direction"], "full_value": full_value, "variant_value": value,
                        "delta": delta, "better": None if math.isnan(delta) else better,
                        "note": "" if len(full) else f"full method {v['variant_of']!r} not in this setting"})
    return pd.DataFrame(records, columns=["protocol", "protocol_hash", "source", "variant", "full_method", "scale",
                                          "calibrated", "metric", "translation", "direction", "full_value",
                                          "variant_value", "delta", "better", "note"])


def ablation_table(frame: pd.DataFrame, protocol: str, protocol_hash: str, digits: int = 3) -> Table:
    """Rows: each full method, then its variants with ``value (Δ delta ▲/▼)``; ▲ = better than the full method.
    Our rows first, then the paper's reported ablation (its own full method and deltas)."""
    pairs = list(dict.fromkeys(zip(frame["metric"], frame["translation"], strict=True)))
    columns = [column_label(m, t) for m, t in pairs]
    rows: list[Row] = []
    ordered = sorted(frame.groupby(["source", "full_method"], sort=False), key=lambda kv: (kv[0][0] != "ours", kv[0]))
    for (source, full_method), g in ordered:
        suffix = "" if source == "ours" else f" ({source})"
        classes = ["ours"] if source == "ours" else ["reported"]
        full = Row(label=f"{full_method} (full){suffix}", cells={}, classes=classes)
        for _, r in g.drop_duplicates(["metric", "translation"]).iterrows():
            value = r["full_value"]
            text = "—" if math.isnan(value) else f"{value:.{digits}f}"
            full.cells[column_label(r["metric"], r["translation"])] = text
        rows.append(full)
        for variant, vg in g.groupby("variant", sort=True):
            row = Row(label=f"{variant}{suffix}", cells={}, classes=[*classes, "variant"],
                      extra={"note": join_notes(vg["note"])})
            for _, r in vg.iterrows():
                column = column_label(r["metric"], r["translation"])
                if math.isnan(r["variant_value"]):
                    row.cells[column] = "—"
                elif math.isnan(r["delta"]):
                    row.cells[column] = f"{r['variant_value']:.{digits}f}"
                else:
                    arrow = "" if r["better"] is None else (" ▲" if r["better"] else " ▼")
                    row.cells[column] = f"{r['variant_value']:.{digits}f} (Δ {r['delta']:+.{digits}f}{arrow})"
            rows.append(row)
    return Table(title=f"Ablations: {protocol} — setting {protocol_hash}",
                 slug=f"ablation__{protocol}__{protocol_hash}", columns=columns, rows=rows, extra_columns=["note"],
                 caption="Δ = variant − full method under the same setting (ours) or in the same paper table "
                         "(reported); ▲ better, ▼ worse (by the metric's direction).")


# -- leaderboard ------------------------------------------------------------------------------------------------------
def group_label(protocol: str, protocol_hash: str) -> str:
    return f"{protocol} [{protocol_hash}]"


def leaderboard_frame(agg: pd.DataFrame) -> pd.DataFrame:
    """Per protocol setting: each of our methods' rank per metric column (by its direction), the mean of those
    ranks, and the protocol rank (rank of the mean rank). Reported rows are not ranked: other settings."""
    ours = agg[(agg["source"] == "ours") & (agg["status"] == "ok") & (agg["metric"] != "")
               & agg["direction"].isin(["higher", "lower"])]
    records = []
    for (protocol, phash), g in ours.groupby(["protocol", "protocol_hash"], sort=True):
        # one row per method across settings; the scale/calibration marks go into the cell. Only when one setting
        # holds a method at two scales (or calibrations) do the marks become part of the row label.
        variants = g.groupby("method")[["scale", "calibrated"]].nunique().max(axis=1)
        g = g.assign(label=[row_label(r) if variants[r["method"]] > 1 else r["method"] for _, r in g.iterrows()])
        ranks = []
        for _, column in g.groupby(["metric", "translation"]):
            ascending = column["direction"].iloc[0] == "lower"
            ranks.append(column.set_index("label")["value"].rank(ascending=ascending, method="min"))
        per_method = pd.concat(ranks, axis=1)
        mean_rank = per_method.mean(axis=1)
        protocol_rank = mean_rank.rank(method="min")
        info = g.drop_duplicates("label").set_index("label")
        for label in per_method.index:
            records.append({"method": label, "protocol": protocol, "protocol_hash": phash,
                            "rank": int(protocol_rank[label]), "mean_column_rank": float(mean_rank[label]),
                            "columns_ranked": int(per_method.loc[label].notna().sum()),
                            "methods_ranked": len(per_method), "scale": info.loc[label, "scale"],
                            "calibrated": bool(info.loc[label, "calibrated"]),
                            "marks": ", ".join(row_marks(info.loc[label]))})
    return pd.DataFrame(records, columns=["method", "protocol", "protocol_hash", "rank", "mean_column_rank",
                                          "columns_ranked", "methods_ranked", "scale", "calibrated", "marks"])


def leaderboard_table(frame: pd.DataFrame) -> Table:
    groups = list(dict.fromkeys(zip(frame["protocol"], frame["protocol_hash"], strict=True)))
    columns = [group_label(p, h) for p, h in groups]
    rows = []
    for method, g in frame.groupby("method", sort=False):
        classes = ["ours"]  # smoke / uncalibrated marks are per cell: one method row spans several settings
        cells = {group_label(r["protocol"], r["protocol_hash"]):
                 f"#{r['rank']} of {r['methods_ranked']} (mean col. rank {r['mean_column_rank']:.2f})"
                 + (f" [{r['marks']}]" if r["marks"] else "") for _, r in g.iterrows()}
        best = {group_label(r["protocol"], r["protocol_hash"]) for _, r in g.iterrows() if r["rank"] == 1}
        rows.append(Row(label=method, cells=cells, classes=classes, best=best,
                        extra={"settings": str(len(g)), "mean rank": f"{g['rank'].mean():.2f}"}))
    rows.sort(key=lambda r: (-int(r.extra["settings"]), float(r.extra["mean rank"]), r.label))
    return Table(title="Leaderboard (method × protocol setting)", slug="leaderboard", columns=columns, rows=rows,
                 extra_columns=["settings", "mean rank"],
                 caption="Rank per protocol setting = rank of the mean of per-column ranks (each metric × translation "
                         "ranked by its direction); only our runs are ranked. Settings with different hashes are "
                         "separate columns.")
