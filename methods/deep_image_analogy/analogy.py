"""The Deep Image Analogy pipeline (Liao, Yao, Yuan, Hua, Kang; SIGGRAPH 2017, §4, Algorithm 1) for one image pair,
as the official release computes it (msracver/Deep-Image-Analogy@632b928, windows/deep_image_analogy/source/
DeepAnalogy.cu ``ComputeAnn``; "DA:n" below is a line of that file, "GPM:n" one of GeneralizedPatchMatch.cu).

Notation of the paper: A (structure) and B′ (appearance) are given; A′ and B are built as VGG-19 feature pyramids
over the levels ``LEVELS`` = relu5_1 … relu1_1 and the network input ``data`` (DA:251-256):

1. F_A′ = F_A and F_B = F_B′ at relu5_1; the fields start as the identity (GPM:203-218, ``initialAnn_kernel``).
2. At each level L: the fields are upsampled from the coarser level (DA:413-427; ``patchmatch.upsample_field``),
   F_A′^L = F_A^L·W_A + R_B′^L·(1 − W_A) (and F_B^L symmetrically) with W_A = α_L·[M_A ≥ τ] (GPM:386-412: a step,
   where the paper's §4.2 writes a sigmoid σ(κ(M − τ)); ``weight_fn`` offers both), M = min-max-normalised ‖F_A^L‖²
   (DA:19-62), then φ_a→b and φ_b→a by PatchMatch on channel-normalised features with the bidirectional cost Eq. 3
   (DA:464-470).
3. Reconstruction for the next level L+1 (DA:480-577): the target is B′'s level-L features voted through φ_a→b with
   level L's patch (``avg_vote``); L-BFGS optimises the features x of level **L+2** (the input image below relu2_1)
   so that CNN_(L+2→L)(x) matches it, from B′'s level-L+2 features voted through the upsampled field; R_B′^(L+1) is
   CNN_(L+2→L+1)(x) (the official code reads it from the network's blob after the final forward, Deconv.cpp:78).
4. Output (DA:582-636): φ_a→b^relu1_1 brought to image size, A′ = B′'s pixels averaged over the 3×3 patches
   voting on each pixel (``reconstruct_avg``); for photos, the WLS refinement (``methods.deep_image_analogy.wls``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from methods.common.patchmatch import patchmatch, upsample_field, vote

LAYERS = ("relu5_1", "relu4_1", "relu3_1", "relu2_1", "relu1_1")  # DA:251-255 (conv*_1 blobs, ReLU in place)
DATA = "data"  # the network's input (ImageNet-normalised image here; DA:256)
LEVELS = (*LAYERS, DATA)


@dataclass(frozen=True)
class Settings:
    """Official values (DA: DeepAnalogy.cu lines) unless a preset reduces them."""
    patch_sizes: tuple[int, ...] = (3, 3, 3, 5, 5)  # PatchMatch patch per layer, relu5_1 → relu1_1 (DA:292-297)
    vote_patch: int = 3  # the final pixel-level vote (DA:298, 636)
    radii: tuple[int | None, ...] = (None, 6, 6, 4, 4)  # random-search radius; None: A's longer side / 16 (DA:308-322)
    alphas: tuple[float, ...] = (0.9, 0.8, 0.7, 0.2)  # α for relu4_1 … relu1_1, blend weight level 3 (DA:66, 275-279)
    weight_fn: str = "step"  # "step": the official code (GPM:398-405); "sigmoid": the paper's §4.2
    kappa: float = 300.0  # κ of the paper's sigmoid (only weight_fn="sigmoid")
    tau: float = 0.05  # τ: the threshold on M (GPM:398)
    iterations: int = 10  # PatchMatch iterations per level (DA:300)
    deconv_iters: int = 100  # L-BFGS iterations per reconstruction (lbfgs.cu:68, m_maxIter)


def normalised(features: torch.Tensor) -> torch.Tensor:
    """F̄: each pixel's feature vector divided by its L2 norm, [C,H,W] (DA:54-56)."""
    return features / features.norm(dim=0, keepdim=True).clamp_min(1e-8)


def response(features: torch.Tensor) -> torch.Tensor:
    """M = (‖F‖² − min) / (max − min) per pixel, float [1,H,W] in [0,1] (DA:39-51, the ``smooth`` map)."""
    energy = features.pow(2).sum(0, keepdim=True)
    low = energy.min()
    return (energy - low) / (energy.max() - low).clamp_min(1e-12)


WEIGHT_FNS: dict[str, Callable[[torch.Tensor, float, float, float], torch.Tensor]] = {
    "step": lambda m, alpha, kappa, tau: alpha * (m >= tau).to(m.dtype),  # GPM:402-405
    "sigmoid": lambda m, alpha, kappa, tau: alpha * torch.sigmoid(kappa * (m - tau)),  # paper §4.2
}


def magnitude_weight(features: torch.Tensor, alpha: float, kappa: float, tau: float, fn: str = "step"
                     ) -> torch.Tensor:
    """W = α·w(M) for features [C,H,W], float [1,H,W]: large responses keep their own image's structure (§4.2).
    ``fn``: a ``WEIGHT_FNS`` name; raises KeyError for another."""
    return WEIGHT_FNS[fn](response(features), alpha, kappa, tau)


def identity_field(source_hw: tuple[int, int], target_hw: tuple[int, int]) -> torch.Tensor:
    """The identity field int64 [H_a,W_a,2], clamped into the target (GPM:203-218: PatchMatch's start at relu5_1)."""
    ys = torch.arange(source_hw[0]).clamp(max=target_hw[0] - 1)
    xs = torch.arange(source_hw[1]).clamp(max=target_hw[1] - 1)
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1)


