"""WCT: whitened-and-coloured features carry the exemplar's covariance; decoders mirror VGG at each ReLU_X_1."""

from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.common.decoders import mirror_decoder
from methods.wct.transform import blend, wct

SMALL = {"allow_uncalibrated": True, "batch_size": 2, "steps": 2, "load_size": 32, "crop_size": 32, "test_size": 32,
         "checkpoint_every": 0}


def covariance(feat: torch.Tensor) -> torch.Tensor:
    flat = feat.flatten(2).double()
    flat = flat - flat.mean(-1, keepdim=True)
    return flat @ flat.transpose(1, 2) / (flat.size(-1) - 1)


def test_output_features_have_the_exemplar_covariance_and_mean() -> None:
    g = torch.Generator().manual_seed(0)
    content = torch.randn(2, 6, 10, 10, generator=g) @ torch.randn(10, 10, generator=g)
    mixing = torch.randn(6, 6, generator=g)
    style = torch.einsum("ij,bjhw->bihw", mixing, torch.randn(2, 6, 8, 9, generator=g)) + 5.0
    out = wct(content, style)
    assert out.shape == content.shape
    assert torch.allclose(covariance(out), covariance(style), atol=1e-4)
    assert torch.allclose(out.mean((2, 3)), style.mean((2, 3)), atol=1e-4)


def test_rank_deficient_features_stay_finite() -> None:
    g = torch.Generator().manual_seed(1)
    out = wct(torch.randn(1, 16, 2, 2, generator=g), torch.randn(1, 16, 1, 1, generator=g))
    assert torch.isfinite(out).all()


def test_blend() -> None:
    a, b = torch.ones(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    assert torch.equal(blend(a, b, 0.0), b) and torch.allclose(blend(a, b, 0.6), 0.6 * a)


def test_decoders_mirror_vgg_at_each_level() -> None:
    counts = [sum(p.numel() for p in mirror_decoder(f"relu{k}_1").parameters()) for k in range(1, 6)]
    assert counts == [1_731, 112_451, 555_075, 3_505_219, 12_944_451]
    assert mirror_decoder("relu5_1")(torch.zeros(1, 512, 2, 2)).shape == (1, 3, 32, 32)


def test_levels_are_validated_and_the_exemplar_decides_the_output() -> None:
    with pytest.raises(BenchError, match="levels"):
        create_method("wct", **SMALL, levels=[6])
    method = create_method("wct", **SMALL)
    assert method.calibrated is False and set(method.networks()) == {"vgg_encoder", *(f"decoder{k}" for k in
                                                                                      range(1, 6))}
    g = torch.Generator().manual_seed(0)
    x, e1, e2 = (torch.rand(2, 3, 28, 28, generator=g) for _ in range(3))
    out = method.translate(x, e1)
    assert out.shape == x.shape and torch.equal(out, method.translate(x, e1))
    assert not torch.allclose(out, method.translate(x, e2))
