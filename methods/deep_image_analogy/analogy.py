"""The Deep Image Analogy pipeline (Liao, Yao, Yuan, Hua, Kang; SIGGRAPH 2017, §4, Algorithm 1) for one image pair.

Notation of the paper: A (structure) and B′ (appearance) are given; A′ (A's structure, B′'s appearance) and B
(B′'s structure, A's appearance) are built as VGG-19 feature pyramids F^L, L = 5 (relu5_1) … 1 (relu1_1):

1. F_A′^5 = F_A^5 and F_B^5 = F_B′^5 (§4.1).
2. At each L: the fields φ_a→b and φ_b→a by PatchMatch with the bidirectional cost (Eq. 3):
   ‖F̄_A(x) − F̄_B(φ(x))‖² + ‖F̄_A′(x) − F̄_B′(φ(x))‖² over a patch, F̄ = F / ‖F‖ per pixel (channel-normalised).
3. For L > 1, reconstruction (§4.2): R_B′^(L−1) minimises ‖CNN_(L−1→L)(R) − F_B′^L(φ_a→b)‖² (the paper's
   "deconvolution", here L-BFGS from the warped finer features), then blending (Eq. 5):
   F_A′^(L−1) = F_A^(L−1)·W_A + R_B′^(L−1)·(1 − W_A), W_A = α_(L−1)·M_A, M_A = σ(κ(|F_A^(L−1)|²_norm − τ)),
   and symmetrically F_B^(L−1) from F_B′^(L−1), R_A^(L−1), W_B′ (§4.2, Eq. 6–7).
4. NNF upsampling (§4.3) of φ to the next layer as PatchMatch's start, with the random search limited to a radius.
5. Output (§4.4): A′ = B′ voted through φ_a→b^1 (relu1_1 is at image resolution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from methods.common.patchmatch import patchmatch, upsample_field, vote, warp

LAYERS = ("relu5_1", "relu4_1", "relu3_1", "relu2_1", "relu1_1")


@dataclass(frozen=True)
class Settings:
    patch_sizes: tuple[int, ...] = (3, 3, 3, 5, 5)  # per layer, relu5_1 → relu1_1
    radii: tuple[int | None, ...] = (None, 6, 6, 4, 4)  # random-search radius per layer; None = whole map
    alphas: tuple[float, ...] = (0.8, 0.7, 0.6, 0.1)  # α for relu4_1 … relu1_1
    kappa: float = 300.0  # κ of the magnitude sigmoid
    tau: float = 0.05  # τ of the magnitude sigmoid
    iterations: int = 10  # PatchMatch iterations per layer
    deconv_iters: int = 20  # L-BFGS iterations of each reconstruction


def normalised(features: torch.Tensor) -> torch.Tensor:
    """F̄: each pixel's feature vector divided by its L2 norm, [C,H,W]."""
    return features / features.norm(dim=0, keepdim=True).clamp_min(1e-8)


def magnitude_weight(features: torch.Tensor, alpha: float, kappa: float, tau: float) -> torch.Tensor:
    """W = α·σ(κ(|F|² / max|F|² − τ)), float [1,H,W] (§4.2: large responses keep the structure of their own image)."""
    energy = features.pow(2).sum(0, keepdim=True)
    energy = energy / energy.max().clamp_min(1e-12)
    return alpha * torch.sigmoid(kappa * (energy - tau))


def deconvolve(sub: nn.Module, target: torch.Tensor, init: torch.Tensor, iterations: int) -> torch.Tensor:
    """R [C',H',W'] minimising ‖sub(R) − target‖² from ``init`` by L-BFGS (§4.2's feature "deconvolution")."""
    r = init.detach().clone()[None].requires_grad_(True)
    if iterations <= 0:
        return r.detach()[0]
    optimiser = torch.optim.LBFGS([r], max_iter=iterations, history_size=10, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = (sub(r)[0] - target).pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(closure)
    return r.detach()[0]


def analogy(features_a: Sequence[torch.Tensor], features_bp: Sequence[torch.Tensor], subnets: Sequence[nn.Module],
            image_bp: torch.Tensor, settings: Settings, generator: torch.Generator) -> torch.Tensor:
    """A′ [3,H,W] from A's and B′'s features (``LAYERS`` order, each [C,H_L,W_L]), ``subnets[i]`` mapping layer
    i+1's features to layer i's (relu4_1 → relu5_1 first), and B′'s image [3,H,W] in [0,1]."""
    s = settings
    f_ap, f_b = features_a[0], features_bp[0]
    nnf_ab = nnf_ba = None
    for i in range(len(LAYERS)):
        f_a, f_bp = features_a[i], features_bp[i]
        if i > 0:
            assert nnf_ab is not None and nnf_ba is not None
            hw_a, hw_b = tuple(f_a.shape[-2:]), tuple(f_bp.shape[-2:])
            up_ab = upsample_field(nnf_ab, hw_a, hw_b, tuple(features_bp[i - 1].shape[-2:]))
            up_ba = upsample_field(nnf_ba, hw_b, hw_a, tuple(features_a[i - 1].shape[-2:]))
            r_bp = deconvolve(subnets[i - 1], warp(features_bp[i - 1], nnf_ab), warp(f_bp, up_ab), s.deconv_iters)
            r_a = deconvolve(subnets[i - 1], warp(features_a[i - 1], nnf_ba), warp(f_a, up_ba), s.deconv_iters)
            w_a = magnitude_weight(f_a, s.alphas[i - 1], s.kappa, s.tau)
            w_bp = magnitude_weight(f_bp, s.alphas[i - 1], s.kappa, s.tau)
            f_ap = f_a * w_a + r_bp * (1 - w_a)
            f_b = f_bp * w_bp + r_a * (1 - w_bp)
            nnf_ab, nnf_ba = up_ab, up_ba
        na, nap, nb, nbp = (normalised(f) for f in (f_a, f_ap, f_b, f_bp))
        nnf_ab, _ = patchmatch([(na, nb), (nap, nbp)], s.patch_sizes[i], s.iterations, s.radii[i], nnf_ab, generator)
        nnf_ba, _ = patchmatch([(nb, na), (nbp, nap)], s.patch_sizes[i], s.iterations, s.radii[i], nnf_ba, generator)
    assert nnf_ab is not None
    if tuple(nnf_ab.shape[:2]) != tuple(image_bp.shape[-2:]):  # relu1_1 is at image resolution; guard anyway
        nnf_ab = upsample_field(nnf_ab, tuple(image_bp.shape[-2:]), tuple(image_bp.shape[-2:]),
                                tuple(features_bp[-1].shape[-2:]))
    return vote(image_bp, nnf_ab, s.patch_sizes[-1]).clamp(0, 1)
