"""Toy training data in the label-map protocols' layout (PREAMBLE contract §2): ``a[i]`` = ``{"input": float
[C,H,W] one-hot conditioning, "label_map": long [H,W]}`` (+ ``"instance"``: long [H,W] instance ids when asked),
``b[i]`` = ``{"image": float [3,H,W] in [0,1]}``, a colour per class so that a translation is learnable."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from datasets.base import TensorImageSet, TrainData


class DictSet(Dataset):
    def __init__(self, **tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[index] for key, value in self.tensors.items()}


def label_maps(n: int, size: int, label_nc: int, seed: int = 0) -> torch.Tensor:
    """[n, size, size] long maps of rectangles of random classes on a random background class."""
    g = torch.Generator().manual_seed(seed)
    maps = torch.randint(0, label_nc, (n, 1, 1), generator=g).expand(n, size, size).clone()
    for i in range(n):
        for _ in range(2):
            r, c = (int(v) for v in torch.randint(0, size // 2, (2,), generator=g))
            maps[i, r:r + size // 2, c:c + size // 2] = int(torch.randint(0, label_nc, (), generator=g))
    return maps


def one_hot(maps: torch.Tensor, channels: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(maps, channels).permute(0, 3, 1, 2).float()


def labelmap_train_data(n: int = 2, size: int = 32, label_nc: int = 5, seed: int = 0,
                        instance: bool = False) -> TrainData:
    maps = label_maps(n, size, label_nc, seed)
    colours = torch.rand(label_nc, 3, generator=torch.Generator().manual_seed(seed + 1))
    a = {"input": one_hot(maps, label_nc), "label_map": maps}
    if instance:  # two instances per class: left and right halves
        a["instance"] = maps * 2 + (torch.arange(size) >= size // 2).long()
    images = colours[maps].permute(0, 3, 1, 2).contiguous()
    return TrainData(DictSet(**a), TensorImageSet(images), kind="paired",
                     meta={"input_nc": label_nc, "label_nc": label_nc})
