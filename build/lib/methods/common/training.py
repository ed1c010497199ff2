"""Helpers for training steps: gradient switches and the training-data kind check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from torch import nn

from core.errors import BenchError
from datasets.base import TrainData


def set_requires_grad(nets: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Freeze/unfreeze networks (e.g. D while G steps) to skip needless gradient computation."""
    for net in [nets] if isinstance(nets, nn.Module) else nets:
        for p in net.parameters():
            p.requires_grad_(flag)


@contextmanager
def frozen_weights(net: nn.Module) -> Iterator[None]:
    """Parameters take no gradient inside the block (gradients still flow through the network to its input)."""
    flags = [p.requires_grad for p in net.parameters()]
    set_requires_grad(net, False)
    try:
        yield
    finally:
        for p, flag in zip(net.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def require_kind(method: str, data: TrainData, kind: str) -> None:
    """Raise ``BenchError`` unless the protocol's training data is of ``kind`` (paired, unpaired, ...)."""
    if data.kind != kind:
        raise BenchError(f"{method} trains on {kind} data but was given {data.kind} data",
                         hint=f"run {method} only in protocols that offer {kind} training data")
