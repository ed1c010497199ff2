"""Scores against the exact translation, on the ``edges2objects`` stand-in only (issue 13, Fidelity 2).

``ssim_exact`` and ``lpips_exact`` compare an output with the exact translation (the input's geometry in the
reference's style) as whole images, so they reward the geometry: the geometry rendered in one fixed style, ignoring
every reference, scores SSIM-exact ≈ 0.82 at 64 px, above a trained method. ``exemplar_fidelity_colour`` and
``exemplar_fidelity_texture`` (``metrics/fidelity.py``) compare appearance only, per part of the input's part map on
its foreground: the mean colour (Euclidean RGB distance) and per-channel spread (|σ_out − σ_exact|) of each part,
averaged over parts, then pairs. Geometry earns nothing there; a style-ignoring output pays, per part, the distance
between its fixed style and each reference's. Lower is better; the exact translation scores 0.

The ``geometry_oracle`` reference row is that style-ignoring output, measured: each LPIPS(ref) pair's input
geometry rendered exactly, in the style of the first training object (one style for every pair).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from datasets.edges2objects import Edges2ObjectsSplit
from metrics.base import Metric, MetricValue, companions

EXACT_METRICS = ("ssim_exact", "lpips_exact", "exemplar_fidelity_colour", "exemplar_fidelity_texture")
FIXED_STYLE = "one fixed style, the first training object's (train index 0), for every pair"


def part_maps(split: Edges2ObjectsSplit, rows: np.ndarray) -> torch.Tensor:
    """long [P,H,W] part labels (0 background, 1..5 parts) of the inputs ``rows`` of ``split``."""
    return torch.from_numpy(np.stack([split.labels(int(i)) for i in rows]).astype(np.int64))


def geometry_oracle(val: Edges2ObjectsSplit, train: Edges2ObjectsSplit, rows: np.ndarray) -> torch.Tensor:
    """uint8 [P,3,H,W]: the exact geometry of inputs ``rows`` rendered in ``FIXED_STYLE`` (the reference ignored)."""
    fixed = np.zeros(len(rows), np.int64)
    return torch.from_numpy(val.exact_translation(rows, fixed, exemplar_split=train)).permute(0, 3, 1, 2)


def exact_scores(metrics: dict[str, Metric], outputs: torch.Tensor, truth: torch.Tensor, labels: torch.Tensor,
                 rename: Callable[[MetricValue, str], MetricValue]) -> dict[str, MetricValue]:
    """``EXACT_METRICS`` of ``outputs`` against ``truth`` (float [P,3,H,W] in [0,1]); ``labels`` [P,H,W] the inputs'
    part maps (their nonzero pixels are the foreground scored by the fidelity columns)."""
    fidelity = metrics["exemplar_fidelity"](outputs, truth, labels, labels > 0)
    texture = companions(fidelity)[0]
    del fidelity.extra["companions"]  # texture is a column of its own here, not a value riding inside colour
    return {"ssim_exact": rename(metrics["ssim"](outputs, truth), "ssim_exact"),
            "lpips_exact": rename(metrics["lpips_gt"](outputs, truth), "lpips_exact"),
            "exemplar_fidelity_colour": fidelity, "exemplar_fidelity_texture": texture}
