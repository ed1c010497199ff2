"""CelebAMask-HQ (CelebA-HQ photos with 19-class face-part masks) in CoCosNet's two on-disk layouts.

Sources: Lee et al., "MaskGAN" (CVPR 2020), switchablenorms/CelebAMask-HQ; CoCosNet (Zhang et al., CVPR 2020)
``data/celebahq_dataset.py`` (mask → face) and ``data/celebahqedge_dataset.py`` (edge → face).

Label ids (``CELEBAMASK_HQ``) are CoCosNet's, checked on the published ``all_parts_except_glasses`` maps: 0
background, 1 skin, 2 hair, 3 l_brow, 4 r_brow, 5 l_eye, 6 r_eye, 7 l_ear, 8 r_ear, 9 nose, 10 u_lip, 11 mouth,
12 l_lip, 13 neck, 14 cloth, 15 hat, 16 eye_g, 17 ear_r (earring), 18 neck_l (necklace). (The comment at the top of
CoCosNet's class lists hair before skin; the maps and its commented ``parts`` list have skin = 1, hair = 2.) "l_" is
the subject's left, i.e. the image right. CoCosNet's input is 19 one-hot channels without a don't-care channel; the
merged maps hold no glasses, which CoCosNet writes into channel 16 from the separate ``<id>_eye_g.png`` mask
(``models/pix2pix_model.py`` ``preprocess_input``: ``input_semantics[:, -3:-2] = glasses``): ``cocosnet_semantics``.

Sizes: CelebA-HQ photos are 1024×1024, CelebAMask-HQ masks 512×512. Items come at the mask size: the photo is
downscaled (PIL bilinear, which filters over the scale factor), because upscaling the labels would only invent
blocky 2× boundaries; the masks were annotated at 512 and CoCosNet works at 256 (``load_size``) anyway.
File names: photos are ``<id>.jpg`` (not zero-padded), masks ``<id:05d>...png`` in folder ``<id // 2000>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from core.errors import DataError
from datasets.inputs.face_edges import face_edges_from_parts
from datasets.labelled import LabelledItem, LabelSet
from datasets.real import REAL_DATASETS, Entry, PublishedPairs, RealDataset, RealSplit, read_rgb

PARTS = ("skin", "hair", "l_brow", "r_brow", "l_eye", "r_eye", "l_ear", "r_ear", "nose", "u_lip", "mouth", "l_lip",
         "neck", "cloth", "hat", "eye_g", "ear_r", "neck_l")
# CelebAMask-HQ's own merge order (``g_mask.py``): later parts paint over earlier ones where the masks overlap.
PAINT_ORDER = ("skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear", "mouth", "u_lip",
               "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")
# CelebAMask-HQ's colour table (``g_color.py``), background black.
_COLOURS = {"background": (0, 0, 0), "skin": (204, 0, 0), "nose": (76, 153, 0), "eye_g": (204, 204, 0),
            "l_eye": (51, 51, 255), "r_eye": (204, 0, 204), "l_brow": (0, 255, 255), "r_brow": (255, 204, 204),
            "l_ear": (102, 51, 0), "r_ear": (255, 0, 0), "mouth": (102, 204, 0), "u_lip": (255, 255, 0),
            "l_lip": (0, 0, 153), "hair": (0, 0, 204), "hat": (255, 51, 153), "ear_r": (0, 204, 204),
            "neck_l": (0, 51, 0), "neck": (255, 153, 51), "cloth": (0, 204, 0)}
CLASSES = ("background", *PARTS)
CELEBAMASK_HQ = LabelSet("celebamask_hq", CLASSES, palette=np.array([_COLOURS[c] for c in CLASSES], np.uint8))
GLASSES = CELEBAMASK_HQ.index("eye_g")  # 16: CoCosNet's glasses channel
IMAGES, MASKS, MERGED = "CelebA-HQ-img", "CelebAMask-HQ-mask-anno", "all_parts_except_glasses"
PAIRS_FILE = "celebahq_ref_test.txt"  # CoCosNet's data/ list (the full one is a Google Drive download)
OBTAIN = ("CelebAMask-HQ has no stable URL (Google Drive): 1) open https://github.com/switchablenorms/CelebAMask-HQ "
          "and download CelebAMask-HQ.zip from its Google Drive link; 2) unzip it (CelebA-HQ-img/, "
          "CelebAMask-HQ-mask-anno/0..14/); 3) for mask → face download CoCosNet's annotations "
          "(https://drive.google.com/file/d/125MBR5dZcqaCVXnXu-6aJw4nXxFrLvxJ) and move all_parts_except_glasses/ "
          "into CelebAMask-HQ-mask-anno/; 4) put CoCosNet's train.txt and val.txt (microsoft/CoCosNet README, "
          "'Train_Val split') in the root, and celebahq_ref_test.txt ('Retrieval_pairs') beside them")


def mask_stem(image_id: str) -> str:
    """The zero-padded mask name of a photo id (``'5487'`` → ``'05487'``)."""
    return f"{int(image_id):05d}"


def mask_folder(image_id: str) -> str:
    """The per-part mask folder of a photo id (``id // 2000``: ``'5487'`` → ``'2'``)."""
    return str(int(image_id) // 2000)


def merge_parts(masks: Mapping[str, np.ndarray], shape: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 [H,W] ``CELEBAMASK_HQ`` ids from part name → bool [H,W] masks, painted in ``PAINT_ORDER`` (0 where no
    part). Raises ``ValueError`` on an unknown part name."""
    unknown = set(masks) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown CelebAMask-HQ parts {sorted(unknown)}; expected names from {PARTS}")
    shape = shape or next(iter(masks.values())).shape
    label = np.zeros(shape, np.uint8)
    for part in PAINT_ORDER:
        if part in masks:
            label[masks[part]] = CELEBAMASK_HQ.index(part)
    return label


def cocosnet_semantics(label: np.ndarray, glasses: np.ndarray | None = None) -> np.ndarray:
    """float32 [19,H,W]: CoCosNet's mask → face input: one-hot ``label`` (uint8 [H,W] ``CELEBAMASK_HQ`` ids, no
    don't-care channel) with channel 16 replaced by ``glasses`` (bool [H,W]) when given, as CoCosNet adds glasses
    on top of the except-glasses map (a pixel can then be both skin and glasses)."""
    out = CELEBAMASK_HQ.one_hot(label, dont_care=False)
    if glasses is not None:
        out[GLASSES] = glasses
    return out


def read_mask(path: Path) -> np.ndarray:
    """bool [H,W] of a CelebAMask-HQ part mask (an RGB/grey PNG holding 0 / 255)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) >= 128


def read_rgb_at(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """uint8 [H,W,3] RGB of ``path`` resized to ``shape`` = (H, W) with PIL bilinear (unchanged when it fits)."""
    rgb = read_rgb(path)
    if rgb.shape[:2] == shape:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((shape[1], shape[0]), Image.BILINEAR))


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(input id, exemplar id) of a CoCosNet ``celebahq_ref*.txt`` list (``<id>.jpg,<ref>.jpg[,...]`` a line; the
    first exemplar is the one CoCosNet tests with)."""
    pairs = []
    for line in path.read_text().splitlines():
        items = [Path(x.strip().replace("\\", "/")).stem for x in line.split(",") if x.strip()]
        if len(items) >= 2:
            pairs.append((items[0], items[1]))
    return pairs


class _FaceSplit(RealSplit):
    """Items at the mask size (512), the photo downscaled to it (see the module docstring)."""

    def read_image(self, entry: Entry, shape: tuple[int, int]) -> np.ndarray:
        return self.read(entry.image, lambda p: read_rgb_at(p, shape))


class CelebAHQSplit(_FaceSplit):
    """``item.label``: the merged except-glasses map (no id 16, as CoCosNet reads it); ``item.extra["glasses"]``:
    bool [H,W] from ``<k>/<id>_eye_g.png`` (all False without one). ``cocosnet_semantics(label, glasses)`` is the
    19-channel input."""

    def item(self, index: int) -> LabelledItem:
        entry = self.entries[index]
        label = self.build_label(entry)
        glasses = (self.read(entry.extra["eye_g"], read_mask) if "eye_g" in entry.extra
                   else np.zeros(label.shape, bool))
        if glasses.shape != label.shape:
            raise DataError(f"{self.name}: {entry.extra['eye_g']} is not the size of {entry.label}",
                            hint="the masks must be the ones published with CelebAMask-HQ")
        return LabelledItem(entry.name, self.read_image(entry, label.shape), label, extra={"glasses": glasses})


class CelebAHQEdgeSplit(_FaceSplit):
    """``item.label``: the per-part masks merged in ``PAINT_ORDER`` (glasses = 16); ``item.extra["face_edges"]``:
    float32 [15,H,W] CoCosNet's edge input from the raw (overlapping) part masks and the photo, at the item size."""

    def item(self, index: int) -> LabelledItem:
        entry = self.entries[index]
        masks = {part: self.read(path, read_mask) for part, path in entry.extra.items()}
        shapes = {m.shape for m in masks.values()}
        if len(shapes) != 1:
            raise DataError(f"{self.name}: the part masks of {entry.name} differ in size ({sorted(shapes)})",
                            hint="the masks must be the ones published with CelebAMask-HQ")
        label = merge_parts(masks)
        image = self.read_image(entry, label.shape)
        return LabelledItem(entry.name, image, label, extra={"face_edges": face_edges_from_parts(masks, image)})


class _CelebAMaskHQ(RealDataset):
    """Shared by both layouts: split lists, the per-part mask index, the published pairs."""

    obtain = OBTAIN
    split_names = ("train", "val", "all")
    labels = CELEBAMASK_HQ

    def ids(self, split: str) -> list[str]:
        """Photo ids (unpadded) of ``split``: ``train.txt`` / ``val.txt``, or ``all`` photos present (sorted)."""
        if not (self.root / IMAGES).is_dir():
            raise self.error(f"no {IMAGES}/ folder")
        if split == "all":
            return sorted((p.stem for p in (self.root / IMAGES).glob("*.jpg") if p.stem.isdigit()), key=int)
        listing = self.split_list(split)
        ids = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        bad = [i for i in ids if not i.isdigit()]
        if bad:
            raise self.error(f"{listing.name} holds {bad[0]!r}, not a photo id")
        return [str(int(i)) for i in ids]

    @cached_property
    def part_files(self) -> dict[str, dict[str, Path]]:
        """Photo id → part name → mask path, from one listing of ``CelebAMask-HQ-mask-anno/<k>/``."""
        index: dict[str, dict[str, Path]] = {}
        masks = self.root / MASKS
        for folder in sorted(masks.iterdir()) if masks.is_dir() else ():
            if not folder.name.isdigit():
                continue
            for path in folder.glob("*.png"):
                stem, _, part = path.stem.partition("_")
                if stem.isdigit() and part in PARTS:
                    index.setdefault(str(int(stem)), {})[part] = path
        return index

    def image_path(self, image_id: str) -> Path:
        path = self.root / IMAGES / f"{image_id}.jpg"
        if not path.is_file():
            padded = self.root / IMAGES / f"{mask_stem(image_id)}.jpg"
            raise self.error(f"no {IMAGES}/{path.name}" + (
                f" (found {padded.name}: photos are not zero-padded, only masks are)" if padded.is_file() else ""))
        return path

    def published_pairs(self, path: str | Path | None = None) -> PublishedPairs:
        """CoCosNet's published test pairs (input id, exemplar id) from ``path``, else ``celebahq_ref_test.txt`` in
        the root or in ``../lists``; ``missing``: the ids of the pairs with no item here (photo and label), sorted.
        Raises ``DataError`` when there is no list."""
        candidates = [Path(path)] if path is not None else [self.root / PAIRS_FILE, self.root.parent / "lists" /
                                                            PAIRS_FILE]
        for candidate in candidates:
            if candidate.is_file():
                pairs = read_pairs(candidate)
                return PublishedPairs(pairs, self.missing_pairs(pairs), candidate)
        raise DataError(f"{self.registry_name}: no {PAIRS_FILE} at {', '.join(map(str, candidates))}",
                        hint="download celebahq_ref_test.txt from the CoCosNet README ('Retrieval_pairs') into "
                             "the dataset root")

    def missing_pairs(self, pairs: list[tuple[str, str]]) -> list[str]:
        """The ids of ``pairs`` (input or exemplar) that have no item here (photo and label), sorted."""
        present = {e.name for e in self.entries("all")}
        return sorted({i for pair in pairs for i in pair} - present, key=int)


@REAL_DATASETS.register("celebahq")
class CelebAHQ(_CelebAMaskHQ):
    """CoCosNet's mask → face layout: merged ``all_parts_except_glasses`` maps (+ glasses masks). Items:
    ``CelebAHQSplit``."""

    layout = f"""
{IMAGES}/<id>.jpg                  1024×1024 photos, ids not zero-padded (0.jpg … 29999.jpg)
{MASKS}/{MERGED}/<id:05d>.png      512×512 merged maps, ids 0-18 without 16 (CoCosNet's annotations)
{MASKS}/<id // 2000>/<id:05d>_eye_g.png   glasses masks (only for faces with glasses)
train.txt, val.txt                 one photo id a line (CoCosNet's split)"""
    split_class = CelebAHQSplit

    def entries(self, split: str) -> list[Entry]:
        out = []
        for image_id in self.ids(split):
            label = self.root / MASKS / MERGED / f"{mask_stem(image_id)}.png"
            if not label.is_file():
                if split == "all":
                    continue
                raise self.error(f"no {MASKS}/{MERGED}/{label.name} for photo {image_id} of {split}.txt")
            glasses = self.part_files.get(image_id, {}).get("eye_g")
            out.append(Entry(image_id, self.image_path(image_id), label, {"eye_g": glasses} if glasses else {}))
        return out


@REAL_DATASETS.register("celebahqedge")
class CelebAHQEdge(_CelebAMaskHQ):
    """CoCosNet's edge → face layout: per-part masks only, merged here. Items: ``CelebAHQEdgeSplit``."""

    layout = f"""
{IMAGES}/<id>.jpg                           1024×1024 photos, ids not zero-padded (0.jpg … 29999.jpg)
{MASKS}/<id // 2000>/<id:05d>_<part>.png    512×512 0/255 masks, part in skin, hair, l_brow, r_brow, l_eye,
                                            r_eye, l_ear, r_ear, nose, u_lip, mouth, l_lip, neck, cloth, hat,
                                            eye_g, ear_r, neck_l (absent when the face has none)
train.txt, val.txt                          one photo id a line (CoCosNet's split)"""
    split_class = CelebAHQEdgeSplit

    def entries(self, split: str) -> list[Entry]:
        out = []
        merged = (self.root / MASKS / MERGED).is_dir()  # CoCosNet's mask → face folder: the other reader's
        hint = f"this folder holds {MASKS}/{MERGED}/: read it with the celebahq reader (source=celebahq)" if merged \
            else None
        for image_id in self.ids(split):
            parts = self.part_files.get(image_id)
            if not parts:
                if split == "all":
                    continue
                raise self.error(f"no part masks {MASKS}/{mask_folder(image_id)}/{mask_stem(image_id)}_<part>.png "
                                 f"for photo {image_id} of {split}.txt", hint)
            if "skin" not in parts:  # every CelebAMask-HQ face has skin: without it the label map is a few parts
                raise self.error(
                    f"no skin mask {MASKS}/{mask_folder(image_id)}/{mask_stem(image_id)}_skin.png for photo {image_id} "
                    f"(only {', '.join(sorted(parts))}): these are not the full per-part masks",
                    hint or "unzip all of CelebAMask-HQ-mask-anno (every part mask of every face)")
            out.append(Entry(image_id, self.image_path(image_id), None, dict(sorted(parts.items()))))
        return out

