"""The retrieving task's exemplar search (MSCA §4): "we first select 20 candidate images from the image pool that has
the greatest label histogram intersections with the GT image. Afterwards, the best-matched image is select out of
candidates using SIFT Flow [29]".

- Label histogram: per label map, the share of its pixels in each class (``label_histograms``; unlabeled / ignored
  pixels count in the denominator but fall in no bin, so a half-unlabeled map can share at most 0.5).
- Intersection: Σ_c min(h₁[c], h₂[c]) (Swain & Ballard's histogram intersection; 1 for identical class shares).
- Top-k: the ``k`` pool rows of largest intersection, largest first, ties by the lower pool index (``top_k``).
- Best candidate: the lowest SIFT Flow data energy from the candidate (source) to the test image (target):
  ``methods.common.siftflow.sift_flow(candidate, test).data_energy`` (mean per pixel; ``SiftFlowMatcher``). Any
  callable ``(source, target) -> float`` can stand in for it (tests use a fake).

The energies take about a second per pair on one CPU core at 64 px (20 pairs per test image), so ``retrieve`` keeps
them in ``metrics.cache.ArrayCache`` (namespace ``retrieval``) keyed by the matcher's settings and the content hash of
the test images and the candidates: a rerun or another method's run of the same setting reads them back.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from core.hashing import settings_hash
from metrics.cache import ArrayCache

Energy = Callable[[np.ndarray, np.ndarray], float]


def label_histograms(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """float64 [N,n_classes]: for uint8 label maps [N,H,W], each class's share of all H·W pixels; ids ≥ n_classes
    (the ignore id 255) fall in no bin."""
    labels = np.asarray(labels)
    flat = labels.reshape(len(labels), -1).astype(np.int64)
    out = np.zeros((len(labels), n_classes), np.float64)
    for row, ids in enumerate(flat):
        counts = np.bincount(ids[ids < n_classes], minlength=n_classes)
        out[row] = counts / max(ids.size, 1)
    return out


def histogram_intersection(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """float64 [Q,N]: Σ_c min(queries[q,c], pool[n,c]) for histograms [Q,C] and [N,C]."""
    return np.minimum(queries[:, None, :], pool[None, :, :]).sum(-1)


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """int64 [Q,k']: per row of ``scores`` [Q,N], the columns of the ``k`` largest scores, largest first, ties by
    the lower column; ``exclude`` bool [Q,N] marks columns a row may not pick (e.g. the query itself).
    k' = min(k, N − the most excluded columns of any row). Raises ``ValueError`` when no column is left."""
    scores = np.asarray(scores, np.float64).copy()
    if exclude is not None:
        scores[exclude] = -np.inf
    allowed = scores.shape[1] - (0 if exclude is None else int(exclude.sum(1).max()))
    k = min(int(k), allowed)
    if k < 1:
        raise ValueError("no candidate left in the pool")
    order = np.argsort(-scores, axis=1, kind="stable")
    return order[:, :k].astype(np.int64)


@dataclass
class SiftFlowMatcher:
    """SIFT Flow data energy (``methods.common.siftflow``, Liu et al. TPAMI 2011) of a uint8 [H,W,3] source
    warped onto a target of the same size; ``params`` override ``SiftFlowParams`` (default: the paper's)."""

    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> float:
        from methods.common.siftflow import sift_flow

        return float(sift_flow(source, target, **self.params).data_energy)

    def settings(self) -> dict[str, Any]:
        from methods.common.siftflow import SiftFlowParams

        return {"matcher": "SIFT Flow (methods/common/siftflow.py)", "rank_by": "data_energy (lowest)",
                "direction": "candidate (source) → test image (target)",
                **SiftFlowParams(**self.params).settings()}


@dataclass
class Retrieval:
    """Per test item: ``candidates`` int64 [Q,k] pool rows (largest intersection first), ``intersections``
    float64 [Q,k], ``energies`` float64 [Q,k] (the matcher's) and ``best`` int64 [Q] the chosen pool row."""

    candidates: np.ndarray
    intersections: np.ndarray
    energies: np.ndarray
    best: np.ndarray


def retrieve(test_labels: np.ndarray, test_images: np.ndarray, pool_labels: np.ndarray, pool_images: np.ndarray,
             n_classes: int, k: int, energy: Energy, exclude: np.ndarray | None = None,
             cache: tuple[ArrayCache, dict[str, Any]] | None = None, progress: bool = True) -> Retrieval:
    """MSCA's retrieval for uint8 test maps [Q,S,S] and images [Q,S,S,3] from a pool ([N,S,S], [N,S,S,3]): the
    top-``k`` pool rows by label-histogram intersection, then the one of lowest ``energy(candidate, test image)``
    (ties: the larger intersection, i.e. the earlier candidate). ``cache``: (an ``ArrayCache``, the energy's
    settings) to read and keep the [Q,k] energies."""
    scores = histogram_intersection(label_histograms(test_labels, n_classes), label_histograms(pool_labels, n_classes))
    candidates = top_k(scores, k, exclude)
    energies = _energies(test_images, pool_images, candidates, energy, cache, progress)
    best = candidates[np.arange(len(candidates)), np.argmin(energies, axis=1)]
    return Retrieval(candidates, np.take_along_axis(scores, candidates, axis=1), energies, best.astype(np.int64))


def _energies(test_images: np.ndarray, pool_images: np.ndarray, candidates: np.ndarray, energy: Energy,
              cache: tuple[ArrayCache, dict[str, Any]] | None, progress: bool) -> np.ndarray:
    """float64 [Q,k]: ``energy(candidate image, test image)``, from the cache when an entry matches."""
    key = ("", "")
    if cache is not None:
        digest = hashlib.sha256(np.ascontiguousarray(test_images).tobytes())
        digest.update(np.ascontiguousarray(candidates).tobytes())
        digest.update(np.ascontiguousarray(pool_images[candidates.ravel()]).tobytes())
        key = (digest.hexdigest()[:24], settings_hash(cache[1]))
        hit = cache[0].load(*key)
        if hit is not None and hit["energies"].shape == candidates.shape:
            return hit["energies"]
    rows = tqdm(enumerate(candidates), total=len(candidates), desc="retrieval (SIFT Flow)", unit="image",
                disable=not progress, leave=False)
    energies = np.array([[energy(pool_images[c], test_images[q]) for c in row] for q, row in rows], np.float64)
    if cache is not None:
        cache[0].save(*key, energies=energies)
    return energies


def pairing_table(found: Retrieval, test_names: list[str], pool_names: list[str], path: Path) -> Path:
    """CSV of the retrieved pairing: per test item the exemplar, its intersection and energy, and the candidates
    (``name:intersection:energy``, largest intersection first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["test", "exemplar", "intersection", "data_energy", "candidates"])
        for q, name in enumerate(test_names):
            j = int(np.flatnonzero(found.candidates[q] == found.best[q])[0])
            out.writerow([name, pool_names[found.best[q]], f"{found.intersections[q, j]:.6f}",
                          f"{found.energies[q, j]:.6f}",
                          " ".join(f"{pool_names[c]}:{i:.4f}:{e:.4f}" for c, i, e in
                                   zip(found.candidates[q], found.intersections[q], found.energies[q], strict=True))])
    return path
