"""The shared base of the real readers: lazy reads, remapping, provenance, layout errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.labelled import IGNORE, LabelSet
from datasets.real import Entry, RealDataset, RealSplit, layout_error, remap_from

LABELS = LabelSet("tiny", ("a", "b", "c"))


class _Tiny(RealDataset):
    registry_name = "tiny"
    layout = "images/<name>.png\nlabels/<name>.png"
    obtain = "fill in the form at example.org"
    labels = LABELS

    def entries(self, split):
        images = sorted((self.root / "images").glob("*.png"))
        if not (self.root / "images").is_dir():
            raise self.error("no images/ folder")
        return [Entry(p.stem, p, self.root / "labels" / p.name) for p in images]

    def remap(self):
        return remap_from({10: 0, 20: 1, 30: 2})


def _write(root, name, label, size=(8, 6)):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), 90, np.uint8)).save(root / "images" / f"{name}.png")
    Image.fromarray(label.astype(np.uint8)).save(root / "labels" / f"{name}.png")


def test_labels_are_remapped_and_files_hashed(tmp_path):
    label = np.array([[10, 20, 30, 40, 10, 10]] * 8)
    _write(tmp_path, "x", label)
    split = _Tiny(tmp_path).make_split("train")
    item = split.item(0)
    assert item.image.shape == (8, 6, 3) and item.name == "x"
    assert item.label[0].tolist() == [0, 1, 2, IGNORE, 0, 0]
    assert set(split.files) == {"images/x.png", "labels/x.png"} and all(len(v) == 64 for v in split.files.values())
    before = split.fingerprint()
    _write(tmp_path, "x", label.clip(10, 20))
    assert _Tiny(tmp_path).make_split("train").fingerprint() != before


def test_size_mismatch_and_unreadable_files_are_named(tmp_path):
    _write(tmp_path, "x", np.full((4, 6), 10))
    with pytest.raises(DataError, match=r"x\.png is 6×4 but its image x\.png is 6×8"):
        _Tiny(tmp_path).make_split("train").item(0)
    (tmp_path / "images" / "x.png").write_bytes(b"broken")
    with pytest.raises(DataError, match=r"cannot read .*x\.png"):
        _Tiny(tmp_path).make_split("train").item(0)


def test_colour_label_files_are_refused(tmp_path):
    _write(tmp_path, "x", np.full((8, 6), 10))
    Image.fromarray(np.zeros((8, 6, 3), np.uint8)).save(tmp_path / "labels" / "x.png")
    with pytest.raises(DataError, match="RGB image, not a single-channel label map"):
        _Tiny(tmp_path).make_split("train").item(0)


def test_missing_layout_names_the_expected_tree_and_how_to_get_it(tmp_path):
    reader = _Tiny(tmp_path / "empty")
    assert not reader.present()
    with pytest.raises(DataError) as info:
        reader.make_split("train")
    text = str(info.value)
    assert "images/<name>.png" in text and "labels/<name>.png" in text and "example.org" in text
    with pytest.raises(DataError, match="no split 'test'"):
        reader.make_split("test")
    with pytest.raises(DataError, match="cannot be downloaded automatically"):
        reader.download()


def test_layout_error_draws_the_tree(tmp_path):
    err = layout_error("ds", tmp_path, "a/\n  b.png", "missing b.png")
    assert str(err).splitlines()[1:3] == ["      a/", "        b.png"]


def test_real_split_without_label_files_needs_build_label(tmp_path):
    _write(tmp_path, "x", np.full((8, 6), 10))
    split = RealSplit("t", "train", tmp_path, [Entry("x", tmp_path / "images" / "x.png")], LABELS)
    with pytest.raises(NotImplementedError):
        split.item(0)
