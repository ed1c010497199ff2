"""The label-map protocol kit: a split of a world or a real reader held in memory at S×S, and its training sets.

Shared by the protocols on label-map data (CoCosNet's four in ``protocols/cocosnet/``, MSCA's ``coco_stuff_scenes``
in ``protocols/coco_stuff/``). Images are resized to S×S (PIL bicubic, as CoCosNet's loader, no aspect kept) and
label maps nearest. ``Split`` holds uint8 images, uint8 labels (ignore id kept) and, for encodings that are stored
(``Encoding.stored``), the conditioning as float32; one-hot maps are built per batch from the labels: on the real
ADE20k exactly CoCosNet's 151 channels (``datasets.ade20k.cocosnet_one_hot``: 255 shares channel 150), elsewhere the
label set's ``one_hot(dont_care=True)`` (classes + 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from core.errors import BenchError, DataError
from datasets.ade20k import COCOSNET_LABEL_NC, cocosnet_one_hot
from datasets.labelled import LabelledItem, LabelledSource, LabelSet
from methods.base import Method


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [S,S,3]: PIL bicubic (CoCosNet's ``get_transform``: ``Image.BICUBIC``); unchanged at size."""
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC))


def resize_label(label: np.ndarray, size: int) -> np.ndarray:
    """uint8 [S,S]: nearest (CoCosNet's label transform)."""
    if label.shape == (size, size):
        return label
    return np.asarray(Image.fromarray(label).resize((size, size), Image.NEAREST))


@dataclass(frozen=True)
class Encoding:
    """How one dataset family encodes its conditioning (see the module docstring).

    ``description``: what the content is, for refusals and tables; ``stored``: whether ``encode`` is kept per item
    (else ``from_labels`` builds it per batch)."""

    name: str
    description: str
    stored: bool
    encode: Callable[[LabelledItem, int], np.ndarray] | None = None


ONE_HOT = Encoding("one_hot", "a one-hot label map (one channel per class + don't-care)", stored=False)
"""The one-hot encoding: built per batch from the stored labels (``one_hot`` below)."""


def one_hot(labels: LabelSet, real_ade: bool, label: np.ndarray) -> np.ndarray:
    """float32 [C,S,S]: CoCosNet's 151 channels on the real ADE20k, else classes + don't-care."""
    return cocosnet_one_hot(label) if real_ade else labels.one_hot(label, dont_care=True)


@dataclass
class Split:
    """One split in memory at S×S. ``images`` uint8 [N,S,S,3]; ``labels`` uint8 [N,S,S] (``label_set.ignore`` kept);
    ``stored`` float32 [N,C,S,S] for stored encodings (else None); ``names`` the items' names; ``source`` the
    ``LabelledSource`` read (``index`` maps a row to its item there)."""

    names: list[str]
    images: np.ndarray
    labels: np.ndarray
    stored: np.ndarray | None
    label_set: LabelSet
    real_ade: bool
    source: LabelledSource | None = None
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.names)

    def inputs(self, rows: Sequence[int] | np.ndarray) -> torch.Tensor:
        """float32 [n,C,S,S]: the conditioning of ``rows``."""
        rows = np.asarray(rows, np.int64)
        if self.stored is not None:
            return torch.from_numpy(self.stored[rows])
        return torch.from_numpy(np.stack([one_hot(self.label_set, self.real_ade, self.labels[r]) for r in rows]))

    def image_tensor(self, rows: Sequence[int] | np.ndarray) -> torch.Tensor:
        """float32 [n,3,S,S] in [0,1]."""
        return torch.from_numpy(self.images[np.asarray(rows, np.int64)]).permute(0, 3, 1, 2).float() / 255.0

    @property
    def input_nc(self) -> int:
        return int(self.inputs([0]).shape[1])


def read_split(source: LabelledSource, rows: Sequence[int], size: int, encoding: Encoding,
               items: Callable[[int], LabelledItem] | None = None) -> Split:
    """Items ``rows`` of ``source`` (or ``items(row)`` when given, e.g. reposed figures) resized and encoded."""
    get = items or source.item
    names, images, labels, stored = [], [], [], []
    for row in rows:
        item = get(int(row))
        names.append(item.name)
        images.append(resize_image(item.image, size))
        labels.append(resize_label(item.label, size))
        if encoding.stored:
            assert encoding.encode is not None
            stored.append(encoding.encode(item, size))
    real_ade = source.kind == "real" and len(source.labels) == COCOSNET_LABEL_NC + 1
    return Split(names, np.stack(images), np.stack(labels), np.stack(stored) if stored else None, source.labels,
                 real_ade, source, np.asarray(rows, np.int64))


