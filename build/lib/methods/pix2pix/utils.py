"""Training helpers shared by pix2pix, BicycleGAN, SPADE-VAE, AdaIN and WCT: step-addressed batches (so a resumed
run sees exactly the batches it would have seen), the paired jitter of the pix2pix code, and the linear-decay
learning-rate schedule."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from core.errors import BenchError
from datasets.base import TrainData, collate
from methods.common.images import to_signed, to_unit
from methods.common.schedules import linear_decay as _linear_decay


def _batch(dataset: Dataset, indices: torch.Tensor) -> dict[str, torch.Tensor]:
    get_batch = getattr(dataset, "get_batch", None)
    return get_batch(indices) if get_batch else collate([dataset[int(i)] for i in indices])


def step_indices(n: int, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """The indices of batch ``step``: a fresh seeded permutation every epoch, incomplete batches dropped."""
    if n == 0:
        raise BenchError("the training set is empty", hint="check the protocol's data settings")
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size
    epoch, k = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return order[k * batch_size:(k + 1) * batch_size]


def domain_batch(dataset: Dataset, batch_size: int, step: int, seed: int) -> dict[str, torch.Tensor]:
    return _batch(dataset, step_indices(len(dataset), batch_size, step, seed))  # type: ignore[arg-type]


def paired_batch(data: TrainData, batch_size: int, step: int, seed: int
                 ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Corresponding items of ``data.a`` and ``data.b`` (the input and its ground truth)."""
    if len(data.a) != len(data.b):  # type: ignore[arg-type]
        raise BenchError(f"paired training data has {len(data.a)} inputs but {len(data.b)} targets",  # type: ignore[arg-type]
                         hint="a paired protocol must give a[i] and its ground truth b[i]")
    idx = step_indices(len(data.a), batch_size, step, seed)  # type: ignore[arg-type]
    return _batch(data.a, idx), _batch(data.b, idx)


def require_kind(method: str, data: TrainData, kind: str) -> None:
    if data.kind != kind:
        raise BenchError(f"{method} trains on {kind} data but was given {data.kind} data",
                         hint=f"run {method} only in protocols that offer {kind} training data")


def step_generator(seed: int, step: int) -> torch.Generator:
    """A generator for the random crops/flips of one step: a resumed run draws exactly the same ones."""
    return torch.Generator().manual_seed(seed * 1_000_003 + step + 1)


def paired_jitter(images: list[torch.Tensor], load_size: int | None, crop_size: int | None, flip: bool,
                  generator: torch.Generator) -> list[torch.Tensor]:
    """pix2pix's ``resize_and_crop`` + flip, with the same crop and flip for every tensor of a pair."""
    out = images
    if load_size:
        out = [F.interpolate(t, size=(load_size, load_size), mode="bilinear", align_corners=False)
               if t.is_floating_point() else
               F.interpolate(t.float(), size=(load_size, load_size), mode="nearest").to(t.dtype) for t in out]
    if crop_size and crop_size < out[0].shape[-1]:
        h, w = out[0].shape[-2:]
        top = int(torch.randint(0, h - crop_size + 1, (1,), generator=generator))
        left = int(torch.randint(0, w - crop_size + 1, (1,), generator=generator))
        out = [t[..., top:top + crop_size, left:left + crop_size] for t in out]
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        out = [t.flip(-1) for t in out]
    return out


def linear_decay(optimizer: torch.optim.Optimizer, steps: int, decay_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant learning rate, then linear decay to ~0 over the last ``decay_steps`` of ``steps`` steps."""
    return _linear_decay(optimizer, steps - decay_steps, decay_steps)


def resize_to(images: torch.Tensor, size: int | tuple[int, int] | None) -> torch.Tensor:
    if size is None:
        return images
    hw = (size, size) if isinstance(size, int) else size
    if tuple(images.shape[-2:]) == tuple(hw):
        return images
    return F.interpolate(images, size=hw, mode="bilinear", align_corners=False)


__all__ = ["domain_batch", "linear_decay", "paired_batch", "paired_jitter", "require_kind", "resize_to",
           "step_generator", "step_indices", "to_signed", "to_unit"]
