"""``image_analogies``: Image Analogies (Hertzmann, Jacobs, Oliver, Curless, Salesin; SIGGRAPH 2001), used as
"texture by numbers" (§4.5): A = the source layout, A′ = the source image, B = the target layout → B′.

Layouts enter the features colourised with a fixed palette (class k → a fixed random RGB colour, the same for A
and B), as the paper's texture-by-numbers inputs are colour-coded label images; A′'s and B′'s features are their
luminance (§3.4), and B′ copies A′'s full colour at the chosen pixel. The paper's luminance remapping (§3.4) matches
A's luminance statistics to B's when both are photographs; here A and B are layouts in one palette, so it does not
apply. Not learned; deterministic. The algorithm and its cost: ``methods.image_analogies.synthesis``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from core.errors import BenchError
from methods import METHODS
from methods.base import Capabilities, Direction, Method
from methods.image_analogies.synthesis import Settings, synthesise

DEFAULTS: dict[str, Any] = {
    "levels": 3,  # Gaussian pyramid levels (the paper: "typically 3–5")
    "fine": 5,  # window at the current level (the paper's 5×5)
    "coarse": 3,  # window at the next coarser level (the paper's 3×3)
    "kappa": 2.0,  # κ, coherence parameter (§3.2; the paper uses 0.5–25 by application)
    "ann_eps": 0.0,  # approximate nearest neighbour ε (scipy cKDTree); 0 = exact
    "layout_weight": 1.0,  # weight of layout blocks against luminance blocks in the feature vector
    "test_size": 64,  # synthesis side (px); the output is resized back to the input size; null: input size
}


def class_maps(maps: torch.Tensor, what: str) -> torch.Tensor:
    """One-hot float [N,C,H,W] (argmax) or class indices [N,H,W] / [N,1,H,W] → int64 [N,H,W]."""
    if maps.is_floating_point():
        if maps.dim() != 4:
            raise BenchError(f"image_analogies: {what} must be one-hot [N,C,H,W], got {tuple(maps.shape)}",
                             hint="pass the protocol's one-hot layout or class-index maps")
        return maps.argmax(1)
    if maps.dim() == 4 and maps.size(1) == 1:
        maps = maps[:, 0]
    if maps.dim() != 3:
        raise BenchError(f"image_analogies: {what} class maps must be [N,H,W], got {tuple(maps.shape)}")
    return maps.long()


def palette(classes: int) -> np.ndarray:
    """A fixed colour per class, float32 [classes, 3] in [0,1]; class k's colour does not depend on ``classes``."""
    return np.random.default_rng(0).random((classes, 3)).astype(np.float32)


def resize_labels(maps: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or tuple(maps.shape[-2:]) == (size, size):
        return maps
    return torch.nn.functional.interpolate(maps[:, None].float(), size=(size, size), mode="nearest")[:, 0].long()


@METHODS.register("image_analogies")
class ImageAnalogies(Method):
    capabilities: ClassVar[Capabilities] = Capabilities(
        training="none", guidance="exemplar", directions="AB", needs_label_maps=True, needs_exemplar_labels=True,
        notes="texture-by-numbers Image Analogies: multiscale scanline synthesis copying source pixels matched by "
              "layout + causal luminance features, with coherence κ")
    defaults: ClassVar[dict[str, Any]] = DEFAULTS

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        for key in ("fine", "coarse"):
            if int(params[key]) < 1 or int(params[key]) % 2 == 0:
                raise BenchError(f"image_analogies {key} must be an odd window side ≥ 1, got {params[key]}")
        if int(params["levels"]) < 1:
            raise BenchError(f"image_analogies levels must be ≥ 1, got {params['levels']}")
        if float(params["kappa"]) < 0 or float(params["ann_eps"]) < 0:
            raise BenchError("image_analogies kappa and ann_eps must be ≥ 0")
        if params["test_size"] is not None and int(params["test_size"]) < 2 ** (int(params["levels"]) - 1):
            raise BenchError(f"image_analogies test_size {params['test_size']} is too small for "
                             f"{params['levels']} pyramid levels", hint="lower levels or raise test_size")

    def settings(self) -> Settings:
        p = self.params
        return Settings(levels=int(p["levels"]), fine=int(p["fine"]), coarse=int(p["coarse"]),
                        kappa=float(p["kappa"]), ann_eps=float(p["ann_eps"]), layout_weight=float(p["layout_weight"]))

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None) -> torch.Tensor:
        """B′ [N,3,H,W] in [0,1] for target layouts ``content`` (one-hot [N,C,H,W] or indices [N,H,W]), source
        images ``exemplar`` [N,3,H',W'] and their layouts ``exemplar_labels`` (encoded like ``content``)."""
        if exemplar is None or exemplar_labels is None:
            raise BenchError("image_analogies needs the source image and its layout",
                             hint="pass exemplar= and exemplar_labels= (a label-map protocol does)")
        target, source = class_maps(content, "content"), class_maps(exemplar_labels, "exemplar_labels")
        if not (target.size(0) == source.size(0) == exemplar.size(0)):
            raise BenchError("image_analogies: content, exemplar and exemplar_labels differ in batch size",
                             hint="pass one exemplar and one exemplar layout per input")
        size = self.params["test_size"]
        colours = palette(int(max(target.max(), source.max())) + 1)
        images = torch.nn.functional.interpolate(exemplar.float().cpu(), size=(size, size), mode="bilinear",
                                                 align_corners=False) if size is not None else exemplar.float().cpu()
        t, s = resize_labels(target.cpu(), size), resize_labels(source.cpu(), images.size(-1) if size else None)
        if size is None and tuple(s.shape[-2:]) != tuple(images.shape[-2:]):
            raise BenchError("image_analogies: the exemplar and its layout differ in size",
                             hint="pass exemplar_labels at the exemplar's size")
        outs = []
        for i in range(target.size(0)):
            b_prime, _ = synthesise(colours[s[i].numpy()], images[i].permute(1, 2, 0).numpy().clip(0, 1),
                                    colours[t[i].numpy()], self.settings())
            outs.append(torch.from_numpy(b_prime).permute(2, 0, 1))
        out = torch.stack(outs)
        if tuple(out.shape[-2:]) != tuple(content.shape[-2:]):
            out = torch.nn.functional.interpolate(out, size=tuple(content.shape[-2:]), mode="bilinear",
                                                  align_corners=False)
        return out.clamp(0, 1).to(exemplar.device)
