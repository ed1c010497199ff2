"""MSCA's three tasks with ground truth (§4): per test item an exemplar x₂, its parse c̃₂ and the ground truth.

- ``duplicating``: "self-reconstructs an image using itself as exemplar and its semantic label map as layout
  condition": exemplar = the test image, ground truth = the test image.
- ``mirroring``: "reconstructs an image using its mirrored version as exemplar": exemplar = the test image flipped
  left–right (its parse flipped with it), ground truth = the test image.
- ``retrieving``: exemplar = the pool image retrieved for the test item (``retrieval.py``: top-k label-histogram
  intersection, then the lowest SIFT Flow data energy); ground truth = the test image colour-corrected toward the
  exemplar with ``protocols.colour_correction.colour_correct`` (MSCA's [46], WCT²; without its weights the protocol
  refuses unless ``allow_uncalibrated``, and then uses the named substitute and marks every retrieving value). On a
  world also ``exact``: the test layout rendered in the retrieved image's style, the task's exact ground truth.

The exemplar's parse c̃₂: MSCA used "a COCO-stuff pretrained Deeplab-v2"; no such segmenter is in the feature
registry, so c̃₂ is the exemplar's ground-truth label map (``EXEMPLAR_PARSES``), named in the settings and tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import BenchError
from metrics.cache import ArrayCache
from protocols.coco_stuff.data import SceneData
from protocols.coco_stuff.retrieval import Energy, Retrieval, retrieve

TASKS = ("retrieving", "mirroring", "duplicating")  # Table 1's order
EXEMPLAR_PARSES = {"ground_truth": "the exemplar's ground-truth label map, not a segmenter's (MSCA parsed exemplars "
                                   "with a COCO-Stuff DeepLab-v2, which the feature registry does not hold)"}


@dataclass
class Task:
    """One task over the test split: ``exemplars`` uint8 [N,S,S,3], ``exemplar_labels`` uint8 [N,S,S] (c̃₂),
    ``truth`` uint8 [N,S,S,3] (the paper's ground truth), ``before`` uint8 [N,S,S,3] (retrieving: the ground truth
    before colour correction, else None), ``exact`` uint8 [N,S,S,3] (a world's exact translation where it differs
    from ``truth``, else None); ``rule`` says how exemplars were chosen; ``settings`` enter the protocol hash;
    ``calibrated`` False when the ground truth came from an uncalibrated substitute."""

    name: str
    exemplars: np.ndarray
    exemplar_labels: np.ndarray
    truth: np.ndarray
    rule: str
    before: np.ndarray | None = None
    exact: np.ndarray | None = None
    calibrated: bool = True
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def duplicating(data: SceneData) -> Task:
    test = data.test
    return Task("duplicating", test.images.copy(), test.labels.copy(), test.images.copy(),
                "exemplar = the test image itself; layout = its label map; ground truth = the test image")


def mirroring(data: SceneData) -> Task:
    test = data.test
    return Task("mirroring", np.ascontiguousarray(test.images[:, :, ::-1]),
                np.ascontiguousarray(test.labels[:, :, ::-1]), test.images.copy(),
                "exemplar = the test image flipped left-right (parse flipped with it); ground truth = the test image")


# (content, style) uint8 [N,H,W,3], (content_labels, style_labels) uint8 [N,H,W] → CorrectionResult
Corrector = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Any]


def correction(method: str, allow_uncalibrated: bool, segment_wise: bool) -> Corrector:
    """``protocols.colour_correction.colour_correct(content, style, method, allow_uncalibrated=...)``, given the
    label maps when ``segment_wise`` (MSCA does not say whether it corrected per segment; default: whole images)."""
    def correct(content: np.ndarray, style: np.ndarray, content_labels: np.ndarray, style_labels: np.ndarray) -> Any:
        from protocols.colour_correction import colour_correct

        labels = {"content_labels": content_labels, "style_labels": style_labels} if segment_wise else {}
        return colour_correct(content, style, method, allow_uncalibrated=allow_uncalibrated, **labels)

    return correct


def retrieving(data: SceneData, k: int, energy: Energy, energy_settings: dict[str, Any], corrector: Corrector,
               cache: ArrayCache | None = None, progress: bool = True) -> tuple[Task, Retrieval]:
    """The retrieving task: retrieval from the training split (the pool), then the colour-corrected ground truth;
    ``cache`` keeps the SIFT Flow energies (``retrieval.retrieve``)."""
    test, pool = data.test, data.train
    found = retrieve(test.labels, test.images, pool.labels, pool.images, len(test.label_set), k, energy,
                     data.pool_exclude, cache=None if cache is None else (cache, energy_settings), progress=progress)
    exemplars, labels = pool.images[found.best], pool.labels[found.best]
    result = corrector(test.images, exemplars, test.labels, labels)
    corrected = np.asarray(result.images, np.uint8)
    if corrected.shape != test.images.shape:
        raise BenchError(f"colour correction returned {corrected.shape} for {test.images.shape}",
                         hint="colour_correct must return uint8 [N,H,W,3] of its content's shape")
    exact = None
    if data.worlds is not None:
        tr, va = data.worlds
        exact = np.stack([va.exact_translation(i, int(b), exemplar_split=tr) for i, b in enumerate(found.best)])
    warnings = []
    if not result.calibrated:
        warnings.append(f"uncalibrated: ground truth colour-corrected with the substitute {result.method!r}, not "
                        "WCT² with its published weights")
    rule = (f"exemplar = the training image of lowest SIFT Flow data energy among the {found.candidates.shape[1]} "
            f"of largest label-histogram intersection; ground truth = the test image colour-corrected toward it "
            f"({result.method})")
    settings = {"pool": "training split", "k": int(k), "histogram": "class pixel shares, ignore in no bin",
                "matcher": energy_settings, "colour_correction": {"method": result.method,
                                                                  "calibrated": bool(result.calibrated),
                                                                  **dict(result.settings)},
                "retrieved": [pool.names[b] for b in found.best]}
    task = Task("retrieving", exemplars, labels, corrected, rule, before=test.images.copy(), exact=exact,
                calibrated=bool(result.calibrated), warnings=warnings, settings=settings)
    return task, found
