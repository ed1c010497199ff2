"""The pix2pix U-Net generator (Isola et al., CVPR 2017, §3.2 and appendix 6.1), shared by pix2pix, pix2pix_noise
and BicycleGAN.

The U-Net is described by its number of down-samplings ``num_downs``: level ``i`` (0 = outermost) has ``ngf *
min(2**i, 8)`` channels, the innermost level has no normalisation on its down path, and dropout sits on the levels
``4 <= i <= num_downs - 2`` (the 8·ngf levels between the fixed outer four and the innermost one), exactly where
``unet_256`` (num_downs 8) and ``unet_128`` (7) put it. A latent code ``z`` can be tiled and concatenated to the input
only (``where_add="input"``: pix2pix+noise) or to the input of every down-sampling (``"all"``: BicycleGAN).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.blocks import Norm, norm_layer


def _seq(*layers: nn.Module | None) -> nn.Sequential:
    return nn.Sequential(*[layer for layer in layers if layer is not None])


def tile(z: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return z.view(z.size(0), z.size(1), 1, 1).expand(z.size(0), z.size(1), like.size(2), like.size(3))


class UnetLevel(nn.Module):
    """One level of the U-Net: down-sample, run the inner levels, up-sample; the skip concatenates the input."""

    def __init__(self, input_nc: int, outer_nc: int, inner_nc: int, inner: UnetLevel | None, *, outermost: bool,
                 norm: Norm, bias: bool, dropout: bool, nz_here: int) -> None:
        super().__init__()
        self.outermost, self.inner, self.nz_here = outermost, inner, nz_here
        innermost = inner is None
        down_conv = nn.Conv2d(input_nc + nz_here, inner_nc, 4, stride=2, padding=1, bias=bias)
        up_in = inner_nc if innermost else inner_nc * 2
        if outermost:
            self.down = _seq(down_conv)
            self.up = _seq(nn.ReLU(True), nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1), nn.Tanh())
        else:
            self.down = _seq(nn.LeakyReLU(0.2, True), down_conv, None if innermost else norm_layer(norm, inner_nc))
            self.up = _seq(nn.ReLU(True), nn.ConvTranspose2d(up_in, outer_nc, 4, stride=2, padding=1, bias=bias),
                           norm_layer(norm, outer_nc), nn.Dropout(0.5) if dropout else None)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        h = torch.cat([x, tile(z, x)], 1) if self.nz_here else x
        h = self.down(h)
        if self.inner is not None:
            h = self.inner(h, z)
        h = self.up(h)
        return h if self.outermost else torch.cat([x, h], 1)


class UnetGenerator(nn.Module):
    """U-Net generator; inputs whose size is not a multiple of ``2**num_downs`` are edge-padded and cropped back."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: Norm = "batch", use_dropout: bool = True, nz: int = 0,
                 where_add: Literal["input", "all"] = "input", bias: bool | None = None) -> None:
        super().__init__()
        if num_downs < 1:
            raise ValueError("num_downs must be at least 1")
        # Official rule (pix2pix): convolutions before a BatchNorm carry no bias; BicycleGAN passes bias=True.
        bias = norm != "batch" if bias is None else bias
        self.num_downs, self.nz = num_downs, nz
        widths = [ngf * min(2 ** i, 8) for i in range(num_downs)]
        level: UnetLevel | None = None
        for i in reversed(range(num_downs)):
            outer = output_nc if i == 0 else widths[i - 1]
            level_input = input_nc if i == 0 else widths[i - 1]
            add_z = nz if (where_add == "all" or i == 0) else 0
            level = UnetLevel(level_input, outer, widths[i], level, outermost=i == 0, norm=norm, bias=bias,
                              dropout=use_dropout and 4 <= i <= num_downs - 2, nz_here=add_z)
        assert level is not None
        self.model = level

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.nz and z is None:
            raise ValueError(f"this generator takes a latent code of size {self.nz}")
        h, w = x.shape[-2:]
        m = 2 ** self.num_downs
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:  # edge padding keeps the borders' colours (uniform backgrounds stay uniform)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")
        out = self.model(x, z if self.nz else None)
        return out[..., ph // 2: ph // 2 + h, pw // 2: pw // 2 + w]
