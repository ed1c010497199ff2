"""COCO-Stuff 2017 (``stuffthingmaps_trainval2017``): the 182-id label set, the reader, MSCA's outdoor subset and
Semantic Image Analogy's same-label pairs.

Facts checked against nightrome/cocostuff (``README.md``, ``labels.txt``):
- ``labels.txt`` numbers the classes 1..182 (0 = unlabeled): 91 COCO thing ids (1..91) then 91 stuff classes
  (92..182). The stuff-thing PNG maps store them 0-based: id ``k`` of a map is ``labels.txt`` id ``k+1``; 255 =
  unlabeled. So map ids 0..90 are things, 91..181 stuff.
- 11 of the 91 thing ids have no annotations in COCO (street sign, hat, shoe, eye glasses, plate, mirror, window,
  desk, door, blender, hair brush: ``COCO_STUFF_UNUSED``); they stay in the label set so that ids keep their meaning
  (182 classes), but never occur: 80 things + 91 stuff are used.
- Downloads: ``train2017.zip`` / ``val2017.zip`` (images.cocodataset.org) and ``stuffthingmaps_trainval2017.zip``
  (the README's ``http://calvin.inf.ed.ac.uk/wp-content/uploads/data/cocostuffdataset/`` folder, now served from
  ``https://calvin-vision.net/`` under the same path, the host recent download scripts use). No checksums are
  published, so the digests are recorded, not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from datasets.download import Remote, fetch
from datasets.labelled import LabelSet, voc_palette
from datasets.real import REAL_DATASETS, Entry, RealSplit, SubsetDataset, download_command, read_raw_label
from datasets.real_files import pair_by_stem, unpack

COCO_STUFF_NAMES: tuple[str, ...] = tuple("""
person|bicycle|car|motorcycle|airplane|bus|train|truck|boat|traffic light|fire hydrant|street sign|stop sign
parking meter|bench|bird|cat|dog|horse|sheep|cow|elephant|bear|zebra|giraffe|hat|backpack|umbrella|shoe
eye glasses|handbag|tie|suitcase|frisbee|skis|snowboard|sports ball|kite|baseball bat|baseball glove|skateboard
surfboard|tennis racket|bottle|plate|wine glass|cup|fork|knife|spoon|bowl|banana|apple|sandwich|orange|broccoli
carrot|hot dog|pizza|donut|cake|chair|couch|potted plant|bed|mirror|dining table|window|desk|toilet|door|tv
laptop|mouse|remote|keyboard|cell phone|microwave|oven|toaster|sink|refrigerator|blender|book|clock|vase
scissors|teddy bear|hair drier|toothbrush|hair brush
banner|blanket|branch|bridge|building-other|bush|cabinet|cage|cardboard|carpet|ceiling-other|ceiling-tile|cloth
clothes|clouds|counter|cupboard|curtain|desk-stuff|dirt|door-stuff|fence|floor-marble|floor-other|floor-stone
floor-tile|floor-wood|flower|fog|food-other|fruit|furniture-other|grass|gravel|ground-other|hill|house|leaves
light|mat|metal|mirror-stuff|moss|mountain|mud|napkin|net|paper|pavement|pillow|plant-other|plastic|platform
playingfield|railing|railroad|river|road|rock|roof|rug|salad|sand|sea|shelf|sky-other|skyscraper|snow
solid-other|stairs|stone|straw|structural-other|table|tent|textile-other|towel|tree|vegetable|wall-brick
wall-concrete|wall-other|wall-panel|wall-stone|wall-tile|wall-wood|water-other|waterdrops|window-blind|window-other|wood
""".strip().replace("\n", "|").split("|"))
"""Map id ``k`` → name (``labels.txt`` id ``k+1``)."""

N_THING_IDS = 91
COCO_STUFF_UNUSED: tuple[int, ...] = tuple(COCO_STUFF_NAMES.index(n) for n in (
    "street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door", "blender", "hair brush"))
COCO_STUFF_LABELS = LabelSet("coco_stuff", COCO_STUFF_NAMES, palette=voc_palette(len(COCO_STUFF_NAMES) + 1)[1:],
                             things=tuple(i for i in range(N_THING_IDS) if i not in COCO_STUFF_UNUSED))
"""182 classes (ids 0..181), ignore 255; ``things`` = the 80 annotated thing ids. Drawn in the VOC colours of the
``labels.txt`` ids (id ``k`` gets colour ``k+1``), so that unlabeled alone is black."""

# MSCA's filter: the classes that make a scene "indoor" (our choice, by name): ceilings, floors, walls, indoor
# furniture, electronics, appliances and small indoor objects (the indoor groups of COCO-Stuff's label hierarchy),
# leaving out classes as common outdoors (window-other, stairs, light, chair, bench, potted plant, clock, cell phone,
# cloth, clothes, banner, food).
INDOOR_NAMES = (
    "ceiling-other", "ceiling-tile", "floor-marble", "floor-other", "floor-stone", "floor-tile", "floor-wood",
    "carpet", "rug", "mat", "wall-brick", "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile",
    "wall-wood", "window-blind", "cabinet", "counter", "cupboard", "desk-stuff", "door-stuff", "furniture-other",
    "mirror-stuff", "shelf", "table", "curtain", "pillow", "towel", "blanket", "couch", "bed", "dining table",
    "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "microwave", "oven", "toaster", "sink", "refrigerator",
    "book", "vase", "scissors", "teddy bear", "hair drier", "toothbrush")
INDOOR_IDS: tuple[int, ...] = tuple(sorted(COCO_STUFF_NAMES.index(n) for n in INDOOR_NAMES))


def outdoor_stats(label: np.ndarray) -> dict[str, float | int]:
    """What MSCA's filter looks at in a raw stuff-thing map (uint8 [H,W], ids 0..181, 255 unlabeled).

    Returns ``indoor_fraction`` (share of all pixels in ``INDOOR_IDS``), ``largest_thing_fraction`` (the largest
    share of one thing class) and ``largest_thing`` (its id, -1 when no thing is present).
    """
    counts = np.bincount(np.asarray(label, np.uint8).ravel(), minlength=256)[:256] / max(np.asarray(label).size, 1)
    things = counts[:N_THING_IDS]
    largest = int(np.argmax(things)) if things.max() > 0 else -1
    return {"indoor_fraction": float(counts[list(INDOOR_IDS)].sum()),
            "largest_thing_fraction": float(things.max()), "largest_thing": largest}


def passes_msca_outdoor(label: np.ndarray, max_indoor_fraction: float, max_thing_fraction: float) -> bool:
    """Whether a label map passes the ``msca_outdoor`` filter: indoor classes cover at most ``max_indoor_fraction``
    of the image and no thing class more than ``max_thing_fraction``."""
    stats = outdoor_stats(label)
    return stats["indoor_fraction"] <= max_indoor_fraction and stats["largest_thing_fraction"] <= max_thing_fraction


def _all(dataset: CocoStuff, entries: list[Entry]) -> list[Entry]:
    return entries


def _msca_outdoor(dataset: CocoStuff, entries: list[Entry]) -> list[Entry]:
    s = dataset.settings
    return [e for e in entries
            if passes_msca_outdoor(read_raw_label(e.label), s["max_indoor_fraction"], s["max_thing_fraction"])]


SUBSETS: dict[str, Callable[[CocoStuff, list[Entry]], list[Entry]]] = {"all": _all, "msca_outdoor": _msca_outdoor}
"""Subsets by name (the ``subset`` setting)."""


@REAL_DATASETS.register("coco_stuff")
class CocoStuff(SubsetDataset):
    """COCO-Stuff 2017: splits ``train`` (118K) and ``val`` (5K); items ``image`` uint8 [H,W,3] (≤640 px a side),
    ``label`` uint8 [H,W] ids 0..181 of ``COCO_STUFF_LABELS`` (255 unlabeled), names the 12-digit COCO ids.

    Settings (all go into the fingerprint): ``subset`` (``all`` or ``msca_outdoor``), ``max_indoor_fraction``
    (default 0.2) and ``max_thing_fraction`` (default 0.2).

    ``msca_outdoor`` stands in for MSCA's filtering ("We remove images with indoor scenes and large objects from the
    dataset, resulting in 34,698/499 scene images for training/testing", MSCA §4). The paper publishes neither the
    rule nor the list, so the rule here is ours: an image is indoor when the ``INDOOR_IDS`` classes cover more than
    ``max_indoor_fraction`` of it, and has a large object when one thing class covers more than
    ``max_thing_fraction`` (class regions: the stuff-thing maps carry no instances). The counts 34,698 / 499 are the
    paper's; they cannot be checked here (the full dataset is not on this machine) and our thresholds were not tuned
    to reproduce them. Selecting reads every label map of the split once.
    Raises ``DataError`` naming the expected layout when files are missing or do not pair up.
    """

    layout = """
