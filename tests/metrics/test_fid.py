"""FID/KID: the Fréchet math against pytorch-fid's function and an independent scipy computation, KID against a
direct transcription of the unbiased estimator, the Inception features against pytorch-fid's own loop, the
reference cache, small-sample warnings and the refusal without weights."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pytorch_fid.fid_score import calculate_frechet_distance, get_activations
from scipy import linalg

from core.errors import MissingWeightsError
from metrics import create_metric
from metrics.base import MetricInputError
from metrics.fid import (
    frechet_distance,
    frechet_distance_from_features,
    kid_from_features,
    kid_subset_size,
    polynomial_mmd2,
)
from metrics.images import FolderImages
from metrics.inception import ReferenceFeatures, gaussian_statistics

from .conftest import random_images, smooth_images


def scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    """Independent: Tr((Σ₁Σ₂)^½) as the sum of square roots of the eigenvalues of Σ₁Σ₂ (real, ≥ 0)."""
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eig = linalg.eigvals(s1 @ s2)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(eig.real, 0, None)).sum())


@pytest.mark.parametrize(("n1", "n2", "d"), [(200, 150, 32), (40, 30, 64), (300, 300, 16)])
def test_frechet_distance_matches_pytorch_fid_and_scipy(n1: int, n2: int, d: int) -> None:
    rng = np.random.default_rng(d)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    x = rng.standard_normal((n1, d)) @ mixing
    y = rng.standard_normal((n2, d)) @ (mixing * 1.3) + 0.2
    mu1, s1 = gaussian_statistics(x)
    mu2, s2 = gaussian_statistics(y)
    reference = calculate_frechet_distance(mu1, s1, mu2, s2)
    # With fewer samples than dimensions, sqrtm/eig add the square roots of round-off "null" eigenvalues (~1e-8
    # relative here); the nuclear-norm path has no null space, hence rel=1e-7 rather than machine precision.
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-7)
    assert frechet_distance_from_features(x, y) == pytest.approx(reference, rel=1e-7)
    assert frechet_distance_from_features(x, y) == pytest.approx(scipy_fid(x, y), rel=1e-7)


def test_frechet_distance_of_identical_sets_is_zero() -> None:
    x = np.random.default_rng(0).standard_normal((20, 64))  # fewer samples than dimensions (rank-deficient)
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_kid_matches_direct_transcription() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((12, 8)), rng.standard_normal((12, 8)) + 0.5

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (a @ b / 8 + 1) ** 3

    m = 12
    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert polynomial_mmd2(x, y) == pytest.approx(same - 2 * cross, rel=1e-10)


def test_kid_subsets_are_seeded_and_clipped_to_the_set_size() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 8)), rng.standard_normal((25, 8))
    a, size = kid_from_features(x, y, subsets=5, subset_size=1000, seed=3)
    b, _ = kid_from_features(x, y, subsets=5, subset_size=1000, seed=3)
    assert size == 12 and np.array_equal(a, b)  # fewer samples than subset_size: half the smaller set
    c, _ = kid_from_features(x, y, subsets=5, subset_size=10, seed=4)
    assert not np.array_equal(a, c)


# -- the metric objects (random Inception weights: allow_uncalibrated; 64-d features keep CPU tests fast) ---------

@pytest.fixture(scope="module")
def fid64(module_env: Path):
    return create_metric("fid", dims=64, allow_uncalibrated=True, device="cpu", kid_subsets=10)


def test_fid_refuses_without_weights_and_names_the_file() -> None:
    with pytest.raises(MissingWeightsError, match=r"pt_inception-2015-12-05-6726825d\.pth.*6726825d") as info:
        create_metric("fid")
    assert "python -m bench weights download inception_fid" in str(info.value)


def test_uncalibrated_fid_is_marked_and_reports_kid_beside_small_samples(fid64) -> None:
    fake, real = smooth_images(10, seed=1), smooth_images(12, seed=2)
    value = fid64(fake, real)
    assert value.calibrated is False and any("uncalibrated" in w for w in value.warnings)
    assert any("< 2048" in w for w in value.warnings)
    kid = value.extra["companions"][0]
    assert kid.name == "kid" and kid.calibrated is False and kid.std is not None
    assert value.extra["settings"]["n_fake"] == 10 and value.extra["settings"]["n_real"] == 12
    assert value.extra["settings"]["weights_sha256"] == "random-init(seed=0)"
    assert fid64(real, real).value == pytest.approx(0.0, abs=1e-6)
    assert value.value > 1e-6


def test_sample_counts_change_the_protocol_hash(fid64) -> None:
    real = smooth_images(12, seed=2)
    a, b = fid64(smooth_images(10, seed=1), real), fid64(smooth_images(11, seed=1), real)
    assert a.extra["protocol_hash"] != b.extra["protocol_hash"]


def test_reference_cache_hits_and_invalidates_on_data_change(fid64, tmp_path: Path) -> None:
    fid64.cache.folder = tmp_path / "cache"
    fake, real = smooth_images(8, seed=3), smooth_images(8, seed=4)
    first = fid64(fake, real)
    second = fid64(fake, real)
    assert not first.extra["real_from_cache"] and second.extra["real_from_cache"]
    assert first.value == second.value
    changed = real.clone()
    changed[0, 0, 0, 0] = 1.0 - changed[0, 0, 0, 0]  # one pixel
    third = fid64(fake, changed)
    assert not third.extra["real_from_cache"] and third.extra["real_data_hash"] != first.extra["real_data_hash"]
    entries = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(entries) == 2 and all(e.endswith(".npz") for e in entries)  # atomic writes leave no temp files


def test_cache_key_includes_the_feature_protocol(fid64) -> None:
    other = copy.copy(fid64)
    other.extractor = copy.copy(fid64.extractor)
    other.extractor.quantize = False
    assert other.feature_protocol_hash() != fid64.feature_protocol_hash()
    assert other.settings_hash() != fid64.settings_hash()


def test_kid_metric_and_fid_share_definitions(fid64) -> None:
    fake, real = smooth_images(9, seed=5), smooth_images(9, seed=6)
    kid = create_metric("kid", subsets=10, extractor=fid64.extractor)
    direct = kid(fake, real)
    beside = fid64(fake, real).extra["companions"][0]
    assert direct.value == pytest.approx(beside.value, rel=1e-12)
    assert direct.extra["effective_subset_size"] == 4  # 9 < subset_size: half the smaller set (kid_subset_size)
    assert direct.calibrated is False


def test_pytorch_fid_algorithm_option_agrees(fid64) -> None:
    fake, real = smooth_images(8, seed=7), smooth_images(8, seed=8)
    strict = copy.copy(fid64)
    strict.algorithm = "pytorch-fid"
    assert strict(fake, real).value == pytest.approx(fid64(fake, real).value, rel=1e-5, abs=1e-7)
    assert strict.settings_hash() != fid64.settings_hash()


def test_fid_rejects_values_outside_unit_range(fid64) -> None:
    with pytest.raises(ValueError, match=r"\[0,1\].*\(x \+ 1\) / 2"):
        fid64(random_images(4) * 2 - 1, random_images(4))


def test_inception_features_match_pytorch_fid_loop_on_files(module_env: Path, tmp_path: Path) -> None:
    """Our batched pool3 features equal pytorch-fid's own ``get_activations`` on the same PNG files and network."""
    images = (smooth_images(2, size=40, seed=9) * 255).round().to(torch.uint8)
    files = []
    for i, image in enumerate(images):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(files[-1])
    fid = create_metric("fid", dims=2048, allow_uncalibrated=True, device="cpu", batch_size=2)
    ours = fid.extractor.features(FolderImages(files, batch_size=2))
    theirs = get_activations(files, fid.extractor.network.model, batch_size=2, dims=2048, device="cpu",
                             num_workers=0)
    assert ours.shape == (2, 2048)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# -- KID with fewer samples than its subset size (issue 13, failure kind 3) ------------------------------------------

