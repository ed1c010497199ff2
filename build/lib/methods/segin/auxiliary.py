"""Auxiliary images other than the semantic match, for the matching-swap ablation (paper §IV-C, Fig. 10).

The paper feeds SIFT Flow, Deep Image Analogy and PixelNN results into the trained translation network. Those
are not available here; two simple stand-ins test the same question (how much does N depend on the match?):

- ``warp``: a plain global warp — the reference's foreground bounding box scaled and moved onto the input's
  (axis-aligned affine, bilinear), white outside;
- ``random``: Eq. 2 with uniformly random correspondences (the reference's patches shuffled).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _bbox(mask: torch.Tensor) -> torch.Tensor:
    """[B,H,W] bool → [B,4] (x0, y0, x1, y1) in [-1,1] (align_corners=False); the whole image when empty."""
    _, h, w = mask.shape
    rows, cols = mask.any(dim=2), mask.any(dim=1)
    ar_h, ar_w = torch.arange(h, device=mask.device), torch.arange(w, device=mask.device)
    y0 = torch.where(rows, ar_h, h).min(dim=1).values
    y1 = torch.where(rows, ar_h, -1).max(dim=1).values + 1
    x0 = torch.where(cols, ar_w, w).min(dim=1).values
    x1 = torch.where(cols, ar_w, -1).max(dim=1).values + 1
    empty = y1 <= y0
    y0, y1 = torch.where(empty, 0, y0), torch.where(empty, h, y1)
    x0, x1 = torch.where(empty, 0, x0), torch.where(empty, w, x1)
    return torch.stack([x0 / w * 2 - 1, y0 / h * 2 - 1, x1 / w * 2 - 1, y1 / h * 2 - 1], dim=1).float()


def bbox_warp(x: torch.Tensor, r: torch.Tensor, edge_dark: float = 0.5, white: float = 0.92) -> torch.Tensor:
    """The reference scaled and translated so that its foreground box (pixels not near-white) covers the input's
    box (edge pixels darker than ``edge_dark``)."""
    box_x = _bbox(x.min(dim=1).values < edge_dark)
    box_r = _bbox(r.min(dim=1).values < white)
    sx = (box_r[:, 2] - box_r[:, 0]) / (box_x[:, 2] - box_x[:, 0]).clamp_min(1e-3)
    sy = (box_r[:, 3] - box_r[:, 1]) / (box_x[:, 3] - box_x[:, 1]).clamp_min(1e-3)
    tx = box_r[:, 0] - sx * box_x[:, 0]
    ty = box_r[:, 1] - sy * box_x[:, 1]
    zero = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zero, tx], 1), torch.stack([zero, sy, ty], 1)], 1)
    grid = F.affine_grid(theta, list(r.shape), align_corners=False)
    warped = F.grid_sample(r, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = F.grid_sample(torch.ones_like(r[:, :1]), grid, mode="bilinear", padding_mode="zeros",
                           align_corners=False)
    return warped + (1 - inside)  # white where the warp samples outside the reference


def random_correspondence(batch: int, positions: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, positions, (batch, positions), generator=generator)
