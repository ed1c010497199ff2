"""The one batch sampler of the method kit, in two named modes, and the seed derivations that go with it.

Modes (both fixed by ``seed``; both drop incomplete batches and draw a fresh permutation every epoch):

- ``"per_step"``: batch ``t`` depends on ``(seed, t)`` alone; epoch ``e``'s permutation comes from a generator
  seeded with ``derive_seed(seed, e)``. Random access (``at(step)``), so a resumed run needs no fast-forward.
  Used by pix2pix, pix2pix_noise, BicycleGAN, SPADE-VAE, AdaIN and WCT.
- ``"stream"``: one generator seeded with ``seed`` draws the epochs' permutations in turn; a resumed run replays the
  permutations to skip the batches already drawn. Used by CycleGAN, UNIT, MUNIT (through ``TrainLoop.batches``),
  EGSC-IT and SEGIN.

Seed derivation (the numbers every method used before the kit, kept so that no batch changes):

- ``derive_seed(seed, i) = seed · SEED_STRIDE + i``; ``i`` is an epoch (per-step permutations), ``step + 1`` (the
  crop/flip generator of a step, ``step_generator``) or ``step`` (SEGIN's per-step post-processing draws).
- A second stream from the same run seed is offset: ``seed + STREAM_B`` (the B domain of a two-domain stream),
  ``seed + PER_STEP_B`` (the B domain of AdaIN/WCT's per-step batches) and ``seed + STAGE_STRIDE · s`` (EGSC-IT's
  training stage ``s``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

import torch
from torch.utils.data import DataLoader, Dataset

from core.errors import DataError
from datasets.base import TrainData, collate

Mode = Literal["per_step", "stream"]
MODES: tuple[Mode, ...] = ("per_step", "stream")
SEED_STRIDE = 1_000_003  # a prime above any step count: (seed, i) pairs never share a derived seed
STREAM_B = 1  # the B domain's stream seed is the run seed + 1 (CycleGAN/UNIT/MUNIT, EGSC-IT)
PER_STEP_B = 7919  # the B domain's per-step seed is the run seed + 7919 (AdaIN, WCT)
STAGE_STRIDE = 1000  # EGSC-IT's stage s samples from the run seed + 1000·s


def derive_seed(seed: int, index: int) -> int:
    """The seed of draw ``index`` (an epoch or a step) of the run seeded ``seed``: ``seed · SEED_STRIDE + index``."""
    return int(seed) * SEED_STRIDE + int(index)


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator for the random crops/flips of training step ``step`` (seeded ``derive_seed(seed, step + 1)``),
    so a resumed run draws exactly the same ones."""
    return torch.Generator().manual_seed(derive_seed(seed, step + 1))


class BatchSampler:
    """Index batches of size ``min(batch_size, n)`` over ``n`` items, reproducible from ``seed``, in ``mode``.

    Raises ``DataError`` on an empty data set and ``ValueError`` on an unknown mode.
    """

    def __init__(self, n: int, batch_size: int, seed: int, mode: Mode = "stream") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown sampling mode {mode!r}; valid: {', '.join(MODES)}")
        if n <= 0:
            raise DataError("cannot draw batches from an empty training set",
                            hint="check the protocol's data settings")
        self.n, self.seed, self.mode = int(n), int(seed), mode
        self.batch_size = min(int(batch_size), self.n)
        self.per_epoch = self.n // self.batch_size

    def at(self, step: int) -> torch.Tensor:
        """The indices [batch_size] (int64) of batch ``step``; ``per_step`` mode only (random access)."""
        if self.mode != "per_step":
            raise ValueError("random access needs mode='per_step'; a stream is read with indices(start)")
        epoch, k = divmod(int(step), self.per_epoch)
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(derive_seed(self.seed, epoch)))
        return order[k * self.batch_size:(k + 1) * self.batch_size]

    def indices(self, start: int = 0) -> Iterator[torch.Tensor]:
        """Endless index batches from batch number ``start`` on (a resumed run passes the steps already done)."""
        if self.mode == "per_step":
            step = int(start)
            while True:
                yield self.at(step)
                step += 1
        generator = torch.Generator().manual_seed(self.seed)
        skip = int(start)
        while True:
            order = torch.randperm(self.n, generator=generator)
            for k in range(self.per_epoch):
                if skip > 0:
                    skip -= 1
                    continue
                yield order[k * self.batch_size:(k + 1) * self.batch_size]


