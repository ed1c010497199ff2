"""data.verify checks what is read, compressed or not, and the data source says what was read (issue 13, failure
kind 6: uncompressed IDX files with zeroed test images passed verification and scored SSIM 1.000)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

import datasets.mnist as mnist
from core.errors import DataError
from datasets.idx import write_idx

KEYS = ("train_images", "train_labels", "test_images", "test_labels")


def official_fixture(root: Path, monkeypatch: pytest.MonkeyPatch, compress: bool = False) -> dict[str, np.ndarray]:
    """A tiny stand-in MNIST whose digests are declared official (.gz and decompressed), written raw or gz."""
    rng = np.random.default_rng(1)
    arrays = {"train_images": rng.integers(1, 256, (6, 28, 28), dtype=np.uint8),
              "train_labels": np.arange(6, dtype=np.uint8),
              "test_images": rng.integers(1, 256, (4, 28, 28), dtype=np.uint8),
              "test_labels": np.arange(4, dtype=np.uint8)}
    root.mkdir(parents=True, exist_ok=True)
    gz_sha, raw_sha = {}, {}
    for key, array in arrays.items():
        stem = mnist.MNIST_FILES[key][0]
        gz = write_idx(root / f"{stem}.gz", array).read_bytes()
        gz_sha[key] = (stem, hashlib.sha256(gz).hexdigest())
        raw_sha[key] = hashlib.sha256(gzip.decompress(gz)).hexdigest()
        if not compress:
            (root / f"{stem}.gz").unlink()
            write_idx(root / stem, array)
    monkeypatch.setattr(mnist, "MNIST_FILES", gz_sha)
    monkeypatch.setattr(mnist, "MNIST_RAW_SHA256", raw_sha)
    return arrays


def test_uncompressed_official_files_pass_and_are_labelled_mnist(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    arrays = official_fixture(tmp_path, monkeypatch)
    splits = mnist.load_mnist(tmp_path)
    assert splits.source == "mnist" and set(splits.identity.values()) == {"official"}
    np.testing.assert_array_equal(splits.test_images, arrays["test_images"])


def test_uncompressed_zeroed_test_images_are_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    official_fixture(tmp_path, monkeypatch)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte is uncompressed with sha256 .* but the official file "
                                        r"decompressed has") as info:
        mnist.load_mnist(tmp_path)
    assert "data.verify=false" in str(info.value)
    splits = mnist.load_mnist(tmp_path, verify=False)  # used anyway, but the label says so
    assert splits.source == "mnist+unverified:t10k-images-idx3-ubyte"
    assert splits.identity["test_images"] == "unverified" and splits.test_images.max() == 0


def test_gz_named_file_is_checked_by_content_not_name(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    arrays = official_fixture(tmp_path, monkeypatch, compress=True)
    # an uncompressed file that only carries the .gz name is checked against the decompressed digest
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", arrays["test_labels"], compress=False)
    assert mnist.load_mnist(tmp_path).source == "mnist"
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8), compress=False)
    with pytest.raises(DataError, match="is uncompressed with sha256"):
        mnist.load_mnist(tmp_path)


def test_uncompressed_train_images_cannot_be_verified_without_a_known_digest(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    official_fixture(tmp_path, monkeypatch)
    monkeypatch.setitem(mnist.MNIST_RAW_SHA256, "train_images", None)  # as for the real train images
    with pytest.raises(DataError, match="no official checksum of the decompressed train-images-idx3-ubyte") as info:
        mnist.load_mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" in info.value.hint
    assert mnist.load_mnist(tmp_path, verify=False).source == "mnist+unverified:train-images-idx3-ubyte"


def test_rebuilt_train_images_are_recognised_under_the_canonical_name(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    official_fixture(tmp_path, monkeypatch)
    rebuilt = write_idx(tmp_path / "rebuilt", np.full((6, 28, 28), 7, np.uint8)).read_bytes()
    monkeypatch.setattr(mnist, "REBUILT_TRAIN", ("train-images-idx3-ubyte-rebuilt.gz", "0" * 64,
                                                 hashlib.sha256(rebuilt).hexdigest()))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(rebuilt)  # the rebuilt file, gunzipped and renamed
    splits = mnist.load_mnist(tmp_path)
    assert splits.source == "mnist-train-rebuilt" and splits.identity["train_images"] == "rebuilt"


@pytest.mark.shared_data
def test_recorded_digests_are_those_of_the_shared_official_files(shared_mnist: Path) -> None:
    for key in KEYS:
        stem, gz_sha = mnist.MNIST_FILES[key]
        path = shared_mnist / f"{stem}.gz"
        if not path.is_file():  # the official train images are not in the shared folder: nothing to compare
            assert key == "train_images" and mnist.MNIST_RAW_SHA256[key] is None
            continue
        stored = path.read_bytes()
        assert hashlib.sha256(stored).hexdigest() == gz_sha
        assert hashlib.sha256(gzip.decompress(stored)).hexdigest() == mnist.MNIST_RAW_SHA256[key]
    rebuilt = (shared_mnist / mnist.REBUILT_TRAIN[0]).read_bytes()
    assert hashlib.sha256(gzip.decompress(rebuilt)).hexdigest() == mnist.REBUILT_TRAIN[2]


@pytest.mark.shared_data
def test_shared_folder_gunzipped_reads_the_same(shared_mnist: Path, tmp_path: Path) -> None:
    packed = mnist.load_mnist(shared_mnist)
    for key in KEYS:
        stem = mnist.MNIST_FILES[key][0]
        source = shared_mnist / (mnist.REBUILT_TRAIN[0] if key == "train_images" else f"{stem}.gz")
        (tmp_path / stem).write_bytes(gzip.decompress(source.read_bytes()))
    raw = mnist.load_mnist(tmp_path)
    assert raw.source == packed.source == "mnist-train-rebuilt"
    np.testing.assert_array_equal(raw.train_images, packed.train_images)
    np.testing.assert_array_equal(raw.test_images, packed.test_images)
    test_images = tmp_path / "t10k-images-idx3-ubyte"
    test_images.write_bytes(test_images.read_bytes()[:16] + bytes(10000 * 28 * 28))  # zeroed test images
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte is uncompressed"):
        mnist.load_mnist(tmp_path)
