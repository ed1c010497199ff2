"""VGG-19 metrics: Gram style loss, CoCosNet semantic consistency and style relevance, against NumPy transcriptions
of their documented definitions on features from the same (seeded random) VGG-19."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import MissingWeightsError
from core.features import VGG19_RELU, imagenet_normalise
from metrics import create_metric

from .conftest import smooth_images


@pytest.fixture(scope="module")
def metrics(module_env: Path) -> dict:
    return {name: create_metric(name, allow_uncalibrated=True, device="cpu")
            for name in ("style_loss", "semantic_consistency", "style_relevance")}


def vgg_numpy(metric, images: torch.Tensor, layer: str) -> np.ndarray:
    """Features by running the Sequential layer by layer (independent of the extractor's ``forward``)."""
    x = imagenet_normalise(images)
    with torch.no_grad():
        for index, module in enumerate(metric.vgg.features):
            x = module(x)
            if index == VGG19_RELU[layer]:
                return x.double().numpy()
    raise AssertionError(layer)


def test_refuse_without_weights() -> None:
    with pytest.raises(MissingWeightsError, match=r"vgg19-dcbb9e9d\.pth"):
        create_metric("semantic_consistency", device="cpu")


def test_style_loss_matches_gatys_formula(metrics: dict) -> None:
    metric = metrics["style_loss"]
    out, ref = smooth_images(2, seed=1), smooth_images(2, seed=2)
    expected = np.zeros(2)
    for layer in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"):
        fo, fr = vgg_numpy(metric, out, layer), vgg_numpy(metric, ref, layer)
        for b in range(2):
            n, m = fo.shape[1], fo.shape[2] * fo.shape[3]
            go = fo[b].reshape(n, m) @ fo[b].reshape(n, m).T
            gr = fr[b].reshape(n, m) @ fr[b].reshape(n, m).T
            expected[b] += 0.2 * np.sum((go - gr) ** 2) / (4 * n**2 * m**2)
    np.testing.assert_allclose(metric.per_image(out, ref).numpy(), expected, rtol=1e-6)
    assert metric.per_image(out, out).abs().max() == 0
    value = metric(out, ref)
    assert value.direction == "lower" and value.calibrated is False


def test_semantic_consistency_is_mean_cosine_of_flattened_features(metrics: dict) -> None:
    metric = metrics["semantic_consistency"]
    out, gt = smooth_images(2, seed=3), smooth_images(2, seed=4)
    cos = []
    for layer in ("relu3_2", "relu4_2", "relu5_2"):
        a, b = vgg_numpy(metric, out, layer).reshape(2, -1), vgg_numpy(metric, gt, layer).reshape(2, -1)
        cos.append((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))
    np.testing.assert_allclose(metric.per_image(out, gt).numpy(), np.mean(cos, axis=0), rtol=1e-6)
    assert metric.per_image(gt, gt).numpy() == pytest.approx([1.0, 1.0])


def test_style_relevance_colour_and_texture(metrics: dict) -> None:
    metric = metrics["style_relevance"]
    out, ex = smooth_images(2, seed=5), smooth_images(2, seed=6)
    scores = metric.per_image(out, ex)
    for aspect, layer in (("colour", "relu1_2"), ("texture", "relu2_2")):
        a, b = vgg_numpy(metric, out, layer).mean(axis=(2, 3)), vgg_numpy(metric, ex, layer).mean(axis=(2, 3))
        expected = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        np.testing.assert_allclose(scores[aspect].numpy(), expected, rtol=1e-6)
    value = metric(out, ex)
    assert value.name == "style_relevance_colour"
    assert value.extra["companions"][0].name == "style_relevance_texture"


def test_style_relevance_with_label_maps_compares_matching_classes(metrics: dict) -> None:
    metric = metrics["style_relevance"]
    out = smooth_images(1, seed=7)
    swapped = torch.cat([out[..., 16:], out[..., :16]], dim=-1)  # left and right halves exchanged
    left = torch.zeros(1, 32, 32, dtype=torch.long)
    left[..., 16:] = 1
    right = 1 - left
    matched = metric.per_image(out, swapped, left, right)["colour"]  # class 0 = same content in both
    mismatched = metric.per_image(out, swapped, left, left)["colour"]
    assert float(matched) > float(mismatched)
    assert float(matched) == pytest.approx(1.0, abs=0.02)  # borders differ slightly after the swap
    with pytest.raises(ValueError, match="both"):
        metric.per_image(out, swapped, left, None)


def test_definitions_are_part_of_the_protocol(metrics: dict) -> None:
    base = metrics["style_relevance"]
    other = create_metric("style_relevance", allow_uncalibrated=True, device="cpu", texture_statistic="std")
    assert base.settings_hash() != other.settings_hash()
    assert base.settings()["weights_sha256"] == "random-init(seed=0)"
    flat = metrics["semantic_consistency"]
    positional = create_metric("semantic_consistency", allow_uncalibrated=True, device="cpu", cosine="per_position")
    assert flat.settings_hash() != positional.settings_hash()