def fetch(dataset: Dataset, indices: torch.Tensor) -> dict[str, torch.Tensor]:
    """The items ``indices`` of ``dataset`` as one batch (its vectorised ``get_batch`` when it has one)."""
    get_batch = getattr(dataset, "get_batch", None)
    return get_batch(indices) if get_batch else collate([dataset[int(i)] for i in indices])


def paired_sampler(data: TrainData, batch_size: int, seed: int, mode: Mode = "per_step") -> BatchSampler:
    """A sampler over paired data, whose ``a[i]`` and ``b[i]`` correspond; ``DataError`` when their sizes differ."""
    n_a, n_b = len(data.a), len(data.b)  # type: ignore[arg-type]
    if n_a != n_b:
        raise DataError(f"paired training data has {n_a} inputs but {n_b} targets",
                        hint="a paired protocol must give a[i] and its ground truth b[i]")
    return BatchSampler(n_a, batch_size, seed, mode)


def paired_fetch(data: TrainData, indices: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Items ``indices`` of ``data.a`` and of ``data.b`` (the same indices: an input and its ground truth)."""
    return fetch(data.a, indices), fetch(data.b, indices)


class _Fetcher(Dataset):
    """The datasets of one training stream as a ``DataLoader`` dataset whose items are whole batches: an "index" is
    a tuple of index tensors, one per dataset, and ``__getitems__`` (which the loader calls with it) fetches each."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)

    def __len__(self) -> int:
        return min(len(d) for d in self.datasets)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        raise TypeError("_Fetcher serves whole batches through __getitems__")

    def __getitems__(self, indices: tuple[torch.Tensor, ...]) -> tuple[dict[str, torch.Tensor], ...]:
        return tuple(fetch(d, torch.as_tensor(i)) for d, i in zip(self.datasets, indices, strict=True))


def _unwrap(batch: Any) -> Any:  # the fetcher already returns whole batches: nothing to collate
    return batch


class _Indices:
    """An iterator of index batches as the ``batch_sampler`` a ``DataLoader`` takes (it needs ``__iter__``)."""

    def __init__(self, indices: Iterable[tuple[torch.Tensor, ...]]) -> None:
        self.indices = indices

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        return iter(self.indices)


def load(datasets: Sequence[Dataset], indices: Iterable[tuple[torch.Tensor, ...]], workers: int = 0,
         pin_memory: bool = False) -> Iterator[tuple[dict[str, torch.Tensor], ...]]:
    """Batches ``(fetch(datasets[0], idx[0]), fetch(datasets[1], idx[1]), ...)`` for each ``idx`` of ``indices``.

    ``workers = 0`` and no pinning: fetched here, one batch at a time. Otherwise a ``torch.utils.data.DataLoader``
    fetches them in ``workers`` processes (two batches ahead each) and, with ``pin_memory``, copies them to page-locked
    memory so that the host→GPU copy is fast. The index order is drawn here, in the main process, and the data sets
    are deterministic per index, so the batches are the same for every ``workers`` (tested): a run's numbers do not
    depend on its loader settings. ``ValueError`` on ``workers < 0``.
    """
    if workers < 0:
        raise ValueError(f"loader workers must be >= 0, not {workers}")
    if workers == 0 and not pin_memory:
        for idx in indices:
            yield tuple(fetch(d, i) for d, i in zip(datasets, idx, strict=True))
        return
    pin = pin_memory and torch.cuda.is_available()  # pinning needs a CUDA driver; without one it is a no-op
    # its own generator: a DataLoader otherwise draws its workers' base seed from the global RNG, which would shift
    # every later random draw of the method (noise, dropout) and make the run depend on its loader settings
    loader = DataLoader(_Fetcher(datasets), batch_sampler=_Indices(indices), collate_fn=_unwrap,  # type: ignore
                        num_workers=workers, pin_memory=pin, generator=torch.Generator().manual_seed(0))
    yield from loader
