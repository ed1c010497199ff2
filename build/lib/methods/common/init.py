"""Weight initialisation (CycleGAN/pix2pix ``init_weights``, MUNIT ``weights_init``)."""

from __future__ import annotations

import math

from torch import nn

INIT_KINDS = ("normal", "xavier", "kaiming", "orthogonal", "default")


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02, zero_bias: bool = True) -> nn.Module:
    """Conv/Linear weights: ``normal`` N(0, gain) (pix2pix/CycleGAN, MUNIT's "gaussian" D), ``xavier``/``orthogonal``
    with ``gain``, ``kaiming`` He-normal fan-in (MUNIT's generators); biases 0 unless ``zero_bias=False`` (UNIT keeps
    PyTorch's default biases). BatchNorm: weight N(1, gain), bias 0. ``default`` keeps PyTorch's own initialisation."""
    if kind not in INIT_KINDS:
        raise ValueError(f"unknown init {kind!r}; valid: {', '.join(INIT_KINDS)}")
    if kind == "default":
        return net

    def apply(m: nn.Module) -> None:
        weight = getattr(m, "weight_orig", getattr(m, "weight", None))  # spectral norm keeps the raw weight here
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) and weight is not None:
            if kind == "normal":
                nn.init.normal_(weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(weight, gain=gain if gain else math.sqrt(2))
            if zero_bias and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    net.apply(apply)
    return net
