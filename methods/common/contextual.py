"""The contextual loss (Mechrez et al., ECCV 2018) in the form CoCosNet trains with (``ContextualLoss_forward`` in
``models/networks/ContextualLoss.py`` of microsoft/CoCosNet@de0c1bbd); MSCA and SIA use the same loss.

For features x (output) and y (exemplar), [N,C,H,W] each (the spatial sizes may differ):

1. centre both by the exemplar's mean: per position over the channels (``centre="position"``, CoCosNet with
   ``--PONO``) or per channel over the positions (``centre="channel"``, the original);
2. L2-normalise every position's C-vector (norm + float epsilon, as ``util.feature_normalize``);
3. cosine distance d_ij = 1 − x_i·y_j between output position i and exemplar position j;
4. relative distance d̃_ij = d_ij / (min_k d_ik + ε), the minimum taken over the exemplar (row minimum), ε = 1e-3
   (the official forward loss; the paper's ContextualLoss class uses 1e-5);
5. w_ij = exp((1 − d̃_ij) / h), A_ij = w_ij / Σ_k w_ik;
6. CX = mean_i max_j A_ij, loss = −log CX, per sample.
"""

from __future__ import annotations

import sys
from typing import Literal

import torch

Centre = Literal["position", "channel", "none"]
CENTRES: tuple[str, ...] = ("position", "channel", "none")


def _l2_normalise(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.norm(x, 2, 1, keepdim=True) + sys.float_info.epsilon)


def contextual_loss(x: torch.Tensor, y: torch.Tensor, h: float = 0.1, centre: Centre = "position",
                    eps: float = 1e-3) -> torch.Tensor:
    """Per-sample contextual loss [N] (≥ 0; 0 when every output feature has a distinct exact match).

    x: output features [N,C,Hx,Wx]; y: exemplar features [N,C,Hy,Wy] (callers detach y); h: bandwidth (0.1 in
    CoCosNet). ``centre="position"`` needs Hx×Wx = Hy×Wy (the exemplar mean is taken per position). Memory is
    O(N·Hx·Wx·Hy·Wy). Raises ``ValueError`` for an unknown ``centre`` or mismatched shapes.
    """
    if centre not in CENTRES:
        raise ValueError(f"unknown centring {centre!r}; valid: {', '.join(CENTRES)}")
    if x.shape[:2] != y.shape[:2]:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} differ in batch or channels")
    n, c = x.shape[:2]
    if centre == "position":
        if x.shape[2:] != y.shape[2:]:
            raise ValueError("per-position centring needs x and y of the same spatial size")
        mean = y.mean(dim=1, keepdim=True)
        x, y = x - mean, y - mean
    elif centre == "channel":
        mean = y.reshape(n, c, -1).mean(dim=-1)[:, :, None, None]
        x, y = x - mean, y - mean
    xs = _l2_normalise(x).reshape(n, c, -1)
    ys = _l2_normalise(y).reshape(n, c, -1)
    d = 1 - torch.matmul(xs.transpose(1, 2), ys)  # [N, Px, Py]
    d_rel = d / (d.min(dim=-1, keepdim=True)[0] + eps)
    w = torch.exp((1 - d_rel) / h)
    a = w / w.sum(dim=-1, keepdim=True)
    cx = a.max(dim=-1)[0].mean(dim=1)
    return -torch.log(cx)
