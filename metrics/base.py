"""Metric interface. Every metric is a named object whose ``settings()`` fully describe how it computes its
number (implementation, version, weights checksum, resize, data range, ...); those settings hash into the protocol
hash, so numbers computed differently never share a column silently."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import torch

from core.errors import BenchError, NonFiniteError
from core.hashing import settings_hash

# What a metric is computed from (``bench score`` reads the folders accordingly):
# - ``pairs``: each output against its own reference image of the same size (ground truth or exemplar, see the
#   metric's ``reference``), per image;
# - ``sets``: the set of outputs against a set of real images, as distributions (no pairing);
# - ``groups``: several outputs of the same input, compared with each other (diversity);
# - ``images+labels``: each output with the label map of class ids it should depict (segmentation scores).
InputKind = Literal["pairs", "sets", "groups", "images+labels"]
INPUT_KINDS: tuple[str, ...] = get_args(InputKind)


class MetricInputError(BenchError, ValueError):
    """Inputs or settings a metric cannot score (images too small for its window or network, too few images, sets
    or shapes that do not match, values outside [0,1], an unknown option value). The message names the problem in
    one line, ``hint`` the fix (e.g. ``ssim.window=7``); ``bench score`` prints both and exits 2. Also a ValueError,
    so callers that catch those keep working."""


@dataclass
class MetricValue:
    """An aggregated metric: mean and (population) std over ``n`` samples, plus provenance."""

    name: str
    value: float
    std: float | None
    n: int
    direction: Literal["higher", "lower"]
    calibrated: bool = True
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, name: str, samples: np.ndarray | torch.Tensor, direction: Literal["higher", "lower"],
                     calibrated: bool = True) -> MetricValue:
        values = np.asarray(samples.detach().cpu() if isinstance(samples, torch.Tensor) else samples, np.float64)
        if values.size == 0:
            raise MetricInputError(f"{name}: no samples to aggregate", hint="give at least one image")
        return cls(name, float(values.mean()), float(values.std(ddof=0)), int(values.size), direction, calibrated)


class Metric(ABC):
    """Base class. ``direction`` says whether higher or lower is better; ``inputs`` what it is computed from;
    ``best`` the score of an output identical to its reference (SSIM 1, LPIPS 0), None where no finite score is
    reached (PSNR: infinite) or the metric compares no pairs."""

    name: ClassVar[str]  # set by ``@METRICS.register(name)``
    direction: ClassVar[Literal["higher", "lower"]]
    inputs: ClassVar[InputKind]
    best: ClassVar[float | None] = None
    implementation: ClassVar[str] = "bench"
    version: ClassVar[str] = "1"
    # the pretrained network whose published weights the metric needs, named when it runs uncalibrated
    pretrained_network: ClassVar[str] = ""

    @property
    def calibrated(self) -> bool:
        """False when the metric runs with weights other than its published ones (explicit opt-in only)."""
        return True

    def settings(self) -> dict[str, Any]:
        return {"metric": self.name, "implementation": self.implementation, "version": self.version}

    def settings_hash(self) -> str:
        return settings_hash(self.settings())


class PairedMetric(Metric):
    """A metric of an output against a reference image of the same size, computed per image."""

    inputs = "pairs"

    @abstractmethod
    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """float64 scores [N] for [N,C,H,W] images in [0,1]."""

    def __call__(self, fake: torch.Tensor, real: torch.Tensor) -> MetricValue:
        value = MetricValue.from_samples(self.name, self.per_image(fake, real), self.direction, self.calibrated)
        return describe(value, self)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` → CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class exact_matmul:  # lower-case: used like torch.no_grad
    """Disable TF32 for the duration of an evaluation (TF32 changes metric values on Ampere+ GPUs)."""

    def __enter__(self) -> None:
        self._saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def __exit__(self, *exc: object) -> None:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self._saved


def describe(value: MetricValue, metric: Metric, **sample_settings: Any) -> MetricValue:
    """Attach the settings and protocol hash a value was computed under (plus sample counts for set metrics).

    Set-level metrics (FID, KID, SWD) depend on the sample count, so it joins their settings: two FIDs computed from
    different N get different protocol hashes and never share a column.
    """
    if not math.isfinite(value.value):
        raise NonFiniteError(f"{metric.name} computed {value.value} from these inputs (degenerate input, e.g. "
                             "constant images or too few samples)",
                             hint="check the inputs; a metric that cannot give a number must refuse, never print NaN")
    settings = metric.settings() | {k: v for k, v in sample_settings.items() if v is not None}
    value.extra["settings"] = settings
    value.extra["protocol_hash"] = settings_hash(settings)
    if not metric.calibrated:
        value.calibrated = False
        network = metric.pretrained_network or "the metric's network"
        note = f"uncalibrated: {network} ran with random weights instead of the published pretrained ones"
        if note not in value.warnings:
            value.warnings.append(note)
    return value


def companions(value: MetricValue) -> list[MetricValue]:
    """Values reported beside a primary one (KID beside a small-sample FID, pixel accuracy beside mIoU, ...)."""
    return list(value.extra.get("companions", []))


def flatten(values: list[MetricValue]) -> list[MetricValue]:
    """Primary values followed by their companions, in order."""
    out: list[MetricValue] = []
    for value in values:
        out.append(value)
        out.extend(companions(value))
    return out


def as_batches(images: torch.Tensor | Sequence[torch.Tensor], batch_size: int) -> Iterator[torch.Tensor]:
    """Iterate [B,C,H,W] batches of a tensor or of a re-iterable sequence of batches."""
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise MetricInputError(f"expected [N,C,H,W] images, got shape {tuple(images.shape)}",
                                   hint="stack the images into one [N,C,H,W] tensor")
        for start in range(0, images.shape[0], batch_size):
            yield images[start:start + batch_size]
    else:
        for batch in images:
            if batch.ndim != 4:
                raise MetricInputError(f"expected [B,C,H,W] batches, got shape {tuple(batch.shape)}",
                                       hint="give batches as [B,C,H,W] tensors")
            yield batch


def check_unit_range(images: torch.Tensor, what: str = "images") -> None:
    """Raise a clear error unless values lie in [0,1] (the harness's image convention)."""
    if images.numel() == 0:
        return
    check_finite(images, what)
    low, high = float(images.min()), float(images.max())
    if low < -1e-6 or high > 1 + 1e-6:
        hint = ("outputs in [-1,1]: pass (x + 1) / 2" if low < 0 else
                "8-bit values: divide by 255" if high > 1.5 else "clamp to [0,1]")
        raise MetricInputError(f"{what} must be float RGB in [0,1]; got values in [{low:.4g}, {high:.4g}] ({hint})",
                               hint=hint)


def check_finite(images: torch.Tensor, what: str = "images") -> None:
    """Refuse NaN or infinite pixel values (a metric of them is NaN, or silently wrong)."""
    bad = int((~torch.isfinite(images)).sum()) if images.is_floating_point() else 0
    if bad:
        raise MetricInputError(f"{what} hold {bad} NaN or infinite value(s)",
                               hint="fix the generator's output (NaN usually means diverged training) before scoring")


def check_min_size(images: torch.Tensor, minimum: int, metric: str, why: str, hint: str) -> None:
    """Refuse [.., H, W] images whose shorter side is below ``minimum`` pixels, naming the fix."""
    height, width = int(images.shape[-2]), int(images.shape[-1])
    if min(height, width) < minimum:
        raise MetricInputError(f"{metric}: images of {height}×{width} are smaller than {minimum} px, {why}",
                               hint=hint)


class SetMetric(Metric):
    """A metric between two sets of images (distributions), e.g. FID, KID, SWD."""

    inputs = "sets"

    @abstractmethod
    def compute(self, fake: torch.Tensor | Sequence[torch.Tensor],
                real: torch.Tensor | Sequence[torch.Tensor]) -> MetricValue:
        """Compare the set ``fake`` with the set ``real``; images [N,3,H,W] in [0,1] or a sequence of batches."""

    def __call__(self, fake: torch.Tensor | Sequence[torch.Tensor],
                 real: torch.Tensor | Sequence[torch.Tensor]) -> MetricValue:
        return self.compute(fake, real)
