"""BicycleGAN's encoder E (``E_ResNet``, netE ``resnet_256``/``resnet_128``): a strided conv, ``n_blocks - 1``
residual down-sampling blocks, global average pooling, and two linear heads for μ and log σ².

The generator (U-Net with z added at every level, ``methods.common.unet``) and the discriminators (two-scale
PatchGANs, ``methods.common.discriminators.MultiScalePatchDiscriminator``) are the pix2pix networks with BicycleGAN's
settings (InstanceNorm, biases everywhere).
"""

from __future__ import annotations

import torch
from torch import nn

from methods.common.blocks import Norm, norm_layer


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2, True)


class ResidualDown(nn.Module):
    """``BasicBlock``: [norm, lrelu, conv3×3, norm, lrelu, conv3×3, avgpool2] + [avgpool2, conv1×1] shortcut."""

    def __init__(self, inplanes: int, outplanes: int, norm: Norm) -> None:
        super().__init__()
        layers: list[nn.Module | None] = [
            norm_layer(norm, inplanes), _lrelu(), nn.Conv2d(inplanes, inplanes, 3, padding=1),
            norm_layer(norm, inplanes), _lrelu(), nn.Conv2d(inplanes, outplanes, 3, padding=1), nn.AvgPool2d(2, 2)]
        self.conv = nn.Sequential(*[layer for layer in layers if layer is not None])
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(inplanes, outplanes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.shortcut(x)


class ResNetEncoder(nn.Module):
    """E(B) → (μ, log σ²), each [N, nz]. The official code average-pools an 8×8 map (``AvgPool2d(8)`` at 256 px);
    a global average pool is the same there and also works on smaller images."""

    def __init__(self, input_nc: int = 3, nz: int = 8, nef: int = 64, n_blocks: int = 5,
                 norm: Norm = "instance") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(input_nc, nef, 4, stride=2, padding=1)]
        out = nef
        for n in range(1, n_blocks):
            inp, out = nef * min(4, n), nef * min(4, n + 1)
            layers.append(ResidualDown(inp, out, norm))
        layers += [_lrelu(), nn.AdaptiveAvgPool2d(1)]
        self.conv = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(out, nz)
        self.fc_logvar = nn.Linear(out, nz)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(x).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)
