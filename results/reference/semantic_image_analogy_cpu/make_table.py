"""A table of this folder from a `bench report` folder: the report's table of one protocol setting without its long
note column, one row per method with the run it comes from, the reference rows first.

- `table.md`: setting abbe1abb962e (the default `setting=`), every single-image method.
- `table_paired.md`: setting a97210b818aa, the same cases once the protocol also offers paired training (SPADE).
  With `compare=abbe1abb962e` the script checks that every row the two settings share has the same values, and
  says so under the table.

`bench report`'s `select=latest` keeps one run per method *setting*, and `deep_image_analogy` ran under two
settings (before and after it was aligned with the official release), so the report holds two rows for it,
`deep_image_analogy #<setting>`. Only the current setting's row is kept here (`KEEP_DIA`); the dropped row is named
under the table. Run from the repository root:

    python results/reference/semantic_image_analogy_cpu/make_table.py report=/tmp/siaref_report \\
        out=results/reference/semantic_image_analogy_cpu/table.md
    python results/reference/semantic_image_analogy_cpu/make_table.py report=/tmp/siaref_report \\
        setting=a97210b818aa compare=abbe1abb962e out=results/reference/semantic_image_analogy_cpu/table_paired.md
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pandas as pd

SETTING = "abbe1abb962e"
KEEP_DIA = "#6e84d6"  # today's deep_image_analogy parameters (official release's settings, refine=wls)
ORDER = ["input_copy", "exemplar_copy", "colour_transfer", "image_analogies", "deep_image_analogy", "singan", "sia",
         "spade"]
COLUMNS = ["PIXEL_ACCURACY_PANOPTIC A→B", "MIOU_PANOPTIC A→B", "PIXEL_ACCURACY_DEEPLABV3 A→B", "MIOU_DEEPLABV3 A→B",
           "PSNR_EXACT A→B", "SSIM_EXACT A→B", "LPIPS_EXACT A→B", "AVERAGE_RANK"]
HEAD = ["pixel acc. panoptic ↑", "mIoU panoptic ↑", "pixel acc. DeepLabV3 ↑", "mIoU DeepLabV3 ↑", "PSNR exact ↑",
        "SSIM exact ↑", "LPIPS exact ↓", "avg. user rank ↓"]
KIND = {"input_copy": "reference", "exemplar_copy": "reference", "colour_transfer": "reference"}


def read(tables: Path, setting: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    name = f"semantic_image_analogy__{setting}"
    return (pd.read_csv(tables / f"{name}.csv", dtype=str).fillna(""),
            pd.read_csv(tables / f"{name}.long.csv", dtype=str).fillna(""))


def shared_rows(tables: Path, setting: str, other: str) -> str:
    """A sentence: the rows of ``setting`` that ``other`` has too, and whether every value of theirs is equal."""
    def ours(frame: pd.DataFrame) -> pd.DataFrame:  # rows by method name; DIA: the kept setting's row only
        frame = frame[~frame["method"].str.contains("(reported", regex=False)].copy()
        frame["name"] = frame["method"].str.split(" [", regex=False).str[0]
        keep = ~frame["name"].str.contains(" #") | frame["name"].str.endswith(KEEP_DIA)
        frame = frame[keep].assign(name=frame["name"].str.split(" #").str[0])
        return frame.set_index("name").map(lambda v: str(v).replace("**", ""))

    a, b = (ours(read(tables, s)[0]) for s in (setting, other))
    shared = [m for m in a.index if m in b.index]
    differ = [f"{m} {c}" for m in shared for c in COLUMNS[:-1] if c in a and c in b and a.at[m, c] != b.at[m, c]]
    names = ", ".join(f"`{m}`" for m in shared)
    if differ:
        return f"Rows shared with setting {other} ({names}) differ: {'; '.join(differ)}."
    return (f"The {len(shared)} rows this setting shares with setting {other} ({names}) have the same value in "
            f"every column there: the cases and the scoring did not change, only what the protocol offers.")


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    tables = Path(args["report"]) / "tables"
    setting = args.get("setting", SETTING)
    wide, long = read(tables, setting)
    ours_long = long[long["source"] == "ours"]
    runs = dict(zip(ours_long["method"], ours_long["runs"], strict=True))
    ours, reported, dropped = [], [], []
    for _, row in wide.iterrows():
        label = row["method"]
        if "(reported" in label:
            reported.append(row)
            continue
        name = label.split(" [")[0]  # "deep_image_analogy #6e84d6 [cpu, uncalibrated]" → "deep_image_analogy #6e84d6"
        base = name.split(" #")[0]
        if base == "deep_image_analogy" and " #" in name and not name.endswith(KEEP_DIA):
            dropped.append(f"`{name}` (run {runs.get(name, '?')})")
            continue
        ours.append((ORDER.index(base) if base in ORDER else len(ORDER), base, name, row))
    lines = ["| method | kind | run | " + " | ".join(HEAD) + " |", "|" + "---|" * (3 + len(HEAD))]
    for _, base, name, row in sorted(ours, key=lambda r: r[:2]):
        cells = [row[c].replace("**", "") for c in COLUMNS[:-1]] + ["—"]  # a run not finished: RUNNING etc.
        lines.append(f"| {name} | {KIND.get(base, 'method')} | `{runs.get(name, '')}` | " + " | ".join(cells) + " |")
    for row in sorted(reported, key=lambda r: ORDER.index(r["method"].split(" (")[0])):
        name = row["method"].split(" (")[0]
        cells = [row[c] or "—" for c in COLUMNS]
        lines.append(f"| {name} (reported, SIA Table 1, real COCO-Stuff) | paper | — | " + " | ".join(cells) + " |")
    notes = ["Ours: mean over the 10 cases ± σ over the cases (one seed, not an interval). Every row of ours is "
              "uncalibrated (random-weight scorers and LPIPS). Reported rows: the paper's numbers on real COCO-Stuff "
              "under its own setting, not comparable with the rows on `scenes` (fractions, not %)."]
    if dropped:
        notes.append("Left out: " + ", ".join(dropped) + ", the superseded deep_image_analogy setting.")
    if "compare" in args:
        notes.append(shared_rows(tables, setting, args["compare"]))
    for note in notes:
        lines += ["", *textwrap.wrap(note, 120, break_on_hyphens=False)]
    out = Path(args.get("out", "table.md"))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
