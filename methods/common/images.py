"""Image range conversion and CycleGAN's image history buffer."""

from __future__ import annotations

from typing import Any

import torch

from core.errors import BenchError


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0,1] harness images → [-1,1] network inputs."""
    return x * 2.0 - 1.0


def to_unit(y: torch.Tensor) -> torch.Tensor:
    """[-1,1] network outputs (tanh) → [0,1] harness images, clamped."""
    return ((y + 1.0) * 0.5).clamp(0.0, 1.0)


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
