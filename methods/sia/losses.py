"""SIA's losses (ddlee-cn/SemIA@875b2c73 semia/loss.py ``GANLoss('ls')``, ``SegPatchLoss``; semia/model.py
feature matching and fixed-point loss)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

PATCH_SIZES = (3, 1)  # at relu1_1, relu2_1
PATCH_COUNTS = (10, 5)
TOP_K = 5


def lsgan(preds: list[torch.Tensor], real: bool) -> torch.Tensor:
    """``GANLoss('ls')`` over the discriminator's scales: mean over scales of MSE to 1 (real) or 0 (fake)."""
    return sum(F.mse_loss(p, torch.full_like(p, float(real))) for p in preds) / len(preds)  # type: ignore[return-value]


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Discriminator feature matching: mean over levels of L1(fake, real.detach())."""
    return sum(F.l1_loss(f, r.detach()) for f, r in zip(fake, real, strict=True)) / len(fake)  # type: ignore[return-value]


def fixed_point(params: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Reconstruction iterations' fixed-point loss: (Σ_levels L1(α, 1), Σ_levels L1(β, 0))."""
    alpha = sum(F.l1_loss(a, torch.ones_like(a)) for a, _ in params)
    beta = sum(F.l1_loss(b, torch.zeros_like(b)) for _, b in params)
    return alpha, beta  # type: ignore[return-value]


def nearest_patches(source: torch.Tensor, target_patch: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """Top-left corners [k, 2] (row, col) of the ``k`` source patches nearest (summed L1) to ``target_patch``.

    source [1,C,H,W], target_patch [1,C,s,s]. Candidate corners are rows 0..H−s−1 and columns 0..W−s−1: the
    released ``range(0, H - patch_scale)`` leaves out the last row and column of corners; kept.
    """
    s = target_patch.size(-1)
    patches = F.unfold(source[..., : source.size(-2) - 1, : source.size(-1) - 1], s)  # [1, C·s·s, L]
    cols = source.size(-1) - s
    dist = (patches[0] - target_patch.reshape(-1, 1)).abs().sum(0)
    best = dist.argsort()[:k]
    return torch.stack([best // cols, best % cols], 1)


def patch_loss(source_feats: list[torch.Tensor], target_feats: list[torch.Tensor], generator: torch.Generator
               ) -> torch.Tensor:
    """Semantics-aware patch loss (paper §3.3; ``SegPatchLoss`` with ``use_patch_seg`` off).

    For each level (relu1_1 with 3×3 patches, relu2_1 with 1×1), ``PATCH_COUNTS`` random target patches (corners
    drawn from ``generator``) each take the mean L1 to their ``TOP_K`` nearest source patches (searched in the same
    features, as released); the sum is divided by 15 patches. Features [1,C,H,W]; the source side is not detached
    (the source image is data).
    """
    total = source_feats[0].new_zeros(())
    for size, count, src, tgt in zip(PATCH_SIZES, PATCH_COUNTS, source_feats, target_feats, strict=True):
        h, w = tgt.shape[-2:]
        for _ in range(count):
            r = int(torch.randint(0, h - size + 1, (1,), generator=generator))
            c = int(torch.randint(0, w - size + 1, (1,), generator=generator))
            patch = tgt[..., r:r + size, c:c + size]
            with torch.no_grad():
                corners = nearest_patches(src, patch.detach())
            for sr, sc in corners.tolist():
                total = total + F.l1_loss(src[..., sr:sr + size, sc:sc + size], patch) / TOP_K
    return total / sum(PATCH_COUNTS)
