"""Procedural label-map worlds with exact ground truth: the ``World`` interface and its ``WorldSplit``.

A world separates *layout* (what is where: the label map, instances, keypoints, edges, any conditioning input) from
*style* (one material per class plus a global illumination/camera vector; see ``materials``). Both are pure
functions of ``(seed, split, index)``, so item ``i`` is the same whatever the split size, and images render at any
resolution from the same parameters. Because the conditioning input depends on the layout only, the exact
translation of input ``i`` under exemplar ``k`` is ``world.render(layout_i, style_k)``
(``WorldSplit.exact_translation``).
``WorldSplit.visible_mask`` marks the pixels of input ``i`` whose class is visible in exemplar ``k`` (the part of
the exact answer a method can infer from the exemplar; metrics report both regions).

Adding a world: subclass ``World``, implement ``sample_layout``, ``sample_style``, ``label_map`` and ``render``
(optionally ``instance_map``, ``keypoints``, ``edges``, ``inputs``), register it in ``WORLDS``.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import ndimage

from core.registry import Registry
from datasets.labelled import LabelledItem, LabelledSource, LabelSet

WORLDS: Registry = Registry("world", package="datasets.worlds")
SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass
class Style:
    """``materials`` float64 [K,MATERIAL_DIM] (row = class id) and the world's ``glob`` float64 [G] vector."""

    materials: np.ndarray
    glob: np.ndarray


