"""The Image Analogies synthesis loop (Hertzmann et al., SIGGRAPH 2001, §3 "Algorithm", Fig. 2), on numpy arrays.

Given A (source layout), A′ (source image) and B (target layout), B′ is synthesised coarse to fine over Gaussian
pyramids; at each level every pixel q of B′, in scanline order, copies A′(p) from the p chosen by BestMatch:
the approximate nearest neighbour of q's feature vector among A's (``p_app``) or, if nearly as good, the coherent
candidate continuing a neighbour's source (Ashikhmin 2001, ``p_coh``), kept when
d_coh ≤ d_app·(1 + 2^(l−L)·κ) (l: level, L: finest).

Feature vector of a pixel (each block weighted by a normalised Gaussian over its window, constant-zero padding):
the layout's n×n window at the level, the filtered luminance's causal half-window at the level (pixels already
synthesised in B′), and the m×m windows of layout and filtered luminance one level coarser. Everything but the
causal block of B′ is computed for all pixels at once; the scanline loop only gathers that block, queries the
tree and compares the coherence candidates, ≈ 0.2 ms (64 px) to 0.5 ms (128 px) per pixel on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.spatial import cKDTree

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # YIQ's Y (the paper's luminance)


@dataclass(frozen=True)
class Settings:
    levels: int = 3  # Gaussian pyramid levels
    fine: int = 5  # n: window at the current level (the paper's 5×5)
    coarse: int = 3  # m: window at the coarser level (the paper's 3×3)
    kappa: float = 2.0  # κ, coherence (the paper: 0.5–5 for texture-by-numbers-like uses)
    ann_eps: float = 0.0  # scipy cKDTree ``eps``: approximate search (the ANN library's ε); 0 = exact
    layout_weight: float = 1.0  # weight of the layout blocks against the luminance blocks


def pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Gaussian pyramid [H,W,C] float32, finest first (cv2.pyrDown: 5-tap binomial filter, then ×½)."""
    out = [image.astype(np.float32)]
    for _ in range(levels - 1):
        down = cv2.pyrDown(out[-1])
        out.append(down.reshape(*down.shape[:2], image.shape[2]))
    return out


def gaussian_weights(n: int) -> np.ndarray:
    """Square roots of a normalised n×n Gaussian (σ = n/4), so that squared distances are Gaussian-weighted."""
    r = np.arange(n) - n // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * (n / 4) ** 2))
    return np.sqrt(g / g.sum()).astype(np.float32)


def windows(image: np.ndarray, n: int) -> np.ndarray:
    """Every pixel's n×n window, Gaussian-weighted: [H,W,C] → [H·W, n·n·C] (zero padding)."""
    r = n // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)))
    view = sliding_window_view(padded, (n, n), axis=(0, 1))  # [H, W, C, n, n]
    weighted = view * gaussian_weights(n)
    return np.ascontiguousarray(weighted.transpose(0, 1, 3, 4, 2)).reshape(image.shape[0] * image.shape[1], -1)


