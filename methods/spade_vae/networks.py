"""SPADE networks (Park et al., CVPR 2019), from appendix A: the generator in VAE mode (z → linear → SPADE ResBlks
with nearest up-sampling), the image encoder and the multi-scale PatchGAN discriminator (which returns its
intermediate features for the feature-matching loss). SPADE normalisation and its residual block: methods.common.spade.

Depth generalises the fixed ``normal`` layout: ``n_up_blocks`` up-sampling blocks after head/middle (the paper has
4, i.e. 5 up-samplings and a 8×8 start at 256 px); the encoder has as many stride-2 layers as bring
``encoder_size`` down to 4×4 (the paper: 256 → 6 layers).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from methods.common.discriminators import pyramid_outputs
from methods.common.spade import SPADEResBlock


class SPADEGenerator(nn.Module):
    """VAE-mode generator: z (z_dim) → linear → 16·nf × s × s → head, 2 middle blocks, ``n_up_blocks`` up blocks."""

    def __init__(self, label_nc: int, crop_size: int = 256, ngf: int = 64, z_dim: int = 256, n_up_blocks: int = 4,
                 spade_hidden: int = 128, param_free: str = "batch") -> None:
        super().__init__()
        n_ups = 1 + n_up_blocks
        if crop_size % 2 ** n_ups:
            raise ValueError(f"crop_size {crop_size} is not divisible by 2**{n_ups} (n_up_blocks={n_up_blocks})")
        self.s, self.ngf, self.z_dim = crop_size // 2 ** n_ups, ngf, z_dim
        top = 16 * ngf
        self.fc = nn.Linear(z_dim, top * self.s * self.s)
        self.head_0 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.G_middle_0 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.G_middle_1 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.ups = nn.ModuleList(
            SPADEResBlock(top // 2 ** i, top // 2 ** (i + 1), label_nc, spade_hidden, param_free)
            for i in range(n_up_blocks))
        self.conv_img = nn.Conv2d(top // 2 ** n_up_blocks, 3, 3, padding=1)

    def forward(self, seg: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, 16 * self.ngf, self.s, self.s)
        x = self.head_0(x, seg)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.G_middle_0(x, seg)
        x = self.G_middle_1(x, seg)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def _spectral_instance(conv: nn.Conv2d) -> nn.Sequential:
    """``spectralinstance``: spectral norm on the conv, its bias removed, then affine-free InstanceNorm."""
    conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    return nn.Sequential(spectral_norm(conv), nn.InstanceNorm2d(conv.out_channels, affine=False))


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
            _spectral_instance(nn.Conv2d(3 if i == 0 else widths[i - 1], w, 3, stride=2, padding=1))
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


class NLayerFeatureDiscriminator(nn.Module):
    """PatchGAN with k4, padding 2, ``n_layers`` layers (the last hidden one stride 1), spectral instance norm;
    returns every layer's output (the last one is the logit map)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(input_nc, ndf, 4, stride=2, padding=2),
                                                 nn.LeakyReLU(0.2, False))]
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            blocks.append(nn.Sequential(_spectral_instance(nn.Conv2d(prev, nf, 4, stride=stride, padding=2)),
                                        nn.LeakyReLU(0.2, False)))
        blocks.append(nn.Conv2d(nf, 1, 4, stride=1, padding=2))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2) -> None:
        super().__init__()
        self.nets = nn.ModuleList(NLayerFeatureDiscriminator(input_nc, ndf, n_layers) for _ in range(num_d))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return pyramid_outputs(self.nets, x)


def init_xavier(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """SPADE's ``init_weights('xavier', 0.02)``: Xavier-normal conv/linear weights, zero biases, BN N(1, 0.02)."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            if module.weight is not None:
                nn.init.normal_(module.weight, 1.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d | nn.Linear):
            # The official code writes into the *derived* ``weight`` of spectral-norm layers, which the next forward
            # pass overwrites from ``weight_orig``: those weights keep PyTorch's default init. Same here.
            if not hasattr(module, "weight_orig"):
                nn.init.xavier_normal_(module.weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net
