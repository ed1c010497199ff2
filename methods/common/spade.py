"""SPADE building blocks (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019,
§3 Eq. 1; NVlabs/SPADE ``models/networks/normalization.py`` and ``architecture.py``), generalised to the variants
that CoCosNet (Zhang et al., CVPR 2020; microsoft/CoCosNet, same files) uses: positional normalisation as the
parameter-free norm (``--PONO``), reflection padding instead of zero padding, and spectral norm as an option.

Shared by ``spade_vae``, ``spade`` and ``cocosnet``. Submodule names (``norm``, ``shared``, ``gamma``, ``beta``;
``conv_0``, ``conv_1``, ``conv_s``, ``norm_0``, ``norm_1``, ``norm_s``) and the order in which parameters are
created are part of the interface: checkpoints and seeded initialisations depend on them.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from core.errors import BenchError

ParamFreeNorm = Literal["batch", "instance", "sync", "pono"]
PARAM_FREE_NORMS: tuple[str, ...] = get_args(ParamFreeNorm)


class PositionalNorm2d(nn.Module):
    """Positional normalisation (Li et al., NeurIPS 2019; CoCosNet's ``PositionalNorm2d``): each pixel's feature
    vector is normalised by its own mean and standard deviation over the channels.

    x [N,C,H,W] → (x − mean_C) / sqrt(var_C + eps), var unbiased (torch's default, as the official function).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        return (x - mean) / (x.var(dim=1, keepdim=True) + self.eps).sqrt()


def param_free_norm(kind: str, channels: int) -> nn.Module:
    """The affine-free normalisation before SPADE's modulation.

    ``batch``: BatchNorm2d; ``sync``: SyncBatchNorm, which synchronises statistics across processes when
    torch.distributed is initialised and is plain batch norm on one process (the official ``syncbatch``);
    ``instance``: InstanceNorm2d; ``pono``: :class:`PositionalNorm2d`. Raises BenchError for another name.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    if kind == "sync":
        return nn.SyncBatchNorm(channels, affine=False)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "pono":
        return PositionalNorm2d()
    raise BenchError(f"unknown SPADE param-free norm {kind!r}", hint=f"use one of {', '.join(PARAM_FREE_NORMS)}")


def _pad(x: torch.Tensor, width: int, reflect: bool) -> torch.Tensor:
    return F.pad(x, (width,) * 4, mode="reflect") if reflect and width else x


class SPADE(nn.Module):
    """SPADE normalisation: out = norm(x) · (1 + γ(m)) + β(m).

    γ and β come from the conditioning map m (resized, nearest, to x's size) through a shared k×k conv + ReLU of
    ``hidden`` channels (128 in both official codes) and one k×k conv each. ``reflect_pad`` pads those convs by
    reflection (CoCosNet) instead of zeros (SPADE); the parameters are the same either way.

    x: [N, norm_nc, H, W]; segmap: [N, label_nc, h, w] (any size, any value range) → [N, norm_nc, H, W].
    """

    def __init__(self, norm_nc: int, label_nc: int, hidden: int = 128, param_free: str = "batch",
                 kernel_size: int = 3, reflect_pad: bool = False) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise BenchError(f"SPADE kernel_size must be odd, got {kernel_size}", hint="use 3 (official) or 1, 5")
        self.norm = param_free_norm(param_free, norm_nc)
        self.reflect_pad, self.pw = reflect_pad, kernel_size // 2
        zero_pw = 0 if reflect_pad else self.pw
        self.shared = nn.Sequential(nn.Conv2d(label_nc, hidden, kernel_size, padding=zero_pw), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, norm_nc, kernel_size, padding=zero_pw)
        self.beta = nn.Conv2d(hidden, norm_nc, kernel_size, padding=zero_pw)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        segmap = F.interpolate(segmap, size=x.shape[-2:], mode="nearest")
        actv = self.shared(_pad(segmap, self.pw, self.reflect_pad))
        actv = _pad(actv, self.pw, self.reflect_pad)
        return self.norm(x) * (1 + self.gamma(actv)) + self.beta(actv)


class SPADEResBlock(nn.Module):
    """SPADE residual block (Park et al. 2019, Fig. 4 right; official ``SPADEResnetBlock``).

    dx = conv_1(lrelu(SPADE_1(conv_0(lrelu(SPADE_0(x, m))), m))), with the middle width min(fin, fout) and
    LeakyReLU 0.2; the shortcut is x, or conv_s(SPADE_s(x, m)) (1×1, no bias) when fin ≠ fout. ``spectral`` puts
    spectral norm on conv_0/conv_1/conv_s (the official ``spectral`` in ``norm_G``); ``reflect_pad`` pads the 3×3
    convs (and the SPADE convs) by reflection, as CoCosNet does.

    x: [N, fin, H, W]; seg: [N, label_nc, h, w] → [N, fout, H, W].
    """

    def __init__(self, fin: int, fout: int, label_nc: int, hidden: int = 128, param_free: str = "batch",
                 kernel_size: int = 3, spectral: bool = True, reflect_pad: bool = False) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        self.reflect_pad = reflect_pad
        fmid = min(fin, fout)
        sn = spectral_norm if spectral else (lambda m: m)
        pad = 0 if reflect_pad else 1
        self.conv_0 = sn(nn.Conv2d(fin, fmid, 3, padding=pad))
        self.conv_1 = sn(nn.Conv2d(fmid, fout, 3, padding=pad))
        spade_args = (label_nc, hidden, param_free, kernel_size, reflect_pad)
        self.norm_0 = SPADE(fin, *spade_args)
        self.norm_1 = SPADE(fmid, *spade_args)
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, *spade_args)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(_pad(F.leaky_relu(self.norm_0(x, seg), 0.2), 1, self.reflect_pad))
        dx = self.conv_1(_pad(F.leaky_relu(self.norm_1(dx, seg), 0.2), 1, self.reflect_pad))
        return x_s + dx
