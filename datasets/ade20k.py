"""ADE20k SceneParse150 (``ADEChallengeData2016``): the label set, CoCosNet's 151-channel one-hot, the reader of
both on-disk layouts (as downloaded, and CoCosNet's rearrangement), and CoCosNet's published test exemplar list.

Facts checked against the official files:
- Classes: ``objectInfo150`` of CSAILVision/sceneparsing (ids 1..150 in that order, Name column; our short name is
  its first synonym, ``ADE20K_FULL_NAMES`` keeps the full text); id 0 = "other" (pixels of none of the 150).
- Annotations: 8-bit PNGs ``annotations/{training,validation}/ADE_*.png`` holding those ids (20,210 train / 2,000
  val images); the public archive is ``ADEChallengeData2016.zip`` (``ADE20k.remotes``).
- CoCosNet (microsoft/CoCosNet ``data/ade20k_dataset.py``): ``label_nc=150``, ``contain_dontcare_label=True``; its
  README moves ``annotations/ADE_*.png`` into ``images/training|validation`` and points ``--dataroot`` at
  ``ADEChallengeData2016/images``; the split is chosen by ``_train_`` / ``_val_`` in the file name.
  ``data/pix2pix_dataset.py`` sets label value 255 to ``label_nc``, ``models/pix2pix_model.py preprocess_input``
  scatters the values into ``label_nc + 1 = 151`` channels (``cocosnet_one_hot``).
- The test exemplars: CoCosNet's ``data/ade20k_ref_test.txt``, one ``<val image>,<train exemplar>[,...]`` a line
  (``ADE20k.published_pairs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from core.errors import DataError
from datasets.download import Remote
from datasets.labelled import LabelSet
from datasets.real import REAL_DATASETS, Entry, PublishedPairs, SubsetDataset, download_command
from datasets.real_files import pair_by_stem, unpack

# objectInfo150 Name column, ids 1..150 (one class a line; synonyms as published).
ADE20K_FULL_NAMES: tuple[str, ...] = tuple(line.strip() for line in """
wall|building, edifice|sky|floor, flooring|tree|ceiling|road, route|bed|windowpane, window|grass|cabinet
sidewalk, pavement|person, individual, someone, somebody, mortal, soul|earth, ground|door, double door|table
mountain, mount|plant, flora, plant life|curtain, drape, drapery, mantle, pall|chair
car, auto, automobile, machine, motorcar|water|painting, picture|sofa, couch, lounge|shelf|house|sea|mirror
rug, carpet, carpeting|field|armchair|seat|fence, fencing|desk|rock, stone|wardrobe, closet, press|lamp
bathtub, bathing tub, bath, tub|railing, rail|cushion|base, pedestal, stand|box|column, pillar|signboard, sign
chest of drawers, chest, bureau, dresser|counter|sand|sink|skyscraper|fireplace, hearth, open fireplace
refrigerator, icebox|grandstand, covered stand|path|stairs, steps|runway|case, display case, showcase, vitrine
pool table, billiard table, snooker table|pillow|screen door, screen|stairway, staircase|river|bridge, span
bookcase|blind, screen|coffee table, cocktail table|toilet, can, commode, crapper, pot, potty, stool, throne
flower|book|hill|bench|countertop|stove, kitchen stove, range, kitchen range, cooking stove|palm, palm tree
kitchen island|computer, computing machine, computing device, data processor, electronic computer, information \
processing system|swivel chair|boat|bar|arcade machine|hovel, hut, hutch, shack, shanty
bus, autobus, coach, charabanc, double-decker, jitney, motorbus, motorcoach, omnibus, passenger vehicle|towel
light, light source|truck, motortruck|tower|chandelier, pendant, pendent|awning, sunshade, sunblind
streetlight, street lamp|booth, cubicle, stall, kiosk
television, television receiver, television set, tv, tv set, idiot box, boob tube, telly, goggle box
airplane, aeroplane, plane|dirt track|apparel, wearing apparel, dress, clothes|pole|land, ground, soil
bannister, banister, balustrade, balusters, handrail|escalator, moving staircase, moving stairway
ottoman, pouf, pouffe, puff, hassock|bottle|buffet, counter, sideboard
poster, posting, placard, notice, bill, card|stage|van|ship|fountain
conveyer belt, conveyor belt, conveyer, conveyor, transporter|canopy|washer, automatic washer, washing machine
plaything, toy|swimming pool, swimming bath, natatorium|stool|barrel, cask|basket, handbasket|waterfall, falls
tent, collapsible shelter|bag|minibike, motorbike|cradle|oven|ball|food, solid food|step, stair
tank, storage tank|trade name, brand name, brand, marque|microwave, microwave oven|pot, flowerpot
animal, animate being, beast, brute, creature, fauna|bicycle, bike, wheel, cycle|lake
dishwasher, dish washer, dishwashing machine|screen, silver screen, projection screen|blanket, cover|sculpture
hood, exhaust hood|sconce|vase|traffic light, traffic signal, stoplight|tray
ashcan, trash can, garbage can, wastebin, ash bin, ash-bin, ashbin, dustbin, trash barrel, trash bin|fan
pier, wharf, wharfage, dock|crt screen|plate|monitor, monitoring device|bulletin board, notice board|shower
radiator|glass, drinking glass|clock|flag
""".replace("\n", "|").split("|") if line.strip())

ADE20K_LABELS = LabelSet("ade20k", ("other", *(name.split(",")[0].strip() for name in ADE20K_FULL_NAMES)))
"""151 classes: 0 = other, 1..150 = objectInfo150 (short names); ignore 255 (absent from the published maps)."""

COCOSNET_LABEL_NC = 150  # CoCosNet's label_nc for ADE20k; with the don't-care channel: 151 channels


def cocosnet_one_hot(label: np.ndarray, label_nc: int = COCOSNET_LABEL_NC) -> np.ndarray:
    """float32 [label_nc+1, H, W]: CoCosNet's one-hot input of an ADE20k label map (uint8 [H,W], values 0..150 or 255).

    As ``pix2pix_dataset.get_label_tensor`` + ``pix2pix_model.preprocess_input`` build it: channel ``v`` for value
    ``v`` (0 = other is channel 0, not dropped), and the don't-care value 255 goes to channel ``label_nc`` = 150,
    which it shares with class 150 ("flag") — a quirk of the official code we keep (ADE maps hold no 255 anyway).
    Raises ``ValueError`` for values in ``label_nc+1 .. 254``.
    """
    label = np.asarray(label)
    ids = np.where(label == 255, label_nc, label).astype(np.int64)
    if ids.max(initial=0) > label_nc:
        raise ValueError(f"label values {sorted(set(np.unique(ids[ids > label_nc]).tolist()))[:10]} exceed "
                         f"label_nc={label_nc} (CoCosNet's ADE20k one-hot takes 0..{label_nc} and 255)")
    out = np.empty((label_nc + 1, ids.size), np.float32)
    out.fill(0.0)  # eager fill: lazily zeroed pages of np.zeros fault in one by one during the scatter (~5× slower)
    out[ids.ravel(), np.arange(ids.size)] = 1.0  # scatter, as the official code does (a compare is ~10× slower)
    return out.reshape(label_nc + 1, *ids.shape)


@dataclass(frozen=True)
class PublishedPair:
    """One line of ``ade20k_ref_test.txt``: a validation image and its exemplars (training images), as file stems."""

    input: str
    exemplars: tuple[str, ...]


def read_pair_list(path: Path) -> list[PublishedPair]:
    """Parse a CoCosNet ``*_ref*.txt`` list (comma-separated file names, first = input); ``DataError`` when absent."""
    if not path.is_file():
        raise DataError(f"no exemplar list at {path}",
                        hint="download ade20k_ref_test.txt (CoCosNet README, 'Retrieval_pairs') and pass its path")
    pairs = []
    for line in path.read_text().splitlines():
        names = [Path(n.strip().replace("\\", "/")).stem for n in line.split(",") if n.strip()]
        if len(names) >= 2:
            pairs.append(PublishedPair(names[0], tuple(names[1:])))
    return pairs


ADE20K_URL = "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip"


def obtain_text(dataset: str) -> str:
    """How to get ADEChallengeData2016 for reader ``dataset`` (``ade20k`` or ``ade20k_outdoor``)."""
    return f"download {ADE20K_URL} (public) and unzip it, or run {download_command(dataset)}"


@REAL_DATASETS.register("ade20k")
class ADE20k(SubsetDataset):
    """ADE20k SceneParse150: splits ``train`` (``training``, 20,210) and ``val`` (``validation``, 2,000).

    ``root`` is ``ADEChallengeData2016`` as unpacked, or CoCosNet's ``ADEChallengeData2016/images`` with the
    annotations moved beside the images (either is detected). Items: ``image`` uint8 [H,W,3] (sizes vary, ~683×512),
    ``label`` uint8 [H,W] ids 0..150 of ``ADE20K_LABELS``; names are file stems (``ADE_val_00001232``).
    Raises ``DataError`` naming the expected layout when neither layout is found or images and maps do not pair up.
    """

    layout = """
