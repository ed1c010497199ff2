"""AdaIN (Huang & Belongie, ICCV 2017): the AdaIN layer (Eq. 8) and decoders that mirror VGG-19 (§6.1).

``mirror_decoder(upto)`` builds the decoder of the official ``train.lua``: the encoder's convolutions in reverse
order (in/out channels swapped) as reflection-pad + 3×3 conv + ReLU, max-pooling replaced by nearest up-sampling,
and no activation after the last convolution. With ``relu4_1`` this is AdaIN's decoder (3,505,219 parameters);
WCT (Li et al. 2017) uses the same construction for the decoder of each ReLU_X_1.
"""

from __future__ import annotations

import torch
from torch import nn

from core.features import VGG19_RELU

# (in, out) channels of VGG-19's convolutions in ``features`` order, and where its max-pools sit.
_VGG19_CFG: list[tuple[int, int] | str] = [
    (3, 64), (64, 64), "M", (64, 128), (128, 128), "M", (128, 256), (256, 256), (256, 256), (256, 256), "M",
    (256, 512), (512, 512), (512, 512), (512, 512), "M", (512, 512), (512, 512), (512, 512), (512, 512), "M",
]


def _vgg_prefix(upto: str) -> list[tuple[int, int] | str]:
    """The conv/pool sequence of ``vgg19().features`` up to the conv feeding ``upto``."""
    stop, index, out = VGG19_RELU[upto], 0, []
    for item in _VGG19_CFG:
        if index > stop:
            break
        out.append(item)
        index += 1 if item == "M" else 2  # a conv is followed by its ReLU
    return out


def mirror_decoder(upto: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for item in reversed(_vgg_prefix(upto)):
        if item == "M":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            cin, cout = item
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cout, cin, 3), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the output convolution


def mean_std(feat: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and (biased) standard deviation over the spatial positions, shape [N,C,1,1]."""
    flat = feat.flatten(2)
    mean = flat.mean(-1)
    std = (flat.var(-1, unbiased=False) + eps).sqrt()
    return mean[..., None, None], std[..., None, None]


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y) (Eq. 8). As in the official layer, σ(x) carries ε = 1e-5 inside
    the square root (it is a BatchNorm over N·C channels) and σ(y) is the plain biased standard deviation."""
    c_mean, c_std = mean_std(content, eps)
    s_mean, s_std = mean_std(style)
    return s_std * (content - c_mean) / c_std + s_mean