def digest(value: Any, h: Any = None) -> Any:
    """Feed a layout/style (arrays, numbers, strings, lists, dicts, dataclasses) into a sha256, exactly."""
    h = hashlib.sha256() if h is None else h
    if isinstance(value, np.ndarray):
        h.update(f"{value.shape}{value.dtype}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif is_dataclass(value):
        for f in fields(value):
            h.update(f.name.encode())
            digest(getattr(value, f.name), h)
    elif isinstance(value, dict):
        for key in sorted(value):
            h.update(str(key).encode())
            digest(value[key], h)
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            digest(v, h)
        h.update(b"]")
    else:
        h.update(repr(value).encode())
    return h


def boundaries(*maps: np.ndarray, thickness: int = 1) -> np.ndarray:
    """bool [H,W]: pixels where any of ``maps`` changes value to the right or below (4-neighbourhood)."""
    edge = np.zeros(maps[0].shape, bool)
    for m in maps:
        edge[:, :-1] |= m[:, :-1] != m[:, 1:]
        edge[:-1, :] |= m[:-1, :] != m[1:, :]
    if thickness > 1:
        edge = ndimage.binary_dilation(edge, iterations=thickness - 1)
    return edge


class World(ABC):
    """A family of procedural scenes over one ``LabelSet``. Subclasses set ``name``, ``version`` and ``labels``.

    Constructor keyword arguments are the world's settings (e.g. a street domain); they go into ``settings()`` and
    so into every fingerprint.
    """

    registry_name: ClassVar[str]
    version: ClassVar[str]
    labels: ClassVar[LabelSet]
    stands_in_for: ClassVar[str] = ""  # the real dataset(s) the world imitates, for tables and `bench data list`
    default_counts: ClassVar[dict[str, int]] = {"train": 1000, "val": 100}  # the real dataset's split sizes

    def settings(self) -> dict[str, Any]:
        """The constructor settings that change what is generated (default: none)."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        # Worlds travel to worker processes (cache.prepare) without their render caches: by convention the
        # attributes named ``_...`` are caches, rebuilt on demand.
        return {k: (None if k.startswith("_") else v) for k, v in self.__dict__.items()}

    @abstractmethod
    def sample_layout(self, rng: np.random.Generator) -> Any:
        """A layout (arrays / numbers / a dataclass of them) drawn from ``rng``; resolution-free."""

    @abstractmethod
    def sample_style(self, rng: np.random.Generator) -> Style:
        """One material for *every* class of ``labels`` (present or not) plus the global vector."""

    @abstractmethod
    def label_map(self, layout: Any, size: tuple[int, int]) -> np.ndarray:
        """uint8 [H,W] class ids of ``layout`` at ``size`` = (H, W)."""

    @abstractmethod
    def render(self, layout: Any, style: Style, size: tuple[int, int], label: np.ndarray | None = None
               ) -> np.ndarray:
        """uint8 [H,W,3]: ``layout`` painted in ``style`` (``label`` = ``label_map(layout, size)`` if given)."""

    def instance_map(self, layout: Any, size: tuple[int, int]) -> np.ndarray | None:
        """int32 [H,W] instance ids (0 = none), or ``None`` when the world has no things."""
        return None

    def keypoints(self, layout: Any, size: tuple[int, int]) -> np.ndarray | None:
        """float32 [18,3] OpenPose keypoints in pixels, or ``None``."""
        return None

    def edges(self, layout: Any, size: tuple[int, int], label: np.ndarray, instance: np.ndarray | None
              ) -> np.ndarray:
        """uint8 [H,W,3] black class and instance boundaries on white (pix2pix-style edge map)."""
        maps = (label,) if instance is None else (label, instance)
        edge = boundaries(*maps, thickness=max(1, min(size) // 128))
        return np.repeat(np.where(edge, 0, 255).astype(np.uint8)[..., None], 3, -1)

    def inputs(self, layout: Any, size: tuple[int, int], item: LabelledItem) -> dict[str, np.ndarray]:
        """Extra conditioning inputs a protocol may use (e.g. CoCosNet's 15-channel face edges), float32 [C,H,W]."""
        return {}


@dataclass
class WorldRecord:
    layout: Any
    style: Style


class WorldSplit(LabelledSource):
    """``n`` items of ``world``'s ``split`` at ``size`` (an int for square, or (H, W)), from ``seed``.

    Items are rendered on demand; ``with_inputs`` adds ``world.inputs`` to ``item.extra``.
    Raises ``ValueError`` on an unknown split or a size outside 32..1024.
    """

    kind = "procedural"

    def __init__(self, world: World, n: int, size: int | tuple[int, int] = 64, seed: int = 0, split: str = "train",
                 with_inputs: bool = False) -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        self.size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if not all(32 <= s <= 1024 for s in self.size):
            raise ValueError(f"worlds render 32..1024 pixels a side, got {self.size}")
        self.world, self.n, self.seed, self.split = world, int(n), int(seed), split
        self.labels, self.name, self.with_inputs = world.labels, world.registry_name, with_inputs
        self._records: dict[int, WorldRecord] = {}

    def __len__(self) -> int:
        return self.n

    def rng(self, index: int) -> np.random.Generator:
        salt = int.from_bytes(hashlib.sha256(self.world.registry_name.encode()).digest()[:4], "little")
        return np.random.default_rng([self.seed, SPLITS[self.split], int(index), salt])

    def record(self, index: int) -> WorldRecord:
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        if index not in self._records:
            rng = self.rng(index)
            layout = self.world.sample_layout(rng)
            self._records[index] = WorldRecord(layout, self.world.sample_style(rng))
        return self._records[index]

    def item(self, index: int) -> LabelledItem:
        rec, size = self.record(index), self.size
        label = self.world.label_map(rec.layout, size)
        instance = self.world.instance_map(rec.layout, size)
        item = LabelledItem(name=f"{self.name}-{self.split}-{index:06d}", image=self.world.render(
            rec.layout, rec.style, size, label), label=label, instance=instance,
            keypoints=self.world.keypoints(rec.layout, size))
        item.edges = self.world.edges(rec.layout, size, label, instance)
        if self.with_inputs:
            item.extra.update(self.world.inputs(rec.layout, size, item))
        return item

    def exact_translation(self, index: int, exemplar: int, exemplar_split: WorldSplit | None = None) -> np.ndarray:
        """uint8 [H,W,3]: input ``index`` of this split rendered in the style of ``exemplar`` (an index into
        ``exemplar_split``, default this split)."""
        other = exemplar_split or self
        return self.world.render(self.record(index).layout, other.record(exemplar).style, self.size)

    def visible_mask(self, index: int, exemplar: int, exemplar_split: WorldSplit | None = None,
                     min_pixels: int = 1) -> np.ndarray:
        """bool [H,W]: pixels of input ``index`` whose class covers at least ``min_pixels`` of exemplar
        ``exemplar`` (at this split's size)."""
        other = exemplar_split or self
        label = self.world.label_map(self.record(index).layout, self.size)
        ex = other.world.label_map(other.record(exemplar).layout, self.size)
        counts = np.bincount(ex.reshape(-1), minlength=256)
        return (counts >= min_pixels)[label]

    def fingerprint(self) -> str:
        h = hashlib.sha256(f"{self.name}-v{self.world.version}:{self.seed}:{self.split}:{self.n}:{self.size}".encode())
        digest(self.world.settings(), h)
        for i in range(self.n):
            rec = self.record(i)
            digest(rec.layout, h)
            digest(rec.style, h)
        return h.hexdigest()

    def description(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.world.settings().items())
        return (f"{self.name} v{self.world.version} (procedural stand-in{'; ' + settings if settings else ''}): "
                f"{self.n} {self.split} items at {self.size[0]}×{self.size[1]}, data seed {self.seed}; "
                "exact ground truth")
