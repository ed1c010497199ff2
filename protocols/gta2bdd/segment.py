"""Training and scoring ``gta2bdd``'s segmenters through the segmenter-training kit (contract §1,
``protocols/segmentation_training.py``), with their checkpoints and the reference rows' cache on disk.

Each row (a method's translations, or a reference row: Source, exact translation, Oracle) trains one segmenter with
the same schedule and seed on (images, A's labels), predicts the whole B test split, and is scored from ONE
confusion matrix over that split (``metrics.segmentation``): IoU per class, mIoU = mean over the classes whose
union is non-empty.

On disk (when the runner gives a ``Workspace``):
- checkpoints: ``<checkpoints>/gta2bdd/segmenters/<protocol hash>/<row key>/`` (a killed run resumes there);
- reference rows: ``<results>/protocol_cache/gta2bdd/<protocol hash>-<row>-seed<seed>.npz`` (``metrics.cache.
  ArrayCache``): the confusion matrix and the first predictions, read back instead of retraining while the protocol
  hash (every setting, sample count, the schedule, the data fingerprint and the pairing) and the seed are the same.
  A reference row is looked up and trained under a file lock next to its cache entry (``...npz.lock``), so that runs
  started at once on one results folder (one method each, say) train it once: the others wait, then read it.
Without a workspace (tests) checkpoints go to a temporary folder and reference rows are kept in memory only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from core.errors import BenchError
from core.locks import FileLock
from metrics.cache import ArrayCache
from metrics.segmentation import SegmentationScores, confusion_matrix, scores_from_confusion
from protocols.base import Workspace

NUM_CLASSES = 19  # the Cityscapes train classes (GTA5 ids mapped, BDD100K masks as stored, the streets world)
PREDICT_BATCH = 16


def kit() -> ModuleType:
    """The segmenter-training kit; ``BenchError`` when this checkout lacks it."""
    try:
        from protocols import segmentation_training
    except ImportError:
        raise BenchError("gta2bdd needs the segmenter-training kit protocols/segmentation_training.py, which this "
                         "checkout lacks", hint="merge the branch that adds it (issue 17, h17-segtrain)") from None
    return segmentation_training


@dataclass
class RowScores:
    """``confusion`` int64 [K,K+1] over the B test split (rows: truth, last column: predictions outside the
    classes), ``predictions`` uint8 [k,H,W] of the first k test images, ``calibrated``: whether the segmenter started
    from its published initialisation (or needs none)."""

    confusion: np.ndarray
    predictions: np.ndarray
    calibrated: bool

    @property
    def scores(self) -> SegmentationScores:
        return scores_from_confusion(self.confusion)


class Segmenters:
    """Trains and scores the segmenters of one protocol instance (see the module docstring).

    ``schedule_cfg``: the ``SegSchedule`` fields of the run's scale (``segmenter.<scale>`` of the config)."""

    def __init__(self, schedule_cfg: dict[str, Any], seed: int, allow_uncalibrated: bool, keep: int) -> None:
        self.schedule_cfg, self.seed, self.keep = dict(schedule_cfg), seed, keep
        self.allow_uncalibrated = allow_uncalibrated
        self.memory: dict[str, RowScores] = {}
        self.trained = 0  # segmenters trained (not read from a cache) by this instance

    def schedule(self) -> Any:
        try:
            return kit().SegSchedule(**self.schedule_cfg)
        except TypeError as exc:
            raise BenchError(f"gta2bdd: bad segmenter schedule {self.schedule_cfg}: {exc}",
                             hint="protocol.segmenter.<scale> takes the fields of SegSchedule "
                                  "(protocols/segmentation_training.py)") from None

    def settings(self) -> dict[str, Any]:
        return dict(self.schedule().settings())

    def check(self) -> bool:
        """Whether the schedule's segmenter starts from its published initialisation; raises the kit's
        ``MissingWeightsError`` now (before hours of method training) when its weights are missing and
        ``allow_uncalibrated`` is off."""
        _, provenance = kit().build_segmenter(self.schedule().arch, NUM_CLASSES, self.seed, self.allow_uncalibrated)
        return bool(provenance["calibrated"])

    def score(self, key: str, images: np.ndarray, labels: np.ndarray, test_images: np.ndarray,
              test_labels: np.ndarray, protocol_hash: str, workspace: Workspace | None) -> RowScores:
        """Train on ``images`` uint8 [N,H,W,3] / ``labels`` uint8 [N,H,W], score on the test split."""
        if workspace is None:
            with tempfile.TemporaryDirectory(prefix="gta2bdd-seg-") as folder:
                return self._train_and_score(key, images, labels, test_images, test_labels, Path(folder), None)
        folder = workspace.checkpoints / "gta2bdd" / "segmenters" / protocol_hash / key
        return self._train_and_score(key, images, labels, test_images, test_labels, folder, workspace)

    def _train_and_score(self, key: str, images: np.ndarray, labels: np.ndarray, test_images: np.ndarray,
                         test_labels: np.ndarray, folder: Path, workspace: Workspace | None) -> RowScores:
        tracking = None
        if workspace is not None and workspace.tracker is not None:  # an MLflow child run per segmenter
            tracking = kit().SegTracking(workspace.tracker, workspace.run_id, {"bench.protocol": "gta2bdd",
                                                                                "bench.segmenter_row": key})
        segmenter = kit().train_segmenter(
            images, labels, schedule=self.schedule(), num_classes=NUM_CLASSES, seed=self.seed, checkpoint_dir=folder,
            allow_uncalibrated=self.allow_uncalibrated, device=workspace.device if workspace else "cpu",
            progress=workspace.progress if workspace else False, tracking=tracking, name=key)
        self.trained += 1
        confusion = np.zeros((NUM_CLASSES, NUM_CLASSES + 1), np.int64)
        first = []
        for start in range(0, len(test_images), PREDICT_BATCH):
            pred = segmenter.predict(test_images[start:start + PREDICT_BATCH])
            truth = test_labels[start:start + PREDICT_BATCH]
            confusion += confusion_matrix(torch.from_numpy(pred), torch.from_numpy(truth), NUM_CLASSES)
            first.append(pred)
        predictions = np.concatenate(first)[: self.keep]
        return RowScores(confusion, predictions, bool(getattr(segmenter, "calibrated", True)))

    def reference(self, row: str, protocol_hash: str, workspace: Workspace | None, train: Any) -> RowScores:
        """A reference row's scores: from memory, else the disk cache, else ``train()`` (then cached)."""
        name = f"{row}-seed{self.seed}"
        memory_key = f"{protocol_hash}-{name}"
        if memory_key in self.memory:
            return self.memory[memory_key]
        if workspace is None:
            scores = train()
        else:
            cache = ArrayCache("gta2bdd", workspace.results / "protocol_cache")
            lock = cache.path(name, protocol_hash).with_suffix(".npz.lock")
            with FileLock(lock, what=f"the {row} reference row (seed {self.seed}), which another run computes"):
                stored = cache.load(name, protocol_hash)
                if stored is not None:
                    scores = RowScores(stored["confusion"], stored["predictions"], bool(stored["calibrated"]))
                else:
                    scores = train()
                    cache.save(name, protocol_hash, confusion=scores.confusion, predictions=scores.predictions,
                               calibrated=np.array(scores.calibrated))
        self.memory[memory_key] = scores
        return scores
