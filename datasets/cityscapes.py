"""The Cityscapes label set: 19 train classes, the official palette, and the label id → train id table.

GTA5 ("Playing for Data") stores its label maps in Cityscapes *label ids* (0..33); BDD100K's semantic segmentation
masks hold Cityscapes *train ids* (0..18) directly. Both, and the ``streets`` world, use ``CITYSCAPES_19``.

Source: mcordts/cityscapesScripts ``cityscapesscripts/helpers/labels.py`` (name, id, trainId, colour of each label;
ids with trainId 255 are void / ignored in evaluation: unlabeled, ego vehicle, rectification border, out of roi,
static, dynamic, ground, parking, rail track, guard rail, bridge, tunnel, polegroup, caravan, trailer; the license
plate has id -1 and never appears in an id map).
"""

from __future__ import annotations

import numpy as np

from datasets.labelled import IGNORE, LabelSet
from datasets.real import remap_from

# (train id order) name, Cityscapes label id, official colour.
_TRAIN_CLASSES = (
    ("road", 7, (128, 64, 128)),
    ("sidewalk", 8, (244, 35, 232)),
    ("building", 11, (70, 70, 70)),
    ("wall", 12, (102, 102, 156)),
    ("fence", 13, (190, 153, 153)),
    ("pole", 17, (153, 153, 153)),
    ("traffic light", 19, (250, 170, 30)),
    ("traffic sign", 20, (220, 220, 0)),
    ("vegetation", 21, (107, 142, 35)),
    ("terrain", 22, (152, 251, 152)),
    ("sky", 23, (70, 130, 180)),
    ("person", 24, (220, 20, 60)),
    ("rider", 25, (255, 0, 0)),
    ("car", 26, (0, 0, 142)),
    ("truck", 27, (0, 0, 70)),
    ("bus", 28, (0, 60, 100)),
    ("train", 31, (0, 80, 100)),
    ("motorcycle", 32, (0, 0, 230)),
    ("bicycle", 33, (119, 11, 32)),
)

CITYSCAPES_19 = LabelSet(
    name="cityscapes19",
    classes=tuple(name for name, _, _ in _TRAIN_CLASSES),
    palette=np.array([colour for _, _, colour in _TRAIN_CLASSES], np.uint8),
    ignore=IGNORE,
    things=tuple(range(11, 19)),  # person, rider, car, truck, bus, train, motorcycle, bicycle
)

# Cityscapes label id (0..33) → train id; the 15 void ids (0-6, 9, 10, 14-16, 18, 29, 30) → 255.
LABEL_ID_TO_TRAIN_ID: dict[int, int] = {
    **{label_id: IGNORE for label_id in range(34)},
    **{label_id: train_id for train_id, (_, label_id, _) in enumerate(_TRAIN_CLASSES)},
}


def id_to_train_id() -> np.ndarray:
    """uint8 [256] lookup table: Cityscapes label id → train id; void ids and values ≥ 34 → 255."""
    return remap_from(LABEL_ID_TO_TRAIN_ID)
