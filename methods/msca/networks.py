"""MSCA's generator (Zheng et al., ECCV 2020, Fig. 2 left): feature extraction (§3.1, Eqs. 1–3), alignment by one
:class:`~methods.msca.attention.MSCAModule` per scale (§3.2) and SPADE synthesis conditioned on
concat(F_x1^(i), F_c1^(i)) at each scale (§3.3); and the 1×1 feature decoders of the attention pre-training (§4).

Scales i = 0..4 are the VGG-19 layers relu1_1..relu5_1 (widths 64, 128, 256, 512, 512), at 1, 1/2, 1/4, 1/8 and
1/16 of the image size; the frozen VGG itself stays outside these modules (``methods.msca`` feeds its features in).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from methods.common.spade import SPADEResBlock
from methods.msca.attention import MSCAModule, resize_labels

VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_WIDTHS = (64, 128, 256, 512, 512)
SCALES = len(VGG_LAYERS)  # L + 1 with L = 4


def scale_sizes(h: int, w: int) -> list[tuple[int, int]]:
    """The (h, w) of VGG-19's scale i for an h×w image: halved (floor) by each 2×2 max-pool."""
    return [(h >> i, w >> i) for i in range(SCALES)]


class LabelPyramid(nn.Module):
    """Eqs. 2–3, one set of weights for c₁ and c̃₂: F^(4) = LReLU(W^(4) * c^(4)) and, coarse to fine,
    F^(i) = LReLU(W^(i) * [↑F^(i+1), c^(i)]), W 1×1 convs without bias (the equations have none), ↑ bilinear
    (align_corners=False) to scale i's size, which is ×2 for sizes divisible by 16.

    forward(list of SCALES one-hot maps [B,C,h_i,w_i]) → list of SCALES features [B,M_i,h_i,w_i].
    """

    def __init__(self, label_nc: int, widths: Sequence[int], slope: float = 0.2) -> None:
        super().__init__()
        self.slope = slope
        self.convs = nn.ModuleList(
            nn.Conv2d(label_nc + (widths[i + 1] if i + 1 < SCALES else 0), widths[i], 1, bias=False)
            for i in range(SCALES))

    def forward(self, maps: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        out: list[torch.Tensor] = [maps[0]] * SCALES
        f = F.leaky_relu(self.convs[-1](maps[-1]), self.slope)
        out[-1] = f
        for i in range(SCALES - 2, -1, -1):
            up = F.interpolate(f, size=maps[i].shape[-2:], mode="bilinear", align_corners=False)
            f = F.leaky_relu(self.convs[i](torch.cat([up, maps[i]], 1)), self.slope)
            out[i] = f
        return out


class MSCAGenerator(nn.Module):
    """G(c₁, x₂, c̃₂) of Fig. 2: Eq. 1's 1×1 compressions W_x^(i) (VGG width → ``x_channels[i]``, no bias), the
    shared label pyramid (``c_channels``), one MSCA module per scale (``ks``), and a SPADE generator whose blocks
    take concat(F_x1^(i), F_c1^(i)) of the scale of their resolution: a 3×3 conv of scale 4's conditioning at half
    scale 4's size, head_0 there, ↑, G_middle_0/1 at scale 4, then one up-block per scale 3, 2, 1, 0 (widths
    16·ngf → ngf, as SPADE's ``normal`` generator), LeakyReLU 0.2, 3×3 conv, tanh. Up-sampling is nearest, to the
    next scale's exact size.

    forward(vgg features of x₂ [list of SCALES, B×VGG_WIDTHS[i]×h_i×w_i], c₁ [B,C,H,W], c̃₂ [B,C,H2,W2] one-hot)
    → (image [B,3,H,W] in [-1,1], conditionings per scale, attention maps per scale).
    """

    def __init__(self, label_nc: int, x_channels: Sequence[int], c_channels: Sequence[int], ks: Sequence[int],
                 mask_hidden: int, attention: str, masking: bool, ngf: int, spade_hidden: int, param_free: str,
                 slope: float = 0.2) -> None:
        super().__init__()
        self.compress = nn.ModuleList(nn.Conv2d(VGG_WIDTHS[i], x_channels[i], 1, bias=False) for i in range(SCALES))
        self.labels = LabelPyramid(label_nc, c_channels, slope)
        self.align = nn.ModuleList(MSCAModule(x_channels[i], c_channels[i], ks[i], mask_hidden, attention, masking,
                                              label_nc) for i in range(SCALES))
        cond = [x + c for x, c in zip(x_channels, c_channels, strict=True)]
        self.cond_channels = cond
        top = 16 * ngf
        block = {"hidden": spade_hidden, "param_free": param_free}
        self.fc = nn.Conv2d(cond[4], top, 3, padding=1)
        self.head_0 = SPADEResBlock(top, top, cond[4], **block)
        self.G_middle_0 = SPADEResBlock(top, top, cond[4], **block)
        self.G_middle_1 = SPADEResBlock(top, top, cond[4], **block)
        self.ups = nn.ModuleList(SPADEResBlock(top >> j, top >> (j + 1), cond[3 - j], **block) for j in range(4))
        self.conv_img = nn.Conv2d(top >> 4, 3, 3, padding=1)

    def alignment_parameters(self) -> list[nn.Parameter]:
        """What the attention pre-training trains (with the decoders): Eq. 1–8's convs and MLPs."""
        return [*self.compress.parameters(), *self.labels.parameters(), *self.align.parameters()]

    def alignment_modules(self) -> list[nn.Conv2d | nn.Linear]:
        """The convs and linear layers of :meth:`alignment_parameters`, in a fixed order (for re-initialisation)."""
        return [layer for part in (self.compress, self.labels, self.align) for layer in part.modules()
                if isinstance(layer, nn.Conv2d | nn.Linear)]

    def condition(self, vgg_x2: Sequence[torch.Tensor], c1: torch.Tensor, c2: torch.Tensor
                  ) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
        """(concat(F_x1^(i), F_c1^(i)) [B, x_channels[i] + c_channels[i], h_i, w_i] per scale, MSCA maps per
        scale)."""
        sizes1 = scale_sizes(*c1.shape[-2:])
        c1s = [resize_labels(c1, s) for s in sizes1]
        c2s = [resize_labels(c2, tuple(f.shape[-2:])) for f in vgg_x2]
        fc1, fc2 = self.labels(c1s), self.labels(c2s)
        conds, maps = [], []
        for i in range(SCALES):
            fx2 = self.compress[i](vgg_x2[i])  # Eq. 1
            fx1, m = self.align[i](fx2, fc1[i], fc2[i], c1s[i], c2s[i])
            conds.append(torch.cat([fx1, fc1[i]], 1))
            maps.append(m)
        return conds, maps

    def synthesise(self, conds: Sequence[torch.Tensor]) -> torch.Tensor:
        """SPADE synthesis from the per-scale conditionings → [B,3,H,W] in [-1,1] (H, W: scale 0's size)."""
        h4, w4 = conds[4].shape[-2:]
        x = self.fc(F.interpolate(conds[4], size=((h4 + 1) // 2, (w4 + 1) // 2), mode="nearest"))
        x = self.head_0(x, conds[4])
        x = F.interpolate(x, size=(h4, w4), mode="nearest")
        x = self.G_middle_1(self.G_middle_0(x, conds[4]), conds[4])
        for j, block in enumerate(self.ups):
            cond = conds[3 - j]
            x = block(F.interpolate(x, size=cond.shape[-2:], mode="nearest"), cond)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))

    def forward(self, vgg_x2: Sequence[torch.Tensor], c1: torch.Tensor, c2: torch.Tensor
                ) -> tuple[torch.Tensor, list[torch.Tensor], list[dict[str, torch.Tensor]]]:
        conds, maps = self.condition(vgg_x2, c1, c2)
        return self.synthesise(conds), conds, maps


class FeatureDecoders(nn.Module):
    """The attention pre-training's lightweight decoder (§4): per scale one 1×1 conv (with bias) from
    concat(F_x1^(i), F_c1^(i)) to VGG-19's features at that scale. forward(conds) → list of [B,VGG_WIDTHS[i],h,w]."""

    def __init__(self, cond_channels: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c, VGG_WIDTHS[i], 1) for i, c in enumerate(cond_channels))

    def forward(self, conds: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [conv(c) for conv, c in zip(self.convs, conds, strict=True)]
