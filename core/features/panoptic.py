"""Detectron2's COCO Panoptic FPN (R101, 3x), the segmenter Semantic Image Analogy used. Optional: needs detectron2
(not on PyPI; see pyproject's ``detectron2`` extra), imported only when the extractor is built."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core import weights
from core.errors import BenchError
from core.features.registry import FeatureExtractor, register

CONFIG = "detectron2_panoptic_fpn_r101_3x_config"
CONFIG_FILE = "COCO-PanopticSegmentation/panoptic_fpn_R_101_3x.yaml"  # in detectron2's model zoo (configs/)


@register("detectron2_panoptic")
class Detectron2Panoptic(FeatureExtractor):
    """Detectron2 ``DefaultPredictor`` over the manifest's config and weights, built on its device.

    ``forward(bgr)`` takes one [H,W,3] uint8 BGR image (NumPy, Detectron2's convention; the predictor resizes the
    shorter side to 800, max 1333) and returns the predictor's output dict (``"panoptic_seg"``: ids [H,W] and segment
    infos). ``class_names``: the 80 thing then 53 stuff classes of the config's test metadata. Raises ``BenchError``
    when detectron2 is not installed.
    """

    artifact = "detectron2_panoptic_fpn_r101_3x"
    network = "detectron2 COCO-PanopticSegmentation/panoptic_fpn_R_101_3x"
    input = "BGR 0-255 uint8, ResizeShortestEdge(800, max 1333) inside DefaultPredictor"
    builds_on_device = True  # Detectron2 places the model itself (cfg.MODEL.DEVICE)

    def __init__(self, predictor: Any, class_names: list[str], num_things: int, config_sha256: str,
                 combine: dict[str, float]) -> None:
        super().__init__()
        self.model = predictor.model
        self.predictor = predictor
        self.class_names, self.num_things, self.config_sha256 = class_names, num_things, config_sha256
        self.combine = combine  # panoptic merge thresholds; STUFF_AREA_LIMIT counts pixels at the input size

    @classmethod
    def check_installed(cls) -> None:
        if importlib.util.find_spec("detectron2") is None:
            raise BenchError(
                "the Detectron2 panoptic segmenter needs detectron2, which is not installed",
                hint="install it from source (pip install 'git+https://github.com/facebookresearch/detectron2.git'), "
                     "then `pip install -e .[detectron2]`; or use segmenter=deeplabv3",
            )

    @classmethod
    def create(cls, path: Path | None, seed: int, device: torch.device, **options: Any) -> Detectron2Panoptic:
        from detectron2.config import get_cfg
        from detectron2.data import MetadataCatalog
        from detectron2.engine import DefaultPredictor

        config = weights.require(CONFIG)  # ships with detectron2
        cfg = get_cfg()
        cfg.merge_from_file(str(config))
        cfg.MODEL.DEVICE = str(device)
        cfg.MODEL.WEIGHTS = str(path) if path is not None else ""
        with _quiet_checkpointer(path is None):
            predictor = DefaultPredictor(cfg)
        meta = MetadataCatalog.get(cfg.DATASETS.TEST[0])
        combine = cfg.MODEL.PANOPTIC_FPN.COMBINE
        return cls(predictor, list(meta.thing_classes) + list(meta.stuff_classes[1:]), len(meta.thing_classes),
                   weights.digest_of(config), {"overlap_thresh": combine.OVERLAP_THRESH,
                                               "stuff_area_limit": combine.STUFF_AREA_LIMIT,
                                               "instances_confidence_thresh": combine.INSTANCES_CONFIDENCE_THRESH})

    def settings(self) -> dict[str, Any]:
        return super().settings() | {"config": CONFIG_FILE, "config_sha256": self.config_sha256,
                                     "combine": dict(self.combine)}

    def forward(self, bgr: np.ndarray) -> dict[str, Any]:
        return self.predictor(np.ascontiguousarray(bgr))


@contextmanager
def _quiet_checkpointer(quiet: bool) -> Iterator[None]:
    """Without weights (``allow_uncalibrated``) detectron2's checkpointer logs "No checkpoint found. Initializing
    model from scratch" at INFO; the harness already says that the segmenter is uncalibrated, in the log and the
    table, so the line is silenced for the build."""
    loggers = [logging.getLogger(name) for name in ("fvcore.common.checkpoint", "detectron2.checkpoint")]
    levels = [logger.level for logger in loggers]
    if quiet:
        for logger in loggers:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
