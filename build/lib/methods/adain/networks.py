"""AdaIN (Huang & Belongie, ICCV 2017): the AdaIN layer (Eq. 8). The decoder that mirrors VGG-19 (§6.1) is
``methods.common.decoders.mirror_decoder`` (WCT builds its decoders the same way).
"""

from __future__ import annotations

import torch


def mean_std(feat: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and (biased) standard deviation over the spatial positions, shape [N,C,1,1]."""
    flat = feat.flatten(2)
    mean = flat.mean(-1)
    std = (flat.var(-1, unbiased=False) + eps).sqrt()
    return mean[..., None, None], std[..., None, None]


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y) (Eq. 8). As in the official layer, σ(x) carries ε = 1e-5 inside
    the square root (it is a BatchNorm over N·C channels) and σ(y) is the plain biased standard deviation."""
    c_mean, c_std = mean_std(content, eps)
    s_mean, s_std = mean_std(style)
    return s_std * (content - c_mean) / c_std + s_mean