def concat(first: Split, second: Split) -> Split:
    """Rows of ``first`` then of ``second`` (same label set and encoding); ``source``/``index`` of ``first``."""
    stored = None if first.stored is None else np.concatenate([first.stored, second.stored])  # type: ignore[list-item]
    return Split(first.names + second.names, np.concatenate([first.images, second.images]),
                 np.concatenate([first.labels, second.labels]), stored, first.label_set, first.real_ade, first.source,
                 first.index)


def take(split: Split, rows: np.ndarray) -> Split:
    """Rows ``rows`` of ``split`` (repeats allowed)."""
    return Split([split.names[r] for r in rows], split.images[rows], split.labels[rows],
                 None if split.stored is None else split.stored[rows], split.label_set, split.real_ade, split.source,
                 split.index[rows] if len(split.index) else split.index)


Encoded = Literal["one_hot", "colour"]


def content_encoding(method_cls: type[Method]) -> Encoded:
    """``one_hot`` for label-map methods (``needs_label_maps`` or an ``input_nc`` parameter), else ``colour`` (MSCA
    §4: methods made for RGB images get the colour-encoded label map)."""
    caps, declared = method_cls.capabilities, method_cls.defaults or {}
    return "one_hot" if caps.needs_label_maps or "input_nc" in declared else "colour"


def colour_encode(split: Split, labels: np.ndarray) -> torch.Tensor:
    """float32 [n,3,S,S] in [0,1]: uint8 label maps [n,S,S] drawn in ``split.label_set``'s palette."""
    return torch.from_numpy(split.label_set.colourise(labels)).permute(0, 3, 1, 2).float() / 255.0


class _SplitSet(Dataset):
    """Items of a :class:`Split` by row; subclasses say which tensors a batch of rows gives (``get_batch``)."""

    def __init__(self, split: Split) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @staticmethod
    def rows(indices: Any) -> np.ndarray:
        return np.asarray(torch.as_tensor(indices).reshape(-1), np.int64)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[0] for k, v in self.get_batch([index]).items()}


class ConditionSet(_SplitSet):
    """Domain A of the training data: ``{"input": float [C,S,S], "label_map": long [S,S]}`` per item (contract §2)."""

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        rows = self.rows(indices)
        return {"input": self.split.inputs(rows), "label_map": torch.from_numpy(self.split.labels[rows]).long()}


class LabelMapSet(ConditionSet):
    """Domain A (contract §2): ``{"input": float32 [C,S,S] one-hot, "label_map": int64 [S,S] (ignore id kept),
    "image": float32 [3,S,S] in [0,1] the colour-encoded label map}`` per item; methods that translate RGB images
    (``content_encoding`` ``colour``) read ``image``."""

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        rows = self.rows(indices)
        return super().get_batch(indices) | {"image": colour_encode(self.split, self.split.labels[rows])}


class PhotoSet(_SplitSet):
    """Domain B of the training data: ``{"image": float [3,S,S] in [0,1]}`` per item."""

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        return {"image": self.split.image_tensor(self.rows(indices))}

    def all_images(self) -> torch.Tensor:
        return self.split.image_tensor(np.arange(len(self.split)))


def choose_source(name: str, data_cfg: Any, reader: str, world: str) -> str:
    """The source a stand-in protocol runs on: ``data.source``, else the real ``reader`` when ``data.root`` is set,
    else the procedural ``world``. Raises ``BenchError`` for any other source."""
    source = data_cfg.get("source") or (reader if data_cfg.get("root") else world)
    if source not in (reader, world):
        raise BenchError(f"protocol {name} runs on {reader} or the stand-in {world}, not data.source={source}",
                         hint=f"data.source={reader} with data.root=<folder>, or data.source={world}")
    return str(source)


def train_split_or_val(dataset: Any, val: Any, reader: str, scale: str, missing_hint: str) -> tuple[Any, str]:
    """(the reader's ``train`` split, ``reader``); where the folder has none (a sample folder), at ``scale=smoke``
    only: (``val``, ``<reader>+trained_on_val``), so that the source names the substitution. Any other scale raises
    ``DataError`` with ``missing_hint``."""
    try:
        return dataset.make_split("train"), reader
    except DataError as exc:
        if scale != "smoke":
            raise DataError(f"{reader}: no train split ({exc.args[0].splitlines()[0]})",
                            hint=f"{missing_hint}; only scale=smoke trains on the val split of a sample folder"
                            ) from None
        return val, f"{reader}+trained_on_val"
