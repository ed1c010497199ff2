"""Containers that carry data from protocols to methods.

Images are float32 [0,1] NCHW RGB tensors. ``ImageSet`` is a plain ``torch.utils.data.Dataset`` whose items are
dicts (``image`` and, where a protocol has them, ``label_map`` and ``class_id``), so large on-disk datasets and small
in-memory ones look the same to a method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset


class TensorImageSet(Dataset):
    """An in-memory image set; ``images`` is uint8 [N,H,W,3] (compact) or float [N,3,H,W] in [0,1]."""

    def __init__(self, images: np.ndarray | torch.Tensor, label_maps: torch.Tensor | None = None,
                 class_ids: np.ndarray | None = None) -> None:
        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise ValueError(f"expected uint8 [N,H,W,3] images, got {images.dtype} {images.shape}")
            images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        self.images = images
        self.label_maps = label_maps
        self.class_ids = None if class_ids is None else torch.as_tensor(class_ids)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def image(self, index: Any) -> torch.Tensor:
        image = self.images[index]
        return image.float() / 255.0 if image.dtype == torch.uint8 else image.float()

    def _select(self, index: Any) -> dict[str, torch.Tensor]:
        item = {"image": self.image(index)}
        if self.label_maps is not None:
            item["label_map"] = self.label_maps[index]
        if self.class_ids is not None:
            item["class_id"] = self.class_ids[index]
        return item

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self._select(index)

    def get_batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        """Vectorised ``collate([self[i] for i in indices])``."""
        return self._select(indices)

    def all_images(self) -> torch.Tensor:
        return self.image(slice(None))


@dataclass
class TrainData:
    """Training data a protocol offers a method.

    kind: ``paired`` when ``a[i]`` and ``b[i]`` are an input and its ground-truth translation; ``unpaired`` when
    the two domains have no correspondence.
    """

    a: Dataset
    b: Dataset
    kind: Literal["paired", "unpaired", "single_image"]
    meta: dict[str, Any] = field(default_factory=dict)

    def domain(self, name: Literal["A", "B"]) -> Dataset:
        return self.a if name == "A" else self.b


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack the items' tensors key by key into one batch."""
    return {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in items[0]}
