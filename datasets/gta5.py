"""GTA5 ("Playing for Data", Richter et al., ECCV 2016) as downloaded: 24,966 game frames (1914×1052) with label maps
in Cityscapes label ids, read as the 19 Cityscapes train classes (EGSC-IT's source domain for GTA5 → BDD100K).

Splits:
- ``all``: every frame (EGSC-IT trains on the whole set, its "gta25k"; the paper's 256×512 resize is the protocol's).
- ``train`` / ``val`` / ``test``: the official split, read from ``split.mat`` (``trainIds`` / ``valIds`` /
  ``testIds``, 1-based frame numbers; shipped in ``read_mapping.zip`` on the dataset page). Without the file these
  splits raise a ``DataError`` saying where to get it.

Label PNGs are palette images whose *indices* are Cityscapes label ids (0..33); they go through
``datasets.cityscapes.id_to_train_id`` (void ids and anything unexpected → 255). A few published frames have an image
and a label map of different sizes (e.g. 15188, 20803-20834, 20858-20860 in the official release): by default
reading one raises a ``DataError`` naming it; the reader setting ``mismatched="skip"`` drops them when the split is
listed (reading only the PNG headers).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from core.errors import DataError
from datasets.cityscapes import CITYSCAPES_19, id_to_train_id
from datasets.download import Remote, extract, fetch
from datasets.real import REAL_DATASETS, Entry, RealDataset, download_command

BASE = "https://download.visinf.tu-darmstadt.de/data/from_games"
SPLIT_KEYS = {"train": "trainIds", "val": "valIds", "test": "testIds"}


def _stems(folder: Path, suffix: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob(f"*{suffix}"))} if folder.is_dir() else {}


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:  # reads the header only
        return im.size


@REAL_DATASETS.register("gta5")
class GTA5(RealDataset):
    """GTA5 reader. Settings: ``mismatched`` = ``"error"`` (default) or ``"skip"`` (see the module docstring).

    ``entries`` raises the layout ``DataError`` when ``images/`` or ``labels/`` is missing or a frame lacks its
    partner file, and when a ``train``/``val``/``test`` split is asked for without ``split.mat``.
    """

    layout = """\
gta5/
  images/00001.png … 24966.png    RGB frames, 1914×1052
  labels/00001.png … 24966.png    palette PNGs, index = Cityscapes label id (0..33)
  split.mat                       optional: the official trainIds / valIds / testIds (read_mapping.zip)"""
    obtain = (f"download 01_images.zip … 10_images.zip and 01_labels.zip … 10_labels.zip from {BASE}/data/ and "
              f"{BASE}/code/read_mapping.zip (for split.mat), unzip them into one folder (or run "
              f"{download_command('gta5')})")
    remotes = (*(Remote(f"{BASE}/data/{i:02d}_{kind}.zip") for kind in ("images", "labels") for i in range(1, 11)),
               Remote(f"{BASE}/code/read_mapping.zip"))
    split_names = ("all", "train", "val", "test")
    labels = CITYSCAPES_19

    DEFAULTS: ClassVar[dict[str, Any]] = {"mismatched": "error"}
    CHOICES: ClassVar[dict[str, Any]] = {"mismatched": ("error", "skip")}

    def remap(self) -> np.ndarray:
        return id_to_train_id()

    def frames(self) -> list[str]:
        """Frame stems present as both image and label, sorted; ``DataError`` on a missing folder or partner."""
        images, labels = _stems(self.root / "images", ".png"), _stems(self.root / "labels", ".png")
        if not images or not labels:
            missing = "images/*.png" if not images else "labels/*.png"
            raise self.error(f"no {missing}")
        for have, lack, what in ((images, labels, "label"), (labels, images, "image")):
            orphans = sorted(set(have) - set(lack))
            if orphans:
                raise self.error(f"{len(orphans)} frame(s) without a {what} file (e.g. {', '.join(orphans[:3])})",
                                 hint="unzip every NN_images.zip and NN_labels.zip of the same release")
        return sorted(images)

    def official_ids(self, split: str) -> list[int]:
        """1-based frame numbers of an official split from ``split.mat``."""
        from scipy.io import loadmat

        path = self.root / "split.mat"
        if not path.is_file():
            raise self.error(f"no split.mat for the official {split} split",
                             hint=f"get split.mat from {BASE}/code/read_mapping.zip, or use the split 'all'")
        try:
            ids = loadmat(path)[SPLIT_KEYS[split]]
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"gta5: cannot read {SPLIT_KEYS[split]} from {path}: {exc}",
                            hint=f"replace it with split.mat from {BASE}/code/read_mapping.zip") from None
        return [int(i) for i in np.asarray(ids).reshape(-1)]

    def entries(self, split: str) -> list[Entry]:
        frames = self.frames()
        if split != "all":
            present = set(frames)
            wanted = [f"{i:05d}" for i in self.official_ids(split)]
            absent = [w for w in wanted if w not in present]
            if absent:
                raise self.error(f"{len(absent)} frame(s) of split.mat's {split} split are missing (e.g. "
                                 f"{', '.join(absent[:3])})", hint="unzip all ten image and label archives")
            frames = wanted
        entries = [Entry(f, self.root / "images" / f"{f}.png", self.root / "labels" / f"{f}.png") for f in frames]
        if self.settings["mismatched"] == "skip":
            entries = [e for e in entries if _size(e.image) == _size(e.label)]  # type: ignore[arg-type]
        return entries

    def download(self) -> None:
        """Fetch the 21 public archives (sha256 recorded, none published; kept in ``root/../downloads`` so a rerun
        verifies instead of downloading) and move their frames and ``split.mat`` into ``root``."""
        downloads = self.root.parent / "downloads"
        for remote in self.remotes:
            archive = fetch(remote, downloads)
            unpacked = extract(archive, downloads / "gta5-unpacked" / archive.stem)
            kind = "images" if "images" in archive.stem else "labels" if "labels" in archive.stem else None
            for path in sorted(unpacked.rglob("*")):
                if not path.is_file():
                    continue
                if kind and path.suffix == ".png":
                    target = self.root / kind / path.name
                elif kind is None and path.suffix == ".mat":
                    target = self.root / path.name
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)  # moved, not copied: the frames are ~57 GB
            shutil.rmtree(unpacked, ignore_errors=True)
