"""pix2pix's edges2shoes and edges2handbags (Isola et al. 2017), as extracted from the official archives.

Layout (``data.root``)::

    <root>/train/<n>_AB.jpg    256×512 jpg: left half = A (HED edges, black on white), right half = B (photo)
    <root>/val/<n>_AB.jpg      the 200 test pairs every paper evaluates on
    <root>/masks/<split>/<n>_AB.png   optional foreground masks (any 8-bit image; ≥128 = foreground)

Foreground masks (SEGIN's multi-task target, §III-B2, §IV): SEGIN used TextureGAN's segmentations of these photos.
Those were never released in the pix2pix naming, so a user who has them puts one mask per pair under ``masks/``
named after the pair (``masks/train/1_AB.png`` for ``train/1_AB.jpg``). For every pair without a mask file the mask
is derived from the near-white product background (``foreground_mask``, rule below); the data provenance says which
(``files``, ``derived`` or ``mixed``).

Download (``download_pix2pix``; needs internet): the official archives from efrosgans.eecs.berkeley.edu, checked
against the md5 recorded below, extracted safely. Without internet it fails at once with a message that says where
to put the extracted folder.
"""

from __future__ import annotations

import hashlib
import tarfile
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from core.errors import DataError
from core.hashing import file_sha256, settings_hash
from core.images import read_rgb
from datasets import DATA_SOURCES
from datasets.paired import PairedArrays, PairedData, PairedSource

NATIVE_SIZE = 256


@dataclass(frozen=True)
class Archive:
    """An official pix2pix dataset archive. ``md5`` is the digest recorded for the archive by a third-party
    downloader (mlhub's pix2pix dataset table); it is checked after download. Counts and size are as published with
    the datasets; a count mismatch in a local copy is a warning, not an error."""

    name: str
    url: str
    md5: str
    approx_bytes: str
    train: int
    val: int
    photos: str


ARCHIVES = {
    "edges2shoes": Archive("edges2shoes", "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2shoes.tar.gz",
                           "71da478b54fedde126e234a2a050bc15", "about 2.0 GB", 49825, 200,
                           "UT Zappos50K shoes (Yu & Grauman 2014), HED edges"),
    "edges2handbags": Archive("edges2handbags",
                              "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2handbags.tar.gz",
                              "815592f22fa7f7534a286a25bb73bf03", "about 8.6 GB", 138567, 200,
                              "Amazon handbags from iGAN (Zhu et al. 2016), HED edges"),
}


# -- foreground masks --------------------------------------------------------------------------------------------
def foreground_mask(photo: np.ndarray, edges: np.ndarray | None = None, white: int = 235, hole_white: int = 250,
                    edge_dark: int = 128, open_iterations: int = 1) -> np.ndarray:
    """Foreground of a product photo on a near-white background: uint8 [H,W] in {0,1}.

    Rule (8-bit values):
    1. *near-white* pixels have all three channels ≥ ``white`` (235). When the edge map is given, its dark pixels
       (all channels < ``edge_dark``, dilated by one pixel) are barriers the background cannot flood across, so a
       white shoe whose outline is drawn stays foreground.
    2. Near-white regions (4-connected, barriers excluded) that touch the image border are background, and so are
       near-white barrier pixels within two pixels of it (the outline sits on the silhouette).
    3. Enclosed near-white regions are background too when they are studio white (median of the darkest channel
       ≥ ``hole_white``, 250), e.g. the hole of a handbag's handle; shaded white material (a white sole or lining)
       is darker than that and stays foreground.
    4. Everything else is foreground; a 3×3 binary opening (``open_iterations``) removes isolated JPEG specks.
    """
    if photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"expected an [H,W,3] photo, got {photo.shape}")
    darkest = photo.min(axis=-1)
    near_white = darkest >= white
    barrier = np.zeros_like(near_white)
    if edges is not None:
        barrier = ndimage.binary_dilation(edges.min(axis=-1) < edge_dark, iterations=1)
    flood = near_white & ~barrier
    labels, count = ndimage.label(flood)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background_ids = set(border[border > 0].tolist())
    if count:
        medians = ndimage.median(darkest, labels, index=np.arange(1, count + 1))
        background_ids |= {i + 1 for i, m in enumerate(np.atleast_1d(medians)) if m >= hole_white}
    background = np.isin(labels, sorted(background_ids)) & (labels > 0)
    # near-white outline pixels beside the background belong to it (the outline is drawn on the silhouette)
    background |= barrier & near_white & ndimage.binary_dilation(background, iterations=2)
    foreground = ~background
    if open_iterations:
        foreground = ndimage.binary_opening(foreground, structure=np.ones((3, 3), bool), iterations=open_iterations)
    return foreground.astype(np.uint8)


