"""Qualitative grids shared by protocols: input | exemplar | ground truth | one column per method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

Panel = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]


def qualitative_grid(panels: dict[str, Panel], path: Path, title: str = "") -> Path:
    """One block of rows per panel (e.g. per translation direction); columns are input, exemplar, ground truth
    (when known) and each method's output for the same row."""
    methods = list(dict.fromkeys(m for _, _, _, outs in panels.values() for m in outs))
    n_cols = 3 + len(methods)
    n_rows = sum(len(p[0]) for p in panels.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols + 0.6, 1.1 * n_rows + 0.8), squeeze=False)
    row = 0
    for panel_name, (content, exemplar, truth, outputs) in panels.items():
        columns = [("input", content), ("exemplar", exemplar), ("ground truth", truth)]
        columns += [(m, outputs.get(m)) for m in methods]
        for i in range(len(content)):
            for col, (label, images) in enumerate(columns):
                ax = axes[row, col]
                ax.set_xticks([])
                ax.set_yticks([])
                if images is not None and i < len(images):
                    ax.imshow(images[i].permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
                else:
                    ax.set_facecolor("#eeeeee")
                if i == 0:
                    ax.set_title(label, fontsize=7)
            axes[row, 0].set_ylabel(panel_name if i == 0 else "", fontsize=8)
            row += 1
    return save_figure(fig, path, title)


def save_figure(fig: Any, path: Path, title: str = "", fontsize: int = 9) -> Path:
    """Title (if any), tight layout, ``path`` written at 110 dpi (parents created), the figure closed; ``path``."""
    if title:
        fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
