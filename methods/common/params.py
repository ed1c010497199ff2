"""The one way a method declares and resolves its parameters.

A method declares every parameter it accepts, with the paper's value, in a class attribute
``defaults: ClassVar[dict[str, Any]]``; ``Method.__init__`` resolves the given parameters against it with
``resolve_params``. A subclass that changes a default (``pix2pix_noise``) overrides ``defaults``; checks that go
beyond the names (allowed values, ranges) run after ``super().__init__`` on ``self.params``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from core.errors import BenchError


def resolve_params(method: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``.

    Raises ``BenchError`` naming any parameter ``defaults`` does not declare (a misspelt name is never silently
    ignored) and the closest declared name where one is close, with the valid names as the hint.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        guesses = {name: difflib.get_close_matches(name, list(defaults), n=1) for name in unknown}
        meant = "; ".join(f"did you mean {g[0]!r} for {name!r}?" for name, g in guesses.items() if g)
        raise BenchError(f"unknown {method} parameters {unknown}" + (f" ({meant})" if meant else ""),
                         hint=f"valid parameters: {', '.join(sorted(defaults))}")
    return {**defaults, **given}

