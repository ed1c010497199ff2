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
    built = {name: create_metric(name, allow_uncalibrated=True, device="cpu")
             for name in ("style_loss", "semantic_consistency", "style_relevance")}
    built["style_relevance_whole"] = create_metric("style_relevance", allow_uncalibrated=True, device="cpu",
                                                   regions="whole_image")
    return built


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


def test_semantic_consistency_value_is_the_mean_over_the_test_set(metrics: dict) -> None:
    metric = metrics["semantic_consistency"]
    out, gt = smooth_images(3, seed=3), smooth_images(3, seed=4)
    value = metric(out, gt)
    assert value.value == pytest.approx(float(metric.per_image(out, gt).mean())) and value.n == 3
    assert value.calibrated is False and value.warnings[0].startswith("uncalibrated")  # random VGG, marked


def region_stat(features: np.ndarray, mask: np.ndarray, statistic: str) -> np.ndarray:
    """Direct transcription: mask [H,W] block-averaged to the feature size, weighted mean / std over positions."""
    f = mask.shape[0] // features.shape[1]
    weight = mask.reshape(features.shape[1], f, features.shape[2], f).mean(axis=(1, 3))
    weight = weight / weight.sum()
    mean = (features * weight).sum(axis=(1, 2))
    if statistic == "mean":
        return mean
    return np.sqrt((((features - mean[:, None, None]) ** 2) * weight).sum(axis=(1, 2)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_style_relevance_matches_a_direct_per_class_computation(metrics: dict) -> None:
    metric = metrics["style_relevance"]
    out, ex = smooth_images(2, seed=5), smooth_images(2, seed=6)
    lo = torch.zeros(2, 32, 32, dtype=torch.long)
    lo[:, :, 12:] = 1
    lo[1, 20:, :] = 2  # image 1: class 2 only in the output
    le = torch.zeros(2, 32, 32, dtype=torch.long)
    le[:, 18:, :] = 1
    le[0, :4, :4] = 3  # image 0: class 3 only in the exemplar
    scores = metric.per_image(out, ex, lo, le)
    for aspect, layer, statistic in (("colour", "relu1_2", "mean"), ("texture", "relu2_2", "std")):
        fo, fe = vgg_numpy(metric, out, layer), vgg_numpy(metric, ex, layer)
        for b in range(2):
            expected = np.mean([cosine(region_stat(fo[b], (lo[b] == c).double().numpy(), statistic),
                                       region_stat(fe[b], (le[b] == c).double().numpy(), statistic)) for c in (0, 1)])
            assert float(scores[aspect][b]) == pytest.approx(expected, rel=1e-6), (aspect, b)
    value = metric(out, ex, lo, le)
    assert value.name == "style_relevance_colour" and value.value == pytest.approx(float(scores["colour"].mean()))
    assert value.extra["companions"][0].name == "style_relevance_texture"
    assert value.extra["regions"] == {"compared": 4, "only_in_output": 1, "only_in_exemplar": 1,
                                      "below_min_region_pixels": 0, "images_without_shared_class": 0}
    onehot = torch.nn.functional.one_hot(lo, 4).permute(0, 3, 1, 2).float()  # the protocols' conditioning form
    assert torch.equal(metric.per_image(out, ex, onehot, le)["colour"], scores["colour"])
    assert value.calibrated is False
    # the ignore id belongs to no region: with ignore_index=1 only class 0 is compared
    ignoring = create_metric("style_relevance", allow_uncalibrated=True, device="cpu", ignore_index=1)
    fo, fe = vgg_numpy(metric, out, "relu1_2"), vgg_numpy(metric, ex, "relu1_2")
    only_0 = cosine(region_stat(fo[0], (lo[0] == 0).double().numpy(), "mean"),
                    region_stat(fe[0], (le[0] == 0).double().numpy(), "mean"))
    assert float(ignoring.per_image(out, ex, lo, le)["colour"][0]) == pytest.approx(only_0, rel=1e-6)
    assert ignoring.settings_hash() != metric.settings_hash()


def two_regions(left: tuple[float, float, float], right: tuple[float, float, float]) -> torch.Tensor:
    image = torch.empty(1, 3, 32, 32)
    image[..., :16] = torch.tensor(left)[:, None, None]
    image[..., 16:] = torch.tensor(right)[:, None, None]
    return image


def test_region_matching_sees_swapped_styles_that_a_whole_image_mean_cannot(metrics: dict) -> None:
    """Exemplar: class 0 red on the left, class 1 blue on the right. A faithful output paints class 0 red and
    class 1 blue; the swapped one paints them blue and red. Whole images hold the same colours either way."""
    metric, whole = metrics["style_relevance"], metrics["style_relevance_whole"]
    red, blue = (0.9, 0.1, 0.1), (0.1, 0.1, 0.9)
    exemplar = two_regions(red, blue)
    labels = torch.zeros(1, 32, 32, dtype=torch.long)
    labels[..., 16:] = 1
    faithful, swapped = two_regions(red, blue), two_regions(blue, red)
    regions_faithful = metric.per_image(faithful, exemplar, labels, labels)
    regions_swapped = metric.per_image(swapped, exemplar, labels, labels)
    whole_faithful, whole_swapped = whole.per_image(faithful, exemplar), whole.per_image(swapped, exemplar)
    assert float(regions_faithful["colour"]) == pytest.approx(1.0)
    assert float(regions_faithful["colour"] - regions_swapped["colour"]) > 0.05
    assert abs(float(whole_faithful["colour"] - whole_swapped["colour"])) < 0.05 * float(
        regions_faithful["colour"] - regions_swapped["colour"])
    # a layout swap with the style kept per class (the output's regions moved) stays at 1
    moved = torch.flip(labels, dims=[-1])
    assert float(metric.per_image(two_regions(blue, red), exemplar, moved, labels)["colour"]) == pytest.approx(
        1.0, abs=0.01)  # border padding differs


def test_definitions_are_part_of_the_protocol(metrics: dict) -> None:
    base = metrics["style_relevance"]
    other = create_metric("style_relevance", allow_uncalibrated=True, device="cpu", texture_statistic="gram")
    assert base.settings()["aspects"]["texture"] == {"layer": "relu2_2", "statistic": "std"}
    assert base.settings_hash() != metrics["style_relevance_whole"].settings_hash()
    assert base.settings_hash() != other.settings_hash()
    assert base.settings()["weights_sha256"] == "random-init(seed=0)"
    flat = metrics["semantic_consistency"]
    positional = create_metric("semantic_consistency", allow_uncalibrated=True, device="cpu", cosine="per_position")
    assert flat.settings_hash() != positional.settings_hash()
