"""The one seeding helper: a block under a fixed torch seed that leaves the caller's random state untouched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` and restore the caller's RNG state afterwards (the CPU
    generator, and the CUDA one when ``device`` is a CUDA device), so a translation or a random initialisation with
    a fixed seed is reproducible and does not disturb training randomness."""
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
