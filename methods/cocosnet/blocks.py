"""Building blocks of CoCosNet's networks (microsoft/CoCosNet@de0c1bbd, ``models/networks/normalization.py`` and
``architecture.py``): positional normalisation, SPADE with reflection padding, the SPADE residual block with
spectral norm, the SAGAN self-attention block, and the spectral-instance conv of the adaptors and discriminator.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

ParamFree = Literal["pono", "instance", "batch"]
PARAM_FREE: tuple[str, ...] = ("pono", "instance", "batch")


def pono(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Positional normalisation (Li et al., NeurIPS 2019): per pixel, over the channels, (x − μ)/√(σ²+ε) with the
    unbiased variance as the official ``PositionalNorm2d``. [N,C,H,W] → [N,C,H,W]."""
    return (x - x.mean(dim=1, keepdim=True)) / x.var(dim=1, keepdim=True).add(eps).sqrt()


class SPADE(nn.Module):
    """out = norm(x)·(1 + γ(m)) + β(m); γ, β from the conditioning map m (resized nearest to x) by a shared
    k×k conv + ReLU and two k×k convs, all reflection-padded (CoCosNet's ``pad_type='nozero'``)."""

    def __init__(self, norm_nc: int, cond_nc: int, hidden: int = 128, kernel: int = 3,
                 param_free: ParamFree = "pono") -> None:
        super().__init__()
        if param_free not in PARAM_FREE:
            raise ValueError(f"unknown param-free norm {param_free!r}; valid: {', '.join(PARAM_FREE)}")
        self.param_free = param_free
        self.norm = (nn.InstanceNorm2d(norm_nc, affine=False) if param_free == "instance"
                     else nn.BatchNorm2d(norm_nc, affine=False) if param_free == "batch" else None)
        pad = kernel // 2
        self.mlp_shared = nn.Sequential(nn.ReflectionPad2d(pad), nn.Conv2d(cond_nc, hidden, kernel), nn.ReLU())
        self.pad = nn.ReflectionPad2d(pad)
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, kernel)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, kernel)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        normalised = pono(x) if self.norm is None else self.norm(x)
        actv = self.mlp_shared(F.interpolate(cond, size=x.shape[-2:], mode="nearest"))
        actv = self.pad(actv)
        return normalised * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResBlock(nn.Module):
    """SPADE → LeakyReLU(0.2) → reflection pad → 3×3 conv, twice, plus a (learned when fin ≠ fout) shortcut; all
    convs spectral-normalised. Width min(fin, fout) in the middle."""

    def __init__(self, fin: int, fout: int, cond_nc: int, hidden: int = 128, param_free: ParamFree = "pono") -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmid = min(fin, fout)
        self.pad = nn.ReflectionPad2d(1)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmid, 3))
        self.conv_1 = spectral_norm(nn.Conv2d(fmid, fout, 3))
        self.norm_0 = SPADE(fin, cond_nc, hidden, 3, param_free)
        self.norm_1 = SPADE(fmid, cond_nc, hidden, 3, param_free)
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, cond_nc, hidden, 3, param_free)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, cond)) if self.learned_shortcut else x
        dx = self.conv_0(self.pad(F.leaky_relu(self.norm_0(x, cond), 0.2)))
        dx = self.conv_1(self.pad(F.leaky_relu(self.norm_1(dx, cond), 0.2)))
        return x_s + dx


class Attention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019; BigGAN's form): query/key with ch/8 channels, value ch/2, keys and
    values 2×2 max-pooled, output conv back to ch, added with a learnable gain γ initialised to 0. H and W must be
    even. [N,ch,H,W] → [N,ch,H,W]."""

    def __init__(self, ch: int, spectral: bool = True) -> None:
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        self.ch = ch
        self.theta = wrap(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.phi = wrap(nn.Conv2d(ch, ch // 8, 1, bias=False))
        self.g = wrap(nn.Conv2d(ch, ch // 2, 1, bias=False))
        self.o = wrap(nn.Conv2d(ch // 2, ch, 1, bias=False))
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)
        g = F.max_pool2d(self.g(x), 2).flatten(2)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # [N, HW, HW/4]
        o = self.o(torch.bmm(g, beta.transpose(1, 2)).view(n, self.ch // 2, h, w))
        return self.gamma * o + x


def spectral_instance(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 1) -> nn.Sequential:
    """``spectralinstance``: a spectral-norm conv without bias (the norm makes it redundant), then affine-free
    InstanceNorm."""
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
    return nn.Sequential(spectral_norm(conv), nn.InstanceNorm2d(cout, affine=False))


def init_xavier(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """The SPADE/CoCosNet ``init_weights('xavier', 0.02)``: Xavier-normal conv/linear weights, zero biases.
    The official code writes into the *derived* ``weight`` of spectral-norm layers, which the next forward pass
    overwrites from ``weight_orig``: those keep PyTorch's default init, here too."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d) and module.affine:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d | nn.Linear):
            if not hasattr(module, "weight_orig"):
                nn.init.xavier_normal_(module.weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return net
