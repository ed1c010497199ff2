"""Image range conversion, resizing, pix2pix's paired jitter and CycleGAN's image history buffer."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from core.errors import BenchError


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0,1] harness images → [-1,1] network inputs."""
    return x * 2.0 - 1.0


def to_unit(y: torch.Tensor) -> torch.Tensor:
    """[-1,1] network outputs (tanh) → [0,1] harness images, clamped."""
    return ((y + 1.0) * 0.5).clamp(0.0, 1.0)


def resize_to(images: torch.Tensor, size: int | tuple[int, int] | None) -> torch.Tensor:
    """Bilinear resize of [N,C,H,W] images to ``size`` (a side or (H, W)); ``None`` or the same size: unchanged."""
    if size is None:
        return images
    hw = (size, size) if isinstance(size, int) else size
    if tuple(images.shape[-2:]) == tuple(hw):
        return images
    return F.interpolate(images, size=hw, mode="bilinear", align_corners=False)


def paired_jitter(images: list[torch.Tensor], load_size: int | None, crop_size: int | None, flip: bool,
                  generator: torch.Generator, nearest: tuple[bool, ...] = ()) -> list[torch.Tensor]:
    """pix2pix's ``resize_and_crop`` + flip, with the same crop and flip for every tensor of a pair.

    Float tensors are resized bilinearly, integer ones (label maps) nearest; ``nearest[i]`` forces nearest for
    float tensor i too (one-hot conditioning maps)."""
    out = images
    if load_size:
        size = (load_size, load_size)
        out = [F.interpolate(t, size=size, mode="bilinear", align_corners=False)
               if t.is_floating_point() and not (i < len(nearest) and nearest[i]) else
               F.interpolate(t.float(), size=size, mode="nearest").to(t.dtype) for i, t in enumerate(out)]
    if crop_size and crop_size < out[0].shape[-1]:
        h, w = out[0].shape[-2:]
        top = int(torch.randint(0, h - crop_size + 1, (1,), generator=generator))
        left = int(torch.randint(0, w - crop_size + 1, (1,), generator=generator))
        out = [t[..., top:top + crop_size, left:left + crop_size] for t in out]
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        out = [t.flip(-1) for t in out]
    return out


class ImagePool:
    """Shrivastava et al. (2017) history buffer as used by CycleGAN (size 50): the discriminator sees, per image,
    with p=0.5 a previously generated image (which the new one replaces in the pool) and otherwise the new one.

    Randomness comes from a private generator (seeded), so the pool does not shift the global RNG stream. It has
    ``state_dict``/``load_state_dict`` so that a resumed ``fit`` restores it.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = int(size)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:
                idx = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[idx].to(image.device).clone())
                self.images[idx] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "images": [i.cpu() for i in self.images], "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["size"])
        self.images = list(state["images"])
        self.generator.set_state(state["rng"])


def check_size(method: str, size: int, pools: int, what: str) -> None:
    """A decoder mirroring VGG up to a layer after ``pools`` max-pools gives back the input size only for multiples
    of 2^pools, and its reflection padding needs at least a 2×2 feature map there; else ``BenchError``."""
    multiple, minimum = 2 ** pools, 2 ** (pools + 1)
    if size % multiple or size < minimum:
        raise BenchError(f"{method} needs images whose size is a multiple of {multiple} px and at least {minimum} px;"
                         f" {what} is {size}", hint=f"set {what.split()[0]} (and load_size) to e.g. {max(minimum, 32)}")
