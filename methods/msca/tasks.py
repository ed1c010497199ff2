"""MSCA's self-supervised tasks (Zheng et al., ECCV 2020, §3.4 and §4 "Implementation details") and the GAN terms
of Eq. 11.

A training item (one-hot label map c [C,S,S] and image x [3,S,S], both resized to ``load_size`` = S) gives
- the patch-scale cross-reconstruction task (Eq. 9): two patches p, q of side P; reconstruct x_p from
  (c_p, x_q, c̃_q);
- the global-scale self-reconstruction task (Eq. 10): reconstruct x from (c, x, c̃), the whole image resized to P so
  that both tasks share one batch (the paper does not give the global task's resolution).
In training c̃ is the data set's own label map of the exemplar (the paper's c̃ is a DeepLab parse at test time).

Patch placement (the paper's appendix, which describes it, is not in our copy of the paper): a random axis splits
the two patches; along it they are as far apart as they must be not to overlap (uniform positions with a gap ≥ P
when S ≥ 2P; at the two ends, overlapping by 2P − S, when S < 2P, e.g. the 384 patches of a 512 image); along the
other axis each position is uniform; which patch is p is random.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from methods.common.spade_losses import hinge_d, hinge_g

GAN_MODES = ("original", "hinge")


def _randint(low: int, high: int, g: torch.Generator) -> int:
    """A uniform integer in [low, high] (inclusive)."""
    return int(torch.randint(low, high + 1, (), generator=g))


def patch_pair(size: int, patch: int, g: torch.Generator) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, left) of p, (top, left) of q) for two ``patch``-sided patches of a ``size``-sided image (see the
    module docstring). Raises ValueError when the patch is larger than the image."""
    if patch > size:
        raise ValueError(f"a {patch}-px patch does not fit a {size}-px image")
    axis = _randint(0, 1, g)
    if size >= 2 * patch:
        a = _randint(0, size - 2 * patch, g)
        b = _randint(a + patch, size - patch, g)
    else:
        a, b = 0, size - patch
    if _randint(0, 1, g):
        a, b = b, a
    other_p, other_q = _randint(0, size - patch, g), _randint(0, size - patch, g)
    return ((a, other_p), (b, other_q)) if axis == 0 else ((other_p, a), (other_q, b))


def _crop(t: torch.Tensor, corner: tuple[int, int], patch: int) -> torch.Tensor:
    return t[..., corner[0]:corner[0] + patch, corner[1]:corner[1] + patch]


@dataclass
class TaskBatch:
    """One training batch of both tasks, stacked: the cross-reconstruction items first (``n_cross``), then the
    global ones. c1, c2 one-hot [T,C,P,P]; x2 (exemplar) and target [T,3,P,P] in [0,1]."""

    c1: torch.Tensor
    c2: torch.Tensor
    x2: torch.Tensor
    target: torch.Tensor
    n_cross: int

    def to(self, device: torch.device) -> TaskBatch:
        return TaskBatch(self.c1.to(device), self.c2.to(device), self.x2.to(device), self.target.to(device),
                         self.n_cross)

    def slices(self, lambda_global: float) -> list[tuple[slice, float]]:
        """(rows, weight) per task: Eq. 11's cross term (weight 1) and the global term (weight λ) if present."""
        out = [(slice(0, self.n_cross), 1.0)]
        if self.c1.size(0) > self.n_cross:
            out.append((slice(self.n_cross, self.c1.size(0)), float(lambda_global)))
        return out


def make_tasks(cond: torch.Tensor, image: torch.Tensor, load_size: int, patch: int, flip: bool,
               with_global: bool, g: torch.Generator) -> TaskBatch:
    """The :class:`TaskBatch` of items with one-hot maps ``cond`` [B,C,H,W] and images [B,3,H,W] in [0,1]: resized
    to ``load_size`` (nearest / bilinear), flipped with p = 0.5 per batch, patch pairs drawn per item from ``g``."""
    cond = F.interpolate(cond, size=(load_size, load_size), mode="nearest")
    image = F.interpolate(image, size=(load_size, load_size), mode="bilinear", align_corners=False)
    if flip and bool(torch.rand((), generator=g) < 0.5):
        cond, image = cond.flip(-1), image.flip(-1)
    c1, c2, x2, target = [], [], [], []
    for i in range(cond.size(0)):
        p, q = patch_pair(load_size, patch, g)
        c1.append(_crop(cond[i], p, patch))
        target.append(_crop(image[i], p, patch))
        c2.append(_crop(cond[i], q, patch))
        x2.append(_crop(image[i], q, patch))
    batch = [torch.stack(t) for t in (c1, c2, x2, target)]
    n_cross = cond.size(0)
    if with_global:  # Eq. 10: the whole image is its own exemplar
        g_cond = F.interpolate(cond, size=(patch, patch), mode="nearest")
        g_image = F.interpolate(image, size=(patch, patch), mode="bilinear", align_corners=False)
        batch = [torch.cat([t, extra]) for t, extra in zip(batch, (g_cond, g_cond, g_image, g_image), strict=True)]
    return TaskBatch(*batch, n_cross=n_cross)


def gan_g(preds: list[list[torch.Tensor]], mode: str) -> torch.Tensor:
    """The generator's adversarial term, averaged over D's scales: ``original`` is Eq. 11's log-loss in its
    non-saturating form (−log D(fake), SPADE's ``original`` GANLoss), ``hinge`` SPADE's default."""
    if mode == "hinge":
        return hinge_g(preds)
    return sum((F.binary_cross_entropy_with_logits(p[-1], torch.ones_like(p[-1])) for p in preds),
               torch.zeros((), device=preds[0][-1].device)) / len(preds)


def gan_d(preds: list[list[torch.Tensor]], real: bool, mode: str) -> torch.Tensor:
    """The discriminator's term on real or fake outputs, averaged over its scales (Eq. 11 for ``original``)."""
    if mode == "hinge":
        return hinge_d(preds, real)
    return sum((F.binary_cross_entropy_with_logits(p[-1], torch.full_like(p[-1], float(real))) for p in preds),
               torch.zeros((), device=preds[0][-1].device)) / len(preds)
