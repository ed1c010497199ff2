"""The one way a method declares and resolves its parameters.

A method declares every parameter it accepts, with the paper's value, in a class attribute
``defaults: ClassVar[dict[str, Any]]``; ``Method.__init__`` resolves the given parameters against it with
``resolve_params``. A subclass that changes a default (``pix2pix_noise``) overrides ``defaults``; checks that go
beyond the names (allowed values, ranges) run after ``super().__init__`` on ``self.params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import BenchError


def resolve_params(method: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``.

    Raises ``BenchError`` naming any parameter ``defaults`` does not declare (a misspelt name is never silently
    ignored), with the valid names as the hint.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise BenchError(f"unknown {method} parameters {unknown}",
                         hint=f"valid parameters: {', '.join(sorted(defaults))}")
    return {**defaults, **given}

