"""The segmenter-training kit: train a segmenter on (image, label map) pairs, resumably, and score it on a split.

Used by task-based protocols (EGSC-IT §4 / Table 3: "train a single-scale Deeplab model on the translated images and
test it on BDD"). Architectures: ``SEGMENTER_ARCHS`` (``protocols/segtrain/archs.py``: ``deeplabv2_resnet101``,
``deeplabv3_resnet50``, ``deeplabv3_mobilenet_v3_large``, ``small``).

Training recipe (``SegSchedule`` defaults = DeepLab-v2's): SGD, momentum 0.9, weight decay 5·10⁻⁴, "poly" learning
rate lr·(1 − t/T)^0.9 updated every iteration, base lr 2.5·10⁻⁴ and 10× on the classifier (DeepLab-v2, Chen et al.,
TPAMI 2018, §4: poly power 0.9, momentum 0.9, weight decay 0.0005; the ResNet-101 rate 2.5·10⁻⁴ and the 10×
classifier multiplier as in kazuto1011/deeplab-pytorch ``configs/voc12.yaml`` (LR 2.5e-4, MOMENTUM 0.9,
POLY_POWER 0.9, WEIGHT_DECAY 5.0e-4) and AdaptSegNet ``train_gta2cityscapes_multi.py`` (LEARNING_RATE 2.5e-4, POWER
0.9, 10× on the classifier, GTA5 → Cityscapes). The official caffe prototxt gives the classifier biases 20× and no
weight decay (kazuto1011's ``main.py`` copies it: "cf lr_mult and decay_mult in train.prototxt"); we use one
multiplier for the whole classifier and decay on every trained parameter, as AdaptSegNet does).
Loss: pixel-wise cross-entropy over non-ignored pixels (label 255 ignored), the logits upsampled bilinearly to the
crop. Augmentation: a random crop of ``crop`` (H, W) (the whole image when None) and a horizontal flip with
probability ½. Batch size, crop and iterations are the protocol's schedule (presets ``SCHEDULE_PRESETS``).

Reproducible and resumable: batch ``t`` is a function of (seed, t) (``methods.common.sampling.BatchSampler`` in
``per_step`` mode, crops/flips from ``step_generator(seed, t)``); the torch RNG (dropout of DeepLabV3's ASPP) runs
in a private fork seeded from ``seed`` and its state is checkpointed with the weights, the optimiser state (momentum
buffers) and the step, every ``checkpoint_every`` iterations and at the end, atomically
(``methods.common.checkpoint``: a temp file, then a rename). A rerun with the same arguments resumes from the last
checkpoint and ends with bit-identical weights (same device and thread count); a rerun of a finished run only loads.
A checkpoint written under other settings is refused (``BenchError``), never silently resumed; the data are not
fingerprinted (only their count), so ``checkpoint_dir`` must be specific to the training set (e.g. keyed by the
protocol hash and the method whose translations it trains on).

Logging (``tracking``): the protocol has no MLflow handle of its own (the runner hands trackers only to methods,
through ``FitContext.log_metrics``), so the kit takes either a callback ``log(step, {name: value})`` — the loss and
learning rate every ``log_every`` iterations as ``segmenter.<name>.loss`` / ``.lr`` — or a ``SegTracking`` (a
``bench.tracking.Tracker`` and a parent run id), in which case it opens an MLflow child run ``segmenter:<name>``
under the parent, logs the schedule as parameters and the curve as metrics ``loss``/``lr``, and closes it FINISHED
(FAILED on an error, KILLED on Ctrl-C; a resumed run opens a new child run).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from core import features
from core.errors import BenchError, DataError, NonFiniteError
from core.features import imagenet_normalise
from methods.common.checkpoint import read_checkpoint, write_checkpoint
from methods.common.sampling import BatchSampler, step_generator
from metrics.segmentation import IGNORE, SegmentationScores, confusion_matrix, scores_from_confusion
from protocols.segtrain.archs import SEGMENTER_ARCHS, SegmenterNet
from protocols.segtrain.tracking import SegTracking, Tracking, logger

__all__ = ["SCHEDULE_PRESETS", "SEGMENTER_ARCHS", "SegSchedule", "SegTracking", "TrainedSegmenter",
           "build_segmenter", "split_confusion", "train_segmenter",
           "with_overrides"]

CHECKPOINT_NAME = "segmenter.pt"
_log = logging.getLogger(__name__)
ImageSource = np.ndarray | Sequence[Any]


@dataclass(frozen=True)
class SegSchedule:
    """How a segmenter is trained. ``settings()`` (everything but the checkpoint/log cadence) enters hashes.

    ``crop``: (H, W) random crop in pixels, None = whole images (then all images must share one size); ``lr``: base
    learning rate of the backbone, ``head_lr_mult`` × it on the classifier; ``iterations``: SGD steps of one batch.
    Raises ``BenchError`` for an unknown architecture or a value out of range.
    """

    arch: str = "deeplabv2_resnet101"
    iterations: int = 20_000
    batch_size: int = 10
    lr: float = 2.5e-4
    head_lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    crop: tuple[int, int] | None = None
    flip: bool = True
    checkpoint_every: int = 500
    log_every: int = 20

    def __post_init__(self) -> None:
        arch = SEGMENTER_ARCHS.get(self.arch)  # UnknownNameError (a BenchError) lists the valid names
        if self.crop is not None:
            object.__setattr__(self, "crop", (int(self.crop[0]), int(self.crop[1])))
        bad = [name for name, ok in (
            ("iterations", self.iterations >= 1), ("batch_size", self.batch_size >= arch.min_batch),
            ("lr", self.lr > 0), ("head_lr_mult", self.head_lr_mult > 0), ("momentum", 0 <= self.momentum < 1),
            ("weight_decay", self.weight_decay >= 0), ("poly_power", self.poly_power >= 0),
            ("crop", self.crop is None or min(self.crop) >= 8), ("checkpoint_every", self.checkpoint_every >= 0),
            ("log_every", self.log_every >= 1)) if not ok]
        if bad:
            raise BenchError(f"segmenter schedule: invalid {', '.join(bad)} ({self})",
                             hint=f"iterations ≥ 1, batch_size ≥ {arch.min_batch} for {self.arch}, rates > 0, "
                                  "0 ≤ momentum < 1, crop sides ≥ 8 px")

    def settings(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("checkpoint_every", "log_every")}
        out["crop"] = list(self.crop) if self.crop else None
        return out

    def lr_at(self, step: int) -> float:
        """The poly base learning rate of iteration ``step`` (0-based)."""
        return self.lr * (1.0 - step / self.iterations) ** self.poly_power


# Defaults a protocol config picks by scale (and may override field by field). ``paper``: DeepLab-v2's PASCAL VOC
# schedule (batch 10 × 20k iterations) at the full image size; EGSC-IT gives no schedule, so this is our choice.
SCHEDULE_PRESETS: dict[str, SegSchedule] = {
    "smoke": SegSchedule(arch="small", iterations=30, batch_size=2, lr=0.01, checkpoint_every=10, log_every=5),
    "cpu": SegSchedule(arch="small", iterations=600, batch_size=4, lr=0.01, checkpoint_every=100, log_every=10),
    "paper": SegSchedule(),
}


@dataclass
class TrainedSegmenter:
    """A trained segmenter. ``calibrated`` is False when its backbone started from random instead of ImageNet
    weights (``allow_uncalibrated``); ``history`` holds ``{"step", "loss", "lr"}`` per iteration."""

    net: SegmenterNet
    arch: str
    num_classes: int
    schedule: SegSchedule
    calibrated: bool
    settings: dict[str, Any]
    history: list[dict[str, float]]
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    predict_batch: int = 4

    @torch.inference_mode()
    def predict(self, images: ImageSource) -> np.ndarray:
        """uint8 [N,H,W,3] RGB (array, or a sequence of [H,W,3] of one size) → uint8 [N,H,W] class ids, single
        scale: the whole image is segmented and the scores upsampled bilinearly to its size."""
        return np.stack([p for batch in self._batches(images) for p in self._predict(batch)])

    def _batches(self, images: ImageSource) -> Any:
        for start in range(0, len(images), self.predict_batch):
            yield np.stack([_as_image(images[i]) for i in range(start, min(start + self.predict_batch, len(images)))])

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        self.net.eval()
        x = imagenet_normalise(torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float() / 255.0)
        logits = F.interpolate(self.net(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits.argmax(1).to(torch.uint8).cpu().numpy()

    def confusion(self, images: ImageSource, labels: ImageSource) -> np.ndarray:
        """[K, K+1] int64 confusion matrix over the whole split (``metrics.segmentation.confusion_matrix``)."""
        if len(images) != len(labels):
            raise DataError(f"{len(images)} images but {len(labels)} label maps", hint="one label map per image")
        predictions = (p for batch in self._batches(images) for p in self._predict(batch))
        return split_confusion(predictions, (labels[i] for i in range(len(labels))), self.num_classes)

    def evaluate(self, images: ImageSource, labels: ImageSource, num_classes: int | None = None
                 ) -> SegmentationScores:
        """mIoU, per-class IoU, pixel and class accuracy from ONE confusion matrix over the split (never a mean of
        per-image IoUs); labels uint8 [N,H,W] train ids, 255 ignored. ``DataError`` on a label id ≥ K (not 255)
        or a label map of another size than its image; ``BenchError`` when ``num_classes`` is not the model's."""
        if num_classes is not None and num_classes != self.num_classes:
            raise BenchError(f"the segmenter predicts {self.num_classes} classes, not {num_classes}",
                             hint="evaluate with the class count it was trained for")
        return scores_from_confusion(self.confusion(images, labels))


