"""Decoders that mirror VGG-19 (AdaIN, Huang & Belongie, ICCV 2017, §6.1; WCT, Li et al., NeurIPS 2017).

``mirror_decoder(upto)`` builds the decoder of AdaIN's official ``train.lua``: the encoder's convolutions in reverse
order (in/out channels swapped) as reflection-pad + 3×3 conv + ReLU, max-pooling replaced by nearest up-sampling,
and no activation after the last convolution. With ``relu4_1`` this is AdaIN's decoder (3,505,219 parameters);
WCT uses the same construction for the decoder of each ReLU_X_1.
"""

from __future__ import annotations

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
    """The decoder from VGG-19's ``upto`` features ([N,C,h,w]) back to an image [N,3,H,W] (unbounded)."""
    layers: list[nn.Module] = []
    for item in reversed(_vgg_prefix(upto)):
        if item == "M":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            cin, cout = item
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cout, cin, 3), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no ReLU after the output convolution