<root>/
  train2017/*.jpg                                (COCO 2017 images, train2017.zip)
  val2017/*.jpg                                  (val2017.zip)
  stuffthingmaps_trainval2017/train2017/*.png    (8-bit ids 0..181, 255 unlabeled; stuffthingmaps_trainval2017.zip)
  stuffthingmaps_trainval2017/val2017/*.png
or the cocostuff repository's setup: images/{train2017,val2017}/*.jpg, annotations/{train2017,val2017}/*.png
"""
    obtain = ("download http://images.cocodataset.org/zips/train2017.zip, .../val2017.zip and https://calvin-vision"
              ".net/wp-content/uploads/data/cocostuffdataset/stuffthingmaps_trainval2017.zip (public), or run "
              f"{download_command('coco_stuff')}")
    remotes = (Remote("http://images.cocodataset.org/zips/train2017.zip"),
               Remote("http://images.cocodataset.org/zips/val2017.zip"),
               Remote("https://calvin-vision.net/wp-content/uploads/data/cocostuffdataset/"
                      "stuffthingmaps_trainval2017.zip"))
    labels = COCO_STUFF_LABELS
    DEFAULTS: ClassVar[dict[str, Any]] = {"subset": "all", "max_indoor_fraction": 0.2, "max_thing_fraction": 0.2}
    CHOICES: ClassVar[dict[str, Any]] = {"subset": SUBSETS}
    RANGES: ClassVar[dict[str, tuple[float, float]]] = {"max_indoor_fraction": (0.0, 1.0),
                                                         "max_thing_fraction": (0.0, 1.0)}
    rule_setting = "subset"

    def _folders(self, split: str) -> tuple[Path, Path]:
        sub = f"{split}2017"
        for images, labels in ((self.root / sub, self.root / "stuffthingmaps_trainval2017" / sub),
                               (self.root / "images" / sub, self.root / "annotations" / sub)):
            if images.is_dir() and labels.is_dir():
                return images, labels
        raise self.error(f"no {sub}/ images with stuffthingmaps_trainval2017/{sub}/ label maps")

    def all_entries(self, split: str) -> list[Entry]:
        """Every image/label pair of ``split`` (before the subset selection)."""
        images, labels = self._folders(split)
        return pair_by_stem(sorted(images.glob("*.jpg")), sorted(labels.glob("*.png")), f"{split}2017", self.error)

    def select(self, split: str, entries: list[Entry]) -> list[Entry]:
        return SUBSETS[self.settings["subset"]](self, entries)

    def download(self) -> None:
        """Fetch the three public archives into the data cache and unpack them into the layout under ``root``."""
        for remote in self.remotes:
            archive = fetch(remote, self.root.parent / "downloads")
            stuff = archive.name.startswith("stuffthingmaps")
            unpack(archive, self.root / "stuffthingmaps_trainval2017" if stuff else self.root)


def label_set(label: np.ndarray, min_fraction: float = 0.0, ignore: int = 255) -> frozenset[int]:
    """The class ids present in ``label`` (uint8 [H,W]), ignoring ``ignore`` and classes covering no more than
    ``min_fraction`` of the pixels (0: any pixel counts)."""
    counts = np.bincount(np.asarray(label, np.uint8).ravel(), minlength=256)
    counts[ignore] = 0
    return frozenset(int(i) for i in np.flatnonzero(counts > min_fraction * np.asarray(label).size))


def split_label_sets(split: RealSplit, min_fraction: float = 0.0) -> list[frozenset[int]]:
    """``label_set`` of every item of ``split`` (reads the label maps only, recording their sha256)."""
    return [label_set(split.build_label(entry), min_fraction) for entry in split.entries]


def same_label_pairs(sets: Sequence[frozenset[int]], min_jaccard: float = 1.0,
                     chunk: int = 2048) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)``, ``i < j``, of items whose label sets match: Semantic Image Analogy's "pairs of
    images with the same class labels" (§4.2.1) at ``min_jaccard=1`` (identical sets), or sets whose Jaccard index
    ``|A∩B| / |A∪B|`` is at least ``min_jaccard`` (our relaxation; the paper gives no tolerance). Empty sets never
    pair. Sorted by (i, j). Exact matching groups by set (linear); a threshold compares all pairs in chunks of
    ``chunk`` rows (quadratic: fine for a val split, slow for 118K items).
    """
    if min_jaccard >= 1.0:
        groups: dict[frozenset[int], list[int]] = {}
        for index, s in enumerate(sets):
            if s:
                groups.setdefault(s, []).append(index)
        return sorted((a, b, 1.0) for members in groups.values()
                      for k, a in enumerate(members) for b in members[k + 1:])
    n = len(sets)
    width = max((max(s) for s in sets if s), default=0) + 1
    onehot = np.zeros((n, width), np.float32)
    for index, s in enumerate(sets):
        onehot[index, list(s)] = 1.0
    sizes = onehot.sum(1)
    pairs = []
    for start in range(0, n, chunk):
        inter = onehot[start:start + chunk] @ onehot.T
        union = sizes[start:start + chunk, None] + sizes[None] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        rows, cols = np.nonzero(jac >= min_jaccard - 1e-9)
        pairs += [(int(start + r), int(c), float(jac[r, c])) for r, c in zip(rows, cols, strict=True) if start + r < c]
    return sorted(pairs)