class Network:
    """VGG-19's ``features`` stack cut between pyramid levels; ``index[level]`` is the module whose output is that
    level (``data``: −1, the input)."""

    def __init__(self, stack: nn.Sequential, relu_index: Mapping[str, int]) -> None:
        self.stack = stack
        self.index = {**{name: relu_index[name] for name in LAYERS}, DATA: -1}

    def between(self, lower: str, upper: str) -> nn.Module:
        """CNN_(lower→upper): the modules after level ``lower`` up to and including level ``upper``."""
        return self.stack[self.index[lower] + 1: self.index[upper] + 1]


def deconvolve(sub: nn.Module, target: torch.Tensor, init: torch.Tensor, iterations: int) -> torch.Tensor:
    """x [C',H',W'] minimising ‖sub(x) − target‖² (Deconv.cpp:5-32, summed squares) from ``init`` by L-BFGS with the
    official history of 4 (lbfgs.h:39) and a strong-Wolfe line search (linesearch_gpu.h)."""
    x = init.detach().clone()[None].requires_grad_(True)
    if iterations <= 0:
        return x.detach()[0]
    optimiser = torch.optim.LBFGS([x], max_iter=iterations, history_size=4, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = (sub(x)[0] - target).pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(closure)
    return x.detach()[0]


def _reconstruct(net: Network, level: int, nnf: torch.Tensor, own: Sequence[torch.Tensor],
                 other: Sequence[torch.Tensor], sizes: Sequence[int], iterations: int) -> torch.Tensor:
    """R^(level+1) of the image being built from ``other``'s features through ``nnf`` (found at ``level``);
    ``own``/``other``: the pyramids (``LEVELS`` order) of the field's source and target images (DA:480-577)."""
    lower = level + 2
    target = vote(other[level], nnf, sizes[level])  # DA:566
    up = upsample_field(nnf, (int(own[lower].shape[-2]), int(own[lower].shape[-1])),  # DA:518
                        (int(other[lower].shape[-2]), int(other[lower].shape[-1])),
                        (int(other[level].shape[-2]), int(other[level].shape[-1])))
    init = vote(other[lower], up, sizes[lower])  # DA:520
    x = deconvolve(net.between(LEVELS[lower], LEVELS[level]), target, init, iterations)  # DA:567
    with torch.no_grad():
        return net.between(LEVELS[lower], LEVELS[level + 1])(x[None])[0]  # Deconv.cpp:78


def analogy(features_a: Sequence[torch.Tensor], features_bp: Sequence[torch.Tensor], net: Network,
            settings: Settings, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """φ_a→b and φ_b→a at pixel level (int64 [H_A,W_A,2] into B′, [H_B′,W_B′,2] into A) from A's and B′'s pyramids
    (``LEVELS`` order: relu5_1 … relu1_1 [C,H_L,W_L], then the network input [3,H,W])."""
    s = settings
    sizes = (*s.patch_sizes, s.vote_patch)
    a, bp = features_a, features_bp
    f_ap, f_b = a[0], bp[0]  # DA:461-462 with weight 1 at relu5_1
    nnf_ab = identity_field(tuple(a[0].shape[-2:]), tuple(bp[0].shape[-2:]))
    nnf_ba = identity_field(tuple(bp[0].shape[-2:]), tuple(a[0].shape[-2:]))
    r_bp = r_a = None

    def hw(features: torch.Tensor) -> tuple[int, int]:
        return int(features.shape[-2]), int(features.shape[-1])

    for i in range(len(LAYERS)):
        if i > 0:
            assert r_bp is not None and r_a is not None
            nnf_ab = upsample_field(nnf_ab, hw(a[i]), hw(bp[i]), hw(bp[i - 1]))
            nnf_ba = upsample_field(nnf_ba, hw(bp[i]), hw(a[i]), hw(a[i - 1]))
            w_a = magnitude_weight(a[i], s.alphas[i - 1], s.kappa, s.tau, s.weight_fn)
            w_bp = magnitude_weight(bp[i], s.alphas[i - 1], s.kappa, s.tau, s.weight_fn)
            f_ap = a[i] * w_a + r_bp * (1 - w_a)
            f_b = bp[i] * w_bp + r_a * (1 - w_bp)
        radius = s.radii[i] if s.radii[i] is not None else max(a[0].shape[-2:])  # DA:309-318: A's side / 16
        na, nap, nb, nbp = (normalised(f) for f in (a[i], f_ap, f_b, bp[i]))
        nnf_ab, _ = patchmatch([(nap, nbp), (na, nb)], s.patch_sizes[i], s.iterations, radius, nnf_ab, generator)
        nnf_ba, _ = patchmatch([(nb, na), (nbp, nap)], s.patch_sizes[i], s.iterations, radius, nnf_ba, generator)
        if i < len(LAYERS) - 1:
            r_bp = _reconstruct(net, i, nnf_ab, a, bp, sizes, s.deconv_iters)
            r_a = _reconstruct(net, i, nnf_ba, bp, a, sizes, s.deconv_iters)
    up_ab = upsample_field(nnf_ab, hw(a[-1]), hw(bp[-1]), hw(bp[-2]))  # DA:615-627
    up_ba = upsample_field(nnf_ba, hw(bp[-1]), hw(a[-1]), hw(a[-2]))
    return up_ab, up_ba


def transfer(image_bp: torch.Tensor, nnf_ab: torch.Tensor, settings: Settings) -> torch.Tensor:
    """A′ [3,H_A,W_A] in [0,1]: B′'s image [3,H,W] voted through the pixel-level φ_a→b with ``vote_patch``
    (DA:636, ``reconstruct_avg``)."""
    return vote(image_bp, nnf_ab, settings.vote_patch).clamp(0, 1)
