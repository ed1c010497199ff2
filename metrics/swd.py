"""Sliced Wasserstein distance on Laplacian-pyramid patches, as in PGGAN (Karras et al. 2018,
``tkarras/progressive_growing_of_gans/metrics/sliced_wasserstein.py``), the script CoCosNet used (CoCosNet #25).

Algorithm (PGGAN's constants are the defaults):
1. Images → 8-bit values as float (PGGAN feeds uint8 in [0,255]).
2. Laplacian pyramid with levels at resolutions H, H/2, … down to 16 px: the 5×5 binomial kernel
   ([1,4,6,4,1]ᵀ[1,4,6,4,1]/256) with mirror borders (scipy ``mode='mirror'`` = torch ``reflect``); ``down`` filters
   and takes every second pixel; ``up`` inserts zeros and filters with 4× the kernel; each level but the coarsest
   stores ``level − up(down(level))``.
3. Per level, 128 random 7×7 neighbourhoods per image (centres uniform over positions where the patch fits), i.e.
   147-d descriptors; each set's descriptors are normalised per channel by their own mean and std over all
   descriptors and positions of the level.
4. Per level, SWD = mean over 4 repeats of: 128 random unit directions, project both sets, sort, mean |difference|.
5. Reported ×10³ per level (in ``extra["per_level"]``, keyed by resolution) and their average (the value).

Randomness is seeded and independent of batching: positions come from ``default_rng([seed, 0])`` for real and
``default_rng([seed, 1])`` for generated images, drawn image by image, level by level (x then y, 128 each);
directions come from ``default_rng([seed, 2])``, level by level, repeat by repeat. The real and generated sets must
have the same number of images (equal descriptor counts, as PGGAN asserts). Pyramid and normalisation statistics run
in float64; descriptors are stored and projected in float32 (as PGGAN) with float64 averaging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from metrics import METRICS
from metrics.base import (
    MetricInputError,
    MetricValue,
    SetMetric,
    as_batches,
    check_unit_range,
    describe,
    resolve_device,
)

Images = torch.Tensor | Sequence[torch.Tensor]
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64) / 16


def _blur(images: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """5×5 binomial filter (separable), mirror borders, per channel."""
    channels = images.shape[1]
    taps = (_BINOMIAL * gain**0.5).to(images.device, images.dtype)
    row = taps.view(1, 1, 1, 5).expand(channels, 1, 1, 5)
    col = taps.view(1, 1, 5, 1).expand(channels, 1, 5, 1)
    padded = F.pad(images, (2, 2, 2, 2), mode="reflect")
    return F.conv2d(F.conv2d(padded, row, groups=channels), col, groups=channels)


def pyr_down(images: torch.Tensor) -> torch.Tensor:
    return _blur(images)[:, :, ::2, ::2]


def pyr_up(images: torch.Tensor) -> torch.Tensor:
    n, c, h, w = images.shape
    up = images.new_zeros(n, c, h * 2, w * 2)
    up[:, :, ::2, ::2] = images
    return _blur(up, gain=4.0)  # PGGAN: the 2-D kernel × 4 (each 1-D pass × 2)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    pyramid = [images]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def pyramid_resolutions(height: int, min_resolution: int = 16) -> list[int]:
    resolutions, res = [], height
    while res >= min_resolution:
        resolutions.append(res)
        res //= 2
    return resolutions


def patch_positions(rng: np.random.Generator, height: int, width: int, count: int,
                    patch: int) -> tuple[np.ndarray, np.ndarray]:
    half = patch // 2
    x = rng.integers(half, width - half, size=count)
    y = rng.integers(half, height - half, size=count)
    return x, y


def extract_patches(level: torch.Tensor, xs: np.ndarray, ys: np.ndarray, patch: int) -> torch.Tensor:
    """[N·P, C, patch, patch] neighbourhoods of ``level`` [N,C,h,w]; ``xs``/``ys`` are [N, P] centres."""
    n, per_image = xs.shape
    half = patch // 2
    offsets = torch.arange(-half, half + 1, device=level.device)
    img = torch.arange(n, device=level.device).repeat_interleave(per_image).view(-1, 1, 1)
    yy = torch.as_tensor(ys.reshape(-1), device=level.device).view(-1, 1, 1) + offsets.view(1, -1, 1)
    xx = torch.as_tensor(xs.reshape(-1), device=level.device).view(-1, 1, 1) + offsets.view(1, 1, -1)
    return level.permute(0, 2, 3, 1)[img, yy, xx].permute(0, 3, 1, 2)


FLAT_STD = 1e-8  # 8-bit units: a channel with no spread beyond float64 round-off of [0,255] pixel sums


def normalise_descriptors(descriptors: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Per-channel standardisation over all descriptors and positions (float64 statistics), flattened, float32;
    and the number of flat channels.

    A channel whose std is at most ``FLAT_STD`` (a collapsed generator: constant images have all-zero Laplacian
    detail levels and a constant coarsest level) is centred and not scaled: its descriptors are 0, the limit of
    dividing 0 by any positive scale. PGGAN's ``finalize_descriptors`` divides by the zero std there and returns NaN;
    wherever its std is positive our result is the same.
    """
    d = descriptors.to(torch.float64)
    mean = d.mean(dim=(0, 2, 3), keepdim=True)
    std = d.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    flat = std <= FLAT_STD
    return ((d - mean) / torch.where(flat, torch.ones_like(std), std)).flatten(1).to(torch.float32), int(flat.sum())


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, rng: np.random.Generator, repeats: int = 4,
                       directions: int = 128) -> float:
    if a.shape != b.shape:
        raise MetricInputError(f"SWD needs equally many descriptors, got {tuple(a.shape)} and {tuple(b.shape)}",
                               hint="give both sets the same number of images")
    results = []
    for _ in range(repeats):
        dirs = rng.standard_normal((a.shape[1], directions))
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        d = torch.as_tensor(dirs.astype(np.float32), device=a.device)
        proj_a, _ = torch.sort(a @ d, dim=0)
        proj_b, _ = torch.sort(b @ d, dim=0)
        results.append((proj_a - proj_b).abs().to(torch.float64).mean().item())
    return float(np.mean(results))


