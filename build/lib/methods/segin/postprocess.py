"""Post-processing of the self-supervised auxiliary image (paper §III-B1, Fig. 4).

In training the reference is the ground truth y itself, so W(x, y) is far better aligned than W(x, r) with a real
reference at test time. The paper perturbs W(x, y) with "patches shifting, patterns repeating, and random matches
with a certain possibility" to simulate test-time mismatches in location, colour and shape. It gives no further
detail; here each perturbation acts on the correspondence field ξ (before Eq. 2 builds the image), in a random
rectangle of the feature grid, each applied to a sample with its own probability:

- patch shifting: inside the rectangle, ξ points at the source position displaced by (dy, dx) (clamped to the grid);
- pattern repeating: inside the rectangle, ξ repeats a small (ph×pw) block of the field periodically;
- random matches: a fraction of the positions (anywhere) point at uniformly random reference positions.

Everything is vectorised over the batch with masks built by broadcasting; the random draws come from a
``torch.Generator`` so a training step is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _uniform(shape: tuple[int, ...], generator: torch.Generator, low: float = 0.0, high: float = 1.0
             ) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator)


def random_rectangles(b: int, h: int, w: int, generator: torch.Generator, min_frac: float = 0.25,
                      max_frac: float = 0.6) -> tuple[torch.Tensor, torch.Tensor]:
    """A random rectangle per sample: bool mask [B,h,w] and its (top, left) corner [B,2]."""
    rh = (_uniform((b,), generator, min_frac, max_frac) * h).ceil().long().clamp(1, h)
    rw = (_uniform((b,), generator, min_frac, max_frac) * w).ceil().long().clamp(1, w)
    top = (_uniform((b,), generator) * (h - rh + 1)).floor().long()
    left = (_uniform((b,), generator) * (w - rw + 1)).floor().long()
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    mask = ((rows >= top.view(b, 1, 1)) & (rows < (top + rh).view(b, 1, 1))
            & (cols >= left.view(b, 1, 1)) & (cols < (left + rw).view(b, 1, 1)))
    return mask, torch.stack([top, left], dim=1)


def shift_patches(xi: torch.Tensor, region: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor,
                  w: int) -> torch.Tensor:
    """Inside ``region`` [B,h,w], replace ξ(i) by ξ at the source position displaced by (dy, dx) [B] (clamped)."""
    b, n = xi.shape
    h = n // w
    rows = (torch.arange(h).view(1, h, 1) + dy.view(b, 1, 1)).clamp(0, h - 1)
    cols = (torch.arange(w).view(1, 1, w) + dx.view(b, 1, 1)).clamp(0, w - 1)
    source = (rows * w + cols).reshape(b, n)
    shifted = torch.gather(xi, 1, source)
    return torch.where(region.reshape(b, n), shifted, xi)


def repeat_pattern(xi: torch.Tensor, region: torch.Tensor, corner: torch.Tensor, origin: torch.Tensor,
                   period: torch.Tensor, w: int) -> torch.Tensor:
    """Inside ``region`` (rectangle with top-left ``corner`` [B,2]), tile the ξ block of size ``period`` [B,2]
    starting at ``origin`` [B,2]: position (i, j) takes ξ at origin + ((i, j) − corner) mod period."""
    b, n = xi.shape
    h = n // w
    rows = torch.arange(h).view(1, h, 1) - corner[:, 0].view(b, 1, 1)
    cols = torch.arange(w).view(1, 1, w) - corner[:, 1].view(b, 1, 1)
    src_r = (origin[:, 0].view(b, 1, 1) + torch.remainder(rows, period[:, 0].view(b, 1, 1))).clamp(0, h - 1)
    src_c = (origin[:, 1].view(b, 1, 1) + torch.remainder(cols, period[:, 1].view(b, 1, 1))).clamp(0, w - 1)
    source = (src_r * w + src_c).expand(b, h, w).reshape(b, n)
    repeated = torch.gather(xi, 1, source)
    return torch.where(region.reshape(b, n), repeated, xi)


def random_matches(xi: torch.Tensor, where: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Where ``where`` [B, N] is set, ξ points at a uniformly random reference position."""
    random = torch.randint(0, xi.shape[1], xi.shape, generator=generator)
    return torch.where(where, random.to(xi.device), xi)


@dataclass
class PostProcess:
    """The three perturbations with their probabilities (per sample) and sizes."""

    p_shift: float = 0.5
    max_shift: float = 0.25  # fraction of the grid size
    p_repeat: float = 0.3
    max_period: float = 0.25  # fraction of the grid size
    p_random: float = 0.5
    random_fraction: float = 0.15  # fraction of positions re-matched at random when applied
    min_region: float = 0.25
    max_region: float = 0.6

    def __call__(self, xi: torch.Tensor, feature_hw: tuple[int, int], generator: torch.Generator
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Perturbed ξ and, per sample, which perturbations were applied (bool [B] each)."""
        device = xi.device
        xi = xi.cpu()
        b, n = xi.shape
        h, w = feature_hw
        applied = {name: _uniform((b,), generator) < p
                   for name, p in (("shift", self.p_shift), ("repeat", self.p_repeat), ("random", self.p_random))}

        region, _ = random_rectangles(b, h, w, generator, self.min_region, self.max_region)
        limit = max(1, round(self.max_shift * max(h, w)))
        dy = torch.randint(-limit, limit + 1, (b,), generator=generator)
        dx = torch.randint(-limit, limit + 1, (b,), generator=generator)
        xi = shift_patches(xi, region & applied["shift"].view(b, 1, 1), dy, dx, w)

        region, corner = random_rectangles(b, h, w, generator, self.min_region, self.max_region)
        max_p = max(1, round(self.max_period * min(h, w)))
        period = torch.randint(1, max_p + 1, (b, 2), generator=generator)
        origin = torch.stack([(_uniform((b,), generator) * (h - period[:, 0] + 1)).floor().long(),
                              (_uniform((b,), generator) * (w - period[:, 1] + 1)).floor().long()], dim=1)
        xi = repeat_pattern(xi, region & applied["repeat"].view(b, 1, 1), corner, origin, period, w)

        scattered = _uniform((b, n), generator) < self.random_fraction
        xi = random_matches(xi, scattered & applied["random"].view(b, 1), generator)
        return xi.to(device), applied
