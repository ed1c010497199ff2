"""Fixtures for method tests: toy two-domain images shaped like MNIST-Single (28×28 RGB in [0,1]) and the method
configs of ``bench/configs/methods``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from bench.config import load_method_config, method_params
from datasets.base import TensorImageSet, TrainData

CONFIG_DIR = Path(__file__).resolve().parents[2] / "bench" / "configs" / "methods"


@pytest.fixture(autouse=True, scope="package")
def _one_thread() -> Any:
    # On a shared 2-core machine, 2 OpenMP threads spin-wait on each other and make these tiny convolutions ~20×
    # slower than one thread (OMP_WAIT_POLICY=PASSIVE also avoids it, but must be set before torch loads).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def toy_domains(n: int, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A: a white square on black or the inverse (binary, like MNIST-Single A); B: a square in one pure RGB colour on
    another (like MNIST-Single B). Squares vary in position and size."""
    g = torch.Generator().manual_seed(seed)
    colours = torch.eye(3)
    a, b = torch.zeros(n, 3, size, size), torch.zeros(n, 3, size, size)
    for i in range(n):
        for images, coloured in ((a, False), (b, True)):
            side = int(torch.randint(size // 4, size // 2, (), generator=g))
            r, c = (int(v) for v in torch.randint(0, size - side, (2,), generator=g))
            if coloured:
                fg, bg = colours[torch.randperm(3, generator=g)[:2]]
            else:
                flip = bool(torch.rand((), generator=g) < 0.5)
                fg, bg = (torch.zeros(3), torch.ones(3)) if flip else (torch.ones(3), torch.zeros(3))
            images[i] = bg[:, None, None]
            images[i, :, r:r + side, c:c + side] = fg[:, None, None]
    return a, b


def toy_labels(images: torch.Tensor) -> torch.Tensor:
    """A label map per toy image: class 1 where the pixel is bright, 0 elsewhere ([N,H,W], long)."""
    return (images.mean(1) > 0.5).long()


def toy_train_data(n: int = 2, size: int = 28, seed: int = 0, kind: str = "unpaired",
                   label_maps: bool = False) -> TrainData:
    """``kind="paired"`` reads a[i]→b[i] as input and target; ``label_maps`` gives A's items a ``label_map`` and
    the data the contract's ``meta["exemplar_lists"]`` (each item's neighbours i+1, i−1: easy, hard)."""
    a, b = toy_domains(n, size, seed)
    meta = {}
    if label_maps:
        index = torch.arange(n)
        meta["exemplar_lists"] = torch.stack([(index + 1) % n, (index - 1) % n], 1)
    return TrainData(TensorImageSet(a, label_maps=toy_labels(a) if label_maps else None), TensorImageSet(b),
                     kind=kind, meta=meta)  # type: ignore[arg-type]


def toy_single_image_data(size: int = 28, seed: int = 0) -> TrainData:
    """Contract §1's ``single_image`` data for one toy case: a colour square image with its 2-class layout (one-hot
    ``input`` + ``label_map``: 1 where the colour differs from the top-left pixel's); the target layout is the
    source's, mirrored."""
    _, b = toy_domains(1, size, seed)
    labels = (b[0] != b[0, :, :1, :1]).any(0).long()
    one_hot = torch.nn.functional.one_hot(labels, 2).permute(2, 0, 1).float()
    target = {"input": one_hot.flip(-1), "label_map": labels.flip(-1)}
    return TrainData([{"input": one_hot, "label_map": labels}], [{"image": b[0]}],  # type: ignore[arg-type]
                     kind="single_image", meta={"target": target, "case": f"toy{seed}", "input_nc": 2,
                                                "label_nc": 2, "size": [size, size]})


def method_config(name: str) -> Any:
    path = CONFIG_DIR / f"{name}.yaml"
    if not path.exists():
        pytest.fail(f"method {name!r} has no config {path}")
    return load_method_config(name)  # resolves a variant's `defaults: [<base>@_here_, _self_]`


def preset_params(name: str, preset: str = "smoke", **overrides: Any) -> dict[str, Any]:
    """``params`` merged with ``presets[preset]`` and ``overrides``, as the runner builds a method."""
    return {**method_params(method_config(name), preset), **overrides}
