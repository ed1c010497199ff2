"""The data of ``coco_stuff_scenes``: a training split (also the retrieving task's image pool) and a test split of
the COCO-Stuff reader (subset ``msca_outdoor``) or of the ``scenes`` world, at S×S, in the label-map kit's
``Split`` (``protocols/labelled.py``: PIL bicubic images, nearest labels, one-hot built per batch).

Content encodings (contract §3, MSCA §4 "Comparative Methods"): a method whose capabilities say
``needs_label_maps`` or whose defaults declare ``input_nc`` gets the one-hot label map with the don't-care channel
[N,C,S,S] (C = classes + 1); any other method gets the colour-encoded label map [N,3,S,S] in [0,1], each class drawn
in its label set's palette (COCO-Stuff: the VOC colours of its ``labels.txt`` ids; ``scenes``: its palette),
unlabeled black: "cI2I and EGSC-IT have difficulty generating images from one-hot encoded semantic label maps.
However, these models can synthesize reasonable images from color-encoded semantic label maps."
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.errors import DataError
from core.hashing import settings_hash
from datasets.real import REAL_DATASETS
from datasets.worlds import WorldSplit, load_world
from protocols.labelled import ONE_HOT, Encoded, Split, colour_encode, read_split, train_split_or_val

ENCODED = {"one_hot": "the one-hot label map [N,C,S,S] (classes + don't-care)",
           "colour": "the colour-encoded label map [N,3,S,S] in [0,1] (the label set's palette)"}


def one_hot(split: Split, labels: np.ndarray) -> torch.Tensor:
    """float32 [n,C,S,S]: uint8 label maps [n,S,S] one-hot with the don't-care channel (the split's encoding)."""
    from protocols.labelled import one_hot as encode

    return torch.from_numpy(np.stack([encode(split.label_set, split.real_ade, label) for label in labels]))


def encode(split: Split, labels: np.ndarray, encoding: Encoded) -> torch.Tensor:
    return one_hot(split, labels) if encoding == "one_hot" else colour_encode(split, labels)


@dataclass
class SceneData:
    """``train`` (training images = the retrieving task's pool) and ``test`` splits; ``worlds`` (train, val
    ``WorldSplit``) on the stand-in, for exact translations, else None; ``pool_exclude`` bool [Q,N] pool rows a
    test item may not retrieve (itself, when a sample folder trains on its val split)."""

    train: Split
    test: Split
    source: str
    fingerprint: str
    description: str
    worlds: tuple[WorldSplit, WorldSplit] | None
    pool_exclude: np.ndarray | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def label_nc(self) -> int:
        """C: the one-hot channel count (classes + don't-care)."""
        return int(one_hot(self.test, self.test.labels[:1]).shape[1])


def load_stand_in(world: str, counts: dict[str, Any], seed: int) -> SceneData:
    """The world's first ``train`` / ``test`` items at ``counts["size"]`` (null counts: MSCA's 34,698 / 499)."""
    from datasets.worlds import WORLDS

    default = WORLDS.get(world).default_counts
    size = int(counts["size"])
    n_train, n_test = int(counts.get("train") or default["train"]), int(counts.get("test") or default["val"])
    data = load_world(world, n_train=n_train, n_val=n_test, size=size, seed=seed)
    tr, va = data.splits["train"], data.splits["val"]
    train, test = read_split(tr, range(n_train), size, ONE_HOT), read_split(va, range(n_test), size, ONE_HOT)
    fingerprint = settings_hash({"world": data.fingerprint, "size": size}, length=16)
    assert isinstance(tr, WorldSplit) and isinstance(va, WorldSplit)
    return SceneData(train, test, world, fingerprint, data.description, (tr, va), files=dict(data.files))


def load_real(reader: str, data_cfg: dict[str, Any], reader_settings: dict[str, Any], counts: dict[str, Any],
              scale: str) -> SceneData:
    """The reader's ``val`` split (first ``test`` items) and ``train`` split (first ``train``), with its subset
    settings (``msca_outdoor`` by default). Without a train split the smoke scale trains on (and retrieves from) the
    val split, each item excluded from its own candidates, and says so in the source (``+trained_on_val``)."""
    ds = REAL_DATASETS.get(reader)(data_cfg.get("root"), **reader_settings)
    size = int(counts["size"])
    val = ds.make_split("val")
    n_test = min(len(val), int(counts["test"])) if counts.get("test") else len(val)
    train_split, source = train_split_or_val(ds, val, reader, scale, "add the train2017 images and maps")
    n_train = min(len(train_split), int(counts["train"])) if counts.get("train") else len(train_split)
    train = read_split(train_split, range(n_train), size, ONE_HOT)
    test = read_split(val, range(n_test), size, ONE_HOT)
    exclude = None
    if train_split is val:
        exclude = np.array([[a == b for b in train.names] for a in test.names])
        if len(train) < 2:
            raise DataError(f"{reader}: {len(train)} val item(s): retrieving from the val split needs 2 or more",
                            hint="point data.root at a folder with train2017/")
    files = dict(sorted({**val.files, **train_split.files}.items()))
    fingerprint = settings_hash({"reader": reader, "settings": ds.settings, "files": files, "train": train.names,
                                 "test": test.names, "size": size}, length=16)
    subset = ", ".join(f"{k}={v}" for k, v in sorted(ds.settings.items()))
    description = (f"{source}: {len(train)} train / {len(test)} test items from {ds.root} (real data; {subset})")
    return SceneData(train, test, source, fingerprint, description, None, exclude, files)
