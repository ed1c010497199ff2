"""PatchMatch (Barnes et al., SIGGRAPH 2009): a nearest-neighbour field between two feature maps by propagation and
random search, here vectorised per iteration in torch (every pixel is updated at once).

The official PatchMatch propagates in scanline order, so a good offset can travel across the image in one sweep;
here every pixel takes the offsets of its neighbours at once (Jacobi instead of Gauss-Seidel), alternating left/up
and right/down neighbours, from neighbours at distances ..., 4, 2, 1 (jump flooding, Rong & Tan 2006), so that a
good offset still crosses the map within one iteration (log₂(size) propagation steps instead of one sweep).
Distances are sums of squared differences over ``patch``×``patch`` windows; coordinates outside a map are clamped
to its border.

A field ``nnf`` is int64 [H_a, W_a, 2]: for each source pixel (y, x), the (y, x) of its match in the target map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Pair = tuple[torch.Tensor, torch.Tensor]  # (source features [C,H_a,W_a], target features [C,H_b,W_b])


def _shift_clamped(field: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``field[y+dy, x+dx]`` for every (y, x), coordinates clamped to the field ([H,W,...] tensors)."""
    h, w = field.shape[:2]
    ys = (torch.arange(h, device=field.device) + dy).clamp(0, h - 1)
    xs = (torch.arange(w, device=field.device) + dx).clamp(0, w - 1)
    return field[ys][:, xs]


def patch_cost(pairs: Sequence[Pair], nnf: torch.Tensor, patch: int) -> torch.Tensor:
    """Sum over ``pairs`` and over the patch window of ‖source(p+d) − target(nnf(p)+d)‖², float [H_a, W_a]."""
    r = patch // 2
    cost = torch.zeros(nnf.shape[:2], device=nnf.device)
    for source, target in pairs:
        _, hb, wb = target.shape
        src = source.permute(1, 2, 0)  # [H_a, W_a, C]
        tgt = target.permute(1, 2, 0)
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                s = _shift_clamped(src, dy, dx)
                ty = (nnf[..., 0] + dy).clamp(0, hb - 1)
                tx = (nnf[..., 1] + dx).clamp(0, wb - 1)
                cost += (s - tgt[ty, tx]).pow(2).sum(-1)
    return cost


