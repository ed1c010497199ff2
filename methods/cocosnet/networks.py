"""CoCosNet's translation generator and discriminator (microsoft/CoCosNet@de0c1bbd, ``models/networks/generator.py``
``SPADEGenerator`` and ``discriminator.py``; paper §3.2).

Generator: the SPADE conditioning is concat(warped exemplar RGB, input conditioning) (``CBN_intype=warp_mask``).
fc = 3×3 conv of that map resized (nearest) to crop/32 → 16·ngf channels; head_0 (16ngf) → ↑ → G_middle_0, G_middle_1
(16ngf) → ↑ → up_0 (→8ngf) → ↑ → up_1 (→4ngf) → ↑ → self-attention (``use_attention``) → up_2 (→2ngf) → ↑ → up_3
(→ngf) → LeakyReLU(0.2) → 3×3 conv → tanh. SPADE with positional normalisation, reflection padding, hidden 128.

Discriminator: ``num_d`` PatchGANs on an average-pooled pyramid; each: 4×4 conv stride 2 (ndf) + LeakyReLU, then
n_layers−1 spectral-instance 4×4 convs (×2 channels up to 512; the last stride 1), a self-attention block before that
last one (``use_attention``), a 4×4 conv to one logit; padding 1 (CoCosNet's ``int((kw−1)/2)``, SPADE pads 2).
The official discriminator also builds a segmentation decoder that its forward pass never uses; it is left out
here (its parameters are listed in methods/cocosnet/README.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methods.cocosnet.blocks import Attention
from methods.common.discriminators import pyramid_outputs
from methods.common.spade import SPADEResBlock, spectral_instance

N_UPSAMPLINGS = 5  # head at crop/32 (``num_upsampling_layers normal``)


class CoCosGenerator(nn.Module):
    """(cond [N,cond_nc,H,W]) → image [N,3,crop,crop] in [−1,1]; ``crop_size`` a multiple of 32."""

    def __init__(self, cond_nc: int, crop_size: int = 256, ngf: int = 64, spade_hidden: int = 128,
                 param_free: str = "pono", use_attention: bool = True) -> None:
        super().__init__()
        if crop_size % 2 ** N_UPSAMPLINGS or crop_size < 2 ** (N_UPSAMPLINGS + 1):
            raise ValueError(f"crop_size must be a multiple of {2 ** N_UPSAMPLINGS} and at least 64 (reflection "
                             f"padding of the crop/32 head), got {crop_size}")
        self.s = crop_size // 2 ** N_UPSAMPLINGS

        def block(fin: int, fout: int) -> SPADEResBlock:
            return SPADEResBlock(fin, fout, cond_nc, spade_hidden, param_free, kernel_size=3, spectral=True,
                                 reflect_pad=True)

        nf = ngf
        self.fc = nn.Conv2d(cond_nc, 16 * nf, 3, padding=1)
        self.head_0 = block(16 * nf, 16 * nf)
        self.G_middle_0 = block(16 * nf, 16 * nf)
        self.G_middle_1 = block(16 * nf, 16 * nf)
        self.up_0 = block(16 * nf, 8 * nf)
        self.up_1 = block(8 * nf, 4 * nf)
        self.attn = Attention(4 * nf, spectral=True) if use_attention else None
        self.up_2 = block(4 * nf, 2 * nf)
        self.up_3 = block(2 * nf, nf)
        self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, scale_factor=2, mode="nearest")

        x = self.fc(F.interpolate(cond, size=(self.s, self.s), mode="nearest"))
        x = up(self.head_0(x, cond))
        x = self.G_middle_1(self.G_middle_0(x, cond), cond)
        x = up(self.up_0(up(x), cond))
        x = up(self.up_1(x, cond))
        if self.attn is not None:
            x = self.attn(x)
        x = self.up_3(up(self.up_2(x, cond)), cond)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class PatchDiscriminator(nn.Module):
    """One scale; returns every layer's output, the logit map last (for feature matching)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, use_attention: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1),
                                                 nn.LeakyReLU(0.2))]
        nf = ndf
        self.attn: Attention | None = None
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            if n == n_layers - 1 and use_attention:
                self.attn = Attention(prev, spectral=True)
            stride = 1 if n == n_layers - 1 else 2
            layers.append(nn.Sequential(spectral_instance(nn.Conv2d(prev, nf, 4, stride=stride, padding=1)),
                                        nn.LeakyReLU(0.2)))
        layers.append(nn.Conv2d(nf, 1, 4, stride=1, padding=1))
        self.layers = nn.ModuleList(layers)
        self.attn_at = n_layers - 1  # the attention block feeds the last hidden layer

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, layer in enumerate(self.layers):
            if i == self.attn_at and self.attn is not None:
                x = self.attn(x)
            x = layer(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` independent PatchGANs; scale k sees the input after k 3×3 stride-2 average pools."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2,
                 use_attention: bool = True) -> None:
        super().__init__()
        self.nets = nn.ModuleList(PatchDiscriminator(input_nc, ndf, n_layers, use_attention) for _ in range(num_d))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return pyramid_outputs(self.nets, x)
