"""Semantic match (Eq. 1–2) on constructed inputs, where the right answer is known."""

from __future__ import annotations

import pytest
import torch

from methods.segin.match import SemanticMatcher, correspondence, warp


def grid_index(h: int, w: int) -> torch.Tensor:
    return torch.arange(h * w).view(h, w)


@pytest.mark.parametrize("patch", [1, 3])
def test_match_finds_the_displaced_patch(patch: int) -> None:
    torch.manual_seed(0)
    fr = torch.randn(2, 16, 9, 11)
    fx = torch.roll(fr, shifts=(2, -3), dims=(2, 3))  # input position (i, j) shows reference (i-2, j+3)
    xi = correspondence(fx, fr, patch=patch).view(2, 9, 11)
    idx = grid_index(9, 11)
    expected = torch.roll(idx, shifts=(2, -3), dims=(0, 1))
    m = patch // 2  # patches that cross the border see the zero padding (and wrapped content): check the interior
    inner = (slice(2 + m, 9 - m), slice(m, 11 - 3 - m))
    assert torch.equal(xi[0][inner], expected[inner]) and torch.equal(xi[1][inner], expected[inner])


def test_match_uses_cosine_similarity_not_magnitude() -> None:
    fr = torch.zeros(1, 2, 1, 3)
    fr[0, :, 0, 0] = torch.tensor([1.0, 0.0])
    fr[0, :, 0, 1] = torch.tensor([0.0, 10.0])  # large magnitude, wrong direction
    fr[0, :, 0, 2] = torch.tensor([0.6, 0.8])
    fx = torch.tensor([[3.0, 0.1]]).view(1, 2, 1, 1)
    assert correspondence(fx.expand(1, 2, 1, 3).contiguous(), fr, patch=1).tolist() == [[0, 0, 0]]


def test_chunking_does_not_change_the_match() -> None:
    torch.manual_seed(1)
    fx, fr = torch.randn(3, 8, 12, 12), torch.randn(3, 8, 12, 12)
    assert torch.equal(correspondence(fx, fr, 3, chunk=7), correspondence(fx, fr, 3, chunk=4096))


def test_warp_copies_reference_patches_to_matched_positions() -> None:
    torch.manual_seed(2)
    delta, h, w = 4, 5, 6
    r = torch.rand(1, 3, delta * h, delta * w)
    perm = torch.randperm(h * w)
    out = warp(r, perm.view(1, -1), (h, w), patch=1)  # k=1: non-overlapping δ×δ blocks, exact copies
    for i in range(h * w):
        y, x = divmod(i, w)
        sy, sx = divmod(int(perm[i]), w)
        assert torch.allclose(out[0, :, y * delta:(y + 1) * delta, x * delta:(x + 1) * delta],
                              r[0, :, sy * delta:(sy + 1) * delta, sx * delta:(sx + 1) * delta])
    identity = torch.arange(h * w).view(1, -1)
    assert torch.allclose(warp(r, identity, (h, w), patch=3), r, atol=1e-6)  # overlapping copies average to r


def test_matcher_reproduces_a_reference_matched_with_itself() -> None:
    from torchvision.models import vgg19

    torch.manual_seed(3)
    matcher = SemanticMatcher(vgg19(weights=None).features.eval(), "relu2_1", patch=3)
    image = torch.rand(1, 3, 32, 32)
    xi, hw = matcher.match(image, image)
    assert hw == (16, 16) and torch.equal(xi[0], torch.arange(256))
    assert torch.allclose(matcher(image, image), image, atol=1e-5)


def test_shape_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        correspondence(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="odd"):
        correspondence(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), patch=2)
    with pytest.raises(ValueError, match="integer multiple"):
        warp(torch.zeros(1, 3, 10, 10), torch.zeros(1, 9, dtype=torch.long), (3, 3))
