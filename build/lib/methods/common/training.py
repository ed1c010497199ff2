"""Helpers for the training steps of two-domain GAN methods."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn


def set_requires_grad(nets: nn.Module | Iterable[nn.Module], flag: bool) -> None:
    """Freeze/unfreeze networks (e.g. D while G steps) to skip needless gradient computation."""
    for net in [nets] if isinstance(nets, nn.Module) else nets:
        for p in net.parameters():
            p.requires_grad_(flag)


