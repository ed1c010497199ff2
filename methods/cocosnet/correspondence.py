"""CoCosNet's cross-domain correspondence network as released (``NoVGGCorrespondence`` and
``AdaptiveFeatureGenerator`` of microsoft/CoCosNet@de0c1bbd, ``models/networks/correspondence.py``/``generator.py``;
paper §3.1, Eq. 1–3, with the released code's differences listed in methods/cocosnet/README.md).

Two domain adaptors (one for the input conditioning, one for RGB exemplars) map their inputs to 4·ngf-channel
features at the match resolution; with ``maskmix`` the one-hot maps are appended, four shared residual blocks and
1×1 θ/φ projections follow, every position becomes its k×k patch vector (``match_kernel``), centred (over the
feature dimension: ``PONO_C``) and L2-normalised. The match is softmax(θ·φᵀ / temperature) over exemplar positions;
it warps the pooled exemplar (or its down×down patches with ``warp_patch``), the exemplar's one-hot map (the warped
mask) and, back through the transposed softmax, the warped exemplar (the cycle warp).
"""

from __future__ import annotations

import sys
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError
from methods.cocosnet.blocks import SPADEResBlock, spectral_instance

MATCH_RESOLUTIONS = {0.25: 4, 0.5: 2, 1.0: 1}


def match_stride(match_resolution: float) -> int:
    """The image-to-match down-sampling factor of a ``match_resolution`` (1/4: the paper; 1/2; 1: full size)."""
    for resolution, stride in MATCH_RESOLUTIONS.items():
        if abs(float(match_resolution) - resolution) < 1e-9:
            return stride
    raise BenchError(f"match_resolution must be one of 0.25, 0.5, 1.0, got {match_resolution!r}",
                     hint="0.25 is the paper's 64×64 match at 256 px")


def soft_warp(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, temperature: float,
              chunk_size: int | None = None) -> torch.Tensor:
    """softmax(query·keyᵀ / temperature, dim=-1)·value: query [B,N,C], key [B,M,C], value [B,M,D] → [B,N,D].

    The dense product (memory O(N·M)); contract §5's linear-memory ``methods.common.correspondence.soft_warp``
    takes its place once merged. ``chunk_size`` is accepted for that signature and unused here."""
    return torch.matmul(F.softmax(torch.matmul(query, key.transpose(1, 2)) / temperature, dim=-1), value)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.norm(x, 2, 1, keepdim=True) + sys.float_info.epsilon)


