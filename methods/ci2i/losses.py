"""The cd-GAN forward pass of Fig. 2 and its dual-learning losses (Lin et al., CVPR 2018, §3).

Generation: (x_A^i, x_A^s) = e_A(x_A), (x_B^i, x_B^s) = e_B(x_B); x_AB = g_B(x_A^i, x_B^s), x_BA = g_A(x_B^i, x_A^s).
Reconstruction: (x̂_A^i, x̂_B^s) = e_B(x_AB), (x̂_B^i, x̂_A^s) = e_A(x_BA); x̂_A = g_A(x̂_A^i, x_A^s),
x̂_B = g_B(x̂_B^i, x_B^s) — the reconstructions take the *original* specific features (Fig. 2's long arrows).
Dual losses (squared ℓ2): ℓ^im = ‖x_A − x̂_A‖² + ‖x_B − x̂_B‖², ℓ^di = ‖x_A^i − x̂_A^i‖² + ‖x_B^i − x̂_B^i‖²,
ℓ^ds = ‖x_A^s − x̂_A^s‖² + ‖x_B^s − x̂_B^s‖². We average the squares over elements (the paper writes the norm only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class DualPass:
    """Every tensor of one cd-GAN pass on a batch (x_A, x_B) of [-1,1] images [B,3,H,W]."""

    x_a: torch.Tensor
    x_b: torch.Tensor
    i_a: torch.Tensor  # x_A^i
    s_a: torch.Tensor  # x_A^s
    i_b: torch.Tensor
    s_b: torch.Tensor
    x_ab: torch.Tensor  # g_B(x_A^i, x_B^s)
    x_ba: torch.Tensor  # g_A(x_B^i, x_A^s)
    i_a_hat: torch.Tensor  # from e_B(x_AB)
    s_b_hat: torch.Tensor
    i_b_hat: torch.Tensor  # from e_A(x_BA)
    s_a_hat: torch.Tensor
    x_a_hat: torch.Tensor  # g_A(x̂_A^i, x_A^s)
    x_b_hat: torch.Tensor  # g_B(x̂_B^i, x_B^s)


def dual_pass(e_a: nn.Module, e_b: nn.Module, g_a: nn.Module, g_b: nn.Module, x_a: torch.Tensor,
              x_b: torch.Tensor) -> DualPass:
    """Generation and reconstruction of Fig. 2 for one batch of each domain (equal batch sizes)."""
    i_a, s_a = e_a(x_a)
    i_b, s_b = e_b(x_b)
    x_ab, x_ba = g_b(i_a, s_b), g_a(i_b, s_a)
    i_a_hat, s_b_hat = e_b(x_ab)
    i_b_hat, s_a_hat = e_a(x_ba)
    return DualPass(x_a, x_b, i_a, s_a, i_b, s_b, x_ab, x_ba, i_a_hat, s_b_hat, i_b_hat, s_a_hat,
                    x_a_hat=g_a(i_a_hat, s_a), x_b_hat=g_b(i_b_hat, s_b))


def dual_losses(p: DualPass) -> dict[str, torch.Tensor]:
    """ℓ^im, ℓ^di, ℓ^ds of §3 (unweighted; mean squared error per term, the two directions summed)."""
    return {
        "dual_im": F.mse_loss(p.x_a_hat, p.x_a) + F.mse_loss(p.x_b_hat, p.x_b),
        "dual_di": F.mse_loss(p.i_a_hat, p.i_a) + F.mse_loss(p.i_b_hat, p.i_b),
        "dual_ds": F.mse_loss(p.s_a_hat, p.s_a) + F.mse_loss(p.s_b_hat, p.s_b),
    }
