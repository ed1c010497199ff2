"""Segmentation-based scores: a segmenter labels the generated images; its prediction is compared with the target
label map the images were generated from (SPADE/EGSC-IT mIoU, SIA's pixel accuracy and mIoU, pix2pix FCN score).

Pinned conventions (part of the protocol hash):
- one confusion matrix accumulated over the whole set (never a mean of per-image IoUs);
- classes are the evaluation classes of a ``ClassMapping`` table that maps target label ids and segmenter class ids
  onto shared evaluation ids; only the declared ignore ids (``IGNORE`` = 255, plus a table's ``ignore`` row) are
  ignored: a target id outside the table is refused with the number of such pixels (dropping them silently once
  left 47% of a set unevaluated); unlisted predictions count as wrong;
- IoU_c = TP / (TP + FP + FN); mIoU = mean over classes whose union is non-empty (pix2pix's ``nanmean``);
  pixel accuracy = correct / evaluated pixels; mean class accuracy = mean over classes present in the targets;
- images are segmented at their own resolution (the segmenter's preprocessing resizes internally and its logits are
  resized back), and label maps must have the images' size (resize them with nearest-neighbour beforehand).

Always report the real-image upper bound through the same pipeline (score the real images against their labels).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.hashing import settings_hash
from metrics import METRICS
from metrics.base import Metric, MetricInputError, MetricValue, check_unit_range, describe

IGNORE = 255  # target value for pixels that are not evaluated
OTHER = -1  # prediction value for "none of the evaluation classes" (void, unmapped segmenter class)
UNKNOWN = -2  # mapped target value for a label id that is neither in the table nor declared ignored


def confusion_matrix(prediction: torch.Tensor, target: torch.Tensor, num_classes: int) -> np.ndarray:
    """[K, K+1] int64 counts: rows = target class, columns = predicted class, last column = other/void.

    Target pixels outside [0, K) (e.g. ``IGNORE``) are skipped; predictions outside [0, K) land in the last column.
    """
    if prediction.shape != target.shape:
        raise MetricInputError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in "
                               "shape", hint="resize the label maps (nearest) to the image size")
    t = target.reshape(-1).long().cpu()
    p = prediction.reshape(-1).long().cpu()
    keep = (t >= 0) & (t < num_classes)
    t, p = t[keep], p[keep]
    p = torch.where((p >= 0) & (p < num_classes), p, torch.full_like(p, num_classes))
    counts = torch.bincount(t * (num_classes + 1) + p, minlength=num_classes * (num_classes + 1))
    return counts.view(num_classes, num_classes + 1).numpy().astype(np.int64)


@dataclass
class SegmentationScores:
    miou: float
    pixel_accuracy: float
    mean_class_accuracy: float
    iou: np.ndarray  # [K], NaN where the class is absent from both target and prediction
    pixels: int


def scores_from_confusion(hist: np.ndarray) -> SegmentationScores:
    hist = np.asarray(hist, dtype=np.float64)
    k = hist.shape[0]
    tp = np.diag(hist[:, :k])
    target_count = hist.sum(axis=1)  # includes pixels predicted as other
    predicted_count = hist[:, :k].sum(axis=0)
    union = target_count + predicted_count - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        class_acc = np.where(target_count > 0, tp / target_count, np.nan)
    total = hist.sum()
    if total == 0:
        raise MetricInputError("no evaluated pixels: every target pixel is ignored",
                               hint=f"label maps of class ids; {IGNORE} marks pixels that are not evaluated")
    return SegmentationScores(
        miou=float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        pixel_accuracy=float(tp.sum() / total),
        mean_class_accuracy=float(np.nanmean(class_acc)),
        iou=iou, pixels=int(total),
    )


@dataclass
class ClassMapping:
    """Evaluation classes and how target label ids and segmenter class ids map onto them."""

    names: list[str]
    target: dict[int, int] = field(default_factory=dict)  # target label id → evaluation id
    prediction: dict[int, int] = field(default_factory=dict)  # segmenter class id → evaluation id
    source: str = "inline"
    ignore: frozenset[int] = frozenset({IGNORE})  # target ids declared "not evaluated"; any other unlisted id errs

    @classmethod
    def identity(cls, names: Sequence[str]) -> ClassMapping:
        ids = {i: i for i in range(len(names))}
        return cls(list(names), dict(ids), dict(ids), source="identity")

    @classmethod
    def from_csv(cls, path: str | Path) -> ClassMapping:
        """Columns ``eval_id,name,target_ids,prediction_ids``; id lists separated by spaces or semicolons. A row
        with eval_id ``ignore`` lists target ids that are not evaluated (besides ``IGNORE``)."""
        names: dict[int, str] = {}
        target: dict[int, int] = {}
        prediction: dict[int, int] = {}
        ignore = {IGNORE}
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"eval_id", "name", "target_ids", "prediction_ids"} - set(reader.fieldnames or [])
            if missing:
                raise MetricInputError(f"{path}: class-mapping table lacks columns {sorted(missing)}",
                                       hint="columns: eval_id,name,target_ids,prediction_ids")
            for row in reader:
                if row["eval_id"].strip() == "ignore":
                    if row["prediction_ids"].strip():
                        raise MetricInputError(f"{path}: the ignore row lists prediction ids",
                                               hint="unmapped predictions count as wrong; leave prediction_ids empty")
                    ignore |= {int(t) for t in row["target_ids"].replace(";", " ").split()}
                    continue
                eval_id = int(row["eval_id"])
                names[eval_id] = row["name"]
                for column, table in (("target_ids", target), ("prediction_ids", prediction)):
                    for token in row[column].replace(";", " ").split():
                        if int(token) in table:
                            raise MetricInputError(f"{path}: {column} id {token} is mapped twice",
                                                   hint="list each id in one row")
                        table[int(token)] = eval_id
        if sorted(names) != list(range(len(names))):
            raise MetricInputError(f"{path}: eval_id must run 0..K-1 without gaps, got {sorted(names)}",
                                   hint="number the evaluation classes 0, 1, …, K-1")
        if ignore & target.keys():
            raise MetricInputError(f"{path}: target ids {sorted(ignore & target.keys())} are both mapped and ignored",
                                   hint="list each target id in one row")
        return cls([names[i] for i in range(len(names))], target, prediction, source=str(path),
                   ignore=frozenset(ignore))

    def _apply(self, labels: torch.Tensor, table: dict[int, int], fill: int) -> torch.Tensor:
        labels = labels.long()
        if not table:
            return torch.full_like(labels, fill)
        low = min(0, int(labels.min()) if labels.numel() else 0)
        size = max(max(table) + 1, (int(labels.max()) + 1) if labels.numel() else 1) - low
        lut = torch.full((size,), fill, dtype=torch.long)
        for source, dest in table.items():
            lut[source - low] = dest
        return lut.to(labels.device)[labels - low]

    def map_target(self, labels: torch.Tensor) -> torch.Tensor:
        """Evaluation ids; declared ignore ids → ``IGNORE``; ids outside the table → ``UNKNOWN``."""
        return self._apply(labels, {i: IGNORE for i in self.ignore} | self.target, UNKNOWN)

    def check_targets(self, labels: Iterable[torch.Tensor]) -> None:
        """Refuse label maps holding ids that are neither in the table nor declared ignored, with their count."""
        unknown, total, ids = 0, 0, set()
        for batch in labels:
            mapped = self.map_target(batch.cpu())
            bad = mapped == UNKNOWN
            unknown, total = unknown + int(bad.sum()), total + mapped.numel()
            ids |= set(batch.cpu()[bad].unique().tolist()) if bool(bad.any()) else set()
        if unknown:
            shown = ", ".join(map(str, sorted(ids)[:10])) + (f" … ({len(ids)} ids)" if len(ids) > 10 else "")
            raise MetricInputError(
                f"{unknown} of {total} label pixels ({100 * unknown / total:.1f}%) hold ids outside the class table "
                f"of {len(self.names)} classes ({self.source}): {shown}; only {sorted(self.ignore)} are ignored",
                hint=f"map those ids onto the table's classes, set the pixels to {IGNORE} to leave them out, or give "
                     "a mapping table (miou.mapping=FILE.csv) whose rows list them (a row with eval_id 'ignore' "
                     "declares ids that are not evaluated)")

    def map_prediction(self, labels: torch.Tensor) -> torch.Tensor:
        return self._apply(labels, self.prediction, OTHER)

    def settings(self) -> dict[str, Any]:
        table = {"names": self.names, "target": sorted(self.target.items()),
                 "prediction": sorted(self.prediction.items())}
        if self.ignore != {IGNORE}:  # only then: the hashes of existing tables stay as they were
            table["ignore"] = sorted(self.ignore)
        return {"class_mapping": self.source, "class_mapping_hash": settings_hash(table), "classes": len(self.names)}


def labels_from_colours(image: torch.Tensor, palette: dict[tuple[int, int, int], int],
                        unknown: int = IGNORE) -> torch.Tensor:
    """Colour-coded layouts (SIA) → label ids: [3,H,W] in [0,1] or uint8 → [H,W]; unknown colours → ``unknown``."""
    pixels = image if image.dtype == torch.uint8 else torch.round(image.clamp(0, 1) * 255).to(torch.uint8)
    codes = (pixels[0].long() << 16) | (pixels[1].long() << 8) | pixels[2].long()
    out = torch.full(codes.shape, unknown, dtype=torch.long)
    for (r, g, b), label in palette.items():
        out[codes == ((r << 16) | (g << 8) | b)] = label
    return out


@METRICS.register("miou")
class SegmentationScore(Metric):
    """mIoU (value) with pixel accuracy and mean class accuracy (companions) of a segmenter on generated images."""
    pretrained_network = "the segmentation network"

    direction = "higher"
    inputs = "images+labels"
    implementation = "bench"
    version = "1"

    def __init__(self, segmenter: str = "deeplabv3", mapping: ClassMapping | str | Path | None = None,
                 allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 8,
                 **segmenter_options: Any) -> None:
        from metrics.segmenters import create_segmenter

        self.segmenter = create_segmenter(segmenter, allow_uncalibrated=allow_uncalibrated, device=device,
                                          batch_size=batch_size, **segmenter_options)
        if mapping is None:
            mapping = ClassMapping.identity(self.segmenter.class_names)
        elif not isinstance(mapping, ClassMapping):
            mapping = ClassMapping.from_csv(mapping)
        self.mapping = mapping

    @property
    def calibrated(self) -> bool:
        return self.segmenter.calibrated

    def settings(self) -> dict[str, Any]:
        return super().settings() | self.segmenter.settings() | self.mapping.settings() | {
            "accumulate": "one confusion matrix over the whole set",
            "miou": "nanmean over classes with non-empty union", "ignore_target": IGNORE,
            "unmapped_prediction": "counts as wrong", "label_size": "must equal image size"}

    def confusion(self, images: torch.Tensor | Sequence[torch.Tensor],
                  labels: torch.Tensor | Sequence[torch.Tensor]) -> np.ndarray:
        k = len(self.mapping.names)
        hist = np.zeros((k, k + 1), dtype=np.int64)
        labels = labels if isinstance(labels, torch.Tensor) else list(labels)  # read twice: checked, then scored
        self.mapping.check_targets([labels] if isinstance(labels, torch.Tensor) else labels)  # before segmenting
        pairs: Iterable[tuple[torch.Tensor, torch.Tensor]]
        if isinstance(images, torch.Tensor):
            step = self.segmenter.batch_size
            pairs = ((images[i:i + step], labels[i:i + step]) for i in range(0, images.shape[0], step))
        else:
            pairs = zip(images, labels, strict=True)
        for image_batch, label_batch in pairs:
            if image_batch.shape[0] != label_batch.shape[0] or image_batch.shape[-2:] != label_batch.shape[-2:]:
                raise MetricInputError(f"label maps {tuple(label_batch.shape)} do not match images "
                                       f"{tuple(image_batch.shape)}: resize labels (nearest) to the image size",
                                       hint="one label map per image, of the image's size (nearest resize)")
            check_unit_range(image_batch)
            predicted = self.mapping.map_prediction(self.segmenter.predict(image_batch).cpu())
            hist += confusion_matrix(predicted, self.mapping.map_target(label_batch.cpu()), k)
        return hist

    def __call__(self, images: torch.Tensor | Sequence[torch.Tensor],
                 labels: torch.Tensor | Sequence[torch.Tensor]) -> MetricValue:
        hist = self.confusion(images, labels)
        scores = scores_from_confusion(hist)
        n = int(images.shape[0]) if isinstance(images, torch.Tensor) else sum(int(b.shape[0]) for b in images)
        value = MetricValue(self.name, scores.miou, None, n, self.direction, self.calibrated)
        value.extra["per_class_iou"] = {name: (None if np.isnan(v) else float(v))
                                        for name, v in zip(self.mapping.names, scores.iou, strict=True)}
        value.extra["pixels"] = scores.pixels
        value.extra["confusion"] = json.dumps(hist.tolist())
        described = describe(value, self)
        described.extra["companions"] = [
            describe(MetricValue(name, score, None, n, "higher", self.calibrated), self)
            for name, score in (("pixel_accuracy", scores.pixel_accuracy),
                                ("mean_class_accuracy", scores.mean_class_accuracy))]
        return described
