from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError
from datasets.idx import write_idx
from datasets.mnist import MNIST_FILES, REBUILT_TRAIN, load_digits, load_mnist


def make_fake_mnist(root: Path, n_train: int = 20, n_test: int = 10, compress: bool = True) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for key, array in arrays.items():
        write_idx(root / (MNIST_FILES[key][0] + (".gz" if compress else "")), array)
    return root


def test_reads_raw_idx_folder(tmp_path: Path) -> None:
    root = make_fake_mnist(tmp_path, compress=False)
    with pytest.raises(DataError, match="uncompressed"):  # raw files are verified too (test_mnist_verify.py)
        load_mnist(root)
    splits = load_mnist(root, verify=False)
    assert splits.train_images.shape == (20, 28, 28) and splits.test_labels.shape == (10,)
    assert splits.source.startswith("mnist+unverified:train-images-idx3-ubyte,") and len(splits.files) == 4


def test_gz_with_wrong_checksum_is_refused_unless_verify_is_off(tmp_path: Path) -> None:
    root = make_fake_mnist(tmp_path)
    with pytest.raises(DataError, match="but the official file has") as info:
        load_mnist(root)
    assert "data.verify=false" in str(info.value)
    splits = load_mnist(root, verify=False)
    assert splits.train_images.dtype == np.uint8
    assert all(len(sha) == 64 for sha in splits.files.values())


def test_missing_files_are_named_with_the_fix(tmp_path: Path) -> None:
    root = make_fake_mnist(tmp_path)
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz") as info:
        load_mnist(root, verify=False)
    assert "data.download=true" in str(info.value) and "data.source=digits" in str(info.value)


def test_image_label_count_mismatch(tmp_path: Path) -> None:
    root = make_fake_mnist(tmp_path)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="10 images but 3 labels"):
        load_mnist(root, verify=False)


def test_digits_source_is_mnist_like() -> None:
    splits = load_digits()
    assert splits.train_images.shape[1:] == (28, 28) and splits.train_images.dtype == np.uint8
    assert len(splits.train_images) + len(splits.test_images) == 1797
    assert set(np.unique(splits.test_labels)) == set(range(10))
    border = np.concatenate([splits.train_images[:, :4].ravel(), splits.train_images[:, 24:].ravel()])
    assert border.max() == 0 and splits.train_images.max() > 200


@pytest.mark.shared_data
def test_shared_mnist_folder(shared_mnist: Path) -> None:
    splits = load_mnist(shared_mnist)
    assert splits.source == "mnist-train-rebuilt"
    assert splits.identity == {"train_images": "rebuilt", "train_labels": "official", "test_images": "official",
                               "test_labels": "official"}
    assert splits.files == {"train-images-idx3-ubyte-rebuilt.gz": REBUILT_TRAIN[1]} | {
        f"{MNIST_FILES[k][0]}.gz": MNIST_FILES[k][1] for k in ("train_labels", "test_images", "test_labels")}
    assert splits.train_images.shape == (60000, 28, 28) and splits.test_images.shape == (10000, 28, 28)
    assert np.bincount(splits.test_labels).tolist()[:2] == [980, 1135]
