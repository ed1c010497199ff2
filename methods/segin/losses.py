"""SEGIN's objectives, Eq. 5–11 (paper §III-B3).

Reductions: the paper writes ‖·‖₁ without saying whether it sums or averages. Image-space terms (Eq. 5, 9, 10) and
TV (Eq. 8) are per-element means here (the pix2pix convention behind w₁ = 100). The feature term (Eq. 6) is a sum over
C×H×W per image, averaged over the batch (``feature_reduction="sum"``): with a mean, w₂ = 5e-6 would make L_F
vanish, yet the paper's ablation (Table II, w/o L_F: FID 76.6 vs 54.5) shows it matters. A sum grows with the image
area, so w₂ (set for the paper's 256×256 images) would weigh L_F 16× less at 64 px: the sum is rescaled to the
paper's area (``feature_sum_scale``), exactly ×1 at 256×256.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def recon_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ‖y − N(x, W(x, y))‖₁ (mean)."""
    return (fake - real).abs().mean()


PAPER_SIZE = 256  # "All the models are trained with 256x256 images": the scale w₂ = 5e-6 was set for


def feature_sum_scale(image_hw: tuple[int, int], reference_size: int | None = PAPER_SIZE) -> float:
    """(ref/H)·(ref/W) for images of ``image_hw`` = (H, W): L_F's per-image sum times this is the sum the same
    content would give at ref×ref (1.0 exactly at ref×ref; 16.0 at 64×64 for ref 256). ``None``: 1.0 (raw sum)."""
    if reference_size is None:
        return 1.0
    return (reference_size / image_hw[0]) * (reference_size / image_hw[1])


def feature_loss(fake_features: torch.Tensor, real_features: torch.Tensor, reduction: str = "sum",
                 scale: float = 1.0) -> torch.Tensor:
    """Eq. 6: ‖Φ(N(x, W)) − Φ(y)‖₁ on VGG-19 relu3_2; ``sum`` over C·H·W per image times ``scale`` (see
    ``feature_sum_scale``; batch mean) or ``mean`` (``scale`` unused)."""
    diff = (fake_features - real_features).abs()
    if reduction == "sum":
        return diff.flatten(1).sum(1).mean() * scale
    if reduction == "mean":
        return diff.mean()
    raise ValueError(f"feature_reduction must be 'sum' or 'mean', got {reduction!r}")


def gan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7 for D (maximise log D(real) + log(1 − D(fake))), as BCE with logits; halved as in pix2pix."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def gan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7 for N, non-saturating form: −log D(fake)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def tv_loss(image: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Eq. 8: mean over pixels of sqrt(|ŷ_{i+1,j} − ŷ_{i,j}|² + |ŷ_{i,j+1} − ŷ_{i,j}|²) (channels summed)."""
    dv = image[:, :, 1:, :-1] - image[:, :, :-1, :-1]
    dh = image[:, :, :-1, 1:] - image[:, :, :-1, :-1]
    return torch.sqrt((dv ** 2 + dh ** 2).sum(1) + eps).mean()


def seg_loss(seg: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 9: ‖N_s − y_seg‖₁ (mean)."""
    return (seg - mask).abs().mean()


def seg_attention_loss(seg: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor, real: torch.Tensor
                       ) -> torch.Tensor:
    """Eq. 10: ‖N_s ⊗ N(x, W) − y_seg ⊗ y‖₁ (mean; images in [0,1] so the masked-out background is 0)."""
    return (seg * fake - mask * real).abs().mean()


@dataclass(frozen=True)
class LossWeights:
    """Eq. 11 weights; paper values: w1 = 100 (recon), w2 = 5e-6 (feature), w3 = 1 (GAN), w4 = 100 (seg),
    w5 = 10 (segAtt), w6 = 10 (TV)."""

    recon: float = 100.0
    feature: float = 5e-6
    gan: float = 1.0
    seg: float = 100.0
    seg_att: float = 10.0
    tv: float = 10.0

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 11 over the terms present (a term whose weight is 0 is skipped, never computed)."""
        weights = {"recon": self.recon, "feature": self.feature, "gan": self.gan, "seg": self.seg,
                   "seg_att": self.seg_att, "tv": self.tv}
        unknown = set(terms) - set(weights)
        if unknown:
            raise KeyError(f"unknown loss terms {sorted(unknown)}")
        total = None
        for name, value in terms.items():
            if weights[name]:
                total = weights[name] * value if total is None else total + weights[name] * value
        if total is None:
            raise ValueError("every loss weight is zero: nothing to train")
        return total
