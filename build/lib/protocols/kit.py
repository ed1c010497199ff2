"""The protocol kit: translating a test split in batches, checked the same way by every protocol.

``translate_batches`` is the one translate → shape check → finite check loop; ``Gathered`` lets a protocol hand it
rows that are rendered or gathered per batch (112×112 MNIST-Multiple grids, edges indexed by a sampling plan)
instead of a tensor held whole in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol as Interface

import numpy as np
import torch

from core.columns import TRANSLATION_OF
from core.errors import BenchError
from methods.base import Method
from methods.training import check_finite


class Rows(Interface):
    """Anything whose slices are image batches: a [N,C,H,W] tensor or ``Gathered``."""

    def __len__(self) -> int: ...

    def __getitem__(self, rows: slice) -> torch.Tensor: ...


class Gathered:
    """Rows ``load(index[a:b])`` of a larger source, loaded only when a batch asks for them.

    ``load`` maps an int array of row numbers to float images [n,C,H,W] in [0,1]."""

    def __init__(self, load: Callable[[np.ndarray], torch.Tensor], index: np.ndarray) -> None:
        self.load, self.index = load, np.asarray(index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: slice) -> torch.Tensor:
        return self.load(self.index[rows])


def quantise(images: torch.Tensor) -> torch.Tensor:
    """float [0,1] → uint8 (as a saved image)."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def translate_batches(method: Method, contents: Rows, exemplars: Rows | None, direction: str, batch_size: int,
                      seed: int, *, uint8: bool = False, name: str | None = None
                      ) -> Iterator[tuple[slice, torch.Tensor]]:
    """Translate ``contents`` (row i under ``exemplars`` row i, or no exemplar when None) ``batch_size`` rows at a
    time, every batch with the same ``seed``; yields ``(rows, outputs)`` per batch.

    Outputs are the method's images moved to the CPU as float32, clamped to [0,1] (or quantised to uint8 [n,C,H,W]
    like a saved image with ``uint8=True``). Raises ``BenchError`` when the method returns another shape than its
    input and ``NonFiniteError`` (naming ``name``, default ``"<method> <translation>"``) on NaN or infinity.
    ``torch.cat([out for _, out in translate_batches(...)])`` gives the whole split.
    """
    label = name if name is not None else f"{method.registry_name} {TRANSLATION_OF.get(direction, direction)}"
    total = len(contents)
    for start in range(0, total, batch_size):
        rows = slice(start, min(start + batch_size, total))
        content = contents[rows]
        exemplar = None if exemplars is None else exemplars[rows]
        with torch.no_grad():
            out = method.translate(content.to(method.device), None if exemplar is None else exemplar.to(method.device),
                                   direction=direction, seed=seed)  # type: ignore[arg-type]
        if out.shape != content.shape:
            raise BenchError(f"{method.registry_name} returned {tuple(out.shape)} for inputs of "
                             f"{tuple(content.shape)}")
        out = check_finite(label, out.float().cpu())
        yield rows, quantise(out) if uint8 else out.clamp(0, 1)


def translate_all(method: Method, contents: Rows, exemplars: Rows | None, direction: str, batch_size: int, seed: int,
                  *, uint8: bool = False, name: str | None = None) -> torch.Tensor:
    """``translate_batches`` concatenated: the outputs of the whole split in one tensor."""
    batches = translate_batches(method, contents, exemplars, direction, batch_size, seed, uint8=uint8, name=name)
    return torch.cat([out for _, out in batches])
