"""PatchGAN and multi-scale discriminators.

``PatchDiscriminator`` is pix2pix/CycleGAN's ``NLayerDiscriminator`` (Isola et al. 2017, §3.2.2): ``n_layers``
stride-2 4×4 convs (channels ×2 per layer, capped at 8·ndf), one stride-1 4×4 conv, then a stride-1 4×4 conv to one
logit per patch; n_layers=3 gives the 70×70 receptive field. ``MultiScaleDiscriminator`` (pix2pixHD, MUNIT,
SPADE) applies independent copies to the input and its 2×, 4×, ... average-pooled versions;
``MultiScalePatchDiscriminator`` is BicycleGAN's variant whose widths halve per scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.blocks import Norm, make_norm


def half_scale(x: torch.Tensor) -> torch.Tensor:
    """The multi-scale discriminators' down-sampling: 3×3 average pooling, stride 2, padding not counted."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


def pyramid_outputs(nets: Iterable[nn.Module], x: torch.Tensor,
                    downsample: Callable[[torch.Tensor], torch.Tensor] = half_scale, **kwargs: object) -> list:
    """``[nets[0](x), nets[1](down(x)), nets[2](down(down(x))), ...]``: one discriminator per pyramid level."""
    outputs = []
    for i, net in enumerate(nets):
        if i:
            x = downsample(x)
        outputs.append(net(x, **kwargs))
    return outputs

class PatchDiscriminator(nn.Module):
    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3, *, norm: str = "batch",
                 spectral: bool = False, kernel: int = 4, padding: int = 1) -> None:
        super().__init__()
        use_bias = norm != "batch"  # a batch norm's shift makes the conv bias redundant (pix2pix)

        def conv(i: int, o: int, stride: int, bias: bool = use_bias) -> nn.Module:
            layer = nn.Conv2d(i, o, kernel, stride, padding, bias=bias)
            return nn.utils.spectral_norm(layer) if spectral else layer

        layers: list[nn.Sequential] = [nn.Sequential(conv(in_ch, ndf, 2, True), nn.LeakyReLU(0.2, True))]
        ch = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers.append(nn.Sequential(conv(ch, out, stride), make_norm(norm, out), nn.LeakyReLU(0.2, True)))
            ch = out
        layers.append(nn.Sequential(conv(ch, 1, 1, True)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """Patch logits [B,1,h,w]; with ``return_features`` every layer's output, logits last (feature matching)."""
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features if return_features else x


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` discriminators built by ``make``; scale k sees the input downsampled k times, by default with a
    3×3 stride-2 average pool that excludes the padding (pix2pixHD/MUNIT/BicycleGAN); ``downsample`` replaces it (UNIT
    blurs, then subsamples). Returns one output per scale, finest first."""

    def __init__(self, make: Callable[[], nn.Module], num_scales: int, downsample: nn.Module | None = None) -> None:
        super().__init__()
        if num_scales < 1:
            raise ValueError("num_scales must be ≥ 1")
        self.scales = nn.ModuleList([make() for _ in range(num_scales)])
        self.downsample = downsample or nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor, **kwargs: object) -> list:
        return pyramid_outputs(self.scales, x, self.downsample, **kwargs)


class MultiScalePatchDiscriminator(nn.Module):
    """BicycleGAN's ``D_NLayersMulti``: ``num_d`` PatchGANs on an average-pooled pyramid whose widths halve per
    scale (``ndf / 2**i``; ``MultiScaleDiscriminator`` keeps one width, hence this class)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: Norm = "instance",
                 num_d: int = 2) -> None:
        super().__init__()
        self.nets = nn.ModuleList(
            PatchDiscriminator(input_nc, round(ndf / 2 ** i), n_layers, norm=norm) for i in range(num_d))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return pyramid_outputs(self.nets, x)
