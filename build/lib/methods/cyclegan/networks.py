"""CycleGAN networks (Zhu et al. 2017, §4 and appendix 7.2): the ResNet generator of Johnson et al. and the 70×70
PatchGAN discriminator (``methods.common.discriminators.PatchDiscriminator``)."""

from __future__ import annotations

import torch
from torch import nn

from methods.common.blocks import ConvBlock, ResBlocks, UpConvBlock


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, R4k × n_blocks, u2k, uk, c7s1-3 (appendix 7.2), instance norm, reflection padding, tanh.

    ``n_down`` stride-2 convs (2 in the paper) set how far the bottleneck is downsampled; the input side must be a
    multiple of 2**n_down for the output to keep the input's size.
    """

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9, n_down: int = 2,
                 norm: str = "instance", dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(in_ch, ngf, 7, 1, 3, norm=norm, act="relu", pad="reflect")]
        ch = ngf
        for _ in range(n_down):
            layers.append(ConvBlock(ch, ch * 2, 3, 2, 1, norm=norm, act="relu", pad="zero"))
            ch *= 2
        layers.append(ResBlocks(n_blocks, ch, norm=norm, act="relu", pad="reflect", dropout=dropout))
        for _ in range(n_down):
            layers.append(UpConvBlock(ch, ch // 2, 3, mode="transpose", norm=norm, act="relu"))
            ch //= 2
        layers.append(ConvBlock(ch, out_ch, 7, 1, 3, norm="none", act="tanh", pad="reflect"))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
