"""The SAGAN self-attention block of CoCosNet's generator and discriminator (microsoft/CoCosNet@de0c1bbd,
``models/networks/architecture.py`` ``Attention``). The SPADE pieces come from ``methods.common.spade``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class Attention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019; BigGAN's form): query/key with ch/8 channels, value ch/2, keys and
    values 2×2 max-pooled, output conv back to ch, added with a learnable gain γ initialised to 0. H and W must be
    even. [N,ch,H,W] → [N,ch,H,W]."""

    def __init__(self, ch: int, spectral: bool = True) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        self.ch = ch
        self.theta = wrap(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.phi = wrap(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.g = wrap(nn.Conv2d(ch, ch // 2, 1, bias=False))
        self.o = wrap(nn.Conv2d(ch // 2, ch, 1, bias=False))
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)
        g = F.max_pool2d(self.g(x), 2).flatten(2)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # [N, HW, HW/4]
        o = self.o(torch.bmm(g, beta.transpose(1, 2)).view(n, self.ch // 2, h, w))
        return self.gamma * o + x
