"""SPADE building blocks (Park et al., "Semantic Image Synthesis with Spatially-Adaptive Normalization", CVPR 2019,
§3 Eq. 1; NVlabs/SPADE ``models/networks/normalization.py`` and ``architecture.py``), generalised to the variants
that CoCosNet (Zhang et al., CVPR 2020; microsoft/CoCosNet, same files) uses: positional normalisation as the
parameter-free norm (``--PONO``), reflection padding instead of zero padding, and spectral norm as an option.
Also SPADE's generator (VAE mode or from the label map), its multi-scale spectral-instance PatchGAN and its init.

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
from methods.common.discriminators import pyramid_outputs
from methods.common.distributed import SyncBatchNorm

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

    ``batch``: BatchNorm2d; ``sync``: SyncBatchNorm (``methods.common.distributed``), which synchronises statistics
    across processes when torch.distributed is initialised, on CUDA and on the CPU, and is plain batch norm on one
    process (the official ``syncbatch``);
    ``instance``: InstanceNorm2d; ``pono``: :class:`PositionalNorm2d`. Raises BenchError for another name.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=False)
    if kind == "sync":
        return SyncBatchNorm(channels, affine=False)
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


class SPADEGenerator(nn.Module):
    """SPADE generator (Park et al. 2019, appendix A; official ``SPADEGenerator``, ``num_upsampling_layers normal``).

    Head: with ``z_dim`` (VAE mode) z [N, z_dim] → linear → 16·ngf × s × s; with ``z_dim=None`` (``--use_vae`` off)
    the conditioning map is downsampled (nearest) to s × s and a 3×3 conv maps it to 16·ngf channels. Then head_0,
    ↑, G_middle_0, G_middle_1, and ``n_up_blocks`` blocks (↑ then block, widths halving), LeakyReLU 0.2, 3×3 conv,
    tanh. s = crop_size / 2^(1 + n_up_blocks) (the paper: 4 up blocks, 8×8 at 256 px). Nearest up-sampling.

    forward(seg [N, label_nc, h, w], z [N, z_dim] or None) → [N, 3, crop_size, crop_size] in [-1, 1].
    Raises ValueError when crop_size is not divisible by 2^(1 + n_up_blocks).
    """

    def __init__(self, label_nc: int, crop_size: int = 256, ngf: int = 64, z_dim: int | None = 256,
                 n_up_blocks: int = 4, spade_hidden: int = 128, param_free: str = "batch") -> None:
        super().__init__()
        n_ups = 1 + n_up_blocks
        if crop_size % 2 ** n_ups:
            raise ValueError(f"crop_size {crop_size} is not divisible by 2**{n_ups} (n_up_blocks={n_up_blocks})")
        self.s, self.ngf, self.z_dim = crop_size // 2 ** n_ups, ngf, z_dim
        top = 16 * ngf
        self.fc: nn.Module = (nn.Linear(z_dim, top * self.s * self.s) if z_dim is not None
                              else nn.Conv2d(label_nc, top, 3, padding=1))
        self.head_0 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.G_middle_0 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.G_middle_1 = SPADEResBlock(top, top, label_nc, spade_hidden, param_free)
        self.ups = nn.ModuleList(
            SPADEResBlock(top // 2 ** i, top // 2 ** (i + 1), label_nc, spade_hidden, param_free)
            for i in range(n_up_blocks))
        self.conv_img = nn.Conv2d(top // 2 ** n_up_blocks, 3, 3, padding=1)

    def forward(self, seg: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.z_dim is None:
            x = self.fc(F.interpolate(seg, size=(self.s, self.s), mode="nearest"))
        else:
            if z is None:
                raise ValueError("a VAE-mode SPADE generator needs z")
            x = self.fc(z).view(-1, 16 * self.ngf, self.s, self.s)
        x = self.head_0(x, seg)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.G_middle_0(x, seg)
        x = self.G_middle_1(x, seg)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def spectral_instance(conv: nn.Conv2d) -> nn.Sequential:
    """``spectralinstance``: spectral norm on the conv, its bias removed, then affine-free InstanceNorm."""
    conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False)
    return nn.Sequential(spectral_norm(conv), nn.InstanceNorm2d(conv.out_channels, affine=False))


class NLayerFeatureDiscriminator(nn.Module):
    """SPADE's PatchGAN (``NLayerDiscriminator``): k4, padding 2, ``n_layers`` layers (the last hidden one stride 1,
    widths doubling to 512), spectral instance norm, LeakyReLU 0.2; returns every layer's output, logits last.

    x [N, input_nc, H, W] → list of n_layers + 1 tensors [N, c_l, h_l, w_l].
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(input_nc, ndf, 4, stride=2, padding=2),
                                                 nn.LeakyReLU(0.2, False))]
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            blocks.append(nn.Sequential(spectral_instance(nn.Conv2d(prev, nf, 4, stride=stride, padding=2)),
                                        nn.LeakyReLU(0.2, False)))
        blocks.append(nn.Conv2d(nf, 1, 4, stride=1, padding=2))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class SPADEDiscriminator(nn.Module):
    """SPADE's ``MultiscaleDiscriminator``: ``num_d`` :class:`NLayerFeatureDiscriminator` on the input and its 3×3
    average-pooled halvings. x [N, input_nc, H, W] → one feature list per scale, finest first."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2) -> None:
        super().__init__()
        self.nets = nn.ModuleList(NLayerFeatureDiscriminator(input_nc, ndf, n_layers) for _ in range(num_d))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return pyramid_outputs(self.nets, x)


def discriminate_pair(D: nn.Module, seg: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
                      ) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """D on concat(seg, fake) and concat(seg, real) in one pass over the stacked batch (the official
    ``discriminate``), split back into (fake outputs, real outputs), each a feature list per scale."""
    n = fake.size(0)
    both = D(torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)]))
    return [[t[:n] for t in scale] for scale in both], [[t[n:] for t in scale] for scale in both]


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