def _improve(pairs: Sequence[Pair], nnf: torch.Tensor, cost: torch.Tensor, candidate: torch.Tensor, patch: int,
             bounds: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    candidate = torch.stack([candidate[..., 0].clamp(0, bounds[0] - 1), candidate[..., 1].clamp(0, bounds[1] - 1)], -1)
    new = patch_cost(pairs, candidate, patch)
    better = new < cost
    return torch.where(better[..., None], candidate, nnf), torch.where(better, new, cost)


def _jumps(size: int) -> list[int]:
    """Propagation distances ..., 4, 2, 1 below ``size``."""
    jumps = [1]
    while jumps[-1] * 2 < size:
        jumps.append(jumps[-1] * 2)
    return jumps[::-1]


def random_field(source_hw: tuple[int, int], target_hw: tuple[int, int], generator: torch.Generator,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """A uniformly random field int64 [H_a, W_a, 2] into a target map of size ``target_hw``."""
    ys = torch.randint(0, target_hw[0], source_hw, generator=generator)
    xs = torch.randint(0, target_hw[1], source_hw, generator=generator)
    return torch.stack([ys, xs], -1).to(device)


def patchmatch(pairs: Sequence[Pair], patch: int, iterations: int, radius: int | None = None,
               init: torch.Tensor | None = None, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The field minimising ``patch_cost`` by PatchMatch; returns (nnf int64 [H_a,W_a,2], cost float [H_a,W_a]).

    pairs: (source, target) feature maps summed in the cost (all sources one size, all targets one size), e.g. Deep
    Image Analogy's bidirectional (A, B) and (A′, B′). radius: the largest random-search window (halved down to 1 at
    each iteration, Barnes et al. α = 1/2); None = the whole target map. init: a starting field (e.g. one upsampled
    from a coarser level), else random from ``generator``.
    """
    source_hw = tuple(pairs[0][0].shape[-2:])
    bounds = tuple(pairs[0][1].shape[-2:])
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    device = pairs[0][0].device
    nnf = init.to(device) if init is not None else random_field(source_hw, bounds, generator, device)  # type: ignore[arg-type]
    nnf = torch.stack([nnf[..., 0].clamp(0, bounds[0] - 1), nnf[..., 1].clamp(0, bounds[1] - 1)], -1)
    cost = patch_cost(pairs, nnf, patch)
    start = max(bounds) if radius is None else radius
    for iteration in range(iterations):
        step = 1 if iteration % 2 == 0 else -1  # from left/up, then from right/down
        for jump in _jumps(max(source_hw)):  # far jumps first, as in jump flooding
            for dy, dx in ((0, -step * jump), (-step * jump, 0)):
                neighbour = _shift_clamped(nnf, dy, dx)  # the neighbour's match, moved back by the same step
                candidate = neighbour - torch.tensor([dy, dx], device=device)
                nnf, cost = _improve(pairs, nnf, cost, candidate, patch, bounds)
        r = start
        while r >= 1:
            jitter = torch.randint(-r, r + 1, (*source_hw, 2), generator=generator).to(device)
            nnf, cost = _improve(pairs, nnf, cost, nnf + jitter, patch, bounds)
            r //= 2
    return nnf, cost


def upsample_field(nnf: torch.Tensor, source_hw: tuple[int, int], target_hw: tuple[int, int],
                   coarse_target_hw: tuple[int, int]) -> torch.Tensor:
    """A coarser level's field (into a target of ``coarse_target_hw``) → a field at ``source_hw`` into ``target_hw``:
    each fine pixel takes its coarse parent's match, scaled to the finer target, plus its own offset inside the
    parent (Liao et al. 2017 §4.3, "NNF upsampling")."""
    h, w = nnf.shape[:2]
    ys = torch.arange(source_hw[0], device=nnf.device)
    xs = torch.arange(source_hw[1], device=nnf.device)
    py = (ys * h // source_hw[0]).clamp(max=h - 1)  # parent rows and columns
    px = (xs * w // source_hw[1]).clamp(max=w - 1)
    parent = nnf[py][:, px].float()  # [H, W, 2]
    within_y = (ys - py * source_hw[0] / h)[:, None]
    within_x = (xs - px * source_hw[1] / w)[None, :]
    ty = parent[..., 0] * target_hw[0] / coarse_target_hw[0] + within_y
    tx = parent[..., 1] * target_hw[1] / coarse_target_hw[1] + within_x
    return torch.stack([ty.round().long().clamp(0, target_hw[0] - 1), tx.round().long().clamp(0, target_hw[1] - 1)], -1)


def warp(target: torch.Tensor, nnf: torch.Tensor) -> torch.Tensor:
    """``target[:, nnf(p)]`` for every source pixel p: [C,H_b,W_b] → [C,H_a,W_a]."""
    return target[:, nnf[..., 0], nnf[..., 1]]


def vote(target: torch.Tensor, nnf: torch.Tensor, patch: int) -> torch.Tensor:
    """Patch voting: each source pixel averages the values its overlapping patches' matches put on it,
    [C,H_b,W_b] → [C,H_a,W_a] (Wexler et al.'s uniform-weight reconstruction)."""
    r = patch // 2
    total = torch.zeros(target.size(0), *nnf.shape[:2], device=target.device)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            # the patch centred at p − d covers p; its match puts target(nnf(p − d) + d) on p
            moved = _shift_clamped(nnf, -dy, -dx)
            ty = (moved[..., 0] + dy).clamp(0, target.size(1) - 1)
            tx = (moved[..., 1] + dx).clamp(0, target.size(2) - 1)
            total += target[:, ty, tx]
    return total / patch**2
