"""The chunked soft warp (``methods.common.correspondence``) against the dense product it replaces: same values,
same gradients w.r.t. query, key and value, the transposed (cycle) warp, and no N×M tensor ever allocated."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from core.errors import BenchError
from methods.common import correspondence
from methods.common.correspondence import (
    cycle_warp,
    match_size,
    resize_features,
    soft_warp,
    soft_warp_dense,
    warp_exemplar,
)


def unit(*shape: int, generator: torch.Generator) -> torch.Tensor:
    """Centred, L2-normalised random vectors along the last axis (what CoCosNet feeds the match)."""
    x = torch.randn(*shape, generator=generator)
    return F.normalize(x - x.mean(-1, keepdim=True), dim=-1).requires_grad_()


def close(actual: torch.Tensor, expected: torch.Tensor, rel: float = 2e-5) -> None:
    """Equal within float32 round-off, relative to the tensor's scale (gradients carry the 1/τ = 100 factor)."""
    scale = expected.abs().max().clamp_min(1e-12)
    assert ((actual - expected).abs().max() / scale).item() < rel


CASES = [  # B, N, M, C, D, chunk_size (None = automatic; 7 and 16 do not divide N)
    (1, 48, 48, 16, 3, 16),
    (2, 37, 53, 32, 3, 7),
    (3, 64, 40, 24, 256, None),
    (2, 50, 70, 256, 256, 16),
    (1, 30, 20, 8, 3 + 5, 1),
]


@pytest.mark.parametrize("batch,n,m,c,d,chunk", CASES)
def test_values_and_gradients_equal_dense(batch: int, n: int, m: int, c: int, d: int, chunk: int | None) -> None:
    gen = torch.Generator().manual_seed(batch * 1000 + n + m + d)
    q, k = unit(batch, n, c, generator=gen), unit(batch, m, c, generator=gen)
    v = torch.rand(batch, m, d, generator=gen).requires_grad_()
    upstream = torch.randn(batch, n, d, generator=gen)
    ours = soft_warp(q, k, v, 0.01, chunk)
    dense = soft_warp_dense(q, k, v, 0.01)
    assert ours.shape == (batch, n, d) and ours.dtype == torch.float32
    close(ours, dense, rel=1e-5)
    for mine, ref in zip(torch.autograd.grad(ours, (q, k, v), upstream),
                         torch.autograd.grad(dense, (q, k, v), upstream), strict=True):
        close(mine, ref)


def test_gradcheck_float64() -> None:
    """Analytic backward against finite differences (float64), several blocks, inputs not normalised."""
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 9, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 11, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 11, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: soft_warp(a, b, c, 0.5, 4), (q, k, v))


def test_temperature_001_is_a_near_hard_match() -> None:
    """τ = 0.01 on unit vectors: logits up to ±100 stay finite (row max subtracted), and a key set containing the
    query vectors exactly (plus far-off ones) returns each matched value."""
    gen = torch.Generator().manual_seed(1)
    q = unit(1, 20, 64, generator=gen).detach()
    keys = torch.cat([q, -q], 1)  # cos = 1 with the copy, -1 with the negation: logit gap 200
    values = torch.cat([torch.arange(20.0), torch.full((20,), -5.0)]).view(1, 40, 1)
    out = soft_warp(q, keys, values, 0.01, chunk_size=6)
    assert torch.isfinite(out).all()
    # other random unit vectors in 64-d have cos ≲ 0.6: their weight ≲ 20·e^-40, nothing at float32 scale
    assert torch.allclose(out.view(-1), torch.arange(20.0), atol=1e-4)


