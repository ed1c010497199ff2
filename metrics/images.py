"""Reading folders of images for ``bench score``: RGB float [0,1] tensors, with errors that name the file and the fix.

Supported files: PNG, JPEG, BMP, WebP, TIFF (8- or 16-bit) and ``.npy`` arrays, decoded by the project's one image
reader, ``core.images.read_image`` (its docstring has the rules: 16-bit → /65535, transparency composited on white,
floats must lie in [0,1]). Label maps for the segmentation
score are single-channel PNGs of integer class ids (or ``.npy``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from core.errors import DataError
from core.images import ImageRead, read_image, transparency_warning

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".npy"}


def list_images(folder: str | Path, what: str = "images") -> dict[str, Path]:
    """``{stem: path}`` of the image files directly inside ``folder`` (sorted by name)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{what} folder {folder} does not exist or is not a folder",
                        hint="pass an existing folder, e.g. fake=outputs/ real=data/test/")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in found:
                raise DataError(f"{what} folder {folder} has two files named {path.stem!r} "
                                f"({found[path.stem].name} and {path.name})",
                                hint="keep one file per name: images are paired by file name without extension")
            found[path.stem] = path
    if not found:
        raise DataError(f"no images in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return found


class ReadLog:
    """What reading showed about the folders (``ImageRead.transparent``): one warning per folder, however many of
    its images have transparent pixels and however often they are read."""

    def __init__(self) -> None:
        self.transparent: dict[Path, dict[Path, int]] = {}

    def add(self, path: Path, read: ImageRead) -> None:
        if read.transparent:
            self.transparent.setdefault(path.parent, {})[path] = read.transparent

    def warnings(self) -> list[str]:
        """One ``transparency_warning`` per folder that held transparent pixels, in folder order."""
        return [transparency_warning(folder, len(files), sum(files.values()))
                for folder, files in sorted(self.transparent.items())]


def load_image(path: str | Path, log: ReadLog | None = None) -> torch.Tensor:
    """[3,H,W] float32 RGB in [0,1], read by ``core.images.read_image`` (16-bit rescaled, alpha composited on
    white; ``log`` records transparency for the folder's warning). Raises ``DataError`` naming the file."""
    path = Path(path)
    read = read_image(path)
    if log is not None:
        log.add(path, read)
    return torch.from_numpy(np.ascontiguousarray(read.pixels)).permute(2, 0, 1).contiguous()


def load_label_map(path: str | Path) -> torch.Tensor:
    """[H,W] int64 class ids from a single-channel PNG (8/16-bit) or an integer ``.npy``."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            with Image.open(path) as image:
                if image.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
                    raise DataError(f"{path}: label maps must be single-channel images of class ids, got mode "
                                    f"{image.mode}", hint="colour-coded layouts: convert with "
                                    "metrics.segmentation.labels_from_colours and a palette")
                array = np.asarray(image)
    except DataError:
        raise
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read label map {path}: {exc}") from exc
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"{path}: a label map must be an HxW integer array, got {array.dtype} {array.shape}")
    return torch.from_numpy(array.astype(np.int64))


def folder_fingerprint(paths: Sequence[Path], length: int = 24) -> str:
    """Content hash of files: names and bytes, in order (changes when any image changes)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "files-" + digest.hexdigest()[:length]


class FolderImages(Sequence[torch.Tensor]):
    """A re-iterable sequence of [B,3,H,W] batches read lazily from files, all of one size."""

    def __init__(self, paths: Sequence[Path], batch_size: int = 32, log: ReadLog | None = None) -> None:
        if not paths:
            raise DataError("no images to read")
        self.paths, self.batch_size, self.log = list(paths), batch_size, log
        self._size: tuple[int, int] | None = None
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return (len(self.paths) + self.batch_size - 1) // self.batch_size

    @property
    def count(self) -> int:
        return len(self.paths)

    def _check(self, image: torch.Tensor, path: Path) -> torch.Tensor:
        size = (int(image.shape[1]), int(image.shape[2]))
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise DataError(f"{path} is {size[0]}×{size[1]} but {self.paths[0].name} is "
                            f"{self._size[0]}×{self._size[1]}: a set must have one image size",
                            hint="resize the images to one size first (and record the resize filter)")
        return image

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        chunk = self.paths[index * self.batch_size:(index + 1) * self.batch_size]
        return torch.stack([self._check(load_image(p, self.log), p) for p in chunk])

    def __iter__(self) -> Iterator[torch.Tensor]:
        for i in range(len(self)):
            yield self[i]

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = folder_fingerprint(self.paths)
        return self._fingerprint


def pair_by_name(fake: dict[str, Path], reference: dict[str, Path], fake_dir: Path, reference_dir: Path,
                 what: str = "real") -> list[tuple[str, Path, Path]]:
    """Pairs of files with the same name (without extension); any unmatched name is an error."""
    only_fake = sorted(set(fake) - set(reference))
    only_ref = sorted(set(reference) - set(fake))
    if only_fake or only_ref:
        def sample(names: list[str]) -> str:
            return ", ".join(names[:5]) + (f" … ({len(names)} in all)" if len(names) > 5 else "")

        parts = []
        if only_fake:
            parts.append(f"{len(only_fake)} file(s) in {fake_dir} have no counterpart in {reference_dir}: "
                         f"{sample(only_fake)}")
        if only_ref:
            parts.append(f"{len(only_ref)} file(s) in {reference_dir} have no counterpart in {fake_dir}: "
                         f"{sample(only_ref)}")
        raise DataError("missing pairs: " + "; ".join(parts),
                        hint=f"paired metrics match fake and {what} images by file name without extension "
                             "(001.png ↔ 001.jpg); make both folders hold the same names")
    return [(name, fake[name], reference[name]) for name in sorted(fake)]
