"""Label-map data: the common shape of every semantic source, procedural world or real dataset.

A ``LabelledSource`` is an indexable split of ``LabelledItem`` s (an RGB image, its class-id label map and, where
the source has them, an instance map, OpenPose keypoints and an edge map), with a ``LabelSet`` that names the
classes and gives the standard palette. Protocols (CoCosNet's mask/edge/pose → image, MSCA, Semantic Image
Analogy, GTA5 → BDD100K) consume this one interface, so a world and the real dataset it stands in for are
interchangeable.

Conventions (all sources):
- ``image``: uint8 [H,W,3] RGB.
- ``label``: uint8 [H,W] class ids ``0..len(classes)-1`` into ``LabelSet.classes``; ``LabelSet.ignore`` (255 unless
  a set says otherwise) marks unlabeled / don't-care pixels.
- ``instance``: int32 [H,W], 0 = no instance, else a per-image instance id (things only), or ``None``.
- ``keypoints``: float32 [18,3] OpenPose COCO-18 order (x, y in pixels, confidence); a missing joint is
  ``(-1, -1, 0)``; or ``None``.
- ``edges``: uint8 [H,W,3], black (0) boundaries on white (255) like pix2pix's edge maps; or ``None``.
- ``extra``: source-specific values; conditioning inputs are float32 [C,H,W] in [0,1] (``face_edges`` [15,H,W],
  ``pose`` [20,H,W]: ``datasets.inputs``), masks bool [H,W] (CelebAMask-HQ ``glasses``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

IGNORE = 255

# OpenPose COCO-18 keypoint order (the order of DeepFashion's ``*_candidate.txt`` / ``_subset.txt`` files).
OPENPOSE_18 = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
               "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear")


def voc_palette(n: int) -> np.ndarray:
    """uint8 [n,3]: the PASCAL VOC colour map (bits of the class id spread over R, G, B, high bits first), the
    palette most segmentation tools draw ADE20k / COCO-Stuff label maps with."""
    palette = np.zeros((n, 3), np.uint8)
    for index in range(n):
        code, r, g, b = index, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= ((code >> 0) & 1) << shift
            g |= ((code >> 1) & 1) << shift
            b |= ((code >> 2) & 1) << shift
            code >>= 3
        palette[index] = (r, g, b)
    return palette


@dataclass(frozen=True)
class LabelSet:
    """Named classes of a label map. ``classes[i]`` is the name of id ``i``; ``palette`` uint8 [K,3] draws them;
    ``ignore`` is the unlabeled id (drawn black); ``things`` the ids that have instances."""

    name: str
    classes: tuple[str, ...]
    palette: np.ndarray = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    ignore: int | None = IGNORE
    things: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.palette is None:
            object.__setattr__(self, "palette", voc_palette(len(self.classes)))
        if len(self.palette) != len(self.classes):
            raise ValueError(f"{self.name}: {len(self.palette)} palette colours for {len(self.classes)} classes")

    def __len__(self) -> int:
        return len(self.classes)

    def index(self, name: str) -> int:
        return self.classes.index(name)

    def colourise(self, label: np.ndarray) -> np.ndarray:
        """uint8 [H,W,3] drawing of a label map in the palette (ignored / out-of-set ids black)."""
        table = np.zeros((256, 3), np.uint8)
        table[: len(self.classes)] = self.palette[:256]
        return table[np.asarray(label, np.uint8)]

    def one_hot(self, label: np.ndarray, dont_care: bool = True) -> np.ndarray:
        """float32 [K(+1),H,W] one-hot channels; with ``dont_care`` the ignored pixels get an extra last channel
        (CoCosNet / SPADE's ``label_nc + 1`` input)."""
        label = np.asarray(label)
        k = len(self.classes) + int(dont_care)
        ids = np.where(label == self.ignore, len(self.classes) if dont_care else k, label).astype(np.int64)
        out = np.zeros((k + 1, *label.shape), np.float32)  # row k collects what has no channel; dropped below
        np.put_along_axis(out, np.minimum(ids, k)[None], 1.0, axis=0)  # a scatter: ~10× faster than comparing
        return out[:k]

    def check(self, label: np.ndarray) -> None:
        """Raise ``ValueError`` when ``label`` holds an id that is neither a class nor the ignore id."""
        ids = np.unique(label)
        bad = [int(i) for i in ids if i >= len(self.classes) and i != self.ignore]
        if bad:
            raise ValueError(f"{self.name}: label ids {bad[:10]} are outside 0..{len(self.classes) - 1}"
                             f"{'' if self.ignore is None else f' and ignore {self.ignore}'}")


@dataclass
class LabelledItem:
    """One image with its label map and optional extras (see the module docstring for dtypes and ranges)."""

    name: str
    image: np.ndarray
    label: np.ndarray
    instance: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    edges: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LabelledSource(ABC):
    """One split of a label-map source.

    Attributes: ``labels`` (the ``LabelSet``), ``name`` (the source name that goes into every table), ``split``,
    ``kind`` (``procedural`` for worlds, ``real`` for datasets on disk) and ``files`` (what was read: relative path →
    sha256, or a digest per group for large splits).
    """

    labels: LabelSet
    name: str
    split: str
    kind: Literal["procedural", "real"]

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    @abstractmethod
    def __len__(self) -> int:
        ...

    @abstractmethod
    def item(self, index: int) -> LabelledItem:
        ...

    @abstractmethod
    def fingerprint(self) -> str:
        """A content hash of the split (worlds: generator version + parameters; real data: sha256 of the files)."""

    def description(self) -> str:
        return f"{self.name} {self.split}: {len(self)} items ({self.kind})"

    def __iter__(self):
        return (self.item(i) for i in range(len(self)))


@dataclass
class LabelledData:
    """The splits of one label-map source with provenance: ``source`` (the name in every table), ``fingerprint``
    (of all splits), ``files`` (split → fingerprint) and a one-line ``description`` that says whether the data is a
    procedural stand-in or real."""

    splits: dict[str, LabelledSource]
    source: str
    fingerprint: str
    files: dict[str, str]
    description: str
