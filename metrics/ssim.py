"""SSIM (Wang et al. 2004) and PSNR.

Defaults are Wang et al.'s: Gaussian window σ=1.5 with 11 taps, K1=0.01, K2=0.03, an explicit data range, population
(not sample) covariance. The SSIM map is computed over the 'valid' region only (no padding), per channel, then
averaged over pixels and channels; this equals scikit-image's ``structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=..., channel_axis=...)``, which filters with reflection and then
crops (win-1)//2 border pixels. Statistics are computed in float64.

Colour (``colour=``): ``rgb_mean`` (the default) averages the per-channel SSIMs, so a channel that is constant in both
images scores a free 1 there (on MNIST-Single's pure R/G/B colours a third of the score comes free); ``luma`` takes
each image's ITU-R BT.601 luma Y' = 0.299 R' + 0.587 G' + 0.114 B' (of the values as given, no linearisation) and
computes single-channel SSIM on it, where an image's colours count only through their brightness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from metrics import METRICS
from metrics.base import MetricInputError, PairedMetric, check_finite


def check_pair(fake: torch.Tensor, real: torch.Tensor, metric: str) -> None:
    """Equal [N,C,H,W] shapes, at least one image, finite values."""
    if fake.ndim != 4 or real.ndim != 4:
        raise MetricInputError(f"{metric} expects [N,C,H,W] tensors, got shapes {tuple(fake.shape)} and "
                               f"{tuple(real.shape)}", hint="stack the images into [N,C,H,W] tensors")
    if fake.shape != real.shape:
        raise MetricInputError(f"{metric} needs equal shapes, got {tuple(fake.shape)} and {tuple(real.shape)}",
                               hint="pair each output with a reference of the same size (resize one set first)")
    if fake.shape[0] == 0:
        raise MetricInputError(f"{metric}: no image pairs given", hint="give at least one pair")
    check_finite(fake, f"{metric} outputs")
    check_finite(real, f"{metric} references")


BT601 = (0.299, 0.587, 0.114)


def _luma(images: torch.Tensor) -> torch.Tensor:
    if images.shape[1] == 1:
        return images
    if images.shape[1] != 3:
        raise MetricInputError(f"SSIM colour=luma needs RGB (3-channel) or grey images, got {images.shape[1]} "
                               "channels", hint="give RGB images, or ssim.colour=rgb_mean to average over channels")
    weights = torch.tensor(BT601, dtype=torch.float64, device=images.device).view(1, 3, 1, 1)
    return (images.to(torch.float64) * weights).sum(dim=1, keepdim=True)


# colour setting → (what ``settings()`` records, how [N,C,H,W] images become the channels SSIM is computed on). The
# default's description is the one recorded before the setting existed, so the hashes of existing tables stay.
COLOURS: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = {
    "rgb_mean": ("per-channel RGB mean", lambda images: images),
    "luma": ("ITU-R BT.601 luma Y'=0.299R+0.587G+0.114B of each image, then single-channel SSIM", _luma),
}


def check_colour(colour: str) -> None:
    if colour not in COLOURS:
        raise MetricInputError(f"unknown SSIM colour handling {colour!r}; valid: {', '.join(COLOURS)}",
                               hint="ssim.colour=rgb_mean (mean of per-channel SSIMs, the default) or ssim.colour=luma")


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim_per_image(fake: torch.Tensor, real: torch.Tensor, *, window: int = 11, sigma: float = 1.5,
                   gaussian: bool = True, k1: float = 0.01, k2: float = 0.03, data_range: float = 1.0,
                   colour: str = "rgb_mean", batch_size: int = 1024) -> torch.Tensor:
    """Mean SSIM per image, [N] float64, for [N,C,H,W] tensors; ``colour`` one of ``COLOURS`` (``luma`` needs C of
    3 or 1). Raises ``MetricInputError`` for unequal shapes, images smaller than the window, an unknown colour."""
    check_pair(fake, real, "SSIM")
    check_colour(colour)
    if min(fake.shape[-2:]) < window:
        odd = min(fake.shape[-2:]) - 1 + min(fake.shape[-2:]) % 2  # the largest odd window that fits
        raise MetricInputError(f"SSIM: images of {fake.shape[-2]}×{fake.shape[-1]} are smaller than the {window}-tap "
                               "SSIM window", hint=f"ssim.window={max(odd, 1)} (or larger images); the window joins "
                                                   "the protocol hash, so compare only SSIMs of one window")
    to_channels = COLOURS[colour][1]
    fake, real = to_channels(fake), to_channels(real)
    channels = fake.shape[1]
    taps = gaussian_window(window, sigma) if gaussian else torch.full((window,), 1.0 / window, dtype=torch.float64)
    # The window is separable: two 1-D passes over the five moment maps at once (x, y, x², y², xy).
    groups = 5 * channels
    row = taps.view(1, 1, 1, window).expand(groups, 1, 1, window).contiguous()
    col = taps.view(1, 1, window, 1).expand(groups, 1, window, 1).contiguous()
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    scores = []
    for start in range(0, fake.shape[0], batch_size):
        x = fake[start:start + batch_size].to(torch.float64)
        y = real[start:start + batch_size].to(torch.float64)
        moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)
        blurred = F.conv2d(F.conv2d(moments, row.to(x.device), groups=groups), col.to(x.device), groups=groups)
        mu_x, mu_y, e_xx, e_yy, e_xy = blurred.split(channels, dim=1)
        var_x, var_y, cov = e_xx - mu_x**2, e_yy - mu_y**2, e_xy - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
        scores.append(ssim_map.mean(dim=(1, 2, 3)).cpu())
    return torch.cat(scores)


@METRICS.register("ssim")
class SSIM(PairedMetric):
    """Mean ± std of per-image SSIM (Wang et al. 2004, Eq. 13; Gaussian window), images (N, 3, H, W) in [0, 1];
    ``colour``: ``rgb_mean`` (default) or ``luma`` (see the module docstring)."""

    direction = "higher"
    best = 1.0
    version = "1"

    def __init__(self, window: int = 11, sigma: float = 1.5, gaussian: bool = True, k1: float = 0.01,
                 k2: float = 0.03, data_range: float = 1.0, colour: str = "rgb_mean") -> None:
        check_colour(colour)
        if window < 1:
            raise MetricInputError(f"SSIM window must be a positive number of taps, got {window}",
                                   hint="ssim.window=11 (Wang et al.) or 7 (scikit-image's default)")
        self.window, self.sigma, self.gaussian = window, sigma, gaussian
        self.k1, self.k2, self.data_range, self.colour = k1, k2, data_range, colour

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "window": self.window, "sigma": self.sigma, "gaussian": self.gaussian, "k1": self.k1, "k2": self.k2,
            "data_range": self.data_range, "border": "valid", "colour": COLOURS[self.colour][0],
            "covariance": "population", "aggregate": "mean±std(ddof=0) of per-image SSIM",
        }

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return ssim_per_image(fake, real, window=self.window, sigma=self.sigma, gaussian=self.gaussian,
                              k1=self.k1, k2=self.k2, data_range=self.data_range, colour=self.colour)


@METRICS.register("psnr")
class PSNR(PairedMetric):
    """Mean of per-image PSNR (not the dataset-pooled PSNR that torchmetrics computes by default)."""

    direction = "higher"  # no ``best``: identical images score +∞ (capped by the MSE floor)

    def __init__(self, data_range: float = 1.0) -> None:
        self.data_range = data_range

    def settings(self) -> dict[str, Any]:
        return super().settings() | {"data_range": self.data_range, "aggregate": "mean of per-image PSNR"}

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        check_pair(fake, real, "PSNR")
        mse = ((fake.double() - real.double()) ** 2).flatten(1).mean(1)
        return 10 * torch.log10(self.data_range**2 / mse.clamp_min(1e-20))
