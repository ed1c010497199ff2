"""t-SNE of translated vs real target-domain images, one panel per method (EGSC-IT Fig. 5, 6 and 13).

As in the paper, "the t-SNE embeddings are calculated from the translated images with PCA dimension reducing": per
method, the real images and that method's translations are flattened together, reduced with PCA, and embedded with
scikit-learn's t-SNE (fixed seed). Red dots: real samples; blue crosses: translations. A method that collapses to
few modes shows tight blue clusters away from the red cloud. Qualitative only: the embedding of each panel is
separate, so positions are not comparable across panels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

TSNE_DEFAULTS: dict[str, Any] = {"pca_dims": 50, "perplexity": 30.0, "max_iter": 1000}


def embed(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, pca_dims: int = 50, perplexity: float = 30.0,
          max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """2-D t-SNE coordinates of ``real`` and ``fake`` images ([N,C,H,W] in [0,1]), embedded jointly."""
    x = torch.cat([real.flatten(1), fake.flatten(1)]).double().numpy()
    n = len(x)
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 images, got {n}")
    dims = min(pca_dims, n - 1, x.shape[1])
    perplexity = min(perplexity, (n - 1) / 3.0)  # sklearn requires perplexity < n
    with threadpool_limits(1):  # a few hundred points: threads only contend (10× slower on a busy machine)
        reduced = PCA(n_components=dims, random_state=seed).fit_transform(x)
        coords = TSNE(2, perplexity=perplexity, init="pca", random_state=seed, max_iter=max(250, max_iter)
                      ).fit_transform(reduced)
    return coords[: len(real)], coords[len(real):]


def tsne_figure(real: torch.Tensor, fakes: dict[str, torch.Tensor], path: Path, title: str = "", seed: int = 0,
                **settings: Any) -> Path:
    """One panel per method of ``fakes`` (each [N,C,H,W]); ``real`` holds the real target-domain images."""
    options = TSNE_DEFAULTS | settings
    names = list(fakes)
    cols = min(4, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax, name in zip(axes.flat, names, strict=False):
        fake = fakes[name]
        n = min(len(real), len(fake))
        r, f = embed(real[:n], fake[:n], seed=seed, **options)
        ax.scatter(r[:, 0], r[:, 1], s=6, c="tab:red", marker="o", label="real", linewidths=0)
        ax.scatter(f[:, 0], f[:, 1], s=10, c="tab:blue", marker="x", label="translated", linewidths=0.7)
        ax.set_title(f"{name} (n={n})", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    if names:
        axes.flat[0].legend(fontsize=6, loc="best")
    note = f"t-SNE (PCA {options['pca_dims']}, perplexity ≤ {options['perplexity']}, seed {seed})"
    fig.suptitle(f"{title}\n{note}" if title else note, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
