"""Conditioning maps of the label-map protocols (label map → image methods: spade, pix2pixhd).

The protocols pass the conditioning as float [N, input_nc, H, W] (one-hot label maps with a don't-care channel,
face-edge or pose channels) and give training inputs as ``a[i]["input"]``. Class-index maps ([N,H,W] or [N,1,H,W],
integer; training items' ``label_map``) are accepted too and one-hot encoded to ``label_nc`` channels, which must
then equal ``input_nc``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.errors import BenchError


def one_hot_maps(indices: torch.Tensor, label_nc: int, method: str) -> torch.Tensor:
    """Integer class maps [N,H,W] / [N,1,H,W] with values in [0, label_nc) → float one-hot [N,label_nc,H,W]."""
    if indices.dim() == 3:
        indices = indices.unsqueeze(1)
    if indices.dim() != 4 or indices.size(1) != 1:
        raise BenchError(f"{method}: label maps must be [N,H,W] or [N,1,H,W], got {tuple(indices.shape)}")
    indices = indices.long()
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= label_nc):
        raise BenchError(f"{method}: label map values must lie in [0, {label_nc}), got "
                         f"[{int(indices.min())}, {int(indices.max())}]",
                         hint="set label_nc (and input_nc) to the number of classes incl. don't-care")
    out = torch.zeros(indices.size(0), label_nc, *indices.shape[-2:], device=indices.device)
    return out.scatter_(1, indices, 1.0)


def as_conditioning(content: torch.Tensor, input_nc: int, label_nc: int, method: str) -> torch.Tensor:
    """The network input [N, input_nc, H, W] (float) from float conditioning or integer class maps.

    Raises BenchError for a float tensor with another channel count, or class maps when label_nc ≠ input_nc.
    """
    if content.is_floating_point():
        if content.dim() != 4 or content.size(1) != input_nc:
            raise BenchError(f"{method} expects conditioning maps [N,{input_nc},H,W], got {tuple(content.shape)}",
                             hint="set input_nc to the protocol's conditioning channels (protocols set it)")
        return content
    if label_nc != input_nc:
        raise BenchError(f"{method}: class-index maps give {label_nc} one-hot channels but input_nc is {input_nc}",
                         hint="pass the float conditioning [N,input_nc,H,W] instead of class indices")
    return one_hot_maps(content, label_nc, method)


def batch_conditioning(batch: dict[str, torch.Tensor], input_nc: int, label_nc: int, method: str) -> torch.Tensor:
    """A training batch's conditioning: ``input`` (the label-map contract) or else one-hot ``label_map``."""
    if "input" in batch:
        return as_conditioning(batch["input"].float(), input_nc, label_nc, method)
    if "label_map" in batch:
        return as_conditioning(batch["label_map"], input_nc, label_nc, method)
    raise BenchError(f"{method} needs a conditioning map for every training input",
                     hint="domain A items must carry 'input' (or 'label_map'): run it in a label-map protocol")


def resize_nearest(maps: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Nearest resize of conditioning maps [N,C,H,W] (the official codes load label maps with NEAREST)."""
    hw = (size, size) if isinstance(size, int) else size
    if tuple(maps.shape[-2:]) == tuple(hw):
        return maps
    return F.interpolate(maps, size=hw, mode="nearest")
