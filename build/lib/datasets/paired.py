"""Paired image sources (an input and its ground truth per index, plus a foreground mask of the ground truth).

A source loads batches by index as uint8 arrays; ``domain("A")`` and ``domain("B")`` wrap it as the two
``torch.utils.data.Dataset`` objects that ``TrainData`` carries, indexed identically, so ``a[i]`` and ``b[i]`` are a
pair. The B view adds the photo's foreground ``mask`` ([1,H,W] float in {0,1}) beside ``image``. Large on-disk sets
are read lazily; the two views share the last loaded batch so a paired batch decodes its files once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass
class PairedArrays:
    """uint8 arrays of one batch: ``a`` and ``b`` [N,H,W,3], ``mask`` [N,H,W] (1 = foreground)."""

    a: np.ndarray
    b: np.ndarray
    mask: np.ndarray


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W,3] → float [N,3,H,W] in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def mask_tensor(masks: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W] in {0,1} → float [N,1,H,W]."""
    return torch.from_numpy(np.ascontiguousarray(masks)).float().unsqueeze(1)


class PairedSource(ABC):
    """Indexable paired data; subclasses implement ``__len__`` and ``_load``."""

    size: int

    def __init__(self) -> None:
        self._last: tuple[tuple[int, ...], PairedArrays] | None = None

    @abstractmethod
    def __len__(self) -> int:
        ...

    @abstractmethod
    def _load(self, indices: np.ndarray) -> PairedArrays:
        ...

    def load(self, indices: np.ndarray | torch.Tensor | list[int]) -> PairedArrays:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} pairs")
        key = tuple(idx.tolist())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        arrays = self._load(idx)
        self._last = (key, arrays)
        return arrays

    def all(self) -> PairedArrays:
        return self.load(np.arange(len(self)))

    def domain(self, name: Literal["A", "B"]) -> DomainView:
        return DomainView(self, name)


class DomainView(Dataset):
    """One side of a paired source as a Dataset of ``{"image": [3,H,W]}`` (B adds ``"mask"``)."""

    def __init__(self, source: PairedSource, side: Literal["A", "B"]) -> None:
        if side not in ("A", "B"):
            raise ValueError(f"side must be 'A' or 'B', got {side!r}")
        self.source, self.side = source, side

    def __len__(self) -> int:
        return len(self.source)

    def get_batch(self, indices: torch.Tensor | np.ndarray | list[int]) -> dict[str, torch.Tensor]:
        arrays = self.source.load(np.asarray(indices))
        if self.side == "A":
            return {"image": to_tensor(arrays.a)}
        return {"image": to_tensor(arrays.b), "mask": mask_tensor(arrays.mask)}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.get_batch([int(index)]).items()}


@dataclass
class PairedData:
    """A paired dataset's train and test (``val``) splits with provenance.

    source: the data's name as it goes into every table and MLflow run (``edges2shoes``, ``edges2objects``, ...).
    files: file name → sha256 (or a summary digest for large splits) of what was read.
    mask_source: how the foreground masks were obtained (``files``, ``derived``, ``mixed`` or ``exact``).
    """

    train: PairedSource
    val: PairedSource
    source: str
    fingerprint: str
    files: dict[str, str]
    description: str
    mask_source: str
