"""SIA's semantic-consistency scorers (§4.2.2): a segmenter of the registry (``metrics.segmenters``) segments each
output; pixel accuracy and mIoU (one confusion matrix over the cases, ``metrics.segmentation``) against the target
layout in COCO-Stuff ids, through a class table.

- ``panoptic`` (the paper's): Detectron2's COCO Panoptic FPN R101 3x, 133 classes; table ``classes.panoptic_mapping``.
  Its columns exist only where detectron2 is installed (``Detectron2Panoptic.check_installed``); without its weights
  it refuses unless ``allow_uncalibrated`` (random weights, every value marked uncalibrated).
- ``deeplabv3`` (ours, never a substitute for the paper's): torchvision DeepLabV3 (MobileNetV3-Large by default)
  over the 21 VOC classes; table ``voc_mapping``: the 20 VOC objects ← their COCO-Stuff things, every other used
  COCO-Stuff id ← background.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from datasets.coco_stuff import COCO_STUFF_NAMES, COCO_STUFF_UNUSED, N_THING_IDS
from metrics.segmentation import ClassMapping, SegmentationScore
from protocols.semantic_image_analogy.classes import panoptic_mapping

# VOC class (torchvision's name) → COCO-Stuff thing name
VOC_TO_COCO = {"aeroplane": "airplane", "bicycle": "bicycle", "bird": "bird", "boat": "boat", "bottle": "bottle",
               "bus": "bus", "car": "car", "cat": "cat", "chair": "chair", "cow": "cow", "diningtable": "dining table",
               "dog": "dog", "horse": "horse", "motorbike": "motorcycle", "person": "person",
               "pottedplant": "potted plant", "sheep": "sheep", "sofa": "couch", "train": "train",
               "tvmonitor": "tv"}
VOC_SOURCE = ("torchvision VOC categories (DeepLabV3 COCO_WITH_VOC_LABELS) ← COCO-Stuff things by name, all other "
              "COCO-Stuff ids ← background (protocols/semantic_image_analogy/scoring.py)")


def voc_mapping(voc_names: list[str]) -> ClassMapping:
    """COCO-Stuff target ids → the 21 VOC classes (background = 0); predictions are VOC ids."""
    by_name = {name: i for i, name in enumerate(voc_names)}
    target = {i: 0 for i in range(len(COCO_STUFF_NAMES)) if i not in COCO_STUFF_UNUSED}
    for voc, coco in VOC_TO_COCO.items():
        cs = COCO_STUFF_NAMES.index(coco)
        assert cs < N_THING_IDS
        target[cs] = by_name[voc]
    return ClassMapping(list(voc_names), target, {i: i for i in range(len(voc_names))}, source=VOC_SOURCE)


def panoptic_available() -> bool:
    return importlib.util.find_spec("detectron2") is not None


def scorer_names() -> list[str]:
    """The scorers whose columns this installation has: ``panoptic`` where detectron2 is installed, ``deeplabv3``."""
    return (["panoptic"] if panoptic_available() else []) + ["deeplabv3"]


def build_scorer(name: str, settings: dict[str, Any], allow_uncalibrated: bool, seed: int) -> SegmentationScore:
    """A ``SegmentationScore`` for scorer ``name`` (settings: the scorer's block of the protocol config)."""
    common = {"allow_uncalibrated": allow_uncalibrated, "seed": seed, "batch_size": int(settings.get("batch_size", 1))}
    if name == "panoptic":
        return SegmentationScore(segmenter="detectron2_panoptic", mapping=panoptic_mapping(), **common)
    variant = str(settings.get("variant", "mobilenet_v3_large"))
    score = SegmentationScore(segmenter="deeplabv3", variant=variant, **common)
    score.mapping = voc_mapping(score.segmenter.class_names)
    return score