@pytest.mark.parametrize("chunk", [None, 5])
def test_cycle_warp_equals_dense_transpose(chunk: int | None) -> None:
    """The official ``softmax(f.transpose(1, 2), -1) · y`` on the same matrix, gradients into y included."""
    gen = torch.Generator().manual_seed(2)
    q, k = unit(2, 24, 16, generator=gen), unit(2, 31, 16, generator=gen)
    y = torch.rand(2, 24, 3, generator=gen).requires_grad_()
    logits = torch.bmm(q, k.transpose(1, 2)) / 0.01
    dense = torch.softmax(logits.transpose(1, 2), dim=-1) @ y  # [B, M, 3]
    ours = cycle_warp(q, k, y, 0.01, chunk)
    assert ours.shape == (2, 31, 3)
    close(ours, dense, rel=1e-5)
    upstream = torch.randn_like(dense)
    for mine, ref in zip(torch.autograd.grad(ours, (q, k, y), upstream),
                         torch.autograd.grad(dense, (q, k, y), upstream), strict=True):
        close(mine, ref)


class LargestTensor(TorchDispatchMode):
    """Records the element count of the largest tensor any ATen op returns (forward and backward)."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def largest_tensor(fn, *inputs: torch.Tensor) -> int:  # type: ignore[no-untyped-def]
    with LargestTensor() as mode:
        out = fn(*inputs)
        out.backward(torch.ones_like(out))
    return mode.largest


def test_memory_is_not_quadratic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No op in forward or backward returns a tensor of N·M elements; the dense path does (the check has teeth).
    The automatic block size obeys ``CHUNK_ELEMENTS`` (shrunk here so that a small case has several blocks)."""
    n = m = 1024
    gen = torch.Generator().manual_seed(3)
    q, k = unit(1, n, 32, generator=gen), unit(1, m, 32, generator=gen)
    v = torch.rand(1, m, 3, generator=gen).requires_grad_()
    assert largest_tensor(lambda *x: soft_warp_dense(*x, 0.01), q, k, v) >= n * m
    assert largest_tensor(lambda *x: soft_warp(*x, 0.01, 32), q, k, v) == 32 * m
    monkeypatch.setattr(correspondence, "CHUNK_ELEMENTS", 64 * m)
    assert largest_tensor(lambda *x: soft_warp(*x, 0.01), q, k, v) == 64 * m


def test_only_requested_gradients_and_no_grad_mode() -> None:
    gen = torch.Generator().manual_seed(4)
    q, k = unit(1, 12, 8, generator=gen), unit(1, 10, 8, generator=gen).detach()
    v = torch.rand(1, 10, 3, generator=gen)
    out = soft_warp(q, k, v, 0.1, 5)
    (grad_q,) = torch.autograd.grad(out.sum(), q)
    (ref,) = torch.autograd.grad(soft_warp_dense(q, k, v, 0.1).sum(), q)
    close(grad_q, ref)
    with torch.no_grad():
        assert not soft_warp(q, k, v, 0.1).requires_grad


def test_bad_inputs() -> None:
    q, v = torch.zeros(1, 4, 8), torch.zeros(1, 5, 3)
    with pytest.raises(BenchError, match="temperature"):
        soft_warp(q, torch.zeros(1, 5, 8), v, 0.0)
    with pytest.raises(BenchError, match="chunk_size"):
        soft_warp(q, torch.zeros(1, 5, 8), v, 0.01, chunk_size=0)
    with pytest.raises(ValueError, match="channels"):
        soft_warp(q, torch.zeros(1, 5, 7), v, 0.01)
    with pytest.raises(ValueError, match="positions"):
        soft_warp(q, torch.zeros(1, 6, 8), v, 0.01)
    with pytest.raises(BenchError, match="match_resolution"):
        match_size((256, 256), "1/8")
    with pytest.raises(BenchError, match="divisible"):
        match_size((250, 256), "1/4")


def test_match_size_and_feature_resize() -> None:
    assert match_size((256, 192), "1/4") == (64, 48)
    assert match_size((256, 192), "1/2") == (128, 96)
    assert match_size((256, 192), "full") == (256, 192)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resize_features(x, (4, 4)) is x
    assert torch.equal(resize_features(x, (2, 2)), F.avg_pool2d(x, 2))
    assert resize_features(x, (8, 8)).shape == (1, 1, 8, 8)


