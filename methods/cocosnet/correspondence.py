"""CoCosNet's cross-domain correspondence network as released (``NoVGGCorrespondence`` and
``AdaptiveFeatureGenerator`` of microsoft/CoCosNet@de0c1bbd, ``models/networks/correspondence.py``/``generator.py``;
paper §3.1, Eq. 1–3, with the released code's differences listed in methods/cocosnet/README.md).

Two domain adaptors (one for the input conditioning, one for RGB exemplars) map their inputs to 4·ngf-channel
features at 1/4 resolution; with ``maskmix`` the one-hot maps are appended, four shared residual blocks and 1×1 θ/φ
projections follow; the projections are resized to the match grid (``match_resolution``: 1/4 is the official
64×64 at 256 px, 1/2 and full are finer exact matches), every position becomes its k×k patch vector
(``match_kernel``), centred (over the feature dimension: ``PONO_C``) and L2-normalised. The match is
softmax(θ·φᵀ / temperature) over exemplar positions, computed in linear memory by ``methods.common.correspondence``;
it warps the pooled exemplar (or its patches with ``warp_patch``), the exemplar's conditioning (the warped mask) and,
through the transposed softmax, the warped exemplar back (the cycle warp).
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError
from methods.common.correspondence import match_size, resize_features, warp_exemplar
from methods.common.spade import SPADEResBlock, spectral_instance


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.norm(x, 2, 1, keepdim=True) + sys.float_info.epsilon)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return spectral_instance(nn.Conv2d(cin, cout, kernel, stride=stride, padding=1))


def _spade_block(fin: int, fout: int, cond_nc: int, hidden: int, param_free: str) -> SPADEResBlock:
    return SPADEResBlock(fin, fout, cond_nc, hidden, param_free, kernel_size=3, spectral=True, reflect_pad=True)


class DomainAdaptor(nn.Module):
    """``AdaptiveFeatureGenerator``: 5 spectral-instance convs (3×3 → ngf; k, stride 2 → 2ngf; 3×3 → 4ngf;
    k, stride 2 → 8ngf; 3×3 → 8ngf; LeakyReLU 0.2 between), then SPADE blocks (PONO, reflection padding, spectral
    norm) 8ngf → 8ngf → 8ngf → 4ngf modulated by the adaptor's own input. [N,in_nc,H,W] → [N,4ngf,H/4,W/4]."""

    def __init__(self, in_nc: int, ngf: int = 64, kernel: int = 3, spade_hidden: int = 128,
                 param_free: str = "pono") -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            _conv(in_nc, ngf, 3), _conv(ngf, 2 * ngf, kernel, 2), _conv(2 * ngf, 4 * ngf, 3),
            _conv(4 * ngf, 8 * ngf, kernel, 2), _conv(8 * ngf, 8 * ngf, 3)])
        self.head_0 = _spade_block(8 * ngf, 8 * ngf, in_nc, spade_hidden, param_free)
        self.G_middle_0 = _spade_block(8 * ngf, 8 * ngf, in_nc, spade_hidden, param_free)
        self.G_middle_1 = _spade_block(8 * ngf, 4 * ngf, in_nc, spade_hidden, param_free)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cond = x
        for i, layer in enumerate(self.layers):
            x = layer(x if i == 0 else F.leaky_relu(x, 0.2))
        return self.G_middle_1(self.G_middle_0(self.head_0(x, cond), cond), cond)


