"""The class table of SIA's semantic-consistency score: COCO panoptic (133 classes, Detectron2's Panoptic FPN) ↔
COCO-Stuff 2017 (182 ids of ``stuffthingmaps_trainval2017``), and the ``scenes`` world's classes onto COCO-Stuff.

SIA §4.2.2 segments outputs with "Detectron2's panoptic segmentation model" and scores them "with the target
segmentation map" (COCO-Stuff); the paper does not say how 133 classes meet 182. Our table (data below):

- evaluation classes = the 133 panoptic classes, in Detectron2's order (things 0–79, stuff 80–132, as
  ``metrics.segmenters.panoptic_to_semantic`` numbers them): a prediction id is its evaluation id;
- a COCO-Stuff thing id → the panoptic thing of the same name (the 80 annotated COCO things, in id order);
- a COCO-Stuff stuff id → the panoptic stuff class that kept it (36 kept as they are) or merged it (17 ``-merged``
  classes); the 12 stuff classes COCO panoptic removed are not evaluated (``ignore``), nor 255 (unlabeled).

Source of the merges and removals: the COCO 2018 panoptic task's category definition (cocodataset.org "panoptic
2018", cocodataset/panopticapi ``panoptic_coco_categories.json`` names; Kirillov et al., "Panoptic Segmentation",
CVPR 2019, §3), checked here by counts: 36 kept + 43 merged + 12 removed = the 91 COCO-Stuff stuff classes.
"""

from __future__ import annotations

import numpy as np

from datasets.coco_stuff import COCO_STUFF_NAMES, COCO_STUFF_UNUSED, N_THING_IDS
from metrics.segmentation import IGNORE, ClassMapping

SOURCE = ("COCO panoptic 2018 categories (merges and removals of the COCO panoptic task, cocodataset/panopticapi) "
          "→ COCO-Stuff 2017 ids (protocols/semantic_image_analogy/classes.py)")

# Panoptic stuff classes in Detectron2's order (by panoptic category id) with the COCO-Stuff classes each holds.
PANOPTIC_STUFF: tuple[tuple[str, tuple[str, ...]], ...] = tuple((name, members or (name,)) for name, members in (
    ("banner", ()), ("blanket", ()), ("bridge", ()), ("cardboard", ()), ("counter", ()), ("curtain", ()),
    ("door-stuff", ()), ("floor-wood", ()), ("flower", ()), ("fruit", ()), ("gravel", ()), ("house", ()),
    ("light", ()), ("mirror-stuff", ()), ("net", ()), ("pillow", ()), ("platform", ()), ("playingfield", ()),
    ("railroad", ()), ("river", ()), ("road", ()), ("roof", ()), ("sand", ()), ("sea", ()), ("shelf", ()),
    ("snow", ()), ("stairs", ()), ("tent", ()), ("towel", ()), ("wall-brick", ()), ("wall-stone", ()),
    ("wall-tile", ()), ("wall-wood", ()), ("water-other", ()), ("window-blind", ()), ("window-other", ()),
    ("tree-merged", ("branch", "tree", "bush", "leaves")),
    ("fence-merged", ("cage", "fence", "railing")),
    ("ceiling-merged", ("ceiling-other", "ceiling-tile")),
    ("sky-other-merged", ("clouds", "sky-other", "fog")),
    ("cabinet-merged", ("cupboard", "cabinet")),
    ("table-merged", ("desk-stuff", "table")),
    ("floor-other-merged", ("floor-marble", "floor-other", "floor-tile")),
    ("pavement-merged", ("floor-stone", "pavement")),
    ("mountain-merged", ("hill", "mountain")),
    ("grass-merged", ("moss", "grass", "straw")),
    ("dirt-merged", ("mud", "dirt")),
    ("paper-merged", ("napkin", "paper")),
    ("food-other-merged", ("salad", "vegetable", "food-other")),
    ("building-other-merged", ("skyscraper", "building-other")),
    ("rock-merged", ("stone", "rock")),
    ("wall-other-merged", ("wall-other", "wall-concrete", "wall-panel")),
    ("rug-merged", ("mat", "rug", "carpet")),
))
REMOVED = ("cloth", "clothes", "furniture-other", "ground-other", "metal", "plastic", "plant-other", "solid-other",
           "structural-other", "textile-other", "waterdrops", "wood")  # COCO panoptic dropped them: not evaluated


def thing_ids() -> list[int]:
    """The 80 annotated COCO-Stuff thing ids in order: panoptic thing k is ``thing_ids()[k]``."""
    return [i for i in range(N_THING_IDS) if i not in COCO_STUFF_UNUSED]


def panoptic_mapping() -> ClassMapping:
    """COCO-Stuff target ids and panoptic prediction ids (0–132) onto the 133 panoptic classes; removed stuff ids
    and 255 ignored. Raises ``AssertionError`` if the table does not cover the 91 stuff classes exactly once."""
    things = thing_ids()
    names = [COCO_STUFF_NAMES[i] for i in things] + [name for name, _ in PANOPTIC_STUFF]
    target = {cs: k for k, cs in enumerate(things)}
    for k, (_, members) in enumerate(PANOPTIC_STUFF):
        for member in members:
            target[COCO_STUFF_NAMES.index(member)] = len(things) + k
    ignore = frozenset({IGNORE, *(COCO_STUFF_NAMES.index(n) for n in REMOVED)})
    stuff = set(range(N_THING_IDS, len(COCO_STUFF_NAMES)))
    assert stuff == (set(target) | ignore) - set(range(N_THING_IDS)) - {IGNORE} and not set(target) & ignore
    return ClassMapping(names, target, {k: k for k in range(len(names))}, source=SOURCE, ignore=ignore)


def world_to_coco_stuff(class_names: tuple[str, ...] | list[str], real_names: dict[str, tuple]) -> np.ndarray:
    """uint8 [256] lookup: a world label id → the COCO-Stuff id its class stands for (``REAL_NAMES``); 255 stays."""
    lut = np.full(256, IGNORE, np.uint8)
    for i, name in enumerate(class_names):
        lut[i] = real_names[name][1]
    return lut