def causal_offsets(n: int) -> np.ndarray:
    """The (dy, dx) of an n×n window that precede its centre in scanline order, [K, 2]."""
    r = n // 2
    return np.array([(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if (dy, dx) < (0, 0)])


def causal_weights(n: int) -> np.ndarray:
    g = gaussian_weights(n)
    return np.array([g[dy + n // 2, dx + n // 2] for dy, dx in causal_offsets(n)], dtype=np.float32)


def causal_windows(lum: np.ndarray, n: int) -> np.ndarray:
    """Every pixel's causal half-window of a luminance map [H,W] → [H·W, K] (weighted, zero padding)."""
    r = n // 2
    padded = np.pad(lum, r)
    h, w = lum.shape
    cols = [padded[r + dy: r + dy + h, r + dx: r + dx + w] for dy, dx in causal_offsets(n)]
    return (np.stack(cols, -1) * causal_weights(n)).reshape(h * w, -1)


def coarse_rows(features: np.ndarray, coarse_hw: tuple[int, int], fine_hw: tuple[int, int]) -> np.ndarray:
    """Per fine pixel, the coarse-level row of its parent (q // 2): [Hc·Wc, D] → [H·W, D]."""
    ys = np.minimum(np.arange(fine_hw[0]) // 2, coarse_hw[0] - 1)
    xs = np.minimum(np.arange(fine_hw[1]) // 2, coarse_hw[1] - 1)
    index = (ys[:, None] * coarse_hw[1] + xs[None, :]).reshape(-1)
    return features[index]


def prefer_coherence(d_app: float, d_coh: float, kappa: float, level: int) -> bool:
    """BestMatch's rule: the coherent candidate wins when d_coh ≤ d_app·(1 + 2^(l−L)·κ); ``level`` counts from the
    finest (0), so 2^(l−L) = 2^(−level)."""
    return d_coh <= d_app * (1.0 + 2.0 ** (-level) * kappa)


def synthesise(a: np.ndarray, a_prime: np.ndarray, b: np.ndarray, settings: Settings
               ) -> tuple[np.ndarray, np.ndarray]:
    """B′ [H_b,W_b,3] in [0,1] from A [H_a,W_a,C] (layout features), A′ [H_a,W_a,3] and B [H_b,W_b,C].

    Returns (B′, source map s [H_b,W_b,2] of the finest level: the A pixel each B′ pixel copied)."""
    s = settings
    lum_a = (a_prime @ LUMA)[..., None]
    pa, pap, pb, plum_a = (pyramid(x, s.levels) for x in (a, a_prime, b, lum_a))
    b_prime: list[np.ndarray | None] = [None] * s.levels
    lum_b: list[np.ndarray | None] = [None] * s.levels
    source = np.zeros(0)
    for level in range(s.levels - 1, -1, -1):  # coarse to fine
        ha, wa = pa[level].shape[:2]
        hb, wb = pb[level].shape[:2]
        blocks_a = [s.layout_weight * windows(pa[level], s.fine), causal_windows(plum_a[level][..., 0], s.fine)]
        fixed_b = [s.layout_weight * windows(pb[level], s.fine)]
        if level + 1 < s.levels:
            coarse_lum_b = lum_b[level + 1]
            assert coarse_lum_b is not None
            for blocks, layout, lum, hw in ((blocks_a, pa, plum_a[level + 1], (ha, wa)),
                                            (fixed_b, pb, coarse_lum_b, (hb, wb))):
                rows = np.concatenate([s.layout_weight * windows(layout[level + 1], s.coarse),
                                       windows(lum, s.coarse)], 1)
                blocks.append(coarse_rows(rows, lum.shape[:2], hw))
        features_a = np.concatenate(blocks_a, 1).astype(np.float32)
        fixed = np.concatenate(fixed_b, 1).astype(np.float32)
        n_layout = fixed_b[0].shape[1]
        out, lum_out, source = _scanline(features_a, fixed, n_layout, pap[level], (hb, wb), (ha, wa), level, s)
        b_prime[level], lum_b[level] = out, lum_out[..., None]
    final = b_prime[0]
    assert final is not None
    return np.clip(final, 0.0, 1.0), source


def _scanline(features_a: np.ndarray, fixed: np.ndarray, n_layout: int, a_prime: np.ndarray,
              hw_b: tuple[int, int], hw_a: tuple[int, int], level: int, s: Settings
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One level's scanline synthesis; returns (B′ [H,W,3], its luminance [H,W], source map [H,W,2])."""
    hb, wb = hw_b
    ha, wa = hw_a
    tree = cKDTree(features_a)
    offsets = causal_offsets(s.fine)
    weights = causal_weights(s.fine)
    r = s.fine // 2
    lum_pad = np.zeros((hb + 2 * r, wb + 2 * r), dtype=np.float32)  # zero padding, as for A
    out = np.zeros((hb, wb, 3), dtype=np.float32)
    source = np.zeros((hb, wb, 2), dtype=np.int64)
    a_lum = a_prime @ LUMA
    query = np.empty(features_a.shape[1], dtype=np.float32)
    for y in range(hb):
        for x in range(wb):
            row = fixed[y * wb + x]
            query[:n_layout] = row[:n_layout]
            query[n_layout: n_layout + len(offsets)] = lum_pad[r + y + offsets[:, 0], r + x + offsets[:, 1]] * weights
            query[n_layout + len(offsets):] = row[n_layout:]
            d_app, p_app = tree.query(query, eps=s.ann_eps)
            best = int(p_app)
            # coherence: for each synthesised neighbour r = q + d, its source shifted back: s(r) − d
            ny, nx = y + offsets[:, 0], x + offsets[:, 1]
            inside = (ny >= 0) & (nx >= 0) & (nx < wb)
            if inside.any():
                cand = source[ny[inside], nx[inside]] - offsets[inside]
                ok = (cand[:, 0] >= 0) & (cand[:, 0] < ha) & (cand[:, 1] >= 0) & (cand[:, 1] < wa)
                if ok.any():
                    index = np.unique(cand[ok, 0] * wa + cand[ok, 1])
                    d = ((features_a[index] - query) ** 2).sum(1)
                    k = int(d.argmin())
                    if prefer_coherence(float(d_app) ** 2, float(d[k]), s.kappa, level):
                        best = int(index[k])
            py, px = divmod(best, wa)
            source[y, x] = (py, px)
            out[y, x] = a_prime[py, px]
            lum_pad[r + y, r + x] = a_lum[py, px]
    return out, lum_pad[r: r + hb, r: r + wb].copy(), source
