"""SPADE's image encoder (Park et al., CVPR 2019, appendix B); the generator, the discriminator and SPADE itself live
in ``methods.common.spade`` (shared with ``spade`` and ``cocosnet``).

The encoder has as many stride-2 layers as bring ``encoder_size`` down to 4×4 (the paper: 256 → 6 layers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.spade import spectral_instance


class ConvEncoder(nn.Module):
    """Image → (μ, log σ²) of the style code. Like the official encoder it first resizes *any* input to
    ``encoder_size`` (256 in the paper), which is why the image it is given decides the style: at test time it must
    be the exemplar, never the ground truth."""

    def __init__(self, ndf: int = 64, z_dim: int = 256, encoder_size: int = 256) -> None:
        super().__init__()
        n_layers = round(math.log2(encoder_size / 4))
        if n_layers < 1 or 4 * 2 ** n_layers != encoder_size:
            raise ValueError(f"encoder_size must be 4·2^k with k >= 1, got {encoder_size}")
        self.size = encoder_size
        widths = [ndf * min(2 ** i, 8) for i in range(n_layers)]
        self.layers = nn.ModuleList(
            spectral_instance(nn.Conv2d(3 if i == 0 else widths[i - 1], w, 3, stride=2, padding=1))
            for i, w in enumerate(widths))
        self.fc_mu = nn.Linear(widths[-1] * 16, z_dim)
        self.fc_var = nn.Linear(widths[-1] * 16, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        for i, layer in enumerate(self.layers):
            x = layer(x if i == 0 else F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).flatten(1)
        return self.fc_mu(x), self.fc_var(x)
