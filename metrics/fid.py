"""FID and KID on pytorch-fid's Inception features.

FID (Heusel et al. 2017): d² = ‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½), float64. The trace of the matrix square root
is computed exactly without ``scipy.linalg.sqrtm``: from the features' cross product when a set has fewer samples
than dimensions, else from symmetric eigendecompositions (see ``trace_sqrt_product``). Both agree with
pytorch-fid's ``calculate_frechet_distance`` to round-off (tests), and ``algorithm="pytorch-fid"`` calls that function
itself for strict parity.

KID (Bińkowski et al. 2018): unbiased MMD² with the polynomial kernel k(x,y) = (xᵀy/d + 1)³, averaged over
``subsets`` random subsets of ``subset_size`` samples each drawn without replacement from a seeded generator;
reported as mean ± std (ddof=0) over subsets, in raw units (papers often print KID×10³). When a set has fewer
samples than ``subset_size`` (or both exactly that many) the subsets hold half the smaller set, stated in a warning
and in the settings (``effective_subset_size``; ``kid_subset_size``): the ± never reports one subset drawn 100 times.

FID is biased and its 2048-d covariance is rank-deficient below 2048 samples: such results carry a warning, and
FID reports KID beside itself (as a companion value). The sample counts join the result's protocol hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metrics import METRICS
from metrics.base import MetricInputError, MetricValue, SetMetric, describe
from metrics.cache import ArrayCache
from metrics.inception import InceptionFeatures, ReferenceFeatures, gaussian_statistics

Images = torch.Tensor | Sequence[torch.Tensor]
MIN_FID_SAMPLES = 2048


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ₁Σ₂)^½) for covariance matrices, via symmetric eigendecompositions.

    Σ₁Σ₂ is similar to the PSD matrix Σ₁^½ Σ₂ Σ₁^½, so the trace of its square root is the sum of the square roots
    of that matrix's eigenvalues. ``eigh`` is faster and better conditioned than a general ``sqrtm`` (whose Schur
    iteration takes over a minute for rank-deficient 2048-d covariances on a laptop CPU).
    """
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root1 @ sigma2 @ root1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d² = ‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr((Σ₁Σ₂)^½), float64."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise MetricInputError(f"FID statistics of different dimensions: {mu1.shape} vs {mu2.shape}",
                               hint="compute both sets' statistics with the same fid.dims")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2))


def frechet_distance_from_features(fake: np.ndarray, real: np.ndarray) -> float:
    """The same distance from raw features; exact and fast when a set has fewer samples than dimensions.

    With centred features C₁ (n₁×d) and C₂, Σᵢ = CᵢᵀCᵢ/(nᵢ−1) and the non-zero eigenvalues of Σ₁Σ₂ are the squared
    singular values of C₁C₂ᵀ/√((n₁−1)(n₂−1)), so Tr((Σ₁Σ₂)^½) is that n₁×n₂ matrix's nuclear norm: no d×d matrix
    function, no round-off from the d−n null eigenvalues.
    """
    x, y = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    n1, n2, d = x.shape[0], y.shape[0], x.shape[1]
    if max(n1, n2) > d:
        mu1, s1 = x.mean(0), np.cov(x, rowvar=False)
        mu2, s2 = y.mean(0), np.cov(y, rowvar=False)
        return frechet_distance(mu1, s1, mu2, s2)
    mu1, mu2 = x.mean(0), y.mean(0)
    c1, c2 = x - mu1, y - mu2
    scale1, scale2 = n1 - 1, n2 - 1
    trace_cross = np.linalg.svd(c1 @ c2.T, compute_uv=False).sum() / np.sqrt(scale1 * scale2)
    diff = mu1 - mu2
    return float(diff @ diff + (c1 * c1).sum() / scale1 + (c2 * c2).sum() / scale2 - 2 * trace_cross)


