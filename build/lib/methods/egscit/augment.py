"""Training augmentation of EGSC-IT ("left-right flip and random crop", paper A.2; official ``data_augment``):
per image, a horizontal flip with p=0.5 and, with p=``crop_probability``, a zoom crop whose side is a U(min, 1)
fraction of the image at a uniform random offset, resampled back to full size with nearest-neighbour interpolation
(the default of the official projective transform). The official code applies this to digits too, and to A and B
independently."""

from __future__ import annotations

import torch


def flip_and_zoom_crop(images: torch.Tensor, crop_probability: float = 0.5, min_crop: float = 0.8,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    b, _, h, w = images.shape
    dev = images.device

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(dev)

    pct = torch.where(uniform(b) < crop_probability, min_crop + (1 - min_crop) * uniform(b), torch.ones(b, device=dev))
    left, top = uniform(b) * w * (1 - pct), uniform(b) * h * (1 - pct)
    # output pixel (i, j) reads input pixel (top + pct·i, left + pct·j)
    rows = (top[:, None] + pct[:, None] * torch.arange(h, device=dev)[None]).floor().long().clamp(0, h - 1)
    cols = (left[:, None] + pct[:, None] * torch.arange(w, device=dev)[None]).floor().long().clamp(0, w - 1)
    flip = uniform(b) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(b, device=dev)[:, None, None]
    out = images.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
