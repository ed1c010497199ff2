"""The discrete optimiser of SIFT Flow at one pyramid level: data term, dual-layer loopy BP, objective.

Liu, Yuen & Torralba, "SIFT Flow: Dense Correspondence across Scenes and its Applications", TPAMI 33(5), 2011,
§3.2 (objective, Eq. 3) and §3.3 (dual-layer BP, coarse-to-fine). The authors' C++ release (``BPFlow.cpp`` of
the SIFT flow Matlab/C++ package) is the reference for what the paper leaves to code; each choice below names it.

Conventions: level images are SIFT images ``[H, W, 128]`` float32; ``s1`` is the image whose pixels get a flow
(the target in ``sift_flow``), ``s2`` the one they point into. Each pixel p searches the window
``offset(p) + [-w, w]²``; a label ``l ∈ [0, n)``, ``n = 2w + 1``, means the displacement ``offset + l - w`` pixels.
The data term is ``D[y, x, lv, lu]`` (vertical label first), the flow layer index is 0 for u (x) and 1 for v (y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def min_convolution(h: np.ndarray, alpha: float, d: float, shift: np.ndarray) -> np.ndarray:
    """Message of the truncated-L1 smoothness term: ``m[..., j] = min_i h[..., i] + min(α|i − j − shift|, d)``.

    ``h`` [..., n] float (the sender's costs over its n labels), ``shift`` int [...] (receiver offset minus sender
    offset, so that label j of the receiver is label ``j + shift`` of the sender in absolute flow). Linear in n:
    the two-pass L1 distance transform (Felzenszwalb & Huttenlocher, IJCV 2006; the release's
    ``UpdateSpatialMessage``), read at ``j + shift`` and extrapolated with slope α outside the sender's window (exact:
    the transform is α-Lipschitz and linear beyond its ends), then capped at ``min(h) + d``. Returns [..., n],
    not normalised.
    """
    n = h.shape[-1]
    dt = h.copy()
    for i in range(1, n):
        np.minimum(dt[..., i], dt[..., i - 1] + alpha, out=dt[..., i])
    for i in range(n - 2, -1, -1):
        np.minimum(dt[..., i], dt[..., i + 1] + alpha, out=dt[..., i])
    where = np.arange(n) + shift[..., None]
    inside = np.clip(where, 0, n - 1)
    out = np.take_along_axis(dt, inside, axis=-1) + alpha * np.abs(where - inside)
    return np.minimum(out, h.min(axis=-1, keepdims=True) + d)


def data_term(s1: np.ndarray, s2: np.ndarray, offsets: np.ndarray, w: int,
              threshold: float | None) -> tuple[np.ndarray, float]:
    """Matching costs ``D[y, x, lv, lu] = min(‖s1(p) − s2(p + offset(p) + (lu − w, lv − w))‖₁, t)``, and the cost
    given to candidates that fall outside ``s2``.

    ``offsets`` int [2, H, W] (u, v). Outside candidates cost the median of the inside ones (the release's
    ``ComputeDataTerm``, "DefaultMatchingScore"; it uses a 20,000-bin histogram, we the exact median). ``threshold``
    is the paper's t; ``None`` leaves the term untruncated, as the release does by default
    (``IsDataTermTruncated = false``). Returns (D float32 [H, W, n, n], outside cost).
    """
    height, width, _ = s1.shape
    height2, width2, _ = s2.shape
    n = 2 * w + 1
    ys, xs = np.mgrid[0:height, 0:width]
    costs = np.empty((height, width, n, n), np.float32)
    inside = np.empty((height, width, n, n), bool)
    for a in range(n):
        yy = ys + offsets[1] + (a - w)
        iny = (yy >= 0) & (yy < height2)
        yy = np.clip(yy, 0, height2 - 1)
        for b in range(n):
            xx = xs + offsets[0] + (b - w)
            inside[:, :, a, b] = iny & (xx >= 0) & (xx < width2)
            costs[:, :, a, b] = np.abs(s1 - s2[yy, np.clip(xx, 0, width2 - 1)]).sum(axis=-1)
    if threshold is not None:
        np.minimum(costs, threshold, out=costs)
    outside = float(np.median(costs[inside])) if inside.any() else 0.0
    costs[~inside] = outside
    return costs, outside


def objective(costs: np.ndarray, offsets: np.ndarray, w: int, labels: np.ndarray, alpha: float, d: float,
              eta: float) -> tuple[float, float]:
    """The SIFT Flow objective (paper Eq. 3) at integer labels [2, H, W] (lu, lv): returns (total, data sum).

    total = Σ_p D(p, w(p)) + η Σ_p (|u(p)| + |v(p)|) + Σ_{4-neighbours} min(α|Δu|, d) + min(α|Δv|, d), with the
    flow ``w = offsets + labels − w``; sums in float64.
    """
    flow = (offsets + labels - w).astype(np.float64)
    data = np.take_along_axis(
        np.take_along_axis(costs, labels[1][:, :, None, None], axis=2)[:, :, 0], labels[0][:, :, None], axis=2)
    data_sum = float(data.astype(np.float64).sum())
    small = eta * float(np.abs(flow).sum())
    smooth = sum(float(np.minimum(alpha * np.abs(np.diff(flow[k], axis=axis)), d).sum())
                 for k in range(2) for axis in (0, 1))
    return data_sum + small + smooth, data_sum


@dataclass
class LevelSolution:
    """The best labelling BP visited at one level: ``labels`` int [2, H, W], its objective and data sum."""

    labels: np.ndarray
    energy: float
    data_sum: float


def dual_layer_bp(costs: np.ndarray, offsets: np.ndarray, w: int, alpha: float, d: float, eta: float,
                  iterations: int) -> LevelSolution:
    """Min-sum loopy BP on SIFT Flow's dual-layer graph (paper §3.3, Fig. 5): per pixel one u node and one v node,
    each with n labels, joined by the data term; u nodes form a 4-connected grid with truncated-L1 edges, and so do
    v nodes; the small-displacement term is each node's unary cost.

    Schedule: synchronous (flooding) updates of every spatial and inter-layer message per iteration, so each
    update is one array operation over the level; the release instead sweeps pixels sequentially (``BP_S``)
    and first runs two coarser multigrid levels of BP (``nHierarchy``), which do not vectorise. Messages are
    normalised to minimum 0 (as the release). After each iteration every node takes its min-belief label, and the
    labelling of lowest objective over the iterations and the window centres (the flow the coarser level
    proposed) is returned, since BP's energy is not monotone.
    """
    height, width = costs.shape[:2]
    n = 2 * w + 1
    unary = eta * np.abs(offsets[..., None] + (np.arange(n) - w)).astype(np.float32)  # [2, H, W, n]
    # spatial[k, s]: message node k at a pixel received from its neighbour on side s (0 left, 1 right, 2 above,
    # 3 below); dual[k]: message node k received from the other layer's node at the same pixel
    spatial = np.zeros((2, 4, height, width, n), np.float32)
    dual = np.zeros((2, height, width, n), np.float32)
    start = np.full((2, height, width), w)  # the window centres: the flow propagated from the coarser level
    best = LevelSolution(start, *objective(costs, offsets, w, start, alpha, d, eta))
    for _ in range(max(int(iterations), 1)):
        belief = unary + dual + spatial.sum(axis=1)
        into_v = (costs + (belief[0] - dual[0])[:, :, None, :]).min(axis=3)
        into_u = (costs + (belief[1] - dual[1])[:, :, :, None]).min(axis=2)
        new = np.zeros_like(spatial)
        for k in range(2):
            off = offsets[k]
            out = belief[k] - spatial[k, 1]  # to the right neighbour, leaving out what it sent
            new[k, 0][:, 1:] = min_convolution(out[:, :-1], alpha, d, off[:, 1:] - off[:, :-1])
            out = belief[k] - spatial[k, 0]
            new[k, 1][:, :-1] = min_convolution(out[:, 1:], alpha, d, off[:, :-1] - off[:, 1:])
            out = belief[k] - spatial[k, 3]
            new[k, 2][1:] = min_convolution(out[:-1], alpha, d, off[1:] - off[:-1])
            out = belief[k] - spatial[k, 2]
            new[k, 3][:-1] = min_convolution(out[1:], alpha, d, off[:-1] - off[1:])
        spatial = new - new.min(axis=-1, keepdims=True)
        dual = np.stack([into_u, into_v])
        dual -= dual.min(axis=-1, keepdims=True)
        labels = (unary + dual + spatial.sum(axis=1)).argmin(axis=-1)
        energy, data_sum = objective(costs, offsets, w, labels, alpha, d, eta)
        if energy < best.energy:
            best = LevelSolution(labels, energy, data_sum)
    return best
