"""Helpers for the training steps of two-domain GAN methods."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.data import Dataset

from datasets.base import collate


def _fetch(dataset: Dataset, indices: torch.Tensor) -> torch.Tensor:
    get_batch = getattr(dataset, "get_batch", None)
    batch = get_batch(indices) if get_batch else collate([dataset[int(i)] for i in indices])
    return batch["image"]


class UnpairedBatches:
    """Endless (A, B) image batches for unpaired training, reproducible from ``seed``, drawn independently per
    domain (a new permutation every epoch, last partial batch dropped, as ``datasets.base.infinite_batches``).

    ``skip(n)`` fast-forwards n batches without loading images, so that a resumed ``fit`` sees the same batches
    it would have seen without the interruption.
    """

    def __init__(self, a: Dataset, b: Dataset, batch_size: int, seed: int) -> None:
        self.datasets = (a, b)
        self.batch_size = int(batch_size)
        self._orders = [self._indices(ds, seed + k) for k, ds in enumerate(self.datasets)]

    def _indices(self, dataset: Dataset, seed: int) -> Iterator[torch.Tensor]:
        n = len(dataset)  # type: ignore[arg-type]
        if n == 0:
            raise ValueError("cannot draw batches from an empty domain")
        size = min(self.batch_size, n)
        generator = torch.Generator().manual_seed(seed)
        while True:
            order = torch.randperm(n, generator=generator)
            for start in range(0, n - size + 1, size):
                yield order[start:start + size]

    def skip(self, n: int) -> None:
        for _ in range(n):
            for order in self._orders:
                next(order)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return _fetch(self.datasets[0], next(self._orders[0])), _fetch(self.datasets[1], next(self._orders[1]))


def set_requires_grad(nets: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Freeze/unfreeze networks (e.g. D while G steps) to skip needless gradient computation."""
    for net in [nets] if isinstance(nets, nn.Module) else nets:
        for p in net.parameters():
            p.requires_grad_(flag)


@contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` and restore the caller's RNG state afterwards, so a translation
    with a fixed seed is reproducible and does not disturb training randomness."""
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
