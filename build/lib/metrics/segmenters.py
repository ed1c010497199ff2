"""Segmenter adapters for the segmentation score: a common ``predict(images) -> class ids`` interface.

- ``deeplabv3``: torchvision DeepLabV3 (ResNet-50/101, MobileNetV3-Large) trained on a COCO subset with the 21
  PASCAL-VOC classes. Preprocessing is torchvision's own eval transform (bilinear resize of the shorter side to 520
  with antialiasing, ImageNet mean/std); logits are resized back to the input size (bilinear) before the argmax.
- ``detectron2_panoptic``: Detectron2's COCO Panoptic FPN (R101, 3x), the segmenter SIA used. Optional: needs
  detectron2 installed (not on PyPI; see pyproject's ``detectron2`` extra). Preprocessing is Detectron2's
  ``DefaultPredictor`` (BGR, shorter side 800, max 1333). Panoptic output → one semantic map over the 133 COCO
  panoptic classes: things keep their contiguous ids 0–79, stuff ids 1–53 of the "separated" metadata become 80–132,
  unassigned pixels are void (−1, counted as wrong).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
import torch.nn.functional as F

from core import features
from core.features import DEEPLABV3_VARIANTS
from core.registry import Registry
from metrics.base import exact_matmul, resolve_device
from metrics.inception import package_version


class Segmenter(ABC):
    name: str  # set by ``@SEGMENTERS.register(name)``
    class_names: list[str]

    def __init__(self, batch_size: int = 8) -> None:
        self.batch_size = batch_size

    @property
    @abstractmethod
    def calibrated(self) -> bool: ...

    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    @abstractmethod
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """[N,H,W] int64 class ids (−1 = void) for [N,3,H,W] RGB images in [0,1]."""


SEGMENTERS: Registry[type[Segmenter]] = Registry("segmenter", attribute="name")


@SEGMENTERS.register("deeplabv3")
class TorchvisionDeepLabV3(Segmenter):
    def __init__(self, variant: str = "resnet101", allow_uncalibrated: bool = False, device: str | None = None,
                 batch_size: int = 8, resize: int | None = 520, seed: int = 0) -> None:
        super().__init__(batch_size)
        from torchvision.models._meta import _VOC_CATEGORIES

        if variant not in DEEPLABV3_VARIANTS:
            raise ValueError(f"unknown DeepLabV3 variant {variant!r}; valid: {', '.join(DEEPLABV3_VARIANTS)}")
        self.variant, self.resize = variant, resize
        self.device = resolve_device(device)
        self.network = features.get(f"deeplabv3_{variant}", allow_uncalibrated=allow_uncalibrated, seed=seed,
                                    device=self.device)
        self.class_names = ["background" if c == "__background__" else c for c in _VOC_CATEGORIES]

    @property
    def calibrated(self) -> bool:
        return self.network.calibrated

    def settings(self) -> dict[str, Any]:
        return {"segmenter": self.network.network,
                "torchvision_version": package_version("torchvision"), **self.network.provenance(),
                "preprocess": f"shorter side → {self.resize} (bilinear, antialias), ImageNet mean/std"
                if self.resize else "no resize, ImageNet mean/std",
                "postprocess": "logits bilinear to input size, argmax"}

    @torch.inference_mode()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        with exact_matmul():
            for start in range(0, images.shape[0], self.batch_size):
                x = images[start:start + self.batch_size].to(self.device, torch.float32)
                size = x.shape[-2:]
                if self.resize:
                    short = min(size)
                    target = [round(s * self.resize / short) for s in size]
                    x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=True)
                logits = self.network(x)["out"]
                logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
                out.append(logits.argmax(1).cpu())
        return torch.cat(out)


def panoptic_to_semantic(panoptic: torch.Tensor, segments: list[dict[str, Any]], num_things: int = 80) -> torch.Tensor:
    """Detectron2 PanopticFPN output → [H,W] ids over things (0..79) then stuff (80..132); void → −1.

    In Detectron2's "separated" COCO metadata stuff id 0 means "things", so stuff ids 1..53 map to 80..132.
    """
    semantic = torch.full(panoptic.shape, -1, dtype=torch.long)
    for segment in segments:
        category = int(segment["category_id"])
        label = category if segment["isthing"] else num_things + category - 1
        semantic[panoptic.cpu() == int(segment["id"])] = label
    return semantic


@SEGMENTERS.register("detectron2_panoptic")
class Detectron2Panoptic(Segmenter):
    def __init__(self, allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 1,
                 seed: int = 0) -> None:
        super().__init__(batch_size)
        self.network = features.get("detectron2_panoptic", allow_uncalibrated=allow_uncalibrated, seed=seed,
                                    device=resolve_device(device))
        self.class_names = self.network.class_names

    @property
    def calibrated(self) -> bool:
        return self.network.calibrated

    def settings(self) -> dict[str, Any]:
        network = self.network.settings()
        return {"segmenter": network["network"], "detectron2_version": package_version("detectron2"),
                "artifact": network["artifact"], "weights_sha256": network["weights_sha256"],
                "config": network["config"], "config_sha256": network["config_sha256"],
                "combine": network["combine"], "calibrated": network["calibrated"],
                "preprocess": "DefaultPredictor: BGR 0-255, ResizeShortestEdge(800, max 1333)",
                "postprocess": "panoptic → semantic: things 0-79, stuff 80-132, void -1"}

    @torch.inference_mode()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images:
            bgr = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()[:, :, ::-1]
            panoptic, segments = self.network(bgr)["panoptic_seg"]
            out.append(panoptic_to_semantic(panoptic, segments, self.network.num_things))
        return torch.stack(out)




def create_segmenter(name: str, **options: Any) -> Segmenter:
    """A registered segmenter by name; an unknown name raises ``UnknownNameError`` listing the valid ones."""
    return SEGMENTERS.get(name)(**options)
