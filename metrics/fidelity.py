"""Exemplar fidelity against an exact translation: what only a world with exact ground truth can score.

SSIM or LPIPS against the exact translation measure geometry as much as style: the input's exact geometry rendered
in one fixed style, ignoring every exemplar, scored SSIM 0.818 on edges2objects, above a trained method (issue 13,
Fidelity 2). This metric compares only appearance, per region: for each class (part) of the content's label map,
restricted to a mask (e.g. the foreground), the region's mean colour and colour spread in the output against the
same region in the exact translation (the input's geometry in the exemplar's style). Geometry is shared by
construction (the same label map and mask index both images), so it cannot earn anything; an output that ignores
the exemplar pays the distance between its fixed style and each exemplar's, per part.

- colour error = Euclidean RGB distance between the region's mean colours ([0,1] units, range [0, √3]);
- texture error = mean over R, G, B of |σ_out − σ_exact|, σ the region's per-channel standard deviation (pattern
  contrast and shading; range [0, 0.5]);
- per image: mean over the classes with at least ``min_region_pixels`` pixels inside the mask (each part counts once,
  whatever its area); value: mean over images. Without a label map the whole mask (or image) is one region.

Pixels, not network features: no weights, nothing to calibrate. Lower is better; the exact translation scores 0.
"""

from __future__ import annotations

from typing import Any

import torch

from metrics import METRICS
from metrics.base import MetricInputError, MetricValue, PairedMetric, check_unit_range, describe
from metrics.regions import label_ids


def region_statistics(images: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, n_classes: int
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class pixel counts [N,K], mean colours [N,K,3] and per-channel stds [N,K,3] (float64) of images
    [N,3,H,W] over the pixels of class k (``ids`` [N,H,W] in 0..K−1) where ``mask`` [N,H,W] is true. Memory is
    linear in the pixels (bin counts), not in pixels × classes."""
    n = images.shape[0]
    bins = (ids + n_classes * torch.arange(n)[:, None, None])[mask]  # one bin per (image, class)
    x = images.to(torch.float64).permute(0, 2, 3, 1)[mask]  # [P,3] scored pixels
    counts = torch.bincount(bins, minlength=n * n_classes).to(torch.float64)
    denom = counts.clamp_min(1)[:, None]
    mean = torch.stack([torch.bincount(bins, x[:, c], n * n_classes) for c in range(3)], 1) / denom
    second = torch.stack([torch.bincount(bins, x[:, c] ** 2, n * n_classes) for c in range(3)], 1) / denom
    std = (second - mean * mean).clamp_min(0).sqrt()
    return counts.view(n, n_classes), mean.view(n, n_classes, 3), std.view(n, n_classes, 3)


@METRICS.register("exemplar_fidelity")
class ExemplarFidelity(PairedMetric):
    """Per-region colour error (value) and texture error (companion) of outputs against their exact translations,
    on the pixels of a mask (see the module docstring); lower is better, 0 for the exact translation."""

    direction = "lower"
    best = 0.0
    version = "1"
    reference = "ground_truth"  # the exact translation

    def __init__(self, min_region_pixels: int = 4) -> None:
        if int(min_region_pixels) < 2:
            raise MetricInputError(f"exemplar_fidelity.min_region_pixels must be at least 2, got {min_region_pixels}",
                                   hint="exemplar_fidelity.min_region_pixels=4 (a std needs two pixels)")
        self.min_pixels = int(min_region_pixels)

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "definition": "per class of the content label map inside the mask: colour = ||mean_rgb(out) - "
                          "mean_rgb(exact)||_2, texture = mean_c |std_c(out) - std_c(exact)|; mean over classes "
                          "(>= min_region_pixels), then over images; pixels in [0,1]",
            "min_region_pixels": self.min_pixels, "reference": "exact translation"}

    def per_image(self, fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor | None = None,
                  mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """{"colour": [N], "texture": [N]} float64 (NaN for an image without a region of enough pixels) of outputs
        ``fake`` and exact translations ``real`` [N,3,H,W] in [0,1]; ``labels`` [N,H,W] class ids (or [N,C,H,W]
        one-hot) of the content, ``mask`` [N,H,W] or [N,1,H,W] (nonzero = scored, e.g. the foreground)."""
        if fake.shape != real.shape or fake.ndim != 4 or fake.shape[1] != 3:
            raise MetricInputError(f"exemplar_fidelity needs equal [N,3,H,W] shapes, got {tuple(fake.shape)} and "
                                   f"{tuple(real.shape)}", hint="resize the exact translations to the outputs' size")
        if fake.shape[0] == 0:
            raise MetricInputError("exemplar_fidelity: no image pairs", hint="give at least one output")
        check_unit_range(fake, "outputs")
        check_unit_range(real, "exact translations")
        n, _, h, w = fake.shape
        ids = (torch.zeros(n, h, w, dtype=torch.long) if labels is None
               else label_ids(labels.cpu(), fake, self.name, "content"))
        if ids.min() < 0:
            raise MetricInputError("exemplar_fidelity: negative class ids in the label maps",
                                   hint="mark pixels to skip with the mask, not with negative ids")
        if mask is None:
            keep = torch.ones(n, h, w, dtype=torch.bool)
        else:
            keep = (mask[:, 0] if mask.ndim == 4 else mask).cpu() != 0
            if tuple(keep.shape) != (n, h, w):
                raise MetricInputError(f"exemplar_fidelity: mask of shape {tuple(mask.shape)} does not match the "
                                       f"images ({n} of {h}×{w})", hint="give one [H,W] mask per image")
        k = int(ids.max()) + 1
        counts, mean_f, std_f = region_statistics(fake.cpu(), ids, keep, k)
        _, mean_r, std_r = region_statistics(real.cpu(), ids, keep, k)
        valid = (counts >= self.min_pixels).to(torch.float64)
        per_class = {"colour": (mean_f - mean_r).norm(dim=2), "texture": (std_f - std_r).abs().mean(dim=2)}
        regions = valid.sum(1)
        return {aspect: torch.where(regions > 0, (err * valid).sum(1) / regions.clamp_min(1),
                                    torch.full_like(regions, float("nan")))
                for aspect, err in per_class.items()}

    def __call__(self, fake: torch.Tensor, real: torch.Tensor, labels: torch.Tensor | None = None,  # type: ignore[override]
                 mask: torch.Tensor | None = None) -> MetricValue:
        """Colour error (mean over images) with the texture error in ``extra["companions"]``."""
        scores = self.per_image(fake, real, labels, mask)
        values = {}
        for aspect, samples in scores.items():
            finite = samples[torch.isfinite(samples)]
            if finite.numel() == 0:
                raise MetricInputError(f"exemplar_fidelity: no region of at least {self.min_pixels} pixels inside "
                                       "the mask", hint="check the mask (nonzero = scored) and the label maps")
            value = MetricValue.from_samples(f"exemplar_fidelity_{aspect}", finite, self.direction)
            if finite.numel() < samples.numel():
                value.warnings.append(f"{samples.numel() - finite.numel()} image(s) without a region of "
                                      f"{self.min_pixels}+ pixels inside the mask were left out")
            values[aspect] = describe(value, self)
        values["colour"].extra["companions"] = [values["texture"]]
        return values["colour"]
