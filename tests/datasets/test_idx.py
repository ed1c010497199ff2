from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError
from datasets.idx import read_idx, write_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte.gz", "images-idx3-ubyte"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / name, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path, expect_magic=2051), images)
    labels = np.arange(5, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", labels), expect_magic=2049), labels)


def test_known_header_bytes(tmp_path: Path) -> None:
    path = tmp_path / "raw"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    np.testing.assert_array_equal(read_idx(path, expect_magic=2049), [7, 8, 9])


def _corrupt(tmp_path: Path, kind: str) -> Path:
    good = write_idx(tmp_path / "good", np.zeros((4, 28, 28), np.uint8)).read_bytes()
    path = tmp_path / f"bad-{kind}"
    if kind == "magic":
        path.write_bytes(b"\x50\x4b\x03\x04" + good[4:])
    elif kind == "truncated":
        path.write_bytes(good[:-10])
    elif kind == "trailing":
        path.write_bytes(good + b"\x00")
    elif kind == "header":
        path.write_bytes(good[:9])
    elif kind == "gzip":
        path.write_bytes(gzip.compress(good)[:-20])
    elif kind == "tiny":
        path.write_bytes(b"\x00")
    return path


@pytest.mark.parametrize("kind, message", [
    ("magic", "does not start with an IDX magic number"),
    ("truncated", "truncated or has trailing bytes"),
    ("trailing", "truncated or has trailing bytes"),
    ("header", "ends inside its header"),
    ("gzip", "truncated or corrupt gzip"),
    ("tiny", "too short"),
])
def test_corrupt_files_say_what_is_wrong(tmp_path: Path, kind: str, message: str) -> None:
    path = _corrupt(tmp_path, kind)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_images_and_labels_swapped(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="magic 2049, expected 2051"):
        read_idx(path, expect_magic=2051)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "nope.gz")
