"""SWD against an independent NumPy transcription of PGGAN's ``sliced_wasserstein.py`` (scipy.ndimage mirror
convolution, flat-index neighbourhood gathering, float64 throughout), driven by the same documented RNG protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from metrics import create_metric
from metrics.swd import laplacian_pyramid, normalise_descriptors

from .conftest import random_images, smooth_images

KERNEL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float64) / 256


def np_pyr_down(x: np.ndarray) -> np.ndarray:
    return scipy.ndimage.convolve(x, KERNEL[None, None], mode="mirror")[:, :, ::2, ::2]


def np_pyr_up(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    up = np.zeros((n, c, h * 2, w * 2))
    up[:, :, ::2, ::2] = x
    return scipy.ndimage.convolve(up, KERNEL[None, None] * 4, mode="mirror")


def np_pyramid(x: np.ndarray, levels: int) -> list[np.ndarray]:
    pyramid = [x.astype(np.float64)]
    for _ in range(1, levels):
        pyramid.append(np_pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - np_pyr_up(pyramid[-1])
    return pyramid


def np_descriptors(images: np.ndarray, seed_stream: list[int], levels: int, per_image: int = 128,
                   size: int = 7) -> list[np.ndarray]:
    """Per level: normalised [N·per_image, 3·size²] descriptors (draws: image by image, level by level, x then y)."""
    rng = np.random.default_rng(seed_stream)
    pyramid = np_pyramid(images, levels)
    n, half = images.shape[0], size // 2
    picks = [[(rng.integers(half, lvl.shape[3] - half, per_image), rng.integers(half, lvl.shape[2] - half, per_image))
              for lvl in pyramid] for _ in range(n)]
    out = []
    for index, level in enumerate(pyramid):
        _, c, h, w = level.shape
        rows = []
        for i in range(n):
            xs, ys = picks[i][index]
            for x, y in zip(xs, ys, strict=True):
                idx = ((i * c + np.arange(c)[:, None, None]) * h + (y + np.arange(-half, half + 1))[None, :, None]) \
                    * w + (x + np.arange(-half, half + 1))[None, None, :]
                rows.append(level.flat[idx])
        desc = np.stack(rows)
        desc = (desc - desc.mean(axis=(0, 2, 3), keepdims=True)) / desc.std(axis=(0, 2, 3), keepdims=True)
        out.append(desc.reshape(desc.shape[0], -1))
    return out


def np_swd(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> list[float]:
    levels = 0
    res = real.shape[2]
    while res >= 16:
        levels, res = levels + 1, res // 2
    a, b = np_descriptors(real, [seed, 0], levels), np_descriptors(fake, [seed, 1], levels)
    rng = np.random.default_rng([seed, 2])
    result = []
    for da, db in zip(a, b, strict=True):
        repeats = []
        for _ in range(4):
            dirs = rng.standard_normal((da.shape[1], 128))
            dirs /= np.sqrt(np.sum(dirs**2, axis=0, keepdims=True))
            pa, pb = np.sort(da @ dirs, axis=0), np.sort(db @ dirs, axis=0)
            repeats.append(np.mean(np.abs(pa - pb)))
        result.append(1e3 * np.mean(repeats))
    return result


def as_uint8_values(images: torch.Tensor) -> np.ndarray:
    return torch.round(images * 255).double().numpy()


def test_pyramid_matches_scipy_mirror_convolution() -> None:
    x = as_uint8_values(random_images(2, size=32, seed=1))
    ours = laplacian_pyramid(torch.from_numpy(x), 2)
    for a, b in zip(ours, np_pyramid(x, 2), strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("size", [32, 64])
def test_swd_matches_independent_numpy_implementation(size: int) -> None:
    real, fake = smooth_images(3, size=size, seed=2), random_images(3, size=size, seed=3)
    value = create_metric("swd", device="cpu", seed=5)(fake, real)
    expected = np_swd(as_uint8_values(real), as_uint8_values(fake), seed=5)
    ours = [value.extra["per_level"][str(r)] for r in [size // 2**i for i in range(len(expected))]]
    np.testing.assert_allclose(ours, expected, rtol=2e-5)
    assert value.value == pytest.approx(np.mean(expected), rel=2e-5)
    assert value.extra["settings"]["n_fake"] == 3


def test_swd_is_batch_size_independent_and_seeded() -> None:
    real, fake = smooth_images(5, seed=4), smooth_images(5, seed=6)
    a = create_metric("swd", device="cpu", batch_size=2)(fake, real)
    b = create_metric("swd", device="cpu", batch_size=5)(fake, real)
    c = create_metric("swd", device="cpu", seed=1)(fake, real)
    assert a.value == b.value and a.value != c.value
    assert a.extra["protocol_hash"] != c.extra["protocol_hash"]


def test_swd_ranks_a_closer_distribution_lower() -> None:
    real = smooth_images(6, seed=7)
    close = smooth_images(6, seed=8)
    far = random_images(6, seed=9)
    metric = create_metric("swd", device="cpu")
    assert metric(close, real).value < metric(far, real).value


def test_swd_requires_equal_counts_and_large_enough_images() -> None:
    metric = create_metric("swd", device="cpu")
    with pytest.raises(ValueError, match="as many generated as real"):
        metric(random_images(3), random_images(4))
    with pytest.raises(ValueError, match="at least 16 px"):
        metric(random_images(2, size=12), random_images(2, size=12))


# -- a collapsed (flat) generator (issue 13, failure kind 4) ---------------------------------------------------------

def test_normalisation_equals_pggan_where_defined_and_centres_flat_channels() -> None:
    rng = np.random.default_rng(0)
    desc = rng.normal(3.0, 2.0, (40, 3, 7, 7))
    ours, flat = normalise_descriptors(torch.from_numpy(desc))
    pggan = (desc - desc.mean(axis=(0, 2, 3), keepdims=True)) / desc.std(axis=(0, 2, 3), keepdims=True)
    assert flat == 0 and np.allclose(ours.numpy(), pggan.reshape(40, -1).astype(np.float32), atol=1e-6)
    desc[:, 1] = 7.0  # one constant channel: PGGAN's finalize_descriptors gives 0/0 = NaN there
    with np.errstate(invalid="ignore"):
        assert np.isnan((desc - desc.mean(axis=(0, 2, 3), keepdims=True)) / desc.std(axis=(0, 2, 3),
                                                                                     keepdims=True)).any()
    ours, flat = normalise_descriptors(torch.from_numpy(desc))
    assert flat == 1 and torch.isfinite(ours).all() and ours.view(40, 3, 7, 7)[:, 1].abs().max() == 0


def test_swd_of_a_flat_generator_is_a_number_with_a_warning() -> None:
    real = smooth_images(4, seed=1)
    flat = torch.full((4, 3, 32, 32), 0.5)
    metric = create_metric("swd", device="cpu")
    value = metric(flat, real)
    assert math.isfinite(value.value) and all(math.isfinite(v) for v in value.extra["per_level"].values())
    assert value.value > metric(smooth_images(4, seed=2), real).value  # collapse scores worse than a real-like set
    assert any(w.startswith("generated set flat (no variation) in 6 channel(s) at 32 px, 16 px: ")
               for w in value.warnings)
    assert metric(flat, flat.clone()).value == 0.0  # two identical flat sets: distance 0, not NaN
