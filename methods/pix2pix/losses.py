"""GAN objectives of the pix2pix/BicycleGAN code base (``networks.GANLoss``)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

GanMode = Literal["vanilla", "lsgan"]


def gan_loss(pred: torch.Tensor | list[torch.Tensor], real: bool, mode: GanMode) -> torch.Tensor:
    """Vanilla GAN (cross-entropy on logits) or LSGAN (least squares) against the all-real/all-fake target.

    A list of predictions (multi-scale discriminator) is summed, as BicycleGAN's ``GANLoss`` does.
    """
    if isinstance(pred, list | tuple):
        return sum((gan_loss(p, real, mode) for p in pred), torch.zeros((), device=pred[0].device))
    target = torch.full_like(pred, 1.0 if real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        return F.mse_loss(pred, target)
    raise ValueError(f"unknown gan_mode {mode!r}; use vanilla or lsgan")