class ResidualBlock(nn.Module):
    """The correspondence trunk's block: reflection pad, 3×3 conv, InstanceNorm, PReLU, twice; one PReLU (one
    slope) serves both activations, the second after the skip is added."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.ModuleList([nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3),
                                                 nn.InstanceNorm2d(ch)) for _ in range(2)])
        self.prelu = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body[1](self.prelu(self.body[0](x)))
        return self.prelu(out + x)


class CorrespondenceNet(nn.Module):
    """``netCorr``. Inputs: ``ref`` exemplar [N,3,H,W] in [−1,1], ``seg`` input conditioning [N,in_nc,H,W],
    ``ref_seg`` the exemplar's conditioning (same encoding; used by ``maskmix`` and the warped mask), ``real`` the
    ground truth (training: the domain-alignment loss). H, W multiples of 4 (of 8 with 4×4 adaptor kernels).
    """

    def __init__(self, input_nc: int, ngf: int = 64, adaptor_kernel: int = 3, match_resolution: str = "1/4",
                 maskmix: bool = True, match_kernel: int = 3, corr_channels: int = 256, spade_hidden: int = 128,
                 param_free: str = "pono", centre_features: bool = True, warp_bilinear: bool = False,
                 warp_patch: bool = False, temperature: float = 0.01, chunk_size: int | None = None) -> None:
        super().__init__()
        match_size((256, 256), match_resolution)  # BenchError on an unknown option
        self.match_resolution, self.maskmix, self.match_kernel = match_resolution, maskmix, match_kernel
        self.centre_features, self.temperature, self.chunk_size = centre_features, temperature, chunk_size
        self.upsample = "patch" if warp_patch else "bilinear" if warp_bilinear else "nearest"
        self.adaptor_seg = DomainAdaptor(input_nc, ngf, adaptor_kernel, spade_hidden, param_free)
        self.adaptor_img = DomainAdaptor(3, ngf, adaptor_kernel, spade_hidden, param_free)
        trunk = 4 * ngf + (input_nc if maskmix else 0)
        self.layer = nn.Sequential(*(ResidualBlock(trunk) for _ in range(4)))
        self.theta = nn.Conv2d(trunk, corr_channels, 1)
        self.phi = nn.Conv2d(trunk, corr_channels, 1)

    def _patch_vectors(self, feats: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """[N,C,h',w'] projections → centred, L2-normalised k×k patch vectors on the match grid [N,C·k²,h,w]."""
        feats = resize_features(feats, size)
        k = self.match_kernel
        x = feats.flatten(2) if k == 1 else F.unfold(feats, k, padding=k // 2)
        x = x - x.mean(dim=1 if self.centre_features else -1, keepdim=True)
        return _normalise(x).view(x.size(0), x.size(1), *size)

    def forward(self, ref: torch.Tensor, seg: torch.Tensor, ref_seg: torch.Tensor | None = None,
                real: torch.Tensor | None = None, warp_mask: bool = False, cycle: bool = False
                ) -> dict[str, torch.Tensor]:
        """Returns ``warp_out`` [N,3,H,W] (the warped exemplar at full size), and on request ``warp_mask``
        [N,in_nc,h,w] (the warped exemplar conditioning on the match grid), ``warp_cycle`` with its target
        ``exemplar_low`` (the exemplar warped to the input and back, and the exemplar as the match grid sees it:
        [N,3,h,w], or [N,3,H,W] with ``warp_patch``) and, given ``real``, ``loss_domain`` (L1 between the
        normalised adapted input and ground-truth features, unweighted)."""
        if (self.maskmix or warp_mask) and ref_seg is None:
            raise BenchError("cocosnet needs the exemplar's label map (exemplar_labels) with maskmix or the mask loss")
        grid = match_size((ref.size(-2), ref.size(-1)), self.match_resolution)
        out: dict[str, torch.Tensor] = {}
        feat_seg = _normalise(self.adaptor_seg(seg))
        feat_img = _normalise(self.adaptor_img(ref))
        if real is not None:
            out["loss_domain"] = F.l1_loss(feat_seg, _normalise(self.adaptor_img(real)))
        if self.maskmix:
            assert ref_seg is not None
            size = feat_seg.shape[-2:]
            feat_seg = torch.cat([feat_seg, F.interpolate(seg, size=size, mode="nearest")], 1)
            feat_img = torch.cat([feat_img, F.interpolate(ref_seg, size=size, mode="nearest")], 1)
        theta = self._patch_vectors(self.theta(self.layer(feat_seg)), grid)
        phi = self._patch_vectors(self.phi(self.layer(feat_img)), grid)
        warp = warp_exemplar(theta, phi, ref, self.temperature, ref_seg if warp_mask else None, cycle=cycle,
                             upsample=self.upsample, chunk_size=self.chunk_size)
        out["warp_out"] = warp.image
        if warp.mask_low is not None:
            out["warp_mask"] = warp.mask_low.contiguous()
        if warp.cycle is not None:
            out["warp_cycle"], out["exemplar_low"] = warp.cycle, warp.exemplar_low
        return out
