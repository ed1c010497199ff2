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


# -- colour handling (issue 13, fidelity item 1) ------------------------------------------------------------------
RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def shape_mask(kind: str, size: int = 28) -> torch.Tensor:
    """A 'digit' as MNIST-Single has it, binary [H,W]: a ring (a 0) or a vertical bar (a 1)."""
    yy, xx = torch.meshgrid(torch.arange(size) - size / 2 + 0.5, torch.arange(size) - size / 2 + 0.5, indexing="ij")
    if kind == "ring":
        radius = (yy**2 + xx**2).sqrt()
        return ((radius > 5) & (radius < 9)).double()
    return ((xx.abs() < 2.5) & (yy.abs() < 10)).double()


def paint(mask: torch.Tensor, fg: tuple[float, ...], bg: tuple[float, ...]) -> torch.Tensor:
    """[1,3,H,W]: ``mask`` in pure colour ``fg`` on ``bg`` (MNIST-Single's domain B)."""
    fg_t, bg_t = torch.tensor(fg).view(3, 1, 1), torch.tensor(bg).view(3, 1, 1)
    return (mask * fg_t + (1 - mask) * bg_t).unsqueeze(0).double()


def test_rgb_mean_gives_a_channel_constant_in_both_images_a_free_one() -> None:
    truth, ring_rg = paint(shape_mask("bar"), RED, GREEN), paint(shape_mask("ring"), RED, GREEN)
    per_channel = [float(create_metric("ssim").per_image(ring_rg[:, c:c + 1], truth[:, c:c + 1])) for c in range(3)]
    assert per_channel[2] == pytest.approx(1.0, abs=1e-12)  # blue is 0 in both: a structure match for free
    rgb = float(create_metric("ssim").per_image(ring_rg, truth))
    assert rgb == pytest.approx(sum(per_channel) / 3, abs=1e-12)
    luma = float(create_metric("ssim", colour="luma").per_image(ring_rg, truth))
    assert rgb > luma + 0.25  # a third of the RGB score was the free blue channel


def test_luma_orders_right_shape_wrong_colours_above_wrong_shape_right_colours() -> None:
    # Truth: a bar in red on green. Wrong shape (ring) in the right colours vs the right shape in blue on red, whose
    # luma keeps the truth's polarity (digit darker than the background) but whose channels share no structure.
    truth = paint(shape_mask("bar"), RED, GREEN)
    wrong_shape, wrong_colours = paint(shape_mask("ring"), RED, GREEN), paint(shape_mask("bar"), BLUE, RED)
    rgb, luma = create_metric("ssim"), create_metric("ssim", colour="luma")
    assert float(rgb.per_image(wrong_shape, truth)) > float(rgb.per_image(wrong_colours, truth))
    assert float(luma.per_image(wrong_colours, truth)) > float(luma.per_image(wrong_shape, truth))
    assert float(rgb.per_image(wrong_colours, truth)) < 0 < float(luma.per_image(wrong_colours, truth))
    for metric in (rgb, luma):  # the exact translation still scores 1 under both
        assert float(metric.per_image(truth, truth)) == pytest.approx(1.0)


def test_luma_ssim_matches_scikit_image_on_the_luma_image() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.rand(4, 3, 24, 30, generator=g)
    y = (x + 0.3 * torch.randn(4, 3, 24, 30, generator=g)).clamp(0, 1)
    weights = np.array([0.299, 0.587, 0.114])
    lumas = [(np.tensordot(weights, a.double().numpy(), 1), np.tensordot(weights, b.double().numpy(), 1))
             for a, b in zip(x, y, strict=True)]
    ref = [structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
           for a, b in lumas]
    np.testing.assert_allclose(create_metric("ssim", colour="luma").per_image(x, y).numpy(), ref, atol=1e-6)


def test_colour_setting_enters_the_hash_and_the_default_keeps_the_old_one() -> None:
    default, luma = create_metric("ssim"), create_metric("ssim", colour="luma")
    # The hash every existing table was computed under (before the setting existed): unchanged for the default.
    assert default.settings_hash() == create_metric("ssim", colour="rgb_mean").settings_hash() == "849da42bab39"
    assert default.settings()["colour"] == "per-channel RGB mean"
    assert luma.settings_hash() != default.settings_hash() and "luma" in luma.settings()["colour"]


def test_unknown_colour_and_luma_of_non_rgb_images_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown SSIM colour handling 'grey'") as caught:
        create_metric("ssim", colour="grey")
    assert "ssim.colour=luma" in caught.value.hint
    with pytest.raises(ValueError, match="needs RGB"):
        create_metric("ssim", colour="luma").per_image(torch.zeros(1, 4, 16, 16), torch.zeros(1, 4, 16, 16))
