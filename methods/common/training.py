"""Helpers for the training steps of two-domain GAN methods."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


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
