"""SSIM/PSNR against scikit-image with the same settings (Wang et al.: Gaussian σ=1.5, 11 taps, explicit range)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from metrics import create_metric


def reference_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> np.ndarray:
    return np.array([
        structural_similarity(a.permute(1, 2, 0).double().numpy(), b.permute(1, 2, 0).double().numpy(),
                              gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=data_range, channel_axis=-1)
        for a, b in zip(x, y, strict=True)
    ])


@pytest.mark.parametrize("size", [(28, 28), (32, 45), (11, 11)])
def test_ssim_matches_scikit_image(size: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 3, *size, generator=g)
    y = (x + 0.3 * torch.randn(6, 3, *size, generator=g)).clamp(0, 1)
    ours = create_metric("ssim").per_image(x, y).numpy()
    np.testing.assert_allclose(ours, reference_ssim(x, y, 1.0), atol=1e-6)


def test_ssim_data_range_is_explicit() -> None:
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(3, 3, 20, 20, generator=g) * 255, torch.rand(3, 3, 20, 20, generator=g) * 255
    ours = create_metric("ssim", data_range=255.0).per_image(x, y).numpy()
    np.testing.assert_allclose(ours, reference_ssim(x, y, 255.0), atol=1e-6)


def test_ssim_aggregate_and_identity() -> None:
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    value = create_metric("ssim")(x, x)
    assert value.value == pytest.approx(1.0) and value.std == pytest.approx(0.0, abs=1e-12) and value.n == 5


def test_ssim_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="equal shapes"):
        create_metric("ssim").per_image(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))
    with pytest.raises(ValueError, match="smaller than the 11-tap"):
        create_metric("ssim").per_image(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_psnr_matches_scikit_image() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.rand(4, 3, 16, 16, generator=g)
    y = (x + 0.1 * torch.randn(4, 3, 16, 16, generator=g)).clamp(0, 1)
    ours = create_metric("psnr").per_image(x, y).numpy()
    ref = [peak_signal_noise_ratio(a.double().numpy(), b.double().numpy(), data_range=1.0)
           for a, b in zip(x, y, strict=True)]
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_settings_hash_changes_with_settings() -> None:
    assert create_metric("ssim").settings_hash() == create_metric("ssim").settings_hash()
    assert create_metric("ssim").settings_hash() != create_metric("ssim", sigma=2.0).settings_hash()
