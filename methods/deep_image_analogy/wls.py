"""The official release's photo refinement of A′ (msracver/Deep-Image-Analogy@632b928,
windows/deep_image_analogy/source/DeepAnalogy.cu:649-677 and WLS.cpp), ``refine: wls``:

    A′_refined = A + WLS_A(A′) − WLS_A(A),

WLS_g(I) the weighted-least-squares (edge-preserving) smoothing of I guided by g (Farbman et al. 2008): x minimising
Σ_p (x_p − I_p)² + Σ_(p,q) w_pq (x_p − x_q)² over 4-neighbour pairs, w = λ / (|Δgray(g)|^α + ε) with α = 1, λ = 0.8
(WLS.h:8), ε = 1e-4 (WLS.cpp:10), gray = OpenCV's BGR2GRAY (0.299 R + 0.587 G + 0.114 B). A′'s colours at A's coarse
scale are kept and A's fine detail restored, so the result keeps the structure of the photo A (README: "to keep
the structure of original photo"). As in WLS.cpp:19-34, the horizontal weights of the last row and the vertical
weights of the last column stay 0. The normal equations (I + L_w) x = I are solved by scipy's sparse LU.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

GRAY = (0.299, 0.587, 0.114)  # RGB weights of OpenCV's BGR2GRAY


def edge_weights(guide: np.ndarray, alpha: float = 1.0, lam: float = 0.8, eps: float = 1e-4
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(w_x [H,W−1] between (y,x) and (y,x+1), w_y [H−1,W] between (y,x) and (y+1,x)) from a guide [3,H,W] RGB in
    [0,1] (WLS.cpp:12-34, including its zero last-row w_x and last-column w_y)."""
    gray = np.tensordot(np.asarray(GRAY, dtype=np.float64), guide.astype(np.float64), axes=1)
    wx = lam / (np.abs(np.diff(gray, axis=1)) ** alpha + eps)
    wy = lam / (np.abs(np.diff(gray, axis=0)) ** alpha + eps)
    wx[-1, :] = 0.0
    wy[:, -1] = 0.0
    return wx, wy


def system(guide: np.ndarray, **weights: float) -> sp.csc_matrix:
    """I + L_w, sparse [HW,HW] (row-major pixels), for a guide [3,H,W] (WLS.cpp:55-94)."""
    _, h, w = guide.shape
    wx, wy = edge_weights(guide, **weights)
    index = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    cols = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    vals = np.concatenate([wx.ravel(), wy.ravel()])
    off = sp.coo_matrix((-vals, (rows, cols)), shape=(h * w, h * w))
    off = off + off.T
    degree = -np.asarray(off.sum(axis=1)).ravel()
    return (sp.diags(1.0 + degree) + off).tocsc()


def wls_refine(image_a: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
    """A + WLS_A(result) − WLS_A(A), clamped to [0,1], [3,H,W] (DeepAnalogy.cu:659-670; both filters share A as the
    guide, so one factorisation serves the six solves). image_a and result: [3,H,W] in [0,1], same size."""
    a = image_a.detach().cpu().double().numpy()
    r = result.detach().cpu().double().numpy()
    _, h, w = a.shape
    solve = spla.factorized(system(a))
    smooth = np.stack([np.stack([solve(img[c].ravel()).reshape(h, w) for c in range(3)]) for img in (r, a)])
    refined = a + smooth[0] - smooth[1]
    return torch.from_numpy(refined).to(image_a.device, image_a.dtype).clamp(0, 1)
