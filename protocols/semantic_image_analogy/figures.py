"""SIA's figures: one row per case (source I, its layout P, the target layout P', one column per method, and on a
world the exact answer), and the study folder of contract §4 for the ranking page (``bench study``):
``<study>/<case id>/source.png``, ``target_layout.png`` (colourised P'), ``<method label>.png``."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from protocols.figures import save_figure
from protocols.semantic_image_analogy.data import Cases


def layout(cases: Cases, row: int) -> np.ndarray:
    """uint8 [S,S,3]: pool label map ``row`` in its label set's palette."""
    return cases.pool.label_set.colourise(cases.pool.labels[row])


def _uint8(image: torch.Tensor) -> np.ndarray:
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def case_figure(cases: Cases, outputs: dict[str, torch.Tensor], path: Path, title: str = "") -> Path:
    """``outputs``: method label → float [N,3,S,S] in [0,1], one row per case; writes a PNG and returns its path."""
    columns: list[tuple[str, list[np.ndarray]]] = [
        ("source", [cases.pool.images[s] for s in cases.sources]),
        ("source layout", [layout(cases, s) for s in cases.sources]),
        ("target layout", [layout(cases, t) for t in cases.targets])]
    columns += [(m, [_uint8(o) for o in out]) for m, out in outputs.items()]
    if cases.exact is not None:
        columns.append(("exact answer", list(cases.exact)))
    n_rows, n_cols = len(cases), len(columns)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols + 0.6, 1.1 * n_rows + 0.8), squeeze=False)
    for c, (label, column) in enumerate(columns):
        for r in range(n_rows):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(column[r], interpolation="nearest")
            if r == 0:
                ax.set_title(label, fontsize=7)
    return save_figure(fig, path, title)


def safe_label(label: str) -> str:
    """A method label as a file name (letters, digits, ``._-``; anything else → ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", label)


def write_study(cases: Cases, outputs: dict[str, torch.Tensor], folder: Path) -> Path:
    """Contract §4's layout under ``folder``; returns ``folder``. PNG (lossless), at the protocol's size."""
    for k, name in enumerate(cases.names):
        case = folder / name
        case.mkdir(parents=True, exist_ok=True)
        Image.fromarray(cases.pool.images[cases.sources[k]]).save(case / "source.png")
        Image.fromarray(layout(cases, int(cases.targets[k]))).save(case / "target_layout.png")
        for method, out in outputs.items():
            Image.fromarray(_uint8(out[k])).save(case / f"{safe_label(method)}.png")
    return folder