ADEChallengeData2016/                    (root: the unpacked ADEChallengeData2016.zip)
  images/training/ADE_train_*.jpg
  images/validation/ADE_val_*.jpg
  annotations/training/ADE_train_*.png   (8-bit class ids 0..150, 0 = other)
  annotations/validation/ADE_val_*.png
  sceneCategories.txt                    (image → scene category; used by ade20k_outdoor)
or CoCosNet's rearrangement (root = ADEChallengeData2016/images):
  training/ADE_train_*.jpg  + ADE_train_*.png beside them
  validation/ADE_val_*.jpg  + ADE_val_*.png beside them
"""
    obtain = obtain_text("ade20k")
    remotes = (Remote(ADE20K_URL),)
    labels = ADE20K_LABELS
    FOLDERS: ClassVar[dict[str, tuple[str, str]]] = {"train": ("training", "_train_"), "val": ("validation", "_val_")}

    def _folders(self, split: str) -> tuple[Path, Path]:
        """(image folder, label folder) of ``split`` in whichever layout ``root`` holds."""
        sub, tag = self.FOLDERS[split]
        candidates = [(self.root / "images" / sub, self.root / "annotations" / sub),  # as downloaded
                      (self.root / "images" / sub, self.root / "images" / sub),  # CoCosNet, root one level up
                      (self.root / sub, self.root / sub)]  # CoCosNet, root = .../images
        for images, labels in candidates:
            if images.is_dir() and labels.is_dir() and any(labels.glob(f"ADE{tag}*.png")):
                return images, labels
        raise self.error(f"no {sub} images with their ADE{tag}*.png annotations")

    def all_entries(self, split: str) -> list[Entry]:
        """Every image/annotation pair of ``split`` (before any subset selection)."""
        images, labels = self._folders(split)
        tag = self.FOLDERS[split][1]
        return pair_by_stem(sorted(images.glob(f"ADE{tag}*.jpg")), sorted(labels.glob(f"ADE{tag}*.png")),
                            self.FOLDERS[split][0], self.error)

    def select(self, split: str, entries: list[Entry]) -> list[Entry]:
        """The entries of the split this dataset uses (all; subsets override)."""
        return entries

    def scene_file(self) -> Path | None:
        """``sceneCategories.txt`` beside the layout (in ``root``, or its parent for CoCosNet's ``images`` root)."""
        for folder in (self.root, self.root.parent):
            if (folder / "sceneCategories.txt").is_file():
                return folder / "sceneCategories.txt"
        return None

    def published_pairs(self, list_file: str | Path | None = None) -> PublishedPairs:
        """CoCosNet's test exemplar pairs (val input → train exemplar), checked against the files present.

        ``list_file`` defaults to ``ade20k_ref_test.txt`` in ``root``, ``root/lists`` or beside ``root``. ``pairs``:
        (val stem, first exemplar stem), the exemplar CoCosNet tests with; listed stems that are absent go to
        ``missing`` (not an error: a partial copy still runs on what it has). ``extra["rows"]``: every line as a
        ``PublishedPair`` (all exemplars); ``extra["resolved"]``: ``(val index, train index)`` of the first
        exemplar, into ``make_split("val")`` / ``make_split("train")``, for the pairs with both present.
        Raises ``DataError`` when the list itself is not found.
        """
        if list_file is None:
            found = [p for p in (self.root / "ade20k_ref_test.txt", self.root / "lists" / "ade20k_ref_test.txt",
                                 self.root.parent / "lists" / "ade20k_ref_test.txt") if p.is_file()]
            list_file = found[0] if found else self.root / "ade20k_ref_test.txt"
        pairs = read_pair_list(Path(list_file))
        index = {split: {e.name: i for i, e in enumerate(self.entries(split))} for split in ("val", "train")}
        listed = {p.input for p in pairs} | {e for p in pairs for e in p.exemplars}
        present = set(index["val"]) | set(index["train"])
        resolved = [(index["val"][p.input], index["train"][p.exemplars[0]]) for p in pairs
                    if p.input in index["val"] and p.exemplars[0] in index["train"]]
        return PublishedPairs([(p.input, p.exemplars[0]) for p in pairs], sorted(listed - present), Path(list_file),
                              {"rows": pairs, "resolved": resolved})

    def download(self) -> None:
        """Fetch ``ADEChallengeData2016.zip`` into the data cache and unpack it into ``root`` (the official layout)."""
        from datasets.download import fetch

        for remote in self.remotes:
            unpack(fetch(remote, self.root.parent / "downloads"), self.root, strip="ADEChallengeData2016")
