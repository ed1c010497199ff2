"""The data of ``gta2bdd``: domain A (GTA5, every frame, labels as the 19 Cityscapes train ids), domain B (BDD100K
train images; their labels only train the Oracle row), the B test split (BDD100K val, labelled), and the seeded
pairing of every A image with an arbitrary B exemplar (EGSC-IT §4: "translate images in GTA5 dataset to an
arbitrary image in BDD dataset").

Offline default: the ``streets`` world in its two render domains, ``synthetic`` (A, GTA5-like) and ``photo`` (B,
BDD100K-like, layouts shifted by ``layout_shift``), which also gives the exact translation of every A layout under
its exemplar's style (``WorldSplit.exact_translation``). Real data: ``data.root`` holding ``gta5/`` and
``bdd100k/`` (the readers' layouts, ``datasets/gta5.py`` / ``datasets/bdd100k.py``).

Every image is resized to H×W (EGSC-IT Table 3: 256×512) with PIL bicubic, every label map nearest, aspect not
kept (GTA5 is 1914×1052, BDD100K 1280×720; the paper gives only the output size). Arrays stay in memory: at paper
scale (24,966 GTA5 frames at 256×512) A and one set of translations are ~9.8 GB each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.errors import DataError
from core.hashing import settings_hash
from datasets.labelled import LabelledSource
from datasets.real import REAL_DATASETS, ROOT_SETTING
from datasets.worlds import WorldSplit
from datasets.worlds import make_world as world_named

WORLD = "streets"
SOURCE_DOMAIN, TARGET_DOMAIN = "synthetic", "photo"  # the streets world's GTA5-like and BDD100K-like renderings


@dataclass
class Domains:
    """uint8 arrays at H×W: ``a_images`` [N_A,H,W,3] / ``a_labels`` [N_A,H,W] (train ids, 255 ignore), ``b_images``
    / ``b_labels`` (B train), ``val_images`` / ``val_labels`` (B test); ``pairing`` int64 [N_A]: the B-train
    exemplar of each A image; ``exact`` [N_A,H,W,3] the exact translations (worlds) or None; ``a_names`` /
    ``b_names`` the items' names; provenance."""

    a_images: np.ndarray
    a_labels: np.ndarray
    b_images: np.ndarray
    b_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    pairing: np.ndarray
    exact: np.ndarray | None
    a_names: list[str]
    b_names: list[str]
    source: str
    fingerprint: str
    description: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.a_images.shape[1]), int(self.a_images.shape[2])

    @staticmethod
    def tensor(images: np.ndarray, rows: np.ndarray) -> torch.Tensor:
        """float32 [n,3,H,W] in [0,1] of ``images[rows]``."""
        return torch.from_numpy(images[np.asarray(rows, np.int64)]).permute(0, 3, 1, 2).float() / 255.0

    def pairing_sha256(self) -> str:
        return settings_hash({"pairing": self.pairing.tolist()}, length=16)


def make_pairing(n_a: int, n_b: int, seed: int) -> np.ndarray:
    """int64 [n_a]: one B exemplar index per A image, uniform in 0..n_b-1 (with replacement), from ``seed``."""
    if n_b < 1:
        raise DataError("domain B has no training images to draw exemplars from",
                        hint="raise protocol.samples.<scale>.train_b")
    return np.random.default_rng([int(seed), 2019, 3]).integers(0, n_b, size=n_a).astype(np.int64)


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    """``image`` (uint8 [h,w,3] or label [h,w]) at ``size`` = (H, W): PIL bicubic, or nearest for label maps."""
    if image.shape[:2] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.NEAREST if nearest else Image.BICUBIC))