def old_kid(x: np.ndarray, y: np.ndarray, subsets: int, size: int, seed: int) -> np.ndarray:
    """The algorithm before the fix, transcribed: subsets of ``size`` without replacement from one generator."""
    rng = np.random.default_rng(seed)
    return np.array([polynomial_mmd2(x[rng.choice(len(x), size, replace=False)],
                                     y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)])


def test_kid_below_its_subset_size_uses_half_the_smaller_set_says_so_and_has_a_spread(fid64) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((20, 8)), rng.standard_normal((20, 8)) + 0.3
    assert np.ptp(old_kid(x, y, 10, 20, 0)) < 1e-12  # the fault: one subset drawn 10 times, "± 0.000"
    kid = create_metric("kid", subsets=10, extractor=fid64.extractor)  # subset_size 1000 > 20 samples
    value = kid.from_features(x, y)
    assert value.extra["settings"]["effective_subset_size"] == 10 and value.extra["settings"]["subset_size"] == 1000
    assert value.std > 1e-4 * abs(value.value)
    assert value.value == pytest.approx(old_kid(x, y, 10, 10, 0).mean(), rel=1e-12)
    assert any(w.startswith("KID subsets of 10, not 1000 (only 20 samples in the smaller set)")
               for w in value.warnings)
    fid_kid = fid64.from_features(x, ReferenceFeatures(y, *gaussian_statistics(y), "h", False))
    assert fid_kid.extra["companions"][0].warnings == value.warnings  # carried beside a small-sample FID too


def test_kid_at_or_above_its_subset_size_is_unchanged() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((30, 8)), rng.standard_normal((25, 8))
    values, size = kid_from_features(x, y, subsets=5, subset_size=10, seed=3)
    assert size == 10 and np.array_equal(values, old_kid(x, y, 5, 10, 3))
    values, size = kid_from_features(x, y, subsets=5, subset_size=25, seed=3)  # the real set whole, fakes vary
    assert size == 25 and np.array_equal(values, old_kid(x, y, 5, 25, 3))
    assert kid_subset_size(25, 25, 25) == (12, kid_subset_size(25, 25, 25)[1])  # both whole: one subset → halved
    assert kid_subset_size(25, 25, 25)[1] is not None and kid_subset_size(26, 25, 25)[1] is None


def test_kid_refuses_sets_too_small_for_any_spread() -> None:
    rng = np.random.default_rng(7)
    with pytest.raises(MetricInputError, match=r"KID needs at least 4 samples per set.*got 3 generated and 9 real"):
        kid_from_features(rng.standard_normal((3, 8)), rng.standard_normal((9, 8)))
