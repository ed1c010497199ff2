"""``exemplar_copy``: returns the exemplar. The ceiling of style similarity and the floor of content fidelity."""

from __future__ import annotations

import torch

from methods import METHODS
from methods.base import Capabilities, Direction, Method


@METHODS.register("exemplar_copy")
class ExemplarCopy(Method):
    capabilities = Capabilities(training="none", guidance="exemplar", ignores_content=True,
                                notes="reference bound: ignores the input")

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise ValueError("exemplar_copy needs an exemplar")
        # the content may be any conditioning (a one-hot label map, edge or pose channels): only N, H, W must agree
        if exemplar.shape[0] != content.shape[0] or exemplar.shape[2:] != content.shape[2:]:
            raise ValueError(f"exemplar {tuple(exemplar.shape)} and input {tuple(content.shape)} differ in batch or "
                             "image size")
        return exemplar.clone()
