"""A two-region toy world for testing the world machinery (not registered)."""

from __future__ import annotations

import numpy as np

from core.registry import Registry
from datasets.labelled import LabelSet
from datasets.worlds.base import Style, World
from datasets.worlds.materials import grid, material, paint, to_uint8

_TOYS: Registry = Registry("toy world")  # not WORLDS: the contract test must not see it


@_TOYS.register("toy")
class ToyWorld(World):
    """Background (0), a box (1) and a disc (2); the layout is the box and disc geometry."""

    version = "1"
    labels = LabelSet("toy", ("background", "box", "disc"))

    def __init__(self, with_disc: bool = True) -> None:
        self.with_disc = with_disc

    def settings(self) -> dict:
        return {"with_disc": self.with_disc}

    def sample_layout(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0.1, 0.9, 5)  # box x0, x1 (sorted), disc cx, cy, r

    def sample_style(self, rng: np.random.Generator) -> Style:
        return Style(np.stack([material(rng.uniform(0, 1, 3)) for _ in range(3)]), rng.uniform(0, 1, 1))

    def label_map(self, layout: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        u, v = grid(size)
        v = v * size[1] / size[0]
        x0, x1 = sorted(layout[:2])
        label = np.zeros(size, np.uint8)
        label[(u >= x0) & (u <= x1) & (v > 0.5)] = 1
        if self.with_disc:
            label[(u - layout[2]) ** 2 + (v - layout[3]) ** 2 < (0.3 * layout[4]) ** 2] = 2
        return label

    def render(self, layout, style, size, label=None):
        label = self.label_map(layout, size) if label is None else label
        return to_uint8(paint(label, style.materials) * (0.5 + 0.5 * style.glob[0]))
