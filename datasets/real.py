"""The shared base of the real label-map datasets (ADE20k, COCO-Stuff, CelebAMask-HQ, DeepFashion, GTA5, BDD100K).

A ``RealSplit`` is a list of ``Entry`` s (an image file, a label file or a way to build one, optional extras), found
by a reader that knows its dataset's on-disk layout. It reads lazily, remaps raw label values through a lookup table
(``remap``: uint8 [256] raw → class id, unmapped → ``IGNORE``) and records the sha256 of every file it reads in
``files`` (the provenance). ``layout_error`` is the one message every reader gives when files are missing or
mismatched: it names the folder it looked in and draws the layout it expected. ``PublishedPairs`` is what every
reader's ``published_pairs`` returns (a published test exemplar list checked against the files present).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from core import images
from core.errors import DataError
from core.hashing import file_sha256, settings_hash
from core.registry import Registry
from datasets.labelled import IGNORE, LabelledItem, LabelledSource, LabelSet


def identity_remap(n: int) -> np.ndarray:
    """uint8 [256]: ids ``0..n-1`` map to themselves, everything else to ``IGNORE``."""
    table = np.full(256, IGNORE, np.uint8)
    table[:n] = np.arange(n)
    return table


def remap_from(pairs: dict[int, int]) -> np.ndarray:
    """uint8 [256] lookup table from ``{raw value: class id}``; unlisted values → ``IGNORE``."""
    table = np.full(256, IGNORE, np.uint8)
    for raw, cls in pairs.items():
        table[raw] = cls
    return table


ROOT_SETTING = "(`root=` in `bench data`, `data.root=` in `bench run`)"
"""Where a user sets a reader's root, said once for every hint that asks for another root."""


def download_command(dataset: str) -> str:
    """The command that runs ``RealDataset.download`` for ``dataset`` (``bench data download``)."""
    return f"`python -m bench data download source={dataset} [root=DIR]`"


def layout_error(dataset: str, root: Path, expected: str, problem: str, hint: str | None = None) -> DataError:
    """``DataError``: ``problem`` in ``root``, with the ``expected`` layout (a small tree, one entry a line)."""
    tree = "\n".join(f"      {line}" for line in expected.strip("\n").splitlines())
    return DataError(f"{dataset}: {problem} in {root}; expected the layout\n{tree}",
                     hint=hint or f"point the root at the folder that holds this layout for {dataset} {ROOT_SETTING}")


@dataclass
class PublishedPairs:
    """A published test pair list (CoCosNet's ``*_ref_test.txt``) checked against the files present; every reader's
    ``published_pairs`` returns one.

    ``pairs``: (input, exemplar) names, one per listed input, the exemplar the official test uses (names as the
    reader's item names); ``missing``: listed names with no item here (sorted; not an error, a partial copy still
    runs on what it has); ``source``: the list file read; ``extra``: dataset-specific details (ADE20k:
    ``resolved``, ``rows``; DeepFashion: ``ref_test``, ``self_pairs``, ``lists``).
    """

    pairs: list[tuple[str, str]]
    missing: list[str]
    source: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def present_pairs(self) -> list[tuple[str, str]]:
        """The ``pairs`` whose input and exemplar are both present."""
        absent = set(self.missing)
        return [(a, b) for a, b in self.pairs if a not in absent and b not in absent]


def read_rgb(path: Path) -> np.ndarray:
    """uint8 [H,W,3] RGB of an image file, by the project's one image reader (``core.images.read_rgb``: palette /
    grey converted, 16-bit rescaled, transparency composited on white). Label maps are read by ``read_raw_label``."""
    return images.read_rgb(path)


def read_raw_label(path: Path) -> np.ndarray:
    """uint8 [H,W] raw values of a label PNG (palette indices for P-mode files, not colours)."""
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "I", "I;16"):
            raise DataError(f"{path} is a {im.mode} image, not a single-channel label map",
                            hint="label maps must be 8-bit grey or palette PNGs holding class ids")
        return np.asarray(im).astype(np.uint8) if im.mode in ("L", "P") else np.asarray(im).clip(0, 255).astype(
            np.uint8)


