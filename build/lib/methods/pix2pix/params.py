"""Parameter handling shared by this branch's methods: defaults, unknown-name errors, seeded construction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from torch import nn

from core.errors import BenchError
from core.seeding import seeded
from methods.common.training import set_requires_grad


def resolve_params(method: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``; a name the method does not know is an error, not silently ignored."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise BenchError(f"{method} has no parameter(s) {unknown}",
                         hint=f"valid parameters: {', '.join(sorted(defaults))}")
    return {**defaults, **given}


@contextmanager
def frozen(net: nn.Module) -> Iterator[None]:
    """Parameters take no gradient inside the block (gradients still flow through the network to its input)."""
    flags = [p.requires_grad for p in net.parameters()]
    set_requires_grad(net, False)
    try:
        yield
    finally:
        for p, flag in zip(net.parameters(), flags, strict=True):
            p.requires_grad_(flag)


__all__ = ["frozen", "resolve_params", "seeded", "set_requires_grad"]