def read(source: LabelledSource, rows: Sequence[int], size: tuple[int, int]
         ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images uint8 [n,H,W,3], labels uint8 [n,H,W], names) of ``rows`` of ``source`` resized to ``size``."""
    images, labels, names = [], [], []
    for row in rows:
        item = source.item(int(row))
        images.append(resize(item.image, size, nearest=False))
        labels.append(resize(item.label, size, nearest=True))
        names.append(item.name)
    return np.stack(images), np.stack(labels), names


def counts_of(counts: dict[str, Any], key: str, available: int) -> int:
    """``counts[key]`` (null: all ``available``), refused above ``available`` on real data."""
    want = counts.get(key)
    if want is None:
        return available
    if int(want) > available:
        raise DataError(f"samples.{key}={want} but only {available} items are present",
                        hint=f"lower protocol.samples.<scale>.{key} or set it to null (the whole split)")
    return int(want)


def load_stand_in(counts: dict[str, Any], size: tuple[int, int], seed: int, pairing_seed: int,
                  layout_shift: float) -> Domains:
    """The streets world: A = ``synthetic`` train, B = ``photo`` train (``layout_shift`` between the domains' layouts),
    B test = ``photo`` val; counts default to GTA5's 24,966 / BDD100K's 7,000 / 1,000."""
    n_a, n_b, n_val = (int(counts.get(k) or d) for k, d in (("train_a", 24966), ("train_b", 7000), ("val", 1000)))
    a_split = WorldSplit(world_named(WORLD, domain=SOURCE_DOMAIN), n_a, size, seed, "train")
    photo = world_named(WORLD, domain=TARGET_DOMAIN, layout_shift=layout_shift)
    b_split, val_split = WorldSplit(photo, n_b, size, seed, "train"), WorldSplit(photo, n_val, size, seed, "val")
    a_images, a_labels, a_names = read(a_split, range(n_a), size)
    b_images, b_labels, b_names = read(b_split, range(n_b), size)
    val_images, val_labels, _ = read(val_split, range(n_val), size)
    pairing = make_pairing(n_a, n_b, pairing_seed)
    exact = np.stack([a_split.exact_translation(i, int(k), exemplar_split=b_split) for i, k in enumerate(pairing)])
    files = {"A": a_split.fingerprint(), "B": b_split.fingerprint(), "val": val_split.fingerprint()}
    fingerprint = settings_hash({"world": WORLD, "files": files, "pairing": pairing.tolist()}, length=16)
    description = (f"{WORLD} (procedural stand-in, layout_shift={layout_shift}): A = {SOURCE_DOMAIN} ×{n_a}, B = "
                   f"{TARGET_DOMAIN} ×{n_b} train / ×{n_val} val at {size[0]}×{size[1]}, data seed {seed}; exact "
                   "translations")
    return Domains(a_images, a_labels, b_images, b_labels, val_images, val_labels, pairing, exact, a_names, b_names,
                   WORLD, fingerprint, description, files)


def load_real(root: str | Path, counts: dict[str, Any], size: tuple[int, int], pairing_seed: int) -> Domains:
    """``root/gta5`` (split ``all``, the first ``train_a`` frames) and ``root/bdd100k`` (``train``: first
    ``train_b``; ``val``: first ``val``); ``DataError`` naming the missing folder otherwise."""
    root = Path(root).expanduser()
    readers = {}
    for name in ("gta5", "bdd100k"):
        folder = root / name
        if not folder.is_dir():
            raise DataError(f"gta2bdd: no {name}/ folder in {root}",
                            hint=f"data.root must hold gta5/ and bdd100k/ (each in its reader's layout) {ROOT_SETTING}")
        readers[name] = REAL_DATASETS.get(name)(folder)
    gta = readers["gta5"].make_split("all")
    bdd_train, bdd_val = readers["bdd100k"].make_split("train"), readers["bdd100k"].make_split("val")
    n_a, n_b = counts_of(counts, "train_a", len(gta)), counts_of(counts, "train_b", len(bdd_train))
    n_val = counts_of(counts, "val", len(bdd_val))
    a_images, a_labels, a_names = read(gta, range(n_a), size)
    b_images, b_labels, b_names = read(bdd_train, range(n_b), size)
    val_images, val_labels, _ = read(bdd_val, range(n_val), size)
    pairing = make_pairing(n_a, n_b, pairing_seed)
    files = {f"{split.name}/{split.split}/{path}": sha for split in (gta, bdd_train, bdd_val)
             for path, sha in sorted(split.files.items())}
    fingerprint = settings_hash({"files": files, "size": size, "pairing": pairing.tolist()}, length=16)
    description = (f"gta5+bdd100k: GTA5 ×{n_a} (A), BDD100K train ×{n_b} (B) / val ×{n_val} at {size[0]}×{size[1]} "
                   f"from {root} (real data)")
    return Domains(a_images, a_labels, b_images, b_labels, val_images, val_labels, pairing, None, a_names, b_names,
                   "gta5+bdd100k", fingerprint, description, files)
