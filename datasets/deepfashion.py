"""DeepFashion In-shop with OpenPose keypoints, as CoCosNet uses it (pose → person image).

Source: microsoft/CoCosNet ``data/deepfashion_dataset.py`` and README §"DeepFashion (pose-to-image)". The split lists
``train.txt`` / ``val.txt`` name one image a line as ``img\\<GENDER>\\<category>\\<id>\\<pose>.jpg`` (Windows
separators, as published); the keypoints of each image are OpenPose's ``pose/.../<pose>_candidate.txt`` and
``_subset.txt`` (``img`` → ``pose``, ``.jpg`` → ``_{candidate,subset}.txt``). The images are In-shop's low-resolution
256×256 ones (the keypoints are in their pixels). CoCosNet's test exemplars are ``deepfashion_ref_test.txt`` (an input
and its exemplar(s) a line) and, with ``--video_like``, the same-person lists ``deepfashion_self_pair.txt`` (an image
and the other poses of that person); ``DeepFashion.published_pairs`` reads both.

Labels: DeepFashion as CoCosNet uses it has no per-pixel labels (no parsing maps, no person masks), so every label
pixel is ``IGNORE`` and ``DEEPFASHION_LABELS`` declares no class; the conditioning input is the pose
(``item.keypoints`` and ``item.extra["pose"]``, see ``datasets.inputs.pose``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.errors import DataError
from datasets.inputs.pose import keypoints_from_openpose, pose_input
from datasets.labelled import IGNORE, LabelledItem, LabelSet
from datasets.real import REAL_DATASETS, Entry, PublishedPairs, RealDataset, RealSplit, layout_error, read_rgb

DEEPFASHION_LABELS = LabelSet("deepfashion (no per-pixel labels: every pixel IGNORE)", classes=())
REF_TEST, SELF_PAIR = "deepfashion_ref_test.txt", "deepfashion_self_pair.txt"


def list_path(line: str) -> str:
    """A published list entry as a relative POSIX path (``img\\WOMEN\\...`` → ``img/WOMEN/...``)."""
    return line.strip().replace("\\", "/")


def pose_paths(image: str) -> tuple[str, str]:
    """The ``(candidate, subset)`` keypoint files of image path ``img/.../<pose>.jpg`` (relative, POSIX)."""
    parts = image.split("/")
    if parts[0] == "img":  # only the leading folder: CoCosNet's str.replace would also hit 'img' inside names
        parts[0] = "pose"
    stem = "/".join(parts)[: -len(".jpg")]
    return f"{stem}_candidate.txt", f"{stem}_subset.txt"


def read_list(path: Path) -> list[list[str]]:
    """The comma-separated rows of a published list, each entry a relative POSIX path; blank lines skipped."""
    return [[list_path(x) for x in line.split(",")] for line in path.read_text().splitlines() if line.strip()]


class DeepFashionSplit(RealSplit):
    """A DeepFashion split: ``label`` uint8 [H,W], every pixel ``IGNORE``; ``keypoints`` float32 [18,3] from the
    OpenPose files; ``extra["pose"]`` float32 [20,H,W] in [0,1], CoCosNet's pose input
    (``datasets.inputs.pose.pose_input``)."""

    def item(self, index: int) -> LabelledItem:
        entry = self.entries[index]
        image = self.read(entry.image, read_rgb)
        item = LabelledItem(entry.name, image, np.full(image.shape[:2], IGNORE, np.uint8))
        self.extras(entry, item)
        return item

    def extras(self, entry: Entry, item: LabelledItem) -> None:
        candidate = self.read(entry.extra["candidate"], lambda p: np.loadtxt(p, ndmin=2))
        subset = self.read(entry.extra["subset"], lambda p: np.loadtxt(p, ndmin=2))
        try:
            keypoints = keypoints_from_openpose(candidate, subset)
        except ValueError as exc:
            raise self.error(f"{entry.extra['subset'].name}: {exc}") from None
        h, w = item.image.shape[:2]
        present = keypoints[:, 2] > 0
        if (keypoints[present, 0] > w).any() or (keypoints[present, 1] > h).any():
            raise self.error(f"keypoints of {entry.name} lie outside its {w}×{h} image",
                             hint="CoCosNet's keypoints belong to In-shop's low-resolution 256×256 images (img.zip), "
                                  "not to the high-resolution ones")
        item.keypoints = keypoints
        item.extra["pose"] = pose_input(keypoints, (h, w))

    def error(self, problem: str, hint: str | None = None) -> DataError:
        return layout_error(self.name, self.root, DeepFashion.layout, problem, hint)

    def index(self, name: str) -> int:
        """The item index of list path ``name`` (``img/...jpg``, either separator); ``KeyError`` if absent."""
        wanted = list_path(name)
        for i, entry in enumerate(self.entries):
            if entry.name == wanted:
                return i
        raise KeyError(f"{wanted} is not in the {self.split} split")


@REAL_DATASETS.register("deepfashion")
class DeepFashion(RealDataset):
    """DeepFashion In-shop (low-res 256×256) with CoCosNet's OpenPose keypoints and split / exemplar lists.

    Settings: ``lists`` (folder holding ``deepfashion_ref_test.txt`` / ``deepfashion_self_pair.txt``; default: the
    first of ``root``, ``root/lists``, ``root/../lists`` that has them). Splits: ``train`` (``train.txt``) and
    ``val`` (``val.txt``, CoCosNet's test phase). Raises ``DataError`` naming the layout on missing files.
    """

    layout = """
DeepFashion/
  train.txt, val.txt                      one image a line: img\\WOMEN\\Dresses\\id_00000244\\02_1_front.jpg
  img/<MEN|WOMEN>/<category>/<id>/<pose>.jpg                 In-shop low-res images (256×256)
  pose/<MEN|WOMEN>/<category>/<id>/<pose>_candidate.txt      OpenPose candidates: x y score id
  pose/<MEN|WOMEN>/<category>/<id>/<pose>_subset.txt         18 candidate indices (-1 missing), score, count
  deepfashion_ref_test.txt, deepfashion_self_pair.txt        (optional; or in lists/ beside DeepFashion/)
"""
    obtain = ("request DeepFashion In-shop through the form at http://mmlab.ie.cuhk.edu.hk/projects/DeepFashion.html "
              "and unzip img.zip (low-res); from microsoft/CoCosNet's README (DeepFashion section) download the "
              "OpenPose results (move pose/ into DeepFashion/), train.txt / val.txt, and deepfashion_ref_test.txt / "
              "deepfashion_self_pair.txt")
    split_names = ("train", "val")
    labels = DEEPFASHION_LABELS
    DEFAULTS: ClassVar[dict[str, Any]] = {"lists": None}  # None: searched (see list_folder)
    split_class = DeepFashionSplit

    def entries(self, split: str) -> list[Entry]:
        listing = self.split_list(split)
        out, missing = [], []
        for row in read_list(listing):
            name = row[0]
            image = self.root / name
            candidate, subset = (self.root / p for p in pose_paths(name))
            absent = [p for p in (image, candidate, subset) if not p.is_file()]
            if absent:
                missing.extend(str(p.relative_to(self.root)) for p in absent)
                continue
            out.append(Entry(name, image, None, {"candidate": candidate, "subset": subset}))
        if missing:
            raise self.error(f"{len(missing)} files named by {listing.name} are missing (first: {missing[0]})")
        return out

    def named_split(self, names: list[str], split: str = "val") -> DeepFashionSplit:
        """A split of the images ``names`` (list paths, either separator) that are present with their keypoint files,
        in that order; for published exemplars that no split list names (CoCosNet's test exemplars are training
        images). Absent ones are left out (``published_pairs`` reports them as ``missing``)."""
        entries = []
        for name in map(list_path, names):
            image = self.root / name
            candidate, subset = (self.root / p for p in pose_paths(name))
            if all(p.is_file() for p in (image, candidate, subset)):
                entries.append(Entry(name, image, None, {"candidate": candidate, "subset": subset}))
        return DeepFashionSplit(self.registry_name, split, self.root, entries, self.labels, self.remap(),
                                self.settings)

    def list_folder(self) -> Path:
        """The folder with the published pair lists; ``DataError`` when none has them."""
        given = self.settings.get("lists")
        candidates = [Path(given)] if given else [self.root, self.root / "lists", self.root.parent / "lists"]
        for folder in candidates:
            if (folder / REF_TEST).is_file():
                return folder
        raise self.error(f"no {REF_TEST} in {', '.join(str(c) for c in candidates)}",
                         hint="download CoCosNet's deepfashion_ref_test.txt and deepfashion_self_pair.txt (README, "
                              "DeepFashion 'Retrieval_pairs') into DeepFashion/, or pass reader.lists=<folder> "
                              "(`bench data`)")

    def published_pairs(self) -> PublishedPairs:
        """CoCosNet's test exemplar list and same-person pairs, each named image checked against the files present.

        ``pairs``: (input, exemplar) for every input of ``deepfashion_ref_test.txt``, the exemplar CoCosNet's
        ``--video_like`` test takes: the first same-person image when the input has self pairs, else its first
        ``ref_test`` exemplar. ``missing``: every image named in either list that is absent under ``root`` (or whose
        keypoint files are), sorted (not raised). ``extra``: ``ref_test`` (input → exemplars), ``self_pairs`` (image
        → the other poses of that person, from ``deepfashion_self_pair.txt``; empty without it) and ``lists`` (the
        files read). ``DataError`` when the ref list is not found or a row has fewer than two entries."""
        folder = self.list_folder()
        lists = {"ref_test": folder / REF_TEST}
        ref_test: dict[str, list[str]] = {}
        for row in read_list(lists["ref_test"]):
            if len(row) < 2:
                raise self.error(f"{REF_TEST}: the row {','.join(row)!r} has no exemplar")
            ref_test[row[0]] = row[1:]
        self_pairs: dict[str, list[str]] = {}
        if (folder / SELF_PAIR).is_file():
            lists["self_pairs"] = folder / SELF_PAIR
            self_pairs = {row[0]: row[1:] for row in read_list(lists["self_pairs"])}
        named = set(ref_test) | set(self_pairs)
        for rows in (*ref_test.values(), *self_pairs.values()):
            named |= set(rows)
        missing = sorted(p for p in named
                         if not all((self.root / q).is_file() for q in (p, *pose_paths(p))))
        pairs = [(image, (self_pairs.get(image) or refs)[0]) for image, refs in ref_test.items()]
        return PublishedPairs(pairs, missing, lists["ref_test"],
                              {"ref_test": ref_test, "self_pairs": self_pairs, "lists": lists})