def polynomial_mmd2(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0,
                    gamma: float | None = None) -> float:
    """Unbiased MMD² between two equally sized samples with k(a,b) = (γ aᵀb + c)^degree, γ = 1/d by default."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m = x.shape[0]
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    k_xx = (gamma * x @ x.T + coef0) ** degree
    k_yy = (gamma * y @ y.T + coef0) ** degree
    k_xy = (gamma * x @ y.T + coef0) ** degree
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def small_sample_note(n_fake: int, n_real: int, min_samples: int) -> str:
    """The warning on an FID from fewer than ``min_samples`` images per set: one sentence (a table footnote)."""
    return (f"FID from {n_fake} generated / {n_real} real samples (< {min_samples}): the estimate is biased upward and "
            "the covariance is rank-deficient, so compare it only with FIDs from the same sample counts (KID, which "
            "is unbiased, is reported beside it)")


def kid_subset_size(n_fake: int, n_real: int, subset_size: int = 1000) -> tuple[int, str | None]:
    """The subset size KID uses for sets of ``n_fake`` and ``n_real`` samples, and a note when it differs.

    ``subset_size`` when both sets are larger than it (or one is exactly that large and the other larger): the
    published protocol, numbers unchanged. Otherwise subsets of the whole smaller set would be the same set in every
    draw (N = subset_size = both counts: one subset 100 times, ± 0), so the size is halved to ⌊n/2⌋ of the smaller
    set n: every subset then draws a different half of each set and the ± is a real spread between subsets. Fewer
    than 4 samples in a set leave no spread to estimate (subsets of 2 are the minimum of the unbiased MMD²): refused.
    """
    n = min(n_fake, n_real)
    if n > subset_size or (n == subset_size and max(n_fake, n_real) > subset_size):
        return subset_size, None
    size = n // 2
    if size < 2:
        raise MetricInputError(f"KID needs at least 4 samples per set (subsets of 2 drawn from different halves), got "
                               f"{n_fake} generated and {n_real} real",
                               hint="give more images; KID's published protocol uses subsets of 1000")
    note = (f"KID subsets of {size}, not {subset_size} (only {n} samples in the smaller set): each subset draws "
            f"{size} generated and {size} real samples without replacement, so ± is the spread between subsets of "
            f"that size (half the smaller set: subsets of all {n} would be the same set every time, give one value "
            "and print ± 0)")
    return size, note


def kid_from_features(fake: np.ndarray, real: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                      degree: int = 3, coef0: float = 1.0, seed: int = 0) -> tuple[np.ndarray, int]:
    """Per-subset MMD² values and the effective subset size (``kid_subset_size``)."""
    size, _ = kid_subset_size(fake.shape[0], real.shape[0], subset_size)
    rng = np.random.default_rng(seed)
    values = np.empty(subsets, np.float64)
    for i in range(subsets):
        fi = rng.choice(fake.shape[0], size, replace=False)
        ri = rng.choice(real.shape[0], size, replace=False)
        values[i] = polynomial_mmd2(fake[fi], real[ri], degree=degree, coef0=coef0)
    return values, size


class _InceptionSetMetric(SetMetric):
    """Shared plumbing: one Inception extractor, a reference-feature cache keyed by content and protocol."""

    pretrained_network = "Inception-v3 (FID/KID features)"

    implementation = "pytorch-fid"
    cache_namespace = "inception"

    def __init__(self, dims: int = 2048, allow_uncalibrated: bool = False, quantize: bool = True,
                 batch_size: int = 50, device: str | None = None, cache: bool = True,
                 cache_dir: str | Path | None = None, seed: int = 0,
                 extractor: InceptionFeatures | None = None) -> None:
        # ``extractor`` shares one network between metric objects (FID and KID of one evaluation); its own settings
        # then replace the feature arguments above.
        self.extractor = extractor or InceptionFeatures(dims=dims, allow_uncalibrated=allow_uncalibrated,
                                                        quantize=quantize, batch_size=batch_size, device=device,
                                                        seed=seed)
        self.cache = ArrayCache(self.cache_namespace, cache_dir) if cache else None
        self.seed = seed
        self.last_reference: ReferenceFeatures | None = None

    @property
    def calibrated(self) -> bool:
        return self.extractor.calibrated

    def feature_protocol_hash(self) -> str:
        from core.hashing import settings_hash

        return settings_hash(self.extractor.settings())

    def reference(self, real: Images, real_hash: str | None = None) -> ReferenceFeatures:
        ref = self.extractor.reference(real, self.cache, self.feature_protocol_hash(), data_hash=real_hash)
        self.last_reference = ref
        return ref

    def _provenance(self, value: MetricValue, ref: ReferenceFeatures) -> None:
        value.extra.update({"real_data_hash": ref.data_hash, "real_from_cache": ref.from_cache,
                            "device": str(self.extractor.device), "batch_size": self.extractor.batch_size})


@METRICS.register("kid")
class KID(_InceptionSetMetric):
    """Kernel Inception distance: unbiased polynomial-kernel MMD² on pytorch-fid Inception features, seeded subsets."""

    direction = "lower"
    version = "1"

    def __init__(self, subsets: int = 100, subset_size: int = 1000, degree: int = 3, coef0: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subsets, self.subset_size, self.degree, self.coef0 = subsets, subset_size, degree, coef0

    def settings(self) -> dict[str, Any]:
        return super().settings() | self.extractor.settings() | {
            "kernel": f"polynomial (x·y/d + {self.coef0})^{self.degree}", "estimator": "unbiased MMD²",
            "subsets": self.subsets, "subset_size": self.subset_size, "seed": self.seed,
            "aggregate": "mean ± std(ddof=0) over subsets; raw units (not ×1e3)",
        }

    def from_features(self, fake: np.ndarray, real: np.ndarray) -> MetricValue:
        values, size = kid_from_features(fake, real, self.subsets, self.subset_size, self.degree, self.coef0,
                                         self.seed)
        value = MetricValue(self.name, float(values.mean()), float(values.std()), int(fake.shape[0]),
                            self.direction, self.calibrated)
        note = kid_subset_size(fake.shape[0], real.shape[0], self.subset_size)[1]
        if note:
            value.warnings.append(note)
        value.extra["effective_subset_size"] = size
        return describe(value, self, n_fake=int(fake.shape[0]), n_real=int(real.shape[0]),
                        effective_subset_size=size)

    def compute(self, fake: Images, real: Images, real_hash: str | None = None) -> MetricValue:
        ref = self.reference(real, real_hash)
        value = self.from_features(self.extractor.features(fake), ref.features)
        self._provenance(value, ref)
        return value


@METRICS.register("fid")
class FID(_InceptionSetMetric):
    """Fréchet Inception distance (pytorch-fid's Inception port); KID beside it below 2048 samples."""

    direction = "lower"
    version = "1"

    ALGORITHMS = ("exact", "pytorch-fid")

    def __init__(self, min_samples: int = MIN_FID_SAMPLES, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 algorithm: str = "exact", **kwargs: Any) -> None:
        if algorithm not in self.ALGORITHMS:
            raise MetricInputError(f"unknown FID algorithm {algorithm!r}; valid: {', '.join(self.ALGORITHMS)}",
                                   hint="fid.algorithm=exact (default) or fid.algorithm=pytorch-fid")
        super().__init__(**kwargs)
        self.min_samples, self.algorithm = min_samples, algorithm
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size

    def settings(self) -> dict[str, Any]:
        distance = ("Fréchet; Tr sqrt(Σ1Σ2) exactly via nuclear norm (N<=d) or symmetric eigendecomposition"
                    if self.algorithm == "exact" else
                    "Fréchet via pytorch_fid.fid_score.calculate_frechet_distance (scipy sqrtm, eps=1e-6 fallback)")
        return super().settings() | self.extractor.settings() | {
            "statistics": "float64 mean and covariance (ddof=1)", "distance": distance,
        }

    def distance(self, fake: np.ndarray, ref: ReferenceFeatures) -> float:
        if self.algorithm == "pytorch-fid":
            from pytorch_fid.fid_score import calculate_frechet_distance

            mu, sigma = gaussian_statistics(fake)
            return float(calculate_frechet_distance(mu, sigma, ref.mu, ref.sigma))
        return frechet_distance_from_features(fake, ref.features)

    def _kid(self) -> KID:
        # Share this FID's extractor instead of building a second Inception network.
        kid = KID(subsets=self.kid_subsets, subset_size=self.kid_subset_size, seed=self.seed,
                  extractor=self.extractor, cache=False)
        kid.cache = self.cache
        return kid

    def from_features(self, fake: np.ndarray, ref: ReferenceFeatures) -> MetricValue:
        n_fake, n_real = int(fake.shape[0]), int(ref.features.shape[0])
        if min(n_fake, n_real) < 2:
            raise MetricInputError(f"FID needs at least 2 images per set, got {n_fake} generated and {n_real} real",
                                   hint="give both sets at least 2 images (FID is only meaningful from thousands)")
        value = MetricValue(self.name, self.distance(fake, ref), None, n_fake, self.direction, self.calibrated)
        if min(n_fake, n_real) < self.min_samples:
            value.warnings.append(small_sample_note(n_fake, n_real, self.min_samples))
            try:
                value.extra["companions"] = [self._kid().from_features(fake, ref.features)]
            except MetricInputError as exc:  # too few samples for KID's spread: FID is still reported, flagged
                value.warnings.append(f"no KID beside it: {exc.args[0]}")
        return describe(value, self, n_fake=n_fake, n_real=n_real)

    def compute(self, fake: Images, real: Images, real_hash: str | None = None) -> MetricValue:
        ref = self.reference(real, real_hash)
        value = self.from_features(self.extractor.features(fake), ref)
        self._provenance(value, ref)
        return value
