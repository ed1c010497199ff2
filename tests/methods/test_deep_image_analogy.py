"""Deep Image Analogy (methods/deep_image_analogy) on tiny images with a random VGG-19 (allow_uncalibrated)."""

from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from methods import METHODS, create_method
from methods.deep_image_analogy.analogy import magnitude_weight
from protocols.base import Offers

SMALL = {"allow_uncalibrated": True, "test_size": 32, "iterations": 1, "deconv_iters": 1}


def images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 24, 24, generator=torch.Generator().manual_seed(seed))


def test_output_shape_range_and_exemplar_dependence() -> None:
    method = create_method("deep_image_analogy", **SMALL)
    assert not method.calibrated
    content = torch.zeros(1, 20, 20, dtype=torch.long)  # layouts only give the output size
    target, ex1, ex2 = images(1, 0), images(1, 1), images(1, 2)
    out1 = method.translate(content, ex1, target_image=target)
    assert out1.shape == (1, 3, 20, 20) and out1.min() >= 0 and out1.max() <= 1
    assert torch.equal(out1, method.translate(content, ex1, target_image=target))
    assert (out1 - method.translate(content, ex2, target_image=target)).abs().max() > 1e-2


def test_output_is_made_of_the_exemplar_when_it_is_uniform() -> None:
    """A′ is voted from B′'s pixels: a uniform B′ gives a uniform A′ of its colour, whatever A is."""
    method = create_method("deep_image_analogy", **SMALL)
    exemplar = torch.full((1, 3, 24, 24), 0.25)
    out = method.translate(torch.zeros(1, 16, 16, dtype=torch.long), exemplar, target_image=images(1, 4))
    torch.testing.assert_close(out, torch.full((1, 3, 16, 16), 0.25))


def test_refuses_without_the_target_image() -> None:
    method = create_method("deep_image_analogy", **SMALL)
    with pytest.raises(BenchError, match="image behind the target layout"):
        method.translate(torch.zeros(1, 16, 16, dtype=torch.long), images(1, 1))
    caps = METHODS.get("deep_image_analogy").capabilities
    offers = Offers(training=frozenset({"single_image"}), label_maps=True, exemplar_labels=True, directions="AB")
    assert offers.refusal(caps) == "needs the image behind the target layout; this protocol has none"
    assert Offers(training=frozenset(), label_maps=True, exemplar_labels=True, target_image=True,
                  directions="AB").refusal(caps) is None


def test_blending_weight_follows_the_feature_magnitude() -> None:
    features = torch.zeros(4, 2, 2)
    features[:, 0, 0] = 1.0  # the strongest response: σ(κ(1 − τ)) ≈ 1; zero responses: σ(−κτ) ≈ 0
    weight = magnitude_weight(features, alpha=0.6, kappa=300.0, tau=0.05)
    assert weight[0, 0, 0] == pytest.approx(0.6) and weight[0, 1, 1] < 1e-6


def test_refuses_a_size_relu5_1_cannot_take() -> None:
    with pytest.raises(BenchError, match="multiple of 16"):
        create_method("deep_image_analogy", **{**SMALL, "test_size": 40})
