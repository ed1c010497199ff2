"""The shared base of the real readers: lazy reads, remapping, provenance, layout errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.labelled import IGNORE, LabelSet
from datasets.real import (
    ROOT_SETTING,
    Entry,
    PublishedPairs,
    RealDataset,
    RealSplit,
    SubsetDataset,
    layout_error,
    read_rgb,
    remap_from,
)
from datasets.real_files import checked_settings

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
    (tmp_path / "empty").mkdir()
    reader = _Tiny(tmp_path / "empty")
    assert not reader.present()
    with pytest.raises(DataError) as info:
        reader.make_split("train")
    text = str(info.value)
    assert "images/<name>.png" in text and "labels/<name>.png" in text and "example.org" in text
    assert f"fix: point the root at the folder holding it {ROOT_SETTING}" in text
    assert ROOT_SETTING == "(`root=` in `bench data`, `data.root=` in `bench run`)"
    with pytest.raises(DataError, match="no split 'test'"):
        reader.make_split("test")
    with pytest.raises(DataError, match="cannot be downloaded automatically") as info:
        reader.download()
    assert str(info.value).endswith(f"then point the root at it {ROOT_SETTING}")


def test_missing_root_is_named_as_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        _Tiny("nowhere/tiny").make_split("train")
    first = str(info.value).splitlines()[0]
    assert first == f"tiny: {tmp_path.resolve() / 'nowhere' / 'tiny'} does not exist"
    assert "expected the layout" not in str(info.value) and "example.org" in str(info.value)


def test_a_root_one_level_off_gets_did_you_mean(tmp_path):
    _write(tmp_path / "data" / "tiny", "x", np.full((8, 6), 10))
    (tmp_path / "data" / "other").mkdir()
    for root, meant in ((tmp_path / "data", tmp_path / "data" / "tiny"), (tmp_path / "data" / "tiny" / "images",
                                                                          tmp_path / "data" / "tiny")):
        with pytest.raises(DataError) as info:
            _Tiny(root).make_split("train")
        assert f"fix: did you mean root={meant.resolve()}?" in str(info.value)
    with pytest.raises(DataError) as info:  # nothing around: the usual fix
        _Tiny(tmp_path / "data" / "other").make_split("train")
    assert "did you mean" not in str(info.value)


class _Subset(SubsetDataset):
    registry_name = "tinysub"
    layout = "images/<name>.png"
    labels = LABELS
    DEFAULTS = {"rule": "odd", "keep": 1.0}  # noqa: RUF012
    RANGES = {"keep": (0.0, 1.0)}  # noqa: RUF012
    rule_setting = "rule"

    def all_entries(self, split):
        return _Tiny(self.root).entries(split)

    def select(self, split, entries):
        return entries[: int(len(entries) * self.settings["keep"])]


def test_a_subset_that_keeps_nothing_says_so(tmp_path):
    for name in "xyz":
        _write(tmp_path, name, np.full((8, 6), 10))
    assert len(_Subset(tmp_path, keep="0.7").make_split("train")) == 2
    with pytest.raises(DataError) as info:
        _Subset(tmp_path, keep=0).make_split("train")
    text = str(info.value)
    assert text.splitlines()[0] == "tinysub: the subset rule odd kept none of the 3 train items (settings keep=0.0)"
    assert "expected the layout" not in text and "fix: " in text


def test_checked_settings_coerce_by_the_default_type_and_check_ranges():
    defaults = {"name": "a", "fraction": 0.2, "count": 3, "flag": False, "names": ("x", "y"), "path": None}
    got = checked_settings("ds", defaults, {"fraction": "0.5", "count": "4", "flag": "true", "names": "p, q"},
                           {"name": ("a", "b")}, {"fraction": (0.0, 1.0)})
    assert got == {"name": "a", "fraction": 0.5, "count": 4, "flag": True, "names": ("p", "q")}  # None: unset
    assert checked_settings("ds", defaults, {"fraction": 1, "path": "/x"})["path"] == "/x"
    for settings, message in (({"fraction": "abc"}, r"ds: fraction='abc' is not a number"),
                              ({"fraction": True}, "is not a number"),
                              ({"fraction": "nan"}, "is not a number"),
                              ({"fraction": 5}, r"ds: fraction=5\.0 is outside 0\.0\.\.1\.0"),
                              ({"count": 2.5}, "is not an integer"),
                              ({"flag": "maybe"}, "is not true or false"),
                              ({"names": 3}, "is not a list of names"),
                              ({"name": 3}, "is not a name"),
                              ({"name": "c"}, "name='c' is not known"),
                              ({"other": 1}, "ds has no setting 'other'")):
        with pytest.raises(DataError, match=message) as info:
            checked_settings("ds", defaults, settings, {"name": ("a", "b")}, {"fraction": (0.0, 1.0)})
        assert len(str(info.value).splitlines()) == 2 and "fix: " in str(info.value)
    with pytest.raises(DataError, match="tiny has no setting 'subset'") as info:  # every reader checks its settings
        _Tiny(".", subset="all")
    assert "takes no reader settings" in str(info.value)


def test_published_pairs_present_pairs(tmp_path):
    pairs = PublishedPairs([("a", "b"), ("c", "d")], ["d"], tmp_path / "list.txt")
    assert pairs.present_pairs() == [("a", "b")] and pairs.extra == {}


def test_layout_error_draws_the_tree(tmp_path):
    err = layout_error("ds", tmp_path, "a/\n  b.png", "missing b.png")
    assert str(err).splitlines()[1:3] == ["      a/", "        b.png"]


def test_real_split_without_label_files_needs_build_label(tmp_path):
    _write(tmp_path, "x", np.full((8, 6), 10))
    split = RealSplit("t", "train", tmp_path, [Entry("x", tmp_path / "images" / "x.png")], LABELS)
    with pytest.raises(NotImplementedError):
        split.item(0)


def test_read_rgb_rescales_16_bit_photos_and_composites_alpha_on_white(tmp_path):
    """Issue 13, failure kinds 5 and 8: the real readers' photos go through the one image reader."""
    Image.fromarray(np.array([[0, 128 * 257], [255 * 257, 64 * 257]], np.uint16)).save(tmp_path / "g16.png")
    assert read_rgb(tmp_path / "g16.png")[..., 0].tolist() == [[0, 128], [255, 64]]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[0, :, 3] = 200, 255  # row 1 transparent over red
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    with pytest.warns(UserWarning, match="composited on white"):
        assert read_rgb(tmp_path / "rgba.png").tolist() == [[[200, 0, 0]] * 2, [[255, 255, 255]] * 2]
