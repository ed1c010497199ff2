"""The KL term of SPADE's image encoder (Park et al. 2019, appendix B; λ_kld = 0.05, summed, not averaged). The rest
of SPADE's objective is shared: ``methods.common.spade_losses``."""

from __future__ import annotations

import torch


def kld(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) summed over the batch and the latent dimensions (the official ``KLDLoss``)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
