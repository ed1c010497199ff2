"""Digit sources for the MNIST protocols.

- ``mnist``: the IDX files in ``data.root`` (canonical names, gz or raw). Checksums are compared with the official
  files; the train-image file rebuilt from a PNG copy (``train-images-idx3-ubyte-rebuilt.gz``, as in
  ``../shared/data/mnist``) is accepted and makes the data source ``mnist-train-rebuilt``. ``download_mnist`` fetches
  the official files for users with internet.
- ``digits``: scikit-learn's bundled 8×8 digits (1,797 images, works offline), upsampled to a 20×20 box centred in
  28×28 like MNIST; a deterministic split (every fifth image is test).
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.hashing import file_sha256
from datasets import DATA_SOURCES
from datasets.idx import read_idx

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
# sha256 of the official .gz files
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
REBUILT_TRAIN = ("train-images-idx3-ubyte-rebuilt.gz",
                 "bec7c817266cec5355717ac3000f9cf4762ae68539c6767e49d02c0ed9eb0d9d")


@dataclass
class DigitSplits:
    """uint8 [N,28,28] digit images and int64 labels for train and test, with provenance."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    files: dict[str, str]


def _find(root: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    return None


def _missing_error(root: Path, missing: list[str]) -> DataError:
    names = ", ".join(f"{MNIST_FILES[k][0]}.gz" for k in missing)
    return DataError(
        f"MNIST files missing in {root}: {names}",
        hint=f"pass data.download=true to fetch them from {MIRRORS[0]} (checksums verified), point data.root at a "
        "folder that has them (e.g. ../shared/data/mnist), or use the offline set with data.source=digits",
    )


@DATA_SOURCES.register("mnist")
def load_mnist(root: str | Path, download: bool = False, verify: bool = True) -> DigitSplits:
    root = Path(root).expanduser()
    if download:
        download_mnist(root)
    paths: dict[str, Path] = {}
    missing = []
    for key, (stem, _) in MNIST_FILES.items():
        path = _find(root, stem)
        if path is None and key == "train_images" and (root / REBUILT_TRAIN[0]).is_file():
            path = root / REBUILT_TRAIN[0]
        if path is None:
            missing.append(key)
        else:
            paths[key] = path
    if missing:
        raise _missing_error(root, missing)
    files = {}
    source = "mnist"
    for key, path in paths.items():
        digest = file_sha256(path)
        files[path.name] = digest
        if path.name == REBUILT_TRAIN[0]:
            if verify and digest != REBUILT_TRAIN[1]:
                raise DataError(f"{path} has sha256 {digest}, not the rebuilt file's {REBUILT_TRAIN[1]}")
            source = "mnist-train-rebuilt"
        elif verify and path.suffix == ".gz" and digest != MNIST_FILES[key][1]:
            raise DataError(f"{path} has sha256 {digest}, but the official file has {MNIST_FILES[key][1]}",
                            hint="delete it and pass data.download=true, or pass data.verify=false to use it anyway "
                                 "(the run then records the file's own checksum)")
    train_images, test_images = read_idx(paths["train_images"], 2051), read_idx(paths["test_images"], 2051)
    train_labels, test_labels = read_idx(paths["train_labels"], 2049), read_idx(paths["test_labels"], 2049)
    for split, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if images.shape[0] != labels.shape[0]:
            raise DataError(f"MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels in {root}")
        if images.shape[1:] != (28, 28):
            raise DataError(f"MNIST {split} images are {images.shape[1:]}, expected 28×28")
    return DigitSplits(train_images, train_labels.astype(np.int64), test_images, test_labels.astype(np.int64),
                       source, files)


def download_mnist(root: str | Path) -> list[Path]:
    """Fetch the official MNIST .gz files into ``root``, trying each mirror, verifying sha256 (needs internet)."""
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    fetched = []
    for stem, sha in MNIST_FILES.values():
        target = root / f"{stem}.gz"
        if target.is_file() and file_sha256(target) == sha:
            continue
        errors = []
        for mirror in MIRRORS:
            tmp = target.with_suffix(".gz.part")
            try:
                urllib.request.urlretrieve(mirror + target.name, tmp)
            except OSError as exc:
                errors.append(f"{mirror}: {exc}")
                tmp.unlink(missing_ok=True)
                continue
            if file_sha256(tmp) != sha:
                errors.append(f"{mirror}: checksum mismatch")
                tmp.unlink(missing_ok=True)
                continue
            tmp.replace(target)
            fetched.append(target)
            break
        else:
            raise DataError(f"could not download {target.name}: {'; '.join(errors)}",
                            hint="without internet, use data.source=digits or copy the files into data.root")
    return fetched


@DATA_SOURCES.register("digits")
def load_digits(root: str | Path | None = None, download: bool = False, verify: bool = True) -> DigitSplits:
    """scikit-learn's offline digits, made MNIST-like (28×28 uint8, digit in a centred 20×20 box)."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    box = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)[:, 0]
    images = np.zeros((len(box), 28, 28), dtype=np.uint8)
    images[:, 4:24, 4:24] = np.clip(np.round(box.numpy() * 255), 0, 255).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    test = np.arange(len(images)) % 5 == 0
    return DigitSplits(images[~test], labels[~test], images[test], labels[test], "digits",
                       {"sklearn.datasets.load_digits": "bundled with scikit-learn"})


DIGIT_SOURCES = ("digits", "mnist")


def load_digit_source(data_cfg: dict, protocol: str) -> DigitSplits:
    """The digit splits a protocol's ``data`` config asks for: ``mnist`` when ``data.root`` is set (or
    ``data.source=mnist``), else the offline ``digits``."""
    source = data_cfg.get("source") or ("mnist" if data_cfg.get("root") else "digits")
    if source not in DIGIT_SOURCES:  # DATA_SOURCES also holds other protocols' sources (edges2objects, ...)
        raise DataError(f"unknown data source {source!r} for {protocol}",
                        hint="use data.source=digits (offline) or data.source=mnist with data.root=<folder>")
    if source == "mnist" and not data_cfg.get("root"):
        raise DataError("data.source=mnist needs data.root=<folder with the MNIST IDX files>",
                        hint="e.g. data.root=../shared/data/mnist, or add data.download=true")
    return DATA_SOURCES.get(source)(root=data_cfg.get("root"), download=bool(data_cfg.get("download", False)),
                                    verify=bool(data_cfg.get("verify", True)))