@METRICS.register("swd")
class SWD(SetMetric):
    """Sliced Wasserstein distance on Laplacian-pyramid patches (PGGAN's algorithm, ×10³, mean over levels)."""

    direction = "lower"
    implementation = "bench port of PGGAN sliced_wasserstein.py"
    version = "1"

    def __init__(self, patch_size: int = 7, patches_per_image: int = 128, repeats: int = 4,
                 directions: int = 128, min_resolution: int = 16, scale: float = 1e3, quantize: bool = True,
                 seed: int = 0, batch_size: int = 64, device: str | None = None) -> None:
        if min_resolution < patch_size:
            raise MetricInputError(f"SWD min_resolution {min_resolution} is smaller than its {patch_size}×{patch_size}"
                                   " patches", hint=f"swd.min_resolution={patch_size} or more (PGGAN: 16)")
        self.patch_size, self.patches_per_image = patch_size, patches_per_image
        self.repeats, self.directions, self.min_resolution = repeats, directions, min_resolution
        self.scale, self.quantize, self.seed, self.batch_size = scale, quantize, seed, batch_size
        self.device = resolve_device(device)

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "reference": "PGGAN metrics/sliced_wasserstein.py (CoCosNet #25)",
            "input": "RGB [0,1] → 8-bit values [0,255]" if self.quantize else "RGB [0,1] ×255, not rounded",
            "pyramid": "Laplacian, 5x5 binomial, mirror borders, levels down to min_resolution",
            "min_resolution": self.min_resolution, "patch_size": self.patch_size,
            "patches_per_image": self.patches_per_image, "repeats": self.repeats, "directions": self.directions,
            "scale": self.scale, "seed": self.seed,
            "rng": "numpy default_rng([seed,0|1|2]) for real/fake positions and directions; per image, per level",
            "aggregate": "mean over pyramid levels of scale × SWD",
        }

    def _size_hint(self, side: int) -> str:
        if side < self.patch_size:
            return f"images of at least {self.min_resolution} px (no {self.patch_size}×{self.patch_size} patch fits)"
        return (f"images of at least {self.min_resolution} px, or swd.min_resolution={side} (changes the protocol "
                "hash; PGGAN uses 16)")

    def descriptors(self, images: Images, stream: int) -> tuple[list[torch.Tensor], list[int], int, list[int]]:
        """Normalised descriptors per level, the level resolutions, the image count and the flat channels per
        level."""
        rng = np.random.default_rng([self.seed, stream])
        per_level: list[list[torch.Tensor]] = []
        resolutions: list[int] = []
        count = 0
        for batch in as_batches(images, self.batch_size):
            if batch.shape[1] != 3:
                raise MetricInputError(f"SWD needs RGB images, got {batch.shape[1]} channels",
                                       hint="give [N,3,H,W] RGB images")
            check_unit_range(batch)
            x = batch.to(self.device, torch.float64) * 255
            if self.quantize:
                x = torch.round(x)
            if not resolutions:
                resolutions = pyramid_resolutions(x.shape[-2], self.min_resolution)
                if not resolutions or min(x.shape[-2:]) < self.min_resolution:
                    raise MetricInputError(f"SWD needs images of at least {self.min_resolution} px, got "
                                           f"{tuple(x.shape[-2:])}",
                                           hint=self._size_hint(min(x.shape[-2:])))
                per_level = [[] for _ in resolutions]
            pyramid = laplacian_pyramid(x, len(resolutions))
            # Positions image by image, level by level, so the draws do not depend on the batch size.
            positions = [[patch_positions(rng, lvl.shape[-2], lvl.shape[-1], self.patches_per_image,
                                          self.patch_size) for lvl in pyramid] for _ in range(x.shape[0])]
            for index, level in enumerate(pyramid):
                xs = np.stack([positions[i][index][0] for i in range(x.shape[0])])
                ys = np.stack([positions[i][index][1] for i in range(x.shape[0])])
                per_level[index].append(extract_patches(level, xs, ys, self.patch_size).to(torch.float32))
            count += x.shape[0]
        if count == 0:
            raise MetricInputError("SWD: no images given", hint="give both sets the same number of images")
        normalised = [normalise_descriptors(torch.cat(chunks)) for chunks in per_level]
        return [d for d, _ in normalised], resolutions, count, [flat for _, flat in normalised]

    @torch.inference_mode()
    def compute(self, fake: Images, real: Images) -> MetricValue:
        real_desc, real_res, n_real, real_flat = self.descriptors(real, stream=0)
        fake_desc, fake_res, n_fake, fake_flat = self.descriptors(fake, stream=1)
        if real_res != fake_res:
            raise MetricInputError(f"SWD needs images of one resolution; real levels {real_res}, generated "
                                   f"{fake_res}", hint="resize both sets to one size first (and record the filter)")
        if n_real != n_fake:
            keep = min(n_fake, n_real)
            raise MetricInputError(f"SWD needs as many generated as real images (PGGAN asserts equal descriptor "
                                   f"counts); got {n_fake} and {n_real}",
                                   hint=f"score {keep} images of each set (e.g. the first {keep} of the larger)")
        rng = np.random.default_rng([self.seed, 2])
        per_level = [self.scale * sliced_wasserstein(r, f, rng, self.repeats, self.directions)
                     for r, f in zip(real_desc, fake_desc, strict=True)]
        value = MetricValue(self.name, float(np.mean(per_level)), None, n_fake, self.direction, True)
        value.extra["per_level"] = {str(res): d for res, d in zip(real_res, per_level, strict=True)}
        for which, flat in (("generated", fake_flat), ("real", real_flat)):
            if any(flat):
                levels = ", ".join(f"{res} px" for res, f in zip(real_res, flat, strict=True) if f)
                # the table shows a long note up to its first colon: say what and where before it
                value.warnings.append(f"{which} set flat (no variation) in {sum(flat)} channel(s) at {levels}: "
                                      "collapsed images; those descriptors are centred, not divided by their zero "
                                      "std (PGGAN's code gives NaN there)")
        return describe(value, self, n_fake=n_fake, n_real=n_real)
