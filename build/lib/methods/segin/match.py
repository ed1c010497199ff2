"""SEGIN's semantic match (paper §III-A, Fig. 3, Eq. 1–2).

Eq. 1: for every k×k×C feature patch κ(Φ(x))_i of the input, the index ξ_i of the reference feature patch with the
highest cosine similarity. Eq. 2: the auxiliary image W(x, r) takes, at every feature position i, the δk×δk image
patch of the reference at ξ_i (δ = image size / feature size); overlapping patches are averaged when the patches
are folded back into an image (κ⁻¹).

All positions are matched at once with batched matrix products, in chunks of ``chunk`` query positions to bound
memory (an [B, chunk, N] similarity block at a time); there is no Python loop over patches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.features import VGG19_RELU, imagenet_normalise


def unfold_patches(features: torch.Tensor, patch: int) -> torch.Tensor:
    """[B,C,h,w] → [B, C·k², h·w]: the k×k patch around every position (zero padding at the border), row-major."""
    return F.unfold(features, kernel_size=patch, padding=patch // 2)


def correspondence(fx: torch.Tensor, fr: torch.Tensor, patch: int = 3, chunk: int = 1024) -> torch.Tensor:
    """Eq. 1: ξ [B, h·w] (int64), the reference position whose feature patch is most cosine-similar to each input
    feature patch. ``fx`` and ``fr`` are [B,C,h,w] feature maps of equal shape."""
    if fx.shape != fr.shape:
        raise ValueError(f"input and reference features differ in shape: {tuple(fx.shape)} vs {tuple(fr.shape)}")
    if patch % 2 != 1:
        raise ValueError(f"the patch size must be odd, got {patch}")
    px = F.normalize(unfold_patches(fx, patch), dim=1, eps=1e-8)  # [B, D, N]
    pr = F.normalize(unfold_patches(fr, patch), dim=1, eps=1e-8)
    n = px.shape[-1]
    out = torch.empty(px.shape[0], n, dtype=torch.long, device=fx.device)
    for start in range(0, n, chunk):  # chunks of query positions, each matched against all reference positions
        sim = torch.bmm(px[:, :, start:start + chunk].transpose(1, 2), pr)  # [B, chunk, N] cosine similarities
        out[:, start:start + chunk] = sim.argmax(dim=-1)
    return out


def warp(reference: torch.Tensor, xi: torch.Tensor, feature_hw: tuple[int, int], patch: int = 3) -> torch.Tensor:
    """Eq. 2: W with κ(W)_i = κ(r)_{ξ_i}; image patches of δk×δk at stride δ, overlaps averaged.

    ``reference`` [B,3,H,W] with H = δ·h, W = δ·w for the feature size (h, w); ``xi`` [B, h·w] indices into the
    reference's feature positions.
    """
    height, width = reference.shape[-2:]
    fh, fw = feature_hw
    if height % fh or width % fw or height // fh != width // fw:
        raise ValueError(f"image {height}×{width} is not an integer multiple δ of the feature map {fh}×{fw}")
    delta = height // fh
    kernel, pad = delta * patch, delta * (patch - 1) // 2
    patches = F.unfold(reference, kernel_size=kernel, stride=delta, padding=pad)  # [B, 3·K², h·w]
    if patches.shape[-1] != fh * fw:
        raise ValueError(f"{patches.shape[-1]} image patches for {fh * fw} feature positions")
    gathered = torch.gather(patches, 2, xi.unsqueeze(1).expand(-1, patches.shape[1], -1))
    folded = F.fold(gathered, (height, width), kernel_size=kernel, stride=delta, padding=pad)
    coverage = F.fold(torch.ones_like(gathered[:1, :1]).expand(1, kernel * kernel, -1), (height, width),
                      kernel_size=kernel, stride=delta, padding=pad)
    return folded / coverage.clamp_min(1e-8)


class SemanticMatcher(nn.Module):
    """VGG-19 features up to ``layer`` + Eq. 1–2. Inputs and outputs are [0,1] RGB images of equal size."""

    def __init__(self, vgg_features: nn.Sequential, layer: str = "relu3_1", patch: int = 3, chunk: int = 1024
                 ) -> None:
        super().__init__()
        if layer not in VGG19_RELU:
            raise ValueError(f"unknown VGG-19 layer {layer!r}; valid: {', '.join(VGG19_RELU)}")
        self.net = vgg_features[: VGG19_RELU[layer] + 1]
        self.layer, self.patch, self.chunk = layer, patch, chunk

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(imagenet_normalise(images))

    @torch.no_grad()
    def match(self, x: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """ξ [B, h·w] and the feature size (h, w)."""
        fx, fr = self.features(torch.cat([x, r])).chunk(2)
        return correspondence(fx, fr, self.patch, self.chunk), (fx.shape[-2], fx.shape[-1])

    @torch.no_grad()
    def forward(self, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        xi, hw = self.match(x, r)
        return warp(r, xi, hw, self.patch)
