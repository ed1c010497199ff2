"""PatchMatch kit (methods/common/patchmatch.py): recovers a known shift; upsampling and voting keep a field."""

from __future__ import annotations

import torch

from methods.common.patchmatch import patch_cost, patchmatch, upsample_field, vote, warp


def grid(h: int, w: int) -> torch.Tensor:
    return torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), -1)


def test_recovers_a_known_shift() -> None:
    target = torch.rand(3, 40, 40, generator=torch.Generator().manual_seed(0))
    source = target[:, 3:35, 5:37].clone()  # source(p) = target(p + (3, 5))
    nnf, cost = patchmatch([(source, target)], patch=3, iterations=6, generator=torch.Generator().manual_seed(1))
    interior = (slice(1, -1), slice(1, -1))  # border patches are clamped on one side only
    assert (nnf[interior] - grid(32, 32)[interior] == torch.tensor([3, 5])).all()
    assert cost[interior].abs().max() < 1e-9
    torch.testing.assert_close(warp(target, nnf)[:, 1:-1, 1:-1], source[:, 1:-1, 1:-1])


def test_cost_is_zero_only_for_the_true_field() -> None:
    target = torch.rand(2, 12, 12, generator=torch.Generator().manual_seed(2))
    identity = grid(12, 12)
    assert patch_cost([(target, target)], identity, 3).max() == 0
    assert patch_cost([(target, target)], identity.flip(0), 3).min() > 0


def test_upsampling_keeps_a_shift_and_voting_reproduces_an_identity() -> None:
    coarse = grid(8, 8) + torch.tensor([1, 2])
    fine = upsample_field(coarse.clamp(max=7), (16, 16), (16, 16), (8, 8))
    assert (fine[:12, :10] - grid(16, 16)[:12, :10] == torch.tensor([2, 4])).all()
    image = torch.rand(3, 10, 10, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(vote(image, grid(10, 10), 3)[:, 1:-1, 1:-1], image[:, 1:-1, 1:-1])
