"""``exemplar_copy``: returns the exemplar. The ceiling of style similarity and the floor of content fidelity."""

from __future__ import annotations

import torch

from methods import METHODS
from methods.base import Capabilities, Direction, Method


@METHODS.register("exemplar_copy")
class ExemplarCopy(Method):
    capabilities = Capabilities(training="none", guidance="exemplar", notes="reference bound: ignores the input")

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise ValueError("exemplar_copy needs an exemplar")
        if exemplar.shape != content.shape:
            raise ValueError(f"exemplar {tuple(exemplar.shape)} and input {tuple(content.shape)} differ in shape")
        return exemplar.clone()
