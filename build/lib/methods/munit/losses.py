"""MUNIT objective (Huang et al. 2018, §3.2, Eq. 1–5), as ``NVlabs/MUNIT``'s ``MUNIT_Trainer`` computes it.

- Image reconstruction (Eq. 1): ‖G(E_c(x), E_s(x)) − x‖₁, weight ``recon_x_w`` (λ_x = 10).
- Latent reconstruction (Eq. 2): content ‖E_c(G(c, s)) − c‖₁ (λ_c = 1) and style ‖E_s(G(c, s)) − s‖₁ (λ_s = 1),
  with s ~ N(0, I) drawn from the prior.
- Adversarial (Eq. 3): LSGAN, summed over the discriminator's scales (``methods.common.losses.GANLoss("lsgan")``).
- Optional explicit cycle ‖x_aba − x‖₁ (``recon_x_cyc_w``, 0 for edges2shoes) and domain-invariant perceptual loss
  (``vgg_w``, 0 for edges2shoes; not implemented here because it needs pretrained VGG-16 weights).
All L1 terms are means over elements (the code's ``recon_criterion``).
"""

from __future__ import annotations

import torch


def l1(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (x - target).abs().mean()
