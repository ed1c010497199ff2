"""Exemplar conditioning of EGSC-IT: feature masks (paper §3.1) and exemplar AdaIN (Eq. 1–2), in three variants.

- ``paper``: AdaIN as in Huang & Belongie (2017), which the paper says it follows:
  σ_ex · (x − μ_x) / σ_x + μ_ex, with σ = sqrt(variance + eps). (Eq. 1–2 write δ, "variance", for both the scale
  and the normaliser; we read it as the standard deviation of the AdaIN paper it cites.)
- ``official_code``: what ``ops_EGSCIT.apply_ins_norm_2d`` computes with γ = μ_ex − 1, β = var_ex:
  (1 + γ) · (x − μ_x) / var_x + β = μ_ex · (x − μ_x) / var_x + var_ex. The content is divided by its variance, not
  its standard deviation, and scaled by the exemplar's mean, shifted by its variance. The official code has no
  epsilon; ``eps`` is added to var_x (eps=0 reproduces the code exactly).
- ``none``: no AdaIN (the "w/o AdaIN" ablation); the content passes unchanged.

Statistics are per sample and channel over the spatial dimensions, population variance (``tf.nn.moments``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ADAIN_VARIANTS = ("paper", "official_code", "none")


def channel_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel spatial mean and population variance, each [B,C,1,1]."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return mean, var


def exemplar_adain(content: torch.Tensor, style_mean: torch.Tensor, style_var: torch.Tensor, variant: str,
                   eps: float = 1e-5) -> torch.Tensor:
    """Re-normalise ``content`` [B,C,H,W] with an exemplar's channel statistics ``style_mean``/``style_var``
    ([B,C,1,1], from the frozen stage-0 encoder of the target domain) according to ``variant``."""
    if variant == "none":
        return content
    mean, var = channel_moments(content)
    if variant == "paper":
        return style_var.add(eps).sqrt() * (content - mean) / var.add(eps).sqrt() + style_mean
    if variant == "official_code":
        return style_mean * (content - mean) / var.add(eps) + style_var
    raise ValueError(f"unknown adain variant {variant!r}; valid: {', '.join(ADAIN_VARIANTS)}")


def feature_mask(features: torch.Tensor, eta: float, size: tuple[int, int] | None = None) -> torch.Tensor:
    """m = (1 − η)·σ(f) + η (paper §3.1), optionally resized bilinearly (align_corners, as the official code) to the
    content feature's size. Values lie in [η, 1]; η=1 disables the mask, η=0.5 is the paper's (and the code's
    ``sigmoid/2 + 1/2``)."""
    mask = (1.0 - eta) * torch.sigmoid(features) + eta
    if size is not None and tuple(mask.shape[-2:]) != tuple(size):
        mask = F.interpolate(mask, size=size, mode="bilinear", align_corners=True)
    return mask
