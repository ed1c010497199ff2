"""The naive composite and edit mask that SinGAN's editing mode refines (SIA paper §4.3.2; official ``editing.py``
and ``functions.dilate_mask``).

SIA built its targets by copy-and-paste on the source layout and applied "the same operation" to the source image.
The benchmark's target layouts come without that operation, so the composite re-creates it from the layouts alone:
every pixel whose class is unchanged keeps the source pixel; each changed region of class c is filled by shifting
the source's class-c pixels by the offset between the two regions' centroids (a pasted object is copied from where
it was), falling back, where the shifted pixel is not class c or lies outside the image, to the nearest source pixel
of class c. Classes absent from the source keep the source pixels (SinGAN cannot create an unseen class).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage


def edit_mask(source_ids: np.ndarray, target_ids: np.ndarray) -> np.ndarray:
    """Where the layouts differ: bool [H,W]."""
    return np.asarray(source_ids) != np.asarray(target_ids)


def composite(source: np.ndarray, source_ids: np.ndarray, target_ids: np.ndarray) -> np.ndarray:
    """The edited source image: ``source`` float [3,H,W], class maps int [H,W] → float [3,H,W] (see module doc)."""
    out = source.copy()
    changed = edit_mask(source_ids, target_ids)
    h, w = source_ids.shape
    rows, cols = np.mgrid[0:h, 0:w]
    for c in np.unique(target_ids[changed]):
        region = changed & (target_ids == c)
        have = source_ids == c
        if not have.any():
            continue
        dr = rows[region].mean() - rows[have].mean()
        dc = cols[region].mean() - cols[have].mean()
        r = np.rint(rows[region] - dr).astype(int)
        q = np.rint(cols[region] - dc).astype(int)
        inside = (r >= 0) & (r < h) & (q >= 0) & (q < w)
        ok = inside.copy()
        ok[inside] = have[r[inside], q[inside]]
        # nearest class-c source pixel for every location (indices of the closest zero of ~have)
        _, (nr, nc) = ndimage.distance_transform_edt(~have, return_indices=True)
        r = np.where(ok, r, nr[region])
        q = np.where(ok, q, nc[region])
        out[:, region] = source[:, r, q]
    return out


def soft_mask(mask: np.ndarray, dilation: int, sigma: float) -> np.ndarray:
    """``functions.dilate_mask`` (editing): binary dilation by a disk of radius ``dilation`` px, a Gaussian blur of
    ``sigma`` px, then min-max normalised to [0, 1]; float [H,W]. An all-equal mask stays as it is (0 or 1)."""
    if dilation > 0:
        yy, xx = np.mgrid[-dilation:dilation + 1, -dilation:dilation + 1]
        mask = ndimage.binary_dilation(mask, structure=(yy ** 2 + xx ** 2) <= dilation ** 2)
    soft = ndimage.gaussian_filter(mask.astype(np.float64), sigma) if sigma > 0 else mask.astype(np.float64)
    lo, hi = soft.min(), soft.max()
    return ((soft - lo) / (hi - lo) if hi > lo else soft).astype(np.float32)


def composite_batch(source: torch.Tensor, source_ids: torch.Tensor, target_ids: torch.Tensor, dilation: int,
                    sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per item: (composite [N,3,H,W] in the source's range, soft edit mask [N,1,H,W] in [0,1])."""
    images, masks = [], []
    for img, s, t in zip(source.cpu().numpy(), source_ids.cpu().numpy(), target_ids.cpu().numpy(), strict=True):
        images.append(composite(img, s, t))
        masks.append(soft_mask(edit_mask(s, t), dilation, sigma)[None])
    return (torch.from_numpy(np.stack(images)).to(source), torch.from_numpy(np.stack(masks)).to(source))
