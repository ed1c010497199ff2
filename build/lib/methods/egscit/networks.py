"""EGSC-IT networks (paper §3.2 and Table 6; layer details from the official TF code, commit 57874f24).

No normalisation anywhere in the generators (the official scripts pass ``--norm=None``), reflect padding, LeakyReLU
0.2 after the non-residual convolutions, ReLU inside residual blocks, truncated-normal(0.02) initialisation.

- ``Encoder``: 7×7 conv (ngf) → (n_down − 1) stride-2 3×3 convs doubling the channels → ``n_res`` residual blocks.
  Table 6's n_1 = ``n_down`` (1 on MNIST-Single: no downsampling at all), n_2 = ``n_res`` + ``n_shared`` = 3 + 1.
- ``ResStack``: residual blocks; the shared encoder layer (its output is the latent mean μ) and the shared generator
  layer of UNIT's weight sharing.
- ``Decoder``: ``n_res`` residual blocks, an optional ``modulate`` hook before the first (EGSC-IT's feature mask +
  exemplar AdaIN), (n_down − 1) stride-2 transposed 3×3 convs halving the channels, a 1×1 transposed conv to RGB, tanh.
- ``Discriminator``: (n_dis) stride-2 4×4 convs (ndf, ×2 per layer), instance norm on all but the first, then a 1×1
  conv to the logit; Table 6's n_3 = n_dis + 1 = 5. The official quirks are kept: TF "SAME" zero padding, LeakyReLU
  applied twice after the first conv and once after the logit; LSGAN, single scale.
- ``VAEGAN``: stage 0, one per domain: Encoder → ResStack (μ; z = μ + N(0, I)) → ResStack → Decoder.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.blocks import ConvBlock, ResBlock

Modulate = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def truncated_normal_(weight: torch.Tensor, std: float) -> torch.Tensor:
    """N(0, std²) truncated at ±2σ by redrawing the values outside (TF's ``truncated_normal_initializer``); much
    faster on CPU than ``nn.init.trunc_normal_``'s inverse-CDF sampling."""
    weight.normal_(0.0, std)
    outside = weight.abs() > 2 * std
    while outside.any():
        weight[outside] = torch.randn(int(outside.sum()), dtype=weight.dtype, device=weight.device) * std
        outside = weight.abs() > 2 * std
    return weight


def init_generator(net: nn.Module, std: float = 0.02) -> nn.Module:
    """The official ``normal_weight_init``: truncated normal (±2σ) for conv kernels, zero biases."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            truncated_normal_(m.weight, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def init_discriminator(net: nn.Module) -> nn.Module:
    """slim.conv2d's defaults: Glorot-uniform kernels, zero biases (instance norm: γ=1, β=0)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def _res(channels: int) -> ResBlock:
    return ResBlock(channels, norm="none", act="relu", pad="reflect")


class Encoder(nn.Module):
    def __init__(self, ngf: int = 64, n_down: int = 1, n_res: int = 3, in_ch: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(in_ch, ngf, 7, 1, 3, act="lrelu", pad="reflect")]
        ch = ngf
        for _ in range(n_down - 1):
            layers.append(ConvBlock(ch, ch * 2, 3, 2, 1, act="lrelu", pad="reflect"))
            ch *= 2
        self.stem = nn.Sequential(*layers)
        self.res = nn.ModuleList([_res(ch) for _ in range(n_res)])
        self.out_channels = ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every residual block (the official ``encoder_spec`` keeps them all; only the last is used)."""
        x = self.stem(x)
        outs = []
        for block in self.res:
            x = block(x)
            outs.append(x)
        return outs or [x]


class ResStack(nn.Sequential):
    def __init__(self, channels: int, n: int) -> None:
        super().__init__(*[_res(channels) for _ in range(n)])


class Decoder(nn.Module):
    def __init__(self, ngf: int = 64, n_down: int = 1, n_res: int = 3, out_ch: int = 3) -> None:
        super().__init__()
        ch = ngf * 2 ** (n_down - 1)
        self.res = nn.ModuleList([_res(ch) for _ in range(n_res)])
        ups: list[nn.Module] = []
        for _ in range(n_down - 1):
            ups += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1), nn.LeakyReLU(0.2)]
            ch //= 2
        ups += [nn.ConvTranspose2d(ch, out_ch, 1), nn.Tanh()]
        self.up = nn.Sequential(*ups)

    def forward(self, x: torch.Tensor, modulate: Modulate | None = None) -> torch.Tensor:
        if modulate is not None:  # the official code conditions only before the first decoder block
            x = modulate(x)
        for block in self.res:
            x = block(x)
        return self.up(x)


class SameConv2d(nn.Conv2d):
    """A conv with TensorFlow's "SAME" zero padding (asymmetric when the total padding is odd)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 64, n_dis: int = 4, in_ch: int = 3) -> None:
        super().__init__()
        self.act = nn.LeakyReLU(0.2)
        self.first = SameConv2d(in_ch, ndf, 4, 2)
        blocks = []
        ch = ndf
        for _ in range(1, n_dis):
            blocks.append(nn.ModuleDict({"conv": SameConv2d(ch, ch * 2, 4, 2),
                                         "norm": nn.InstanceNorm2d(ch * 2, affine=True)}))
            ch *= 2
        self.blocks = nn.ModuleList(blocks)
        self.logit = nn.Conv2d(ch, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.act(self.first(x)))
        for block in self.blocks:
            x = self.act(block["norm"](self.act(block["conv"](x))))
        return self.act(self.logit(x))


class VAEGAN(nn.Module):
    """Stage-0 per-domain autoencoder (``UNIT_VAEGAN_recon``): its encoder is later frozen and supplies the feature
    masks and AdaIN statistics."""

    def __init__(self, ngf: int, n_down: int, n_res: int, n_shared: int) -> None:
        super().__init__()
        self.encoder = Encoder(ngf, n_down, n_res)
        ch = self.encoder.out_channels
        self.latent = ResStack(ch, n_shared)
        self.generator = ResStack(ch, n_shared)
        self.decoder = Decoder(ngf, n_down, n_res)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.latent(self.encoder(x))
        z = mu + torch.randn_like(mu)
        return self.decoder(self.generator(z)), mu
