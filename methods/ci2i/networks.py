"""cd-GAN networks (Lin, Xia, Qin, Chen, Liu, "Conditional Image-to-Image Translation", CVPR 2018, §3, Fig. 2).

Per domain an encoder ``e`` that splits an image into a domain-independent feature x^i (a feature map) and a
domain-specific feature x^s (a vector), and a generator ``g`` that turns a pair (x^i, x^s) back into an image of its
domain. The paper gives the layers in a supplement we could not obtain; every layer choice below is ours and is
listed in README.md (paper says / we chose / parameter):

- ``SplitEncoder``: an *independent* branch (stem + strided convs + residual blocks, instance norm: the content) and
  a *specific* branch (strided convs without normalisation, global average pooling, a linear layer: the vector).
  Normalisation is left out of the specific branch because instance norm would remove the colour statistics that
  the domain-specific feature must carry (the same reason MUNIT's style encoder has none).
- ``CombineGenerator``: the paper's ⊕ is read as channel concatenation of x^i and x^s tiled over space, then residual
  blocks, upsampling and a tanh output. Its norm is layer norm over (C,H,W): instance norm after the first conv would
  subtract exactly the spatially constant contribution of the tiled x^s and make the exemplar useless.
"""

from __future__ import annotations

import torch
from torch import nn

from methods.common.blocks import ConvBlock, ResBlocks, UpConvBlock
from methods.common.discriminators import PatchDiscriminator
from methods.common.unet import tile

Codes = tuple[torch.Tensor, torch.Tensor]  # (x^i [B,C,H/2^n,W/2^n], x^s [B,s_dim])


class SplitEncoder(nn.Module):
    """e_A / e_B: image [B,3,H,W] in [-1,1] → (x^i [B, dim·2^n_down, H/2^n_down, W/2^n_down], x^s [B, s_dim]).

    Independent branch: c7s1-dim, n_down × (4×4 stride-2 conv, doubling), n_res residual blocks (``norm``).
    Specific branch: spec_n_down × (4×4 stride-2 conv, doubling up to 4·dim, no norm), global average pool, linear.
    """

    def __init__(self, dim: int = 64, n_down: int = 2, n_res: int = 4, s_dim: int = 8, spec_n_down: int = 4, *,
                 norm: str = "instance", act: str = "relu", pad: str = "reflect") -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, norm=norm, act=act, pad=pad)]
        ch = dim
        for _ in range(n_down):
            layers.append(ConvBlock(ch, ch * 2, 4, 2, 1, norm=norm, act=act, pad=pad))
            ch *= 2
        layers.append(ResBlocks(n_res, ch, norm=norm, act=act, pad=pad))
        self.independent = nn.Sequential(*layers)
        self.independent_dim = ch

        spec: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, act=act, pad=pad)]
        ch = dim
        for _ in range(spec_n_down):
            out = min(ch * 2, dim * 4)
            spec.append(ConvBlock(ch, out, 4, 2, 1, act=act, pad=pad))
            ch = out
        spec.append(nn.AdaptiveAvgPool2d(1))
        self.specific_conv = nn.Sequential(*spec)
        self.specific_fc = nn.Linear(ch, s_dim)

    def forward(self, x: torch.Tensor) -> Codes:
        return self.independent(x), self.specific(x)

    def specific(self, x: torch.Tensor) -> torch.Tensor:
        """x^s [B, s_dim] alone (what an exemplar contributes)."""
        return self.specific_fc(self.specific_conv(x).flatten(1))


class CombineGenerator(nn.Module):
    """g_A / g_B: (x^i [B,C,h,w], x^s [B,s_dim]) → image [B,3,h·2^n_up,w·2^n_up] in [-1,1].

    ⊕ = concat(x^i, tile(x^s)) → 3×3 conv to C (``norm``) → n_res residual blocks → n_up × (nearest 2×, 5×5 conv,
    halving) → c7s1-3, tanh.
    """

    def __init__(self, in_dim: int, s_dim: int = 8, n_up: int = 2, n_res: int = 4, *, norm: str = "layer",
                 act: str = "relu", pad: str = "reflect") -> None:
        super().__init__()
        self.fuse = ConvBlock(in_dim + s_dim, in_dim, 3, 1, 1, norm=norm, act=act, pad=pad)
        layers: list[nn.Module] = [ResBlocks(n_res, in_dim, norm=norm, act=act, pad=pad)]
        ch = in_dim
        for _ in range(n_up):
            layers.append(UpConvBlock(ch, ch // 2, 5, mode="nearest", norm=norm, act=act, pad=pad))
            ch //= 2
        layers.append(ConvBlock(ch, 3, 7, 1, 3, act="tanh", pad=pad))
        self.decode = nn.Sequential(*layers)

    def forward(self, independent: torch.Tensor, specific: torch.Tensor) -> torch.Tensor:
        return self.decode(self.fuse(torch.cat([independent, tile(specific, independent)], 1)))


def patch_discriminator(ndf: int, n_layers: int, norm: str) -> PatchDiscriminator:
    """d_A / d_B: pix2pix's PatchGAN (n_layers=3: 70×70 patches), one logit per patch [B,1,h,w]."""
    return PatchDiscriminator(3, ndf, n_layers, norm=norm)
