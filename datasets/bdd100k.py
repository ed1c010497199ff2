"""BDD100K semantic segmentation (Yu et al., CVPR 2020): 10k driving photos (1280×720; 7,000 train / 1,000 val with
masks) labelled with the 19 Cityscapes train classes (EGSC-IT's target domain for GTA5 → BDD100K).

Layout as unzipped from ``bdd100k_images_10k.zip`` and ``bdd100k_sem_seg_labels_trainval.zip`` (both unpack into a
``bdd100k/`` folder; ``root`` may be that folder or its parent). Mask PNGs hold train ids 0..18 and 255 (ignore);
any other value is read as 255. Items are the masks of a split, each paired with the image of the same name; images
without a mask (the ``test`` split, any extras) are not items. BDD100K sits behind a registration form, so there is
no automatic download: ``obtain`` gives the steps.
"""

from __future__ import annotations

from pathlib import Path

from datasets.cityscapes import CITYSCAPES_19
from datasets.real import REAL_DATASETS, Entry, RealDataset


@REAL_DATASETS.register("bdd100k")
class BDD100K(RealDataset):
    """BDD100K 10k semantic segmentation reader (``train`` / ``val``).

    ``entries`` raises the layout ``DataError`` when the split's mask or image folder is missing or a mask has no
    image.
    """

    layout = """\
bdd100k/
  images/10k/train/<name>.jpg               7,000 photos, 1280×720 (also val/, test/)
  images/10k/val/<name>.jpg                 1,000 photos
  labels/sem_seg/masks/train/<name>.png     train ids 0..18, 255 = ignore
  labels/sem_seg/masks/val/<name>.png"""
    obtain = ("register at https://bdd-data.berkeley.edu/ (accept the BDD100K licence), log in, download "
              "'10K Images' (bdd100k_images_10k.zip) and 'Segmentation' → semantic segmentation labels "
              "(bdd100k_sem_seg_labels_trainval.zip), and unzip both into the same folder")
    split_names = ("train", "val")
    labels = CITYSCAPES_19

    @property
    def base(self) -> Path:
        """The folder holding ``images/`` and ``labels/`` (``root`` or ``root/bdd100k``)."""
        nested = self.root / "bdd100k"
        return nested if not (self.root / "images").is_dir() and (nested / "images").is_dir() else self.root

    def entries(self, split: str) -> list[Entry]:
        masks_dir = self.base / "labels" / "sem_seg" / "masks" / split
        images_dir = self.base / "images" / "10k" / split
        masks = sorted(masks_dir.glob("*.png")) if masks_dir.is_dir() else []
        if not masks:
            raise self.error(f"no labels/sem_seg/masks/{split}/*.png")
        if not images_dir.is_dir():
            raise self.error(f"no images/10k/{split}/ folder")
        entries = [Entry(m.stem, images_dir / f"{m.stem}.jpg", m) for m in masks]
        orphans = [e.name for e in entries if not e.image.is_file()]
        if orphans:
            raise self.error(f"{len(orphans)} {split} mask(s) without an image images/10k/{split}/<name>.jpg (e.g. "
                             f"{', '.join(orphans[:3])})",
                             hint="unzip bdd100k_images_10k.zip next to the labels (the same 10k release)")
        return entries