def dense_reference(q: torch.Tensor, k: torch.Tensor, exemplar: torch.Tensor, labels: torch.Tensor,
                    factor: int, mode: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The official non-patch pipeline written out densely: pool, warp RGB and mask, upsample, cycle."""
    batch, _, h, w = q.shape
    logits = torch.bmm(q.flatten(2).transpose(1, 2), k.flatten(2)) / 0.01
    ref = F.avg_pool2d(exemplar, factor).flatten(2).transpose(1, 2)
    seg = F.interpolate(labels, size=(h, w), mode="nearest").flatten(2).transpose(1, 2)
    y = torch.softmax(logits, -1) @ ref
    mask = (torch.softmax(logits, -1) @ seg).transpose(1, 2).reshape(batch, -1, h, w)
    back = (torch.softmax(logits.transpose(1, 2), -1) @ y).transpose(1, 2).reshape(batch, -1, h, w)
    image = y.transpose(1, 2).reshape(batch, -1, h, w)
    if factor > 1:  # nn.Upsample(scale_factor=f) / nn.Upsample(scale_factor=f, mode="bilinear") as the official
        image = F.interpolate(image, scale_factor=factor, mode=mode)
    return image, mask, back


@pytest.mark.parametrize("resolution,upsample", [("1/4", "nearest"), ("1/2", "nearest"), ("full", "nearest"),
                                                 ("1/4", "bilinear")])
def test_warp_exemplar_matches_official_pipeline(resolution: str, upsample: str) -> None:
    gen = torch.Generator().manual_seed(5)
    h, w = match_size((16, 16), resolution)
    q = F.normalize(torch.randn(2, 12, h, w, generator=gen), dim=1)
    k = F.normalize(torch.randn(2, 12, h, w, generator=gen), dim=1)
    exemplar = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    labels = F.one_hot(torch.randint(0, 4, (2, 16, 16), generator=gen), 4).permute(0, 3, 1, 2).float()
    out = warp_exemplar(q, k, exemplar, 0.01, exemplar_labels=labels, cycle=True, upsample=upsample, chunk_size=5)
    image, mask, back = dense_reference(q, k, exemplar, labels, 16 // h, upsample)
    assert out.image.shape == (2, 3, 16, 16) and out.mask_low.shape == (2, 4, h, w)
    close(out.image, image, rel=1e-5)
    close(out.mask_low, mask, rel=1e-5)
    close(out.cycle, back, rel=1e-5)
    assert torch.allclose(out.mask_low.sum(1), torch.ones(2, h, w), atol=1e-5)  # a one-hot stays a distribution
    assert torch.equal(out.exemplar_low, F.avg_pool2d(exemplar, 16 // h))


def test_warp_exemplar_patch_mode_moves_whole_patches() -> None:
    """``--warp_patch``: with the identity match (keys = queries, τ small) every 4×4 patch comes back unchanged,
    and the cycle warp returns the exemplar itself."""
    gen = torch.Generator().manual_seed(6)
    q = F.normalize(torch.randn(1, 64, 4, 4, generator=gen), dim=1)
    exemplar = torch.rand(1, 3, 16, 16, generator=gen)
    out = warp_exemplar(q, q, exemplar, 0.01, cycle=True, upsample="patch")
    assert torch.allclose(out.image, exemplar, atol=1e-4)
    assert torch.allclose(out.cycle, exemplar, atol=1e-4)
    with pytest.raises(BenchError, match="upsampling"):
        warp_exemplar(q, q, exemplar, 0.01, upsample="bicubic")
    with pytest.raises(ValueError, match="one match grid"):
        warp_exemplar(q, q[..., :2], exemplar, 0.01)
    with pytest.raises(BenchError, match="does not tile"):
        warp_exemplar(q, q, exemplar[..., :15], 0.01)
