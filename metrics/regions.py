"""Label maps for region-matched metrics (CoCosNet style relevance, exemplar fidelity): reading them in one form and
pairing the regions of two label maps by class."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metrics.base import MetricInputError


def label_ids(labels: torch.Tensor, images: torch.Tensor, metric: str, what: str) -> torch.Tensor:
    """long [N,H,W] class ids from ``labels``: [N,H,W] integer ids, or [N,C,H,W] one-hot / soft conditioning
    (argmax over C, as the label-map protocols feed methods). Raises ``MetricInputError`` unless N, H and W equal
    those of ``images`` [N,3,H,W]."""
    if labels.ndim == 4:
        labels = labels.argmax(dim=1)
    elif labels.ndim != 3:
        raise MetricInputError(f"{metric}: {what} label maps must be [N,H,W] class ids or [N,C,H,W] one-hot, got "
                               f"shape {tuple(labels.shape)}", hint="stack the label maps as [N,H,W] integer ids")
    elif labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise MetricInputError(f"{metric}: {what} label maps hold non-integer ids",
                               hint="give integer class ids ([N,H,W] long) or one-hot maps [N,C,H,W]")
    expected = (images.shape[0], *images.shape[-2:])
    if tuple(labels.shape) != expected:
        raise MetricInputError(f"{metric}: {what} label maps of shape {tuple(labels.shape)} do not match the images "
                               f"({expected[0]} of {expected[1]}×{expected[2]})",
                               hint="resize the label maps to the images' size with nearest-neighbour sampling")
    return labels.long()


def class_masks(ids: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """float64 [K,1,H,W] masks of ``classes`` in one label map ``ids`` [H,W]."""
    return torch.stack([(ids == c) for c in classes])[:, None].to(torch.float64)


@dataclass
class RegionMatch:
    """The classes one output/exemplar pair share (each with at least ``min_pixels`` pixels on both sides) and the
    counts of classes left out: present (with enough pixels) on one side only, or too small on a side."""

    shared: list[int]
    only_output: int
    only_exemplar: int
    too_small: int


def match_regions(output_ids: torch.Tensor, exemplar_ids: torch.Tensor, min_pixels: int,
                  ignore_index: int | None) -> RegionMatch:
    """Pair the classes of two label maps [H,W] (``ignore_index`` belongs to no region)."""
    def sizes(ids: torch.Tensor) -> dict[int, int]:
        values, counts = ids.unique(return_counts=True)
        return {int(v): int(n) for v, n in zip(values, counts, strict=True) if int(v) != ignore_index}

    out, ex = sizes(output_ids), sizes(exemplar_ids)
    both = sorted(out.keys() & ex.keys())
    shared = [c for c in both if out[c] >= min_pixels and ex[c] >= min_pixels]
    return RegionMatch(shared, len(out.keys() - ex.keys()), len(ex.keys() - out.keys()), len(both) - len(shared))