@dataclass
class Entry:
    """One item on disk: ``name`` (a stable id), the ``image`` path, the ``label`` path (or ``None`` when
    ``RealSplit.build_label`` makes it), and reader-specific ``extra`` (paths or values)."""

    name: str
    image: Path
    label: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RealSplit(LabelledSource):
    """A split of a real dataset: ``entries`` read lazily, labels remapped through ``remap``.

    Subclasses may override ``build_label`` (labels not stored as one PNG, e.g. CelebAMask-HQ's per-part masks) and
    ``extras`` (keypoints, instance maps). ``root`` is the dataset folder; paths in ``files`` are relative to it.
    """

    kind = "real"

    def __init__(self, name: str, split: str, root: Path, entries: Sequence[Entry], labels: LabelSet,
                 remap: np.ndarray | None = None, settings: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.name, self.split, self.root, self.entries, self.labels = name, split, Path(root), list(entries), labels
        self.remap = identity_remap(len(labels)) if remap is None else remap
        self.settings = dict(settings or {})

    def __len__(self) -> int:
        return len(self.entries)

    def _hash(self, path: Path) -> None:
        key = str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)
        if key not in self.files:
            self.files[key] = file_sha256(path)

    def read(self, path: Path, reader: Callable[[Path], np.ndarray]) -> np.ndarray:
        """``reader(path)``, recording the file's sha256; a missing/unreadable file raises ``DataError``."""
        try:
            out = reader(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.name}: cannot read {path}: {exc}",
                            hint="check the file (a partial download?) or re-extract the dataset") from None
        self._hash(path)
        return out

    def build_label(self, entry: Entry) -> np.ndarray:
        """uint8 [H,W] class ids of ``entry`` (default: its label PNG through ``remap``)."""
        if entry.label is None:
            raise NotImplementedError(f"{type(self).__name__} has entries without label files")
        return self.remap[self.read(entry.label, read_raw_label)]

    def extras(self, entry: Entry, item: LabelledItem) -> None:
        """Fill instance maps / keypoints / ``extra`` of ``item`` (default: nothing)."""

    def item(self, index: int) -> LabelledItem:
        entry = self.entries[index]
        image = self.read(entry.image, read_rgb)
        label = self.build_label(entry)
        if label.shape != image.shape[:2]:
            raise DataError(f"{self.name}: {entry.label or entry.name} is {label.shape[1]}×{label.shape[0]} but its "
                            f"image {entry.image.name} is {image.shape[1]}×{image.shape[0]}",
                            hint="the label maps must be the ones published with these images")
        item = LabelledItem(entry.name, image, label)
        self.extras(entry, item)
        return item

    def fingerprint(self) -> str:
        """Hash of the settings and the sha256 of every file of the split (reads them all once)."""
        for entry in self.entries:
            for path in (entry.image, entry.label, *[p for p in entry.extra.values() if isinstance(p, Path)]):
                if path is not None:
                    self._hash(path)
        return settings_hash({"source": self.name, "split": self.split, "settings": self.settings,
                              "files": dict(sorted(self.files.items()))}, length=16)

    def description(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        where = f" [{settings}]" if settings else ""
        return f"{self.name} {self.split}{where}: {len(self)} items from {self.root} (real data)"


class RealDataset:
    """A real dataset as users have it on disk: its layout, how to obtain it, and its splits.

    Subclasses set (class attributes) ``layout`` (the expected tree, shown in every layout error), ``obtain`` (how to
    get it: the public URL, or the steps past a licence form), ``remotes`` (public files ``download`` fetches, empty
    when a form stands in the way), ``split_names`` and ``labels``; they implement ``entries(split)`` (raising
    ``layout_error`` when files are missing or mismatched) and may override ``make_split``. Register with
    ``REAL_DATASETS.register(name)``. ``root`` defaults to ``data_cache() / name``; ``settings`` are reader options
    (e.g. a subset filter), checked against ``DEFAULTS`` / ``CHOICES`` / ``RANGES`` (``real_files.checked_settings``:
    ``DataError`` for an unknown setting, a wrong type or a value out of range) and go into every fingerprint.
    """

    registry_name: str
    DEFAULTS: ClassVar[dict[str, Any]] = {}  # reader settings and their defaults (types checked: checked_settings)
    CHOICES: ClassVar[dict[str, Any]] = {}  # setting → the values it may take
    RANGES: ClassVar[dict[str, tuple[float, float]]] = {}  # numeric setting → (low, high), inclusive
    layout: str = ""
    obtain: str = ""
    remotes: tuple = ()
    split_names: tuple[str, ...] = ("train", "val")
    labels: LabelSet
    split_class: type[RealSplit] = RealSplit

    def __init__(self, root: str | Path | None = None, **settings: Any) -> None:
        from datasets.download import data_cache
        from datasets.real_files import checked_settings  # here: real_files imports this module

        self.root = Path(root).expanduser() if root is not None else data_cache() / self.registry_name
        self.settings = checked_settings(self.registry_name, self.DEFAULTS, settings, self.CHOICES, self.RANGES)
        self._probing = False  # set while looking for the layout in folders around root (no nested search)

    def error(self, problem: str, hint: str | None = None) -> DataError:
        """The layout ``DataError`` for ``problem``; "<root> does not exist" when the root folder is missing, and a
        "did you mean root=...?" fix when the layout is one folder above or below ``root``."""
        if not self.root.is_dir():
            return DataError(f"{self.registry_name}: {self.root.resolve()} does not exist",
                             hint=f"point the root at the {self.registry_name} folder {ROOT_SETTING}; to obtain it: "
                                  f"{self.obtain}")
        guess = self.guess_root()
        if guess is not None:
            hint = f"did you mean root={guess}? It holds the {self.registry_name} layout {ROOT_SETTING}"
        return layout_error(self.registry_name, self.root, self.layout, problem, hint or (
            f"point the root at the folder holding it {ROOT_SETTING}; to obtain it: {self.obtain}"))

    def guess_root(self) -> Path | None:
        """An immediate sub-folder or the parent of ``root`` holding this layout when ``root`` does not (a root one
        level too high or too low), else ``None``."""
        if self._probing or not self.root.is_dir():
            return None
        self._probing = True
        try:
            if self.present():
                return None
            subs = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))[:64]
            for candidate in (*subs, self.root.resolve().parent):
                other = type(self)(candidate, **self.settings)
                other._probing = True
                if other.present():
                    return candidate.resolve()
            return None
        finally:
            self._probing = False

    def split_list(self, split: str) -> Path:
        """``root/<split>.txt`` (a published split list); the layout ``DataError`` naming the lists that are present
        (and the split to use instead) when it is absent."""
        listing = self.root / f"{split}.txt"
        if listing.is_file():
            return listing
        others = [s for s in self.split_names if s != split and (self.root / f"{s}.txt").is_file()]
        if others:
            raise self.error(f"no {listing.name} ({', '.join(f'{s}.txt' for s in others)} "
                             f"{'is' if len(others) == 1 else 'are'} present: use split={others[0]})",
                             hint=f"use split={others[0]}, or put the published {listing.name} in {self.root}")
        raise self.error(f"no {listing.name}")

    def entries(self, split: str) -> list[Entry]:
        raise NotImplementedError

    def present(self) -> bool:
        """Whether ``root`` holds this layout (at least one split with entries)."""
        return self._any_split(self.entries)

    def _any_split(self, lister: Callable[[str], list[Entry]]) -> bool:
        probing, self._probing = self._probing, True  # the errors are swallowed: no search for a better root
        try:
            for split in self.split_names:  # one split missing (e.g. no train.txt beside samples) is not "absent"
                try:
                    if lister(split):
                        return True
                except DataError:
                    continue
            return False
        finally:
            self._probing = probing

    def remap(self) -> np.ndarray | None:
        """uint8 [256] raw → class id table (``None``: identity over ``labels``)."""
        return None

    def make_split(self, split: str) -> RealSplit:
        if split not in self.split_names:
            raise DataError(f"{self.registry_name} has no split {split!r}", hint=f"use one of {list(self.split_names)}")
        if not self.root.is_dir():
            raise self.error("the folder does not exist")
        entries = self.entries(split)
        if not entries:
            raise self.error(f"no {split} items")
        return self.split_class(self.registry_name, split, self.root, entries, self.labels, self.remap(),
                                self.settings)

    def download(self) -> None:
        """Fetch and unpack the public files into ``root``; ``DataError`` with the steps where none are public."""
        from datasets.download import extract, fetch

        if not self.remotes:
            raise DataError(f"{self.registry_name} cannot be downloaded automatically",
                            hint=f"{self.obtain}; then point the root at it {ROOT_SETTING}")
        for remote in self.remotes:
            archive = fetch(remote, self.root.parent / "downloads")
            if archive.suffix in (".zip", ".tar", ".gz", ".tgz"):
                extract(archive, self.root / archive.name.split(".")[0])


