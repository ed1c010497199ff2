"""``gta2bdd``'s figures: the translations like EGSC-IT Fig. 7 (GTA5 input, BDD exemplar, one column per method;
the exact translation beside them on the world), the segmenters' predictions on B's test images (Cityscapes
palette, one column per row of the table), and the per-class IoU table (CSV)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from datasets.cityscapes import CITYSCAPES_19
from metrics.segmentation import scores_from_confusion
from protocols.figures import qualitative_grid, save_figure

if TYPE_CHECKING:
    from protocols.gta2bdd.data import Domains


def translation_grid(d: Domains, k: int, exact: torch.Tensor | None, outputs: dict[str, torch.Tensor], path: Path,
                     title: str) -> Path:
    """EGSC-IT Fig. 7: the first ``k`` A images, their exemplars, the exact translation (or none), each method."""
    rows = np.arange(k)
    return qualitative_grid({"A→B": (d.tensor(d.a_images, rows), d.tensor(d.b_images, d.pairing[rows]), exact,
                                     {m: o[:k] for m, o in outputs.items()})}, path, title=title)


def colourise(labels: np.ndarray) -> np.ndarray:
    """uint8 [n,H,W,3]: train-id maps in the Cityscapes palette (255 black)."""
    return np.stack([CITYSCAPES_19.colourise(label) for label in labels])


def prediction_grid(d: Domains, predictions: dict[str, torch.Tensor], path: Path, title: str) -> Path:
    """Rows: the first test images; columns: image, ground truth, each row's segmenter prediction."""
    k = min([len(d.val_images), *[len(p) for p in predictions.values()]])
    columns = [("B test image", d.val_images[:k]), ("ground truth", colourise(d.val_labels[:k]))]
    columns += [(name, colourise(np.asarray(p[:k], np.uint8))) for name, p in predictions.items()]
    aspect = d.size[1] / d.size[0]
    fig, axes = plt.subplots(k, len(columns), figsize=(1.1 * aspect * len(columns) + 0.4, 1.1 * k + 0.8),
                             squeeze=False)
    for col, (name, images) in enumerate(columns):
        for i in range(k):
            ax = axes[i, col]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(images[i], interpolation="nearest")
            if i == 0:
                ax.set_title(name, fontsize=7)
    return save_figure(fig, path, f"{title}: segmenter predictions on the B test split")


def per_class_csv(confusions: dict[str, np.ndarray], path: Path) -> Path:
    """One line per row: mIoU then the IoU of each of the 19 classes (empty where the class's union is empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "miou", *CITYSCAPES_19.classes])
        for name, confusion in confusions.items():
            s = scores_from_confusion(confusion)
            writer.writerow([name, f"{s.miou:.4f}", *("" if np.isnan(v) else f"{v:.4f}" for v in s.iou)])
    return path
