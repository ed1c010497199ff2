"""The mismatch simulation changes ξ where (and how) it should, and nowhere else."""

from __future__ import annotations

import torch

from methods.segin.postprocess import PostProcess, random_matches, random_rectangles, repeat_pattern, shift_patches

H, W = 8, 10


def identity(b: int = 2) -> torch.Tensor:
    return torch.arange(H * W).repeat(b, 1)


def rect(b: int, top: int, left: int, height: int, width: int) -> torch.Tensor:
    mask = torch.zeros(b, H, W, dtype=torch.bool)
    mask[:, top:top + height, left:left + width] = True
    return mask


def test_shift_moves_matches_inside_the_region_only() -> None:
    region = rect(2, 2, 3, 4, 5)
    xi = shift_patches(identity(), region, dy=torch.tensor([1, -2]), dx=torch.tensor([2, 0]), w=W).view(2, H, W)
    ref = identity().view(2, H, W)
    assert torch.equal(xi[~region], ref[~region])
    for b, (dy, dx) in enumerate([(1, 2), (-2, 0)]):
        for i in range(2, 6):
            for j in range(3, 8):
                assert int(xi[b, i, j]) == min(max(i + dy, 0), H - 1) * W + min(max(j + dx, 0), W - 1)


def test_repeat_tiles_a_small_block_periodically() -> None:
    region = rect(1, 1, 2, 6, 7)
    corner = torch.tensor([[1, 2]])
    xi = repeat_pattern(identity(1), region, corner, origin=torch.tensor([[4, 5]]), period=torch.tensor([[2, 3]]),
                        w=W).view(H, W)
    inside = xi[1:7, 2:9]
    assert torch.equal(inside[:2], inside[2:4]) and torch.equal(inside[:, :3], inside[:, 3:6])
    assert set(inside.unique().tolist()) == {4 * W + 5, 4 * W + 6, 4 * W + 7, 5 * W + 5, 5 * W + 6, 5 * W + 7}
    assert torch.equal(xi[~region[0]], identity(1).view(H, W)[~region[0]])


def test_random_matches_change_exactly_the_selected_positions() -> None:
    gen = torch.Generator().manual_seed(0)
    where = torch.zeros(2, H * W, dtype=torch.bool)
    where[0, ::3] = True
    xi = random_matches(identity(), where, gen)
    assert torch.equal(xi[~where], identity()[~where])
    assert (xi[where] != identity()[where]).float().mean() > 0.9  # a few may hit their own index by chance
    assert xi.min() >= 0 and xi.max() < H * W


def test_rectangles_respect_bounds_and_sizes() -> None:
    mask, corner = random_rectangles(64, H, W, torch.Generator().manual_seed(1), 0.25, 0.6)
    rows, cols = mask.any(2).sum(1), mask.any(1).sum(1)
    assert mask.any(2).any(1).all() and (rows >= 2).all() and (rows <= 5).all() and (cols <= 6).all()
    assert (mask.sum((1, 2)) == rows * cols).all()  # one solid rectangle per sample
    assert torch.equal(mask.any(2).float().argmax(1), corner[:, 0])  # first covered row / column = the corner
    assert torch.equal(mask.any(1).float().argmax(1), corner[:, 1])


def test_postprocess_probabilities_and_determinism() -> None:
    xi = identity(32)
    off = PostProcess(p_shift=0, p_repeat=0, p_random=0)
    out, applied = off(xi, (H, W), torch.Generator().manual_seed(0))
    assert torch.equal(out, xi) and not any(a.any() for a in applied.values())
    on = PostProcess(p_shift=1, p_repeat=1, p_random=1, random_fraction=0.2)
    out, applied = on(xi, (H, W), torch.Generator().manual_seed(0))
    assert all(a.all() for a in applied.values())
    changed = (out != xi).float().mean(1)
    assert (changed > 0.1).all()
    again, _ = on(xi, (H, W), torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    only_random, _ = PostProcess(p_shift=0, p_repeat=0, p_random=1, random_fraction=0.25)(
        xi, (H, W), torch.Generator().manual_seed(1))
    assert abs((only_random != xi).float().mean().item() - 0.25) < 0.05
