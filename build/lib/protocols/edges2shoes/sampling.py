"""Which test inputs are translated under which references (SEGIN §IV-B), as a pure, seeded plan.

- LPIPS(ref) and FID: ``ref_inputs`` inputs × ``refs_per_input`` references (paper: 200 × 10).
- LPIPS diversity: ``diversity_inputs`` inputs × ``diversity_outputs`` outputs (paper: 100 × 20 = 19 consecutive
  pairs per input); these reuse the LPIPS(ref) translations where rows and columns overlap.
- Similar references: ``similar_inputs`` inputs × a group of ``similar_refs`` mutually similar references (paper:
  200 × 20, picked by hand; here automatically: a seeded anchor photo and its nearest neighbours by the colour
  histogram of their foreground).
- LPIPS(gt): the first ``gt_inputs`` test pairs, each input under its own ground truth.

A reference is never the input's own ground truth (except in LPIPS(gt)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_COUNTS = {"ref_inputs": 200, "refs_per_input": 10, "diversity_inputs": 100, "diversity_outputs": 20,
                "similar_inputs": 200, "similar_refs": 20, "gt_inputs": 200}


@dataclass
class SamplingPlan:
    rows: np.ndarray  # [R] test-input index of each row, R = max(ref_inputs, diversity_inputs)
    refs: np.ndarray  # [R, K] reference index per row and column, K = max(refs_per_input, diversity_outputs)
    columns: np.ndarray  # [R] number of columns each row needs
    ref_inputs: int
    refs_per_input: int
    diversity_inputs: int
    diversity_outputs: int
    similar_rows: np.ndarray  # [S] input indices
    similar_group: np.ndarray  # [G] reference indices
    gt_inputs: np.ndarray  # [T] input indices

    def pairs(self) -> list[tuple[int, int]]:
        """(row, column) of every translation the ref/diversity metrics need, each once."""
        return [(r, k) for r in range(len(self.rows)) for k in range(int(self.columns[r]))]

    def counts(self) -> dict[str, int]:
        return {"ref_inputs": self.ref_inputs, "refs_per_input": self.refs_per_input,
                "diversity_inputs": self.diversity_inputs, "diversity_outputs": self.diversity_outputs,
                "similar_inputs": len(self.similar_rows), "similar_refs": len(self.similar_group),
                "gt_inputs": len(self.gt_inputs), "translations": len(self.pairs())
                + len(self.similar_rows) * len(self.similar_group) + len(self.gt_inputs)}


def colour_histograms(photos: np.ndarray, masks: np.ndarray, bins: int = 4) -> np.ndarray:
    """[N, bins³] normalised RGB histograms of the foreground pixels (the whole photo when a mask is empty)."""
    q = (photos.astype(np.int64) * bins) // 256
    codes = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hists = np.zeros((len(photos), bins ** 3), np.float64)
    for i in range(len(photos)):
        sel = codes[i][masks[i] > 0] if masks[i].any() else codes[i].reshape(-1)
        hists[i] = np.bincount(sel, minlength=bins ** 3)
    return hists / hists.sum(1, keepdims=True).clip(min=1)


def similar_group(histograms: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A seeded anchor and its ``size − 1`` nearest neighbours (L1 between histograms)."""
    anchor = int(rng.integers(len(histograms)))
    dist = np.abs(histograms - histograms[anchor]).sum(1)
    dist[anchor] = -1.0
    return np.argsort(dist, kind="stable")[:size]


def build_plan(n_test: int, counts: dict[str, int], seed: int, histograms: np.ndarray | None = None
               ) -> SamplingPlan:
    """The plan for ``n_test`` test pairs; counts are capped by what the test split holds."""
    if n_test < 2:
        raise ValueError(f"need at least 2 test pairs, got {n_test}")
    rng = np.random.default_rng([int(seed), 2019])
    c = {**PAPER_COUNTS, **{k: v for k, v in counts.items() if v is not None}}
    n_ref = min(int(c["ref_inputs"]), n_test)
    k_ref = min(int(c["refs_per_input"]), n_test - 1)
    n_div = min(int(c["diversity_inputs"]), n_test)
    k_div = min(int(c["diversity_outputs"]), n_test - 1)
    if k_div < 2:
        raise ValueError("LPIPS diversity needs at least 2 outputs per input")
    n_rows, k_max = max(n_ref, n_div), max(k_ref, k_div)
    rows = rng.permutation(n_test)[:n_rows]
    refs = np.empty((n_rows, k_max), np.int64)
    for r, i in enumerate(rows):
        others = np.delete(np.arange(n_test), i)
        refs[r] = rng.choice(others, size=k_max, replace=False)
    columns = np.maximum(np.where(np.arange(n_rows) < n_ref, k_ref, 0), np.where(np.arange(n_rows) < n_div, k_div, 0))

    group_size = min(int(c["similar_refs"]), n_test - 1)
    hist = histograms if histograms is not None else rng.random((n_test, 8))
    group = similar_group(hist, group_size, rng)
    candidates = np.setdiff1d(np.arange(n_test), group)
    n_sim = min(int(c["similar_inputs"]), len(candidates))
    similar_rows = rng.permutation(candidates)[:n_sim]
    gt_inputs = np.arange(min(int(c["gt_inputs"]), n_test))
    return SamplingPlan(rows, refs, columns, n_ref, k_ref, n_div, k_div, similar_rows, group, gt_inputs)
