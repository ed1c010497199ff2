"""What a finished ``bench run`` writes into its run folder: figures, the comparison table (markdown with its header
lines and footnotes, and CSV) and, last, ``metrics.csv``, whose presence marks the run complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bench.results import ResultRow, comparison_table, footnoted, rows_frame, write_csv_atomic
from protocols import Protocol


def write_outputs(protocol: Protocol, rows: list[ResultRow], samples: dict[str, dict[str, torch.Tensor]],
                  run_dir: Path, training: str = "") -> dict[str, Path]:
    """Figures, ``table.md`` / ``table.csv`` and, last, ``metrics.csv`` of a finished run in ``run_dir``."""
    table = comparison_table(rows)
    artifacts: dict[str, Path] = {}
    for path in protocol.write_figures(samples, run_dir):
        artifacts[path.name] = path
    table_md = run_dir / "table.md"
    table_md.write_text(table_markdown(table, rows, protocol.provenance.stand_in if protocol.provenance else "",
                                       training))
    artifacts["table.md"] = table_md
    artifacts["table.csv"] = write_csv_atomic(table.reset_index(), run_dir / "table.csv")
    # Written last: its presence means the run finished (a crash leaves no metrics.csv behind).
    artifacts["metrics.csv"] = write_csv_atomic(rows_frame(rows), run_dir / "metrics.csv")
    return artifacts


def table_markdown(table: Any, rows: list[ResultRow], stand_in: str = "", training: str = "") -> str:
    """The run's table with its header lines and footnotes. ``stand_in`` (``DataProvenance.stand_in``) names data
    that only stands in for the protocol's real dataset, beside the data source in the header; ``training`` says
    how the methods trained when that is not the default (bf16, several processes: ``Hardware.describe``)."""
    ours = [r for r in rows if r.source == "ours"]
    header = []
    if ours:
        r = ours[0]
        data = f"data `{r.data_source}`" + (f" ({stand_in})" if stand_in else "")
        header.append(f"protocol `{r.protocol}` (hash `{r.protocol_hash}`), scale `{r.scale}`, seed {r.seed}, "
                      f"{data} (fingerprint `{r.data_fingerprint}`), commit `{r.git_commit[:12]}`")
        counts = sorted({r.n for r in ours if r.n})
        if counts:
            header.append(f"samples per metric: {', '.join(map(str, counts))}")
        if r.scale == "smoke":
            header.append("**smoke scale**: tiny models and few steps; these numbers are not comparable with papers")
        if training:
            header.append(f"**training**: {training}")
        if any(not x.calibrated for x in ours):
            header.append("**uncalibrated**: some numbers use weights other than the published ones (see rows)")
    if any(r.source != "ours" for r in rows):
        header.append("rows marked (reported: …) are the papers' published numbers, not computed here")
    table, notes = footnoted(table)
    footnotes = "".join(f"\n- [{i}] {note}" for i, note in enumerate(notes, 1))
    return "\n".join(f"- {h}" for h in header) + "\n\n" + table.to_markdown() + "\n" + (
        f"\nnotes:\n{footnotes}\n" if notes else "")
