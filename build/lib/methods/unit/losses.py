"""UNIT objective (Liu, Breuel, Kautz, NIPS 2017, §3, Eq. 2–5) as the paper code computes it.

- VAE terms (Eq. 3): λ1·KL(q(z|x)‖N(0,I)) − λ2·log p_G(x|z). With q = N(μ, I) the KL is ½‖μ‖² + const; the code
  uses mean(z²) of the *sampled* latent z = μ + η (same expected gradient as mean(μ²)), and the Laplacian log-
  likelihood becomes an L1 reconstruction.
- Cycle terms (Eq. 5): λ3·KL of the re-encoded translation's latent + λ4·L1(x_aba, x_a).
- GAN terms (Eq. 4): λ0 × the non-saturating binary cross-entropy, summed over discriminator scales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_latent(mu: torch.Tensor) -> torch.Tensor:
    """z = μ + η, η ~ N(0, I): the reparameterised sample of q(z|x) = N(μ, I) (the code's GaussianNoiseLayer)."""
    return mu + torch.randn_like(mu)


def latent_kl(z: torch.Tensor) -> torch.Tensor:
    """The paper code's KL surrogate, mean(z²)."""
    return z.pow(2).mean()


def reconstruction(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(x, target)