class SubsetDataset(RealDataset):
    """A ``RealDataset`` whose reader lists every item of a split (``all_entries``) and a subset rule keeps some
    (``select``, e.g. ADE20k-outdoor, COCO-Stuff's MSCA filter). A rule may read every label map, so its result is
    kept per split; ``present`` only lists files and never runs the rule. ``rule_setting`` names the setting that
    picks the rule (used in the message when a rule keeps nothing)."""

    rule_setting: str = ""

    def __init__(self, root: str | Path | None = None, **settings: Any) -> None:
        super().__init__(root, **settings)
        self._selected: dict[str, list[Entry]] = {}

    def all_entries(self, split: str) -> list[Entry]:
        raise NotImplementedError

    def select(self, split: str, entries: list[Entry]) -> list[Entry]:
        """The entries of ``split`` the subset keeps (default: all)."""
        return entries

    def entries(self, split: str) -> list[Entry]:
        """The entries the subset keeps; ``DataError`` when there are items but the rule kept none of them."""
        if split not in self._selected:
            every = self.all_entries(split)
            self._selected[split] = self.select(split, every)
            if every and not self._selected[split]:
                self._selected.pop(split)
                rule = self.settings.get(self.rule_setting, type(self).__name__)
                shown = ", ".join(f"{k}={','.join(v) if isinstance(v, tuple) else v}"
                                  for k, v in sorted(self.settings.items()) if k != self.rule_setting)
                raise DataError(f"{self.registry_name}: the subset rule {rule} kept none of the {len(every)} {split} "
                                f"items (settings {shown or 'none'})",
                                hint="loosen the subset settings (reader.<setting>=...), or use another split or "
                                     "rule")
        return self._selected[split]

    def present(self) -> bool:
        return self._any_split(self.all_entries)


REAL_DATASETS: Registry = Registry("real dataset", package="datasets")