def split_confusion(predictions: Any, labels: Any, num_classes: int) -> np.ndarray:
    """Sum of ``confusion_matrix`` over (prediction [H,W], label [H,W]) pairs: one [K, K+1] matrix for the split.
    ``DataError`` when a pair differs in size or a label is neither a class id < K nor 255."""
    hist = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
    for index, (prediction, label) in enumerate(zip(predictions, labels, strict=True)):
        label = _check_label(label, num_classes, f"label map {index}")
        if np.shape(prediction) != label.shape:
            raise DataError(f"label map {index} is {label.shape[1]}×{label.shape[0]} but its image is "
                            f"{np.shape(prediction)[1]}×{np.shape(prediction)[0]}",
                            hint="resize label maps to their images with nearest-neighbour")
        hist += confusion_matrix(torch.as_tensor(np.asarray(prediction)), torch.as_tensor(label), num_classes)
    return hist


def train_segmenter(images: ImageSource, labels: ImageSource, *, schedule: SegSchedule, num_classes: int,
                    seed: int, checkpoint_dir: Path, allow_uncalibrated: bool, device: str = "cpu",
                    progress: bool = True, tracking: Tracking = None, name: str = "",
                    on_step: Callable[[int], None] | None = None) -> TrainedSegmenter:
    """Train ``schedule.arch`` for ``num_classes`` classes on uint8 images [N,H,W,3] (RGB) and uint8 label maps
    [N,H,W] (train ids, 255 ignored), or sequences/Datasets yielding them one by one; resumes from
    ``checkpoint_dir/segmenter.pt`` when present (see the module docstring). ``on_step(steps_done)`` runs after every
    iteration (tests interrupt a run there).

    Raises ``MissingWeightsError`` when the architecture's ImageNet weights are missing and not
    ``allow_uncalibrated``; ``DataError`` on empty or mismatched data or label ids ≥ ``num_classes`` (not 255);
    ``BenchError`` on a checkpoint of other settings; ``NonFiniteError`` on a NaN/inf loss.
    """
    if len(images) == 0 or len(images) != len(labels):
        raise DataError(f"segmenter training needs one label map per image, got {len(images)} images and "
                        f"{len(labels)} label maps", hint="pass matching, non-empty image and label sets")
    if num_classes < 1 or num_classes >= IGNORE:
        raise BenchError(f"num_classes must be in 1..{IGNORE - 1}, got {num_classes}", hint="count the train ids")
    dev = torch.device(device)
    net, provenance = build_segmenter(schedule.arch, num_classes, seed, allow_uncalibrated)
    net.to(dev)
    config = {"arch": schedule.arch, "schedule": schedule.settings(), "num_classes": int(num_classes),
              "seed": int(seed), "backbone": provenance, "data": len(images)}
    head = set(map(id, net.head.parameters()))
    groups = [[p for p in net.parameters() if p.requires_grad and id(p) not in head],
              [p for p in net.head.parameters() if p.requires_grad]]
    optimiser = torch.optim.SGD([{"params": g} for g in groups if g], lr=schedule.lr, momentum=schedule.momentum,
                                weight_decay=schedule.weight_decay)
    mults = [m for g, m in zip(groups, (1.0, schedule.head_lr_mult), strict=True) if g]
    sampler = BatchSampler(len(images), schedule.batch_size, seed, "per_step")
    label = name or schedule.arch
    log = logger(tracking, label, config)
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # the caller's RNG is left as it was
        torch.manual_seed(seed)
        start, history = _resume(path, schedule.arch, config, net, optimiser, dev)
        if start:
            _log.info("segmenter %s: resuming from step %d of %d (%s)", label, start, schedule.iterations, path)
        bar = tqdm(total=schedule.iterations, initial=start, desc=f"segmenter {label}", disable=not progress,
                   dynamic_ncols=True, leave=False)
        try:
            for step in range(start, schedule.iterations):
                x, y = _batch(images, labels, sampler.at(step), step_generator(seed, step), schedule, num_classes)
                lr = schedule.lr_at(step)
                for group, mult in zip(optimiser.param_groups, mults, strict=True):
                    group["lr"] = lr * mult
                net.train()
                loss = _loss(net, x.to(dev), y.to(dev))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise NonFiniteError(f"segmenter {label}: non-finite loss at iteration {step}",
                                         hint="lower the schedule's learning rate")
                history.append({"step": step, "loss": value, "lr": lr})
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3g}", refresh=False)
                done = step + 1
                if done % schedule.log_every == 0 or done == schedule.iterations:
                    log.metrics(done, {"loss": value, "lr": lr})
                if schedule.checkpoint_every and done % schedule.checkpoint_every == 0 and done < schedule.iterations:
                    _save(path, schedule.arch, config, net, optimiser, done, history, devices)
                if on_step is not None:
                    on_step(done)
            if start < schedule.iterations or not path.exists():
                _save(path, schedule.arch, config, net, optimiser, schedule.iterations, history, devices)
        except BaseException as exc:
            log.finish("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise
        finally:
            bar.close()
    log.finish("FINISHED")
    net.eval()
    return TrainedSegmenter(net, schedule.arch, int(num_classes), schedule, bool(provenance["calibrated"]),
                            config, history, dev)


def build_segmenter(arch: str, num_classes: int, seed: int, allow_uncalibrated: bool
                    ) -> tuple[SegmenterNet, dict[str, Any]]:
    """The untrained network of ``arch`` for ``num_classes`` classes and its backbone provenance (``artifact``,
    ``weights_sha256``, ``calibrated``). The trunk starts from the feature registry's ImageNet classifier (manifest
    check; ``MissingWeightsError`` without the file unless ``allow_uncalibrated``, then seeded random weights and
    BatchNorm that trains); the head is drawn under ``seed``."""
    spec = SEGMENTER_ARCHS.get(arch)
    state, provenance = None, {"artifact": None, "weights_sha256": None, "calibrated": True}
    if spec.backbone is not None:
        classifier = features.get(spec.backbone, allow_uncalibrated=allow_uncalibrated, seed=seed)
        state, provenance = classifier.model.state_dict(), classifier.provenance()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = spec.build(num_classes, state)
    if not provenance["calibrated"]:  # BatchNorm statistics to freeze come only with the ImageNet weights (archs.py)
        net.set_frozen_bn(False)
    return net, provenance


# -- internals -----------------------------------------------------------------------------------------------------

def _as_image(image: Any) -> np.ndarray:
    array = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise DataError(f"segmenter images are uint8 [H,W,3] RGB, got {array.dtype} {array.shape}",
                        hint="convert with (image * 255).round().astype(np.uint8), channels last")
    return array


def _check_label(label: Any, num_classes: int, what: str) -> np.ndarray:
    array = label.numpy() if isinstance(label, torch.Tensor) else np.asarray(label)
    if array.dtype != np.uint8 or array.ndim != 2:
        raise DataError(f"{what}: label maps are uint8 [H,W] train ids, got {array.dtype} {array.shape}",
                        hint=f"map ids to 0..K-1 and {IGNORE} (ignored), as uint8")
    bad = (array >= num_classes) & (array != IGNORE)
    if bad.any():
        raise DataError(f"{what}: {int(bad.sum())} pixels hold ids ≥ {num_classes} other than {IGNORE}: "
                        f"{sorted(set(array[bad].tolist()))[:10]}",
                        hint=f"map them onto the {num_classes} train ids or set them to {IGNORE} (ignored)")
    return array


def _batch(images: ImageSource, labels: ImageSource, indices: torch.Tensor, gen: torch.Generator,
           schedule: SegSchedule, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B,3,h,w] float in [0,1] and [B,h,w] int64 of the batch: crop then flip, drawn from ``gen`` in index order."""
    xs, ys = [], []
    for i in indices.tolist():
        image, label = _as_image(images[i]), _check_label(labels[i], num_classes, f"label map {i}")
        if image.shape[:2] != label.shape:
            raise DataError(f"image {i} is {image.shape[1]}×{image.shape[0]} but its label map "
                            f"{label.shape[1]}×{label.shape[0]}", hint="resize label maps with nearest-neighbour")
        h, w = label.shape
        ch, cw = (min(schedule.crop[0], h), min(schedule.crop[1], w)) if schedule.crop else (h, w)
        top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        flip = schedule.flip and bool(torch.rand((), generator=gen) < 0.5)
        image, label = image[top:top + ch, left:left + cw], label[top:top + ch, left:left + cw]
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
        xs.append(torch.from_numpy(np.ascontiguousarray(image)))
        ys.append(torch.from_numpy(np.ascontiguousarray(label)))
    if len({tuple(x.shape) for x in xs}) > 1:
        raise DataError(f"images of different sizes in one batch: {sorted({tuple(x.shape[:2]) for x in xs})}",
                        hint="set the schedule's crop to at most the smallest image size")
    return torch.stack(xs).permute(0, 3, 1, 2).float() / 255.0, torch.stack(ys).long()


def _loss(net: SegmenterNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = F.interpolate(net(imagenet_normalise(x)), size=y.shape[-2:], mode="bilinear", align_corners=False)
    if not bool((y != IGNORE).any()):  # an all-ignored crop teaches nothing (cross-entropy would be 0/0)
        return logits.sum() * 0.0
    return F.cross_entropy(logits, y, ignore_index=IGNORE)


def _save(path: Path, arch: str, config: dict[str, Any], net: SegmenterNet, optimiser: torch.optim.Optimizer,
          step: int, history: list[dict[str, float]], devices: list[torch.device]) -> None:
    rng = {"torch": torch.get_rng_state()}
    if devices:
        rng["cuda"] = torch.cuda.get_rng_state(devices[0])
    write_checkpoint(path, f"segmenter/{arch}", config, {"nets": net.state_dict(), "optim": optimiser.state_dict()},
                     step=step, rng=rng, history=history, data_order={"sampler": "per_step", "seed": config["seed"]})


def _resume(path: Path, arch: str, config: dict[str, Any], net: SegmenterNet, optimiser: torch.optim.Optimizer,
            device: torch.device) -> tuple[int, list[dict[str, float]]]:
    if not path.exists():
        return 0, []
    blob = read_checkpoint(path, f"segmenter/{arch}", device)
    if blob["params"] != config:
        changed = sorted(k for k in config if blob["params"].get(k) != config[k])
        raise BenchError(f"{path} was written by a segmenter run with other settings ({', '.join(changed)})",
                         hint="give each setting its own checkpoint_dir, or delete the checkpoint to retrain")
    net.load_state_dict(blob["state"]["nets"])
    optimiser.load_state_dict(blob["state"]["optim"])
    torch.set_rng_state(blob["rng"]["torch"])
    if "cuda" in blob["rng"] and device.type == "cuda":
        torch.cuda.set_rng_state(blob["rng"]["cuda"], device)
    return int(blob["step"]), list(blob["history"])


def with_overrides(preset: str, **overrides: Any) -> SegSchedule:
    """``SCHEDULE_PRESETS[preset]`` with fields replaced (``BenchError`` for an unknown preset or field)."""
    if preset not in SCHEDULE_PRESETS:
        raise BenchError(f"unknown segmenter schedule preset {preset!r}", hint=f"known: {', '.join(SCHEDULE_PRESETS)}")
    unknown = sorted(set(overrides) - set(SegSchedule.__dataclass_fields__))
    if unknown:
        raise BenchError(f"segmenter schedule has no field(s) {unknown}",
                         hint=f"fields: {', '.join(SegSchedule.__dataclass_fields__)}")
    return replace(SCHEDULE_PRESETS[preset], **overrides)