class DomainAdaptor(nn.Module):
    """``AdaptiveFeatureGenerator``: 5 spectral-instance convs (3×3 → ngf; k, stride 2 → 2ngf; 3×3 → 4ngf;
    k, stride 2 → 8ngf; 3×3 → 8ngf; LeakyReLU 0.2 between), then SPADE blocks 8ngf → 8ngf → 8ngf → 4ngf modulated
    by the adaptor's own input. [N,in_nc,H,W] → [N,4ngf,H/down,W/down]; a stride-1 layer (down < 4) uses 3×3."""

    def __init__(self, in_nc: int, ngf: int = 64, kernel: int = 3, down: int = 4, spade_hidden: int = 128,
                 param_free: str = "pono") -> None:
        super().__init__()
        k2, s2 = (kernel, 2) if down >= 2 else (3, 1)
        k4, s4 = (kernel, 2) if down >= 4 else (3, 1)
        self.layers = nn.ModuleList([
            spectral_instance(in_nc, ngf, 3), spectral_instance(ngf, 2 * ngf, k2, s2),
            spectral_instance(2 * ngf, 4 * ngf, 3), spectral_instance(4 * ngf, 8 * ngf, k4, s4),
            spectral_instance(8 * ngf, 8 * ngf, 3)])
        self.head_0 = SPADEResBlock(8 * ngf, 8 * ngf, in_nc, spade_hidden, param_free)  # type: ignore[arg-type]
        self.G_middle_0 = SPADEResBlock(8 * ngf, 8 * ngf, in_nc, spade_hidden, param_free)  # type: ignore[arg-type]
        self.G_middle_1 = SPADEResBlock(8 * ngf, 4 * ngf, in_nc, spade_hidden, param_free)  # type: ignore[arg-type]

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
    ground truth (training: the domain-alignment loss). H, W multiples of ``down`` (and of 4·down with 4×4 kernels).
    """

    def __init__(self, input_nc: int, ngf: int = 64, adaptor_kernel: int = 3, down: int = 4, maskmix: bool = True,
                 match_kernel: int = 3, corr_channels: int = 256, spade_hidden: int = 128, param_free: str = "pono",
                 centre_features: bool = True, warp_bilinear: bool = False, warp_patch: bool = False,
                 temperature: float = 0.01, chunk_size: int | None = None) -> None:
        super().__init__()
        self.down, self.maskmix, self.match_kernel = down, maskmix, match_kernel
        self.centre_features, self.warp_bilinear, self.warp_patch = centre_features, warp_bilinear, warp_patch
        self.temperature, self.chunk_size = temperature, chunk_size
        self.adaptor_seg = DomainAdaptor(input_nc, ngf, adaptor_kernel, down, spade_hidden, param_free)
        self.adaptor_img = DomainAdaptor(3, ngf, adaptor_kernel, down, spade_hidden, param_free)
        trunk = 4 * ngf + (input_nc if maskmix else 0)
        self.layer = nn.Sequential(*(ResidualBlock(trunk) for _ in range(4)))
        self.theta = nn.Conv2d(trunk, corr_channels, 1)
        self.phi = nn.Conv2d(trunk, corr_channels, 1)

    def _patch_vectors(self, feats: torch.Tensor) -> torch.Tensor:
        """[N,C,h,w] → centred, L2-normalised k×k patch vectors [N,h·w,C·k²]."""
        k = self.match_kernel
        x = feats.flatten(2) if k == 1 else F.unfold(feats, k, padding=k // 2)
        x = x - x.mean(dim=1 if self.centre_features else -1, keepdim=True)
        return _normalise(x).transpose(1, 2)

    def _downsample_seg(self, seg: torch.Tensor) -> torch.Tensor:
        return F.interpolate(seg, scale_factor=1 / self.down, mode="nearest")

    def forward(self, ref: torch.Tensor, seg: torch.Tensor, ref_seg: torch.Tensor | None = None,
                real: torch.Tensor | None = None, warp_mask: bool = False, cycle: bool = False
                ) -> dict[str, torch.Tensor]:
        """Returns ``warp_out`` [N,3,H,W] (the warped exemplar at full size), and on request ``warp_mask``
        [N,in_nc,H/down,W/down] (the warped exemplar conditioning), ``warp_cycle`` (the exemplar warped to the input
        and back: [N,3,H/down,W/down], or [N,3,H,W] with ``warp_patch``) and, given ``real``,
        ``loss_domain`` (L1 between the normalised adapted input and ground-truth features, unweighted)."""
        n, _, height, width = ref.shape
        if height % self.down or width % self.down:
            raise BenchError(f"cocosnet's match needs image sides divisible by {self.down}, got {height}×{width}")
        if (self.maskmix or warp_mask) and ref_seg is None:
            raise BenchError("cocosnet needs the exemplar's label map (exemplar_labels) with maskmix or the mask loss")
        out: dict[str, torch.Tensor] = {}
        feat_seg = _normalise(self.adaptor_seg(seg))
        feat_img = _normalise(self.adaptor_img(ref))
        if real is not None:
            out["loss_domain"] = F.l1_loss(feat_seg, _normalise(self.adaptor_img(real)))
        h, w = feat_seg.shape[-2:]
        if self.maskmix:
            assert ref_seg is not None
            feat_seg = torch.cat([feat_seg, F.interpolate(seg, size=(h, w), mode="nearest")], 1)
            feat_img = torch.cat([feat_img, F.interpolate(ref_seg, size=(h, w), mode="nearest")], 1)
        theta = self._patch_vectors(self.theta(self.layer(feat_seg)))  # [N, h·w, C·k²]
        phi = self._patch_vectors(self.phi(self.layer(feat_img)))
        if self.warp_patch:
            colours = F.unfold(ref, self.down, stride=self.down)  # [N, 3·down², h·w]
        else:
            colours = F.avg_pool2d(ref, self.down).flatten(2)
        values = [colours]
        if warp_mask:
            assert ref_seg is not None
            values.append(self._downsample_seg(ref_seg).flatten(2))
        warped = soft_warp(theta, phi, torch.cat(values, 1).transpose(1, 2), self.temperature, self.chunk_size)
        warped_colours = warped[..., :colours.size(1)]  # [N, h·w, D]
        out["warp_out"] = self._to_image(warped_colours, h, w, (height, width), upsample=True)
        if warp_mask:
            out["warp_mask"] = warped[..., colours.size(1):].transpose(1, 2).reshape(n, -1, h, w).contiguous()
        if cycle:  # softmax over the input positions: the transposed match carries the warped exemplar back
            back = soft_warp(phi, theta, warped_colours, self.temperature, self.chunk_size)
            out["warp_cycle"] = self._to_image(back, h, w, (height, width), upsample=False)
        return out

    def _to_image(self, values: torch.Tensor, h: int, w: int, size: tuple[int, int], upsample: bool) -> torch.Tensor:
        """[N, h·w, D] warped values → an image: patches folded back (``warp_patch``), else [N,3,h,w] colours,
        up-sampled (nearest, or bilinear with ``warp_bilinear``) when ``upsample``."""
        if self.warp_patch:
            return F.fold(values.transpose(1, 2), size, self.down, stride=self.down)
        image = values.transpose(1, 2).reshape(values.size(0), -1, h, w)
        if not upsample or self.down == 1:
            return image
        mode: dict[str, Any] = {"mode": "bilinear", "align_corners": False} if self.warp_bilinear else {}
        return F.interpolate(image, size=size, **mode)
