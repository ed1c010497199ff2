"""MSCA's figures: a Fig. 4 grid per task and the Fig. 6 attention maps.

- ``task_grid`` (Fig. 4): per test row the inputs (target layout c₁, exemplar parse c̃₂, exemplar x₂), one column
  per method, then the ground truth (retrieving: before and after colour correction, and on a world the exact one).
- ``attention_figure`` (Fig. 6): per test case two rows: the exemplar, its parse and the K spatial attention maps α
  over it; the target layout and the K channel attention maps β over it; titles give the gates.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from protocols.coco_stuff.data import SceneData
from protocols.coco_stuff.tasks import Task
from protocols.figures import save_figure

Panel = np.ndarray | None  # float [H,W,3] in [0,1] or [H,W] (a map drawn with a colour scale), None = empty


def _rgb(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, np.float32) / 255.0


def _draw(ax: plt.Axes, panel: Panel, label: str, title: bool) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if panel is None:
        ax.set_facecolor("#eeeeee")
    elif panel.ndim == 2:
        ax.imshow(panel, cmap="magma", interpolation="nearest")
    else:
        ax.imshow(np.clip(panel, 0, 1), interpolation="nearest")
    if title:
        ax.set_title(label, fontsize=6)


def image_grid(columns: list[tuple[str, list[Panel]]], path: Path, title: str = "") -> Path:
    """Columns of panels (all of one length), titled on the first row."""
    n_rows, n_cols = max(len(p) for _, p in columns), len(columns)
    width = max(1.0 * n_cols + 0.4, 0.07 * len(title))  # room for the title
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, 1.0 * n_rows + 0.7), squeeze=False)
    for col, (label, panels) in enumerate(columns):
        for row in range(n_rows):
            _draw(axes[row, col], panels[row] if row < len(panels) else None, label, row == 0)
    return save_figure(fig, path, title, fontsize=8)


def task_grid(data: SceneData, task: Task, outputs: dict[str, torch.Tensor], rows: int, path: Path,
              title: str) -> Path:
    """Fig. 4 for one task: ``outputs`` method → float [n,3,S,S] in [0,1] (its first rows)."""
    k = min(rows, len(data.test))
    colourise = data.test.label_set.colourise
    columns: list[tuple[str, list[Panel]]] = [
        ("layout c₁", [_rgb(colourise(data.test.labels[i])) for i in range(k)]),
        ("exemplar parse c̃₂", [_rgb(colourise(task.exemplar_labels[i])) for i in range(k)]),
        ("exemplar x₂", [_rgb(task.exemplars[i]) for i in range(k)]),
    ]
    for method, out in outputs.items():
        columns.append((method, [out[i].permute(1, 2, 0).numpy() for i in range(min(k, len(out)))]))
    if task.before is not None:
        columns.append(("GT before correction", [_rgb(task.before[i]) for i in range(k)]))
        columns.append(("GT after correction", [_rgb(task.truth[i]) for i in range(k)]))
    else:
        columns.append(("ground truth", [_rgb(task.truth[i]) for i in range(k)]))
    if task.exact is not None:
        columns.append(("exact GT (world)", [_rgb(task.exact[i]) for i in range(k)]))
    return image_grid(columns, path, title)


def alpha_correlation(alpha: torch.Tensor) -> np.ndarray:
    """How alike the K spatial maps of each case are: the mean over pairs k ≠ l of |Pearson r| between α_k and α_l
    over the exemplar's pixels. alpha [n,K,h,w] → [n] in [0, 1]; 1 when every map is an affine transform of one map
    (including inverted copies), which is what a collapsed MSCA module learns; NaN for K = 1; a constant map
    counts as uncorrelated. MSCA's Fig. 6 shows maps on distinct regions, i.e. well below 1."""
    n, k = alpha.shape[:2]
    if k < 2:
        return np.full(n, np.nan)
    a = alpha.double().flatten(2)
    a = a - a.mean(-1, keepdim=True)
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    corr = torch.einsum("nkp,nlp->nkl", a, a).abs()
    return ((corr.sum((1, 2)) - corr.diagonal(dim1=1, dim2=2).sum(-1)) / (k * (k - 1))).numpy()


def attention_figure(data: SceneData, task: Task, maps: dict[str, torch.Tensor], path: Path, title: str) -> Path:
    """Fig. 6 from ``attention_maps`` (contract §6): ``alpha`` [n,K,h,w] (over the exemplar), ``beta`` [n,K,h,w]
    (over the target), ``gate`` [n,K] (titles show the first case's); two rows per case: the exemplar, its parse and
    α_k, then the target layout and β_k."""
    alpha, beta = maps["alpha"].numpy(), maps["beta"].numpy()
    gate = maps.get("gate")
    n, k = alpha.shape[:2]
    colourise = data.test.label_set.colourise
    columns: list[tuple[str, list[Panel]]] = [
        ("exemplar x₂ / layout c₁", [p for i in range(n) for p in (_rgb(task.exemplars[i]),
                                                                   _rgb(colourise(data.test.labels[i])))]),
        ("parse c̃₂ / -", [p for i in range(n) for p in (_rgb(colourise(task.exemplar_labels[i])), None)]),
    ]
    for j in range(k):
        label = f"k={j}" + (f" g={float(gate[0, j]):.2f}" if gate is not None else "")
        columns.append((f"α/β {label}", [p for i in range(n) for p in (alpha[i, j], beta[i, j])]))
    corr = alpha_correlation(maps["alpha"])
    spread = f"; mean |corr(α_k, α_l)| {float(np.nanmean(corr)):.2f} (1 = collapsed)" if k > 1 else ""
    return image_grid(columns, path, title + "; rows: α over the exemplar, β over the target" + spread)
