"""Which test inputs are translated under which references (SEGIN §IV-B), as a pure, seeded plan.

- LPIPS(ref): ``ref_sampling="pool"`` (default, the paper's "200 image pairs ... tested with 10 references"):
  ``ref_inputs`` pairs, input r under reference ``pool[r mod refs_per_input]`` of one shared pool of
  ``refs_per_input`` references; ``"grid"`` (the earlier reading): each of ``ref_inputs`` inputs under
  ``refs_per_input`` references of its own (paper scale: 2,000 pairs over all 200 test photos).
- FID: one output per input (``fid_pairs``: every pool pair, or the grid's first column), scored against the test
  photos that are no exemplar of those outputs (``fid_real``), so that copying the exemplar is not rewarded.
- LPIPS diversity: ``diversity_inputs`` inputs × ``diversity_outputs`` outputs (paper: 100 × 20 = 19 consecutive
  pairs per input); these reuse the LPIPS(ref) translations where rows and columns overlap.
- Similar references: ``similar_inputs`` inputs × a group of ``similar_refs`` mutually similar references (paper:
  200 × 20, picked by hand; here automatically: a seeded anchor photo and its nearest neighbours by the colour
  histogram of their foreground).
- LPIPS(gt): the first ``gt_inputs`` test pairs, each input under its own ground truth.

A reference is never the input's own ground truth (except in LPIPS(gt)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REF_SAMPLINGS = ("pool", "grid")
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
    ref_sampling: str = "grid"  # "pool" or "grid", see the module docstring
    pool: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [k] shared references ("pool")
    pair_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [P] LPIPS(ref) input index
    pair_refs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [P] its reference index

    def pairs(self) -> list[tuple[int, int]]:
        """(row, column) of every grid translation the ref/diversity metrics need, each once."""
        return [(r, k) for r in range(len(self.rows)) for k in range(int(self.columns[r]))]

    @property
    def fid_pairs(self) -> np.ndarray:
        """[F] positions in ``pair_rows`` of the FID outputs: one per input."""
        if self.ref_sampling == "pool":
            return np.arange(len(self.pair_rows))
        return np.arange(self.ref_inputs) * self.refs_per_input  # the grid's first column

    def fid_real(self, n_test: int) -> np.ndarray:
        """Test photos that are no exemplar of an FID output (the ``disjoint`` FID reference set)."""
        return np.setdiff1d(np.arange(n_test), self.pair_refs[self.fid_pairs])

    def counts(self) -> dict[str, int]:
        pool = len(self.pair_rows) if self.ref_sampling == "pool" else 0  # translated apart from the grid
        return {"ref_inputs": self.ref_inputs, "refs_per_input": self.refs_per_input, "ref_pairs": len(self.pair_rows),
                "diversity_inputs": self.diversity_inputs, "diversity_outputs": self.diversity_outputs,
                "similar_inputs": len(self.similar_rows), "similar_refs": len(self.similar_group),
                "gt_inputs": len(self.gt_inputs), "translations": len(self.pairs())
                + pool + len(self.similar_rows) * len(self.similar_group) + len(self.gt_inputs)}


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


def reference_pool(rows: np.ndarray, n_test: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pool [size], reference of each row [len(rows)]): row r under ``pool[r mod size]``, or the next pool member
    when that is the row's own ground truth. Its own random stream, so the rest of the plan is that of ``grid``."""
    pool = np.random.default_rng([int(seed), 2019, 1]).choice(n_test, size=size, replace=False)
    refs = pool[np.arange(len(rows)) % size]
    own = refs == rows
    refs[own] = pool[(np.flatnonzero(own) + 1) % size]
    return pool, refs


def build_plan(n_test: int, counts: dict[str, int], seed: int, histograms: np.ndarray | None = None,
               ref_sampling: str = "pool") -> SamplingPlan:
    """The plan for ``n_test`` test pairs; counts are capped by what the test split holds. Raises ValueError for
    fewer than 2 test pairs, fewer than 2 diversity outputs or an unknown ``ref_sampling``."""
    if ref_sampling not in REF_SAMPLINGS:
        raise ValueError(f"unknown LPIPS(ref) sampling {ref_sampling!r}; valid: {', '.join(REF_SAMPLINGS)}")
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
    on_grid = k_ref if ref_sampling == "grid" else 0  # pool pairs are translated apart from the grid
    columns = np.maximum(np.where(np.arange(n_rows) < n_ref, on_grid, 0),
                         np.where(np.arange(n_rows) < n_div, k_div, 0))

    group_size = min(int(c["similar_refs"]), n_test - 1)
    hist = histograms if histograms is not None else rng.random((n_test, 8))
    group = similar_group(hist, group_size, rng)
    candidates = np.setdiff1d(np.arange(n_test), group)
    n_sim = min(int(c["similar_inputs"]), len(candidates))
    similar_rows = rng.permutation(candidates)[:n_sim]
    gt_inputs = np.arange(min(int(c["gt_inputs"]), n_test))
    if ref_sampling == "pool":
        pool, pair_refs = reference_pool(rows[:n_ref], n_test, k_ref, seed)
        keep = pair_refs != rows[:n_ref]  # a pool of one cannot avoid its own ground truth: that pair is dropped
        pair_rows, pair_refs = rows[:n_ref][keep], pair_refs[keep]
    else:
        pool, pair_rows, pair_refs = np.zeros(0, np.int64), np.repeat(rows[:n_ref], k_ref), refs[:n_ref, :k_ref].ravel()
    return SamplingPlan(rows, refs, columns, n_ref, k_ref, n_div, k_div, similar_rows, group, gt_inputs,
                        ref_sampling, pool, pair_rows, pair_refs)
