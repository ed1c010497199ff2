"""AdaIN's training objective (§6.2, Eqs. 11–13) with the official ``train.lua`` reductions.

L = L_c + λ·L_s
L_c = mean over elements of (f(g(t)) − t)², f = VGG relu4_1, t = AdaIN output (``ContentLossModule``: MSE, mean)
L_s = Σ_layers Σ_channels [(μ(φ(g(t))) − μ(φ(s)))² + (σ(φ(g(t))) − σ(φ(s)))²] / N over relu1_1..relu4_1
      (``StyleINLossModule``: sum-reduced squared errors divided by the batch size; the output's σ carries 1e-6
      inside the square root, the style's σ is the plain biased standard deviation)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methods.adain.networks import mean_std

STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


def content_loss(output_feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(output_feat, target)


def style_loss(output_feats: dict[str, torch.Tensor], style_feats: dict[str, torch.Tensor]) -> torch.Tensor:
    total = torch.zeros((), device=next(iter(output_feats.values())).device)
    for name in STYLE_LAYERS:
        out_mean, out_std = mean_std(output_feats[name], eps=1e-6)
        sty_mean, sty_std = mean_std(style_feats[name])
        n = out_mean.size(0)
        total = total + ((out_mean - sty_mean).pow(2).sum() + (out_std - sty_std).pow(2).sum()) / n
    return total
