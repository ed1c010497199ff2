"""Digit sources for the MNIST protocols.

- ``mnist``: the IDX files in ``data.root`` (canonical names, gz or raw). A .gz is checked against the official .gz
  checksum, an uncompressed file against the official file's decompressed checksum (known for all but the train
  images, whose official .gz was not available to compute it). The train-image file rebuilt from a PNG copy
  (``train-images-idx3-ubyte-rebuilt.gz``, as in ``../shared/data/mnist``, compressed or not, under either name) is
  recognised by content and makes the data source ``mnist-train-rebuilt``; files read with ``data.verify=false`` that
  match nothing add ``+unverified:<files>``. ``download_mnist`` fetches the official files for users with internet.
- ``digits``: scikit-learn's bundled 8×8 digits (1,797 images, works offline), upsampled to a 20×20 box centred in
  28×28 like MNIST; a deterministic split (every fifth image is test).
"""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.hashing import file_sha256
from datasets import DATA_SOURCES
from datasets.idx import parse_idx, read_idx_bytes

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
# sha256 of the official .gz files
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
# sha256 of the official files' decompressed IDX bytes, which is what an uncompressed file is checked against. Computed
# by gunzipping the official .gz files in ../shared/data/mnist (their .gz digests match MNIST_FILES). The official
# train-images .gz could not be had offline, so its decompressed digest is unknown here: an uncompressed train-images
# file cannot be verified (the .gz can, by MNIST_FILES).
MNIST_RAW_SHA256: dict[str, str | None] = {
    "train_images": None,
    "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# (file name, sha256 of the .gz, sha256 of its decompressed bytes): train images rebuilt from a PNG copy
REBUILT_TRAIN = ("train-images-idx3-ubyte-rebuilt.gz",
                 "bec7c817266cec5355717ac3000f9cf4762ae68539c6767e49d02c0ed9eb0d9d",
                 "374ba378bee06c633f4800ac6a495f71d1b80b0e82bf763acbfa4c7e9c379f75")
_MAGIC = {"train_images": 2051, "train_labels": 2049, "test_images": 2051, "test_labels": 2049}


@dataclass
class DigitSplits:
    """uint8 [N,28,28] digit images and int64 labels for train and test, with provenance: ``files`` maps each file
    read to the sha256 of its stored bytes, ``identity`` maps it to what its checksum showed it to be ("official",
    "rebuilt" or "unverified")."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    files: dict[str, str]
    identity: dict[str, str] = field(default_factory=dict)


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


def _identify(key: str, stored_sha: str, content_sha: str) -> str:
    """What the bytes are, judged by content (never by file name): the official .gz, the official file's decompressed
    bytes (however they were stored), the rebuilt train images, or unverified."""
    if stored_sha == MNIST_FILES[key][1] or content_sha == MNIST_RAW_SHA256.get(key):
        return "official"
    if key == "train_images" and (stored_sha == REBUILT_TRAIN[1] or content_sha == REBUILT_TRAIN[2]):
        return "rebuilt"
    return "unverified"


def _unverified_error(key: str, path: Path, compressed: bool, stored_sha: str, content_sha: str) -> DataError:
    fix = ("delete it and pass data.download=true, or pass data.verify=false to use it anyway (the data source then "
           "says unverified and the run records the file's own checksum)")
    if path.name == REBUILT_TRAIN[0]:
        return DataError(f"{path} has sha256 {stored_sha}, not the rebuilt file's {REBUILT_TRAIN[1]}", hint=fix)
    if compressed:
        return DataError(f"{path} has sha256 {stored_sha}, but the official file has {MNIST_FILES[key][1]}", hint=fix)
    official = MNIST_RAW_SHA256.get(key)
    if official is None:
        return DataError(f"{path} is uncompressed, and no official checksum of the decompressed "
                         f"{MNIST_FILES[key][0]} is known here (only of the .gz), so it cannot be verified",
                         hint=f"put the official {MNIST_FILES[key][0]}.gz in its place (it is verified), or pass "
                              "data.verify=false to use it anyway (the data source then says unverified)")
    return DataError(f"{path} is uncompressed with sha256 {content_sha}, but the official file decompressed has "
                     f"{official}", hint=fix)


def _source_label(identity: dict[str, str]) -> str:
    """``mnist`` only when every file read is official; otherwise the label says which files are not."""
    label = "mnist-train-rebuilt" if identity.get("train_images") == "rebuilt" else "mnist"
    unverified = [MNIST_FILES[k][0] for k, v in identity.items() if v == "unverified"]
    return label + (f"+unverified:{','.join(unverified)}" if unverified else "")


@DATA_SOURCES.register("mnist")
def load_mnist(root: str | Path, download: bool = False, verify: bool = True) -> DigitSplits:
    """The four MNIST files in ``root`` as DigitSplits. Each file is identified by the sha256 of what is read (the .gz
    or, for an uncompressed file, its IDX bytes); ``verify`` refuses any file that is neither official nor the
    rebuilt train images (DataError naming the file and both checksums). ``source`` says what was read."""
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
    files: dict[str, str] = {}
    identity: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, path in paths.items():
        stored, content = read_idx_bytes(path)
        stored_sha = hashlib.sha256(stored).hexdigest()
        content_sha = stored_sha if content is stored else hashlib.sha256(content).hexdigest()
        files[path.name] = stored_sha
        identity[key] = _identify(key, stored_sha, content_sha)
        if verify and identity[key] == "unverified":
            raise _unverified_error(key, path, content is not stored, stored_sha, content_sha)
        arrays[key] = parse_idx(content, path, _MAGIC[key])
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise DataError(f"MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels in {root}")
        if images.shape[1:] != (28, 28):
            raise DataError(f"MNIST {split} images are {images.shape[1:]}, expected 28×28")
    return DigitSplits(arrays["train_images"], arrays["train_labels"].astype(np.int64), arrays["test_images"],
                       arrays["test_labels"].astype(np.int64), _source_label(identity), files, identity)


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
