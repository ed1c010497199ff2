"""Adversarial and latent losses shared by the GAN baselines.

``GANLoss`` accepts one prediction tensor or a list of them (a multi-scale discriminator's outputs; a list whose
items are lists is read as features with the logits last). Per scale it averages over all elements; scales are summed
(MUNIT, pix2pixHD, SPADE sum over scales).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("lsgan", "vanilla", "hinge")
Predictions = torch.Tensor | Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]]


def _logits(predictions: Predictions) -> list[torch.Tensor]:
    if isinstance(predictions, torch.Tensor):
        return [predictions]
    return [p[-1] if isinstance(p, (list, tuple)) else p for p in predictions]


class GANLoss(nn.Module):
    """``lsgan``: mean (D(x) − target)² (Mao et al. 2017); ``vanilla``: BCE with logits (Goodfellow et al. 2014);
    ``hinge``: D: mean relu(1 − D(real)) + mean relu(1 + D(fake)), G: −mean D(fake) (SPADE)."""

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"unknown GAN loss {mode!r}; valid: {', '.join(GAN_MODES)}")
        self.mode = mode

    def forward(self, predictions: Predictions, target_is_real: bool, for_discriminator: bool = True
                ) -> torch.Tensor:
        terms = [self._single(x, target_is_real, for_discriminator) for x in _logits(predictions)]
        return torch.stack(terms).sum()

    def _single(self, x: torch.Tensor, real: bool, for_discriminator: bool) -> torch.Tensor:
        if self.mode == "lsgan":
            return ((x - (1.0 if real else 0.0)) ** 2).mean()
        if self.mode == "vanilla":
            target = torch.ones_like(x) if real else torch.zeros_like(x)
            return F.binary_cross_entropy_with_logits(x, target)
        if not for_discriminator:  # hinge, generator side
            if not real:
                raise ValueError("the hinge generator loss is defined for target_is_real=True only")
            return -x.mean()
        return F.relu(1.0 - x).mean() if real else F.relu(1.0 + x).mean()

    def discriminator(self, real: Predictions, fake: Predictions) -> torch.Tensor:
        """Unweighted sum of the real and fake terms (callers apply CycleGAN/pix2pix's 0.5 themselves)."""
        return self(real, True) + self(fake, False)

    def generator(self, fake: Predictions) -> torch.Tensor:
        return self(fake, True, for_discriminator=False)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over latent dimensions, averaged over the batch (Kingma & Welling 2014)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=tuple(range(1, mu.dim()))).mean()


def kl_unit_variance(mu: torch.Tensor) -> torch.Tensor:
    """UNIT/MUNIT's KL for a posterior N(μ, I): up to a constant it is ½‖μ‖²; the official code uses mean(μ²)."""
    return mu.pow(2).mean()


def feature_matching_loss(real: Sequence[Sequence[torch.Tensor]], fake: Sequence[Sequence[torch.Tensor]]
                          ) -> torch.Tensor:
    """pix2pixHD/SPADE: L1 between D's intermediate features (logits excluded), averaged over scales."""
    terms = [F.l1_loss(f, r.detach()) for real_feats, fake_feats in zip(real, fake, strict=True)
             for r, f in zip(real_feats[:-1], fake_feats[:-1], strict=True)]
    if not terms:
        raise ValueError("feature matching needs discriminator features (call D with return_features=True)")
    return torch.stack(terms).sum() / len(real)
