"""CycleGAN objective (Zhu et al. 2017, §3): LSGAN adversarial terms (Eq. 1 with the least-squares loss of §4),
cycle consistency (Eq. 2) weighted by λ (Eq. 3), and the identity loss of §5.2 weighted by λ_idt·λ."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cycle_loss(reconstruction: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Eq. 2: ‖F(G(x)) − x‖₁ (mean over pixels)."""
    return F.l1_loss(reconstruction, original)


def identity_loss(mapped: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """§5.2: ‖G(y) − y‖₁, keeps colour composition when the input already is in the target domain."""
    return F.l1_loss(mapped, original)