def foreground_masks(photos: np.ndarray, edges: np.ndarray | None = None, **kwargs: int) -> np.ndarray:
    """``foreground_mask`` over a batch: uint8 [N,H,W,3] photos (and edges) → uint8 [N,H,W]."""
    return np.stack([foreground_mask(p, None if edges is None else edges[i], **kwargs) for i, p in enumerate(photos)])


# -- folder reading ------------------------------------------------------------------------------------------------
def _resize(image: Image.Image, size: int, resample: Image.Resampling) -> Image.Image:
    return image if image.size == (size, size) else image.resize((size, size), resample)


class Pix2PixFolder(PairedSource):
    """One split of a pix2pix AB folder, decoded lazily and resized to ``size`` (bicubic; masks bilinear + 0.5)."""

    def __init__(self, root: str | Path, split: str, size: int = NATIVE_SIZE, limit: int | None = None,
                 masks_root: str | Path | None = None) -> None:
        super().__init__()
        self.root, self.split, self.size = Path(root).expanduser(), split, int(size)
        folder = self.root / split
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist: a pix2pix dataset folder has train/ and val/ sub-folders "
                            "of side-by-side AB jpgs",
                            hint="point data.root at the extracted edges2shoes (or edges2handbags) folder, or pass "
                                 "data.download=true with internet access")
        files = sorted((p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}),
                       key=_natural_key)
        if not files:
            raise DataError(f"no images in {folder}", hint="expected files like 1_AB.jpg (A|B side by side)")
        self.files = files[:limit] if limit else files
        masks = Path(masks_root).expanduser() if masks_root else self.root / "masks"
        self.mask_folder = masks / split
        self.mask_files = {p.stem: p for p in self.mask_folder.glob("*")} if self.mask_folder.is_dir() else {}

    def __len__(self) -> int:
        return len(self.files)

    @property
    def masks_from_files(self) -> int:
        return sum(p.stem in self.mask_files for p in self.files)

    def read_pair(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        path = self.files[index]
        image = Image.fromarray(read_rgb(path))  # 16-bit rescaled, transparency on white (core.images)
        width, height = image.size
        if width != 2 * height:
            raise DataError(f"{path} is {width}×{height}; a pix2pix AB image is twice as wide as high",
                            hint="each file must hold A (left) and B (right) side by side")
        a_img = image.crop((0, 0, height, height))
        b_img = image.crop((height, 0, width, height))
        mask_path = self.mask_files.get(path.stem)
        if mask_path is not None:
            with Image.open(mask_path) as m:
                mask_img = m.convert("L")
        else:
            derived = foreground_mask(np.asarray(b_img), np.asarray(a_img))
            mask_img = Image.fromarray(derived * 255)
        a = np.asarray(_resize(a_img, self.size, Image.Resampling.BICUBIC))
        b = np.asarray(_resize(b_img, self.size, Image.Resampling.BICUBIC))
        mask = (np.asarray(_resize(mask_img, self.size, Image.Resampling.BILINEAR)) >= 128).astype(np.uint8)
        return a, b, mask

    def _load(self, indices: np.ndarray) -> PairedArrays:
        n = len(indices)
        a = np.empty((n, self.size, self.size, 3), np.uint8)
        b = np.empty_like(a)
        mask = np.empty((n, self.size, self.size), np.uint8)
        for k, index in enumerate(indices):
            a[k], b[k], mask[k] = self.read_pair(int(index))
        return PairedArrays(a, b, mask)

    def digest(self, contents: bool) -> str:
        """sha256 over the files' contents (``contents``) or over their names and sizes (large splits)."""
        h = hashlib.sha256()
        for path in self.files:
            h.update(path.name.encode())
            h.update(file_sha256(path).encode() if contents else str(path.stat().st_size).encode())
        for stem in sorted(self.mask_files):
            h.update(f"mask:{stem}:{self.mask_files[stem].stat().st_size}".encode())
        return h.hexdigest()


def write_pix2pix(root: str | Path, split: str, a: np.ndarray, b: np.ndarray, masks: np.ndarray | None = None,
                  quality: int = 95) -> list[Path]:
    """Write uint8 [N,H,W,3] pairs as ``<root>/<split>/<i+1>_AB.jpg`` (A|B side by side), and masks, if given, as
    ``<root>/masks/<split>/<i+1>_AB.png``: e.g. to export ``edges2objects`` for tools that read the pix2pix layout."""
    folder = Path(root) / split
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (left, right) in enumerate(zip(a, b, strict=True)):
        path = folder / f"{i + 1}_AB.jpg"
        Image.fromarray(np.concatenate([left, right], axis=1)).save(path, quality=quality)
        paths.append(path)
        if masks is not None:
            (Path(root) / "masks" / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(masks[i].astype(np.uint8) * 255).save(Path(root) / "masks" / split / f"{i + 1}_AB.png")
    return paths


def _natural_key(path: Path) -> tuple[int, str]:
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return (int(digits) if digits else -1, path.name)


def download_pix2pix(name: str, root: str | Path, timeout: float = 20.0) -> Path:
    """Fetch and extract an official archive so that ``root`` holds train/ and val/ (needs internet)."""
    if name not in ARCHIVES:
        raise DataError(f"no pix2pix archive {name!r}; known: {', '.join(ARCHIVES)}")
    archive = ARCHIVES[name]
    root = Path(root).expanduser()
    if (root / "train").is_dir() and (root / "val").is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    target = root.parent / f"{name}.tar.gz"
    tmp = target.with_name(target.name + ".part")
    if not target.is_file():
        try:
            with urllib.request.urlopen(archive.url, timeout=timeout) as response, open(tmp, "wb") as out:
                while block := response.read(1 << 22):
                    out.write(block)
        except (OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            raise DataError(f"could not download {archive.url} ({archive.approx_bytes}): {exc}",
                            hint="download it on a machine with internet, extract it and point data.root at the "
                                 "folder holding train/ and val/ (or use the offline stand-in: "
                                 "data.source=edges2objects)") from exc
        tmp.replace(target)
    md5 = hashlib.md5()
    with open(target, "rb") as handle:
        while block := handle.read(1 << 22):
            md5.update(block)
    if md5.hexdigest() != archive.md5:
        raise DataError(f"{target} has md5 {md5.hexdigest()}, expected {archive.md5}",
                        hint="delete it and download again")
    with tarfile.open(target) as tar:
        tar.extractall(root.parent, filter="data")
    extracted = root.parent / name
    if extracted != root and extracted.is_dir() and not root.exists():
        extracted.rename(root)
    return root


def load_pix2pix(name: str, root: str | Path | None, size: int = NATIVE_SIZE, download: bool = False,
                 verify: bool = True, n_train: int | None = None, n_val: int | None = None,
                 masks_root: str | Path | None = None) -> PairedData:
    """A pix2pix edges2* folder as ``PairedData`` (source ``name``)."""
    if root is None:
        raise DataError(f"data.source={name} needs data.root=<folder with train/ and val/>",
                        hint=f"extract {ARCHIVES[name].url} and point data.root at it, pass data.download=true "
                             "(internet), or run offline on the stand-in: data.source=edges2objects")
    if download:
        download_pix2pix(name, root)
    train = Pix2PixFolder(root, "train", size, n_train, masks_root)
    val = Pix2PixFolder(root, "val", size, n_val, masks_root)
    archive = ARCHIVES[name]
    if verify and n_train is None and len(train) != archive.train:
        warnings.warn(f"{name}: {len(train)} train pairs in {root}, the official archive has {archive.train}",
                      stacklevel=2)
    if verify and n_val is None and len(val) != archive.val:
        warnings.warn(f"{name}: {len(val)} val pairs in {root}, the official archive has {archive.val}", stacklevel=2)
    files = {"val": val.digest(contents=True), "train (names and sizes)": train.digest(contents=False)}
    from_files = train.masks_from_files + val.masks_from_files
    total = len(train) + len(val)
    mask_source = "files" if from_files == total else "derived" if from_files == 0 else "mixed"
    fingerprint = settings_hash({"files": files, "size": size}, length=16)
    description = (f"{name} from {root}: {len(train)} train / {len(val)} val pairs at {size}×{size}; masks "
                   f"{mask_source} ({from_files} from files); photos: {archive.photos}")
    return PairedData(train, val, name, fingerprint, files, description, mask_source)


def _source(name: str) -> None:
    """Register pix2pix's ``name`` folder as a data source; ``seed`` is accepted (the protocols pass it to every
    source) and unused: the files fix the data."""

    def load(root: str | Path | None = None, download: bool = False, verify: bool = True, seed: int = 0,
             **kwargs: object) -> PairedData:
        return load_pix2pix(name, root, download=download, verify=verify, **kwargs)  # type: ignore[arg-type]

    DATA_SOURCES.register(name)(load)


for _name in ("edges2shoes", "edges2handbags"):
    _source(_name)
