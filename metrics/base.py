"""Metric interface. Every metric is a named object whose ``settings()`` fully describe how it computes its
number (implementation, version, weights checksum, resize, data range, ...); those settings hash into the protocol
hash, so numbers computed differently never share a column silently."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from bench.hashing import settings_hash


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
            raise ValueError(f"{name}: no samples to aggregate")
        return cls(name, float(values.mean()), float(values.std(ddof=0)), int(values.size), direction, calibrated)


class Metric(ABC):
    """Base class. ``direction`` says whether higher or lower is better."""

    name: ClassVar[str]
    direction: ClassVar[Literal["higher", "lower"]]
    implementation: ClassVar[str] = "bench"
    version: ClassVar[str] = "1"

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

    @abstractmethod
    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """float64 scores [N] for [N,C,H,W] images in [0,1]."""

    def __call__(self, fake: torch.Tensor, real: torch.Tensor) -> MetricValue:
        return MetricValue.from_samples(self.name, self.per_image(fake, real), self.direction, self.calibrated)
