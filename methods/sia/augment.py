"""SIA's progressive augmentation (ddlee-cn/SemIA@875b2c73 semia/dataset.py ``ImgDataset.__getitem__``,
util/warp_image.py): the strength f = min(1, round(iteration / stable_iter, 2)) grows the zoom range [1, 1 + 0.2·f],
the flip probability 0.5·f and the thin-plate-spline displacement (±0.02·f·width on a 3×3 grid, applied with p=0.5).
Image and layout get the same warp; the layout is sampled nearest (it stays a layout)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def strength(iteration: int, stable_iter: int) -> float:
    return min(1.0, round(iteration / max(1, stable_iter) * 100) / 100)


def _tps_kernel(d2: torch.Tensor) -> torch.Tensor:
    return torch.where(d2 > 0, d2 * torch.log(d2.clamp_min(1e-12)), torch.zeros_like(d2))


def tps_grid(src: torch.Tensor, dst: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """The ``grid_sample`` grid [1,h,w,2] at output points ``query`` [1,h,w,2] for the thin-plate spline that moves
    control points ``src`` to ``dst`` ([K,2] (x, y) in [-1,1]): each output point samples the input where the
    inverse spline (dst → src) sends it."""
    k = dst.size(0)
    kmat = _tps_kernel(torch.cdist(dst, dst) ** 2)
    p = torch.cat([torch.ones(k, 1), dst], 1)
    a = torch.zeros(k + 3, k + 3)
    a[:k, :k], a[:k, k:], a[k:, :k] = kmat, p, p.T
    rhs = torch.cat([src, torch.zeros(3, 2)], 0)
    coef = torch.linalg.solve(a + 1e-6 * torch.eye(k + 3), rhs)  # [K+3, 2]
    pts = query.reshape(-1, 2)
    u = _tps_kernel(torch.cdist(pts, dst) ** 2)
    return (u @ coef[:k] + coef[k] + pts @ coef[k + 1:]).reshape(query.shape)


def augment(image: torch.Tensor, layout: torch.Tensor, iteration: int, stable_iter: int, generator: torch.Generator,
            max_scale: float = 0.2, tps_scale: float = 0.02, tps_points: int = 3, use_tps: bool = True
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The augmented (image [1,3,H,W], layout [1,C,H,W]) of iteration ``iteration`` (random draws from
    ``generator``): flip, then TPS, then a zoom about the centre by s ∈ [1, 1 + max_scale·f] (the released order).
    Control-point corners stay fixed (the released code appends fixed corners; here they are the grid's corners)."""
    f = strength(iteration, stable_iter)
    h, w = image.shape[-2:]
    flip = bool(torch.rand((), generator=generator) < 0.5 * f)
    apply_tps = bool(torch.rand((), generator=generator) < 0.5) and use_tps
    scale = 1 + float(torch.rand((), generator=generator)) * max_scale * f
    if flip:
        image, layout = image.flip(-1), layout.flip(-1)
    grid_1d = torch.linspace(-1, 1, tps_points)
    src = torch.stack(torch.meshgrid(grid_1d, grid_1d, indexing="xy"), -1).reshape(-1, 2)
    vecs = (torch.rand(src.shape, generator=generator) * 2 - 1) * tps_scale * f * 2  # ±tps_scale·f·width, in [-1,1]
    corner = (src.abs() == 1).all(1)
    vecs[corner] = 0
    grid = identity_grid(h, w) / scale  # the zoom (applied last) samples its input at x / s
    if apply_tps:
        grid = tps_grid(src, src + vecs, grid)
    image = F.grid_sample(image, grid.to(image), mode="bilinear", padding_mode="border", align_corners=True)
    layout = F.grid_sample(layout, grid.to(layout), mode="nearest", padding_mode="border", align_corners=True)
    return image, layout


def identity_grid(h: int, w: int) -> torch.Tensor:
    ys, xs = torch.linspace(-1, 1, h), torch.linspace(-1, 1, w)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)[None]
