"""``input_copy``: returns the input unchanged. The floor of exemplar fidelity and the ceiling of content fidelity."""

from __future__ import annotations

import torch

from methods import METHODS
from methods.base import Capabilities, Direction, Method


@METHODS.register("input_copy")
class InputCopy(Method):
    capabilities = Capabilities(training="none", guidance="none", notes="reference bound: ignores the exemplar")

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        return content.clone()
