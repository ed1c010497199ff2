"""COCO-Stuff reader: label set facts, both layouts, layout errors, MSCA's outdoor filter, Semantic Image Analogy's
same-label pairs, download unpacking, and the real sample files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.coco_stuff import (
    COCO_STUFF_LABELS,
    COCO_STUFF_NAMES,
    COCO_STUFF_UNUSED,
    INDOOR_IDS,
    CocoStuff,
    label_set,
    outdoor_stats,
    passes_msca_outdoor,
    same_label_pairs,
    split_label_sets,
)
from datasets.real import REAL_DATASETS, read_raw_label

SKY, SEA, PERSON, BUS, FLOOR, WALL = (COCO_STUFF_NAMES.index(n) for n in
                                      ("sky-other", "sea", "person", "bus", "floor-wood", "wall-other"))


def write_item(images: Path, labels: Path, stem: str, label: np.ndarray) -> None:
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*label.shape, 3), 90, np.uint8)).save(images / f"{stem}.jpg")
    Image.fromarray(label.astype(np.uint8), "L").save(labels / f"{stem}.png")


def scene(top: int, bottom: int, thing: int | None = None, thing_rows: int = 0) -> np.ndarray:
    """A 10×10 map: ``top`` above, ``bottom`` below, optionally ``thing_rows`` rows of ``thing`` in the middle."""
    label = np.full((10, 10), bottom, np.uint8)
    label[:5] = top
    if thing is not None:
        label[5:5 + thing_rows] = thing
    return label


def official(root: Path) -> Path:
    items = {"train": {"000000000001": scene(SKY, SEA), "000000000002": scene(WALL, FLOOR),
                       "000000000003": scene(SKY, SEA, BUS, 4), "000000000004": scene(SKY, SEA, PERSON, 1)},
             "val": {"000000000010": scene(SKY, SEA), "000000000011": scene(SKY, 255)}}
    for split, maps in items.items():
        for stem, label in maps.items():
            write_item(root / f"{split}2017", root / "stuffthingmaps_trainval2017" / f"{split}2017", stem, label)
    return root


def test_label_set_facts():
    assert len(COCO_STUFF_LABELS) == 182 and COCO_STUFF_LABELS.ignore == 255
    assert COCO_STUFF_NAMES[0] == "person" and COCO_STUFF_NAMES[90] == "hair brush"
    assert COCO_STUFF_NAMES[91] == "banner" and COCO_STUFF_NAMES[156] == "sky-other" and COCO_STUFF_NAMES[181] == "wood"
    assert COCO_STUFF_UNUSED == (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)
    assert len(COCO_STUFF_LABELS.things) == 80 and set(COCO_STUFF_LABELS.things).isdisjoint(COCO_STUFF_UNUSED)
    assert tuple(COCO_STUFF_LABELS.colourise(np.array([[255]], np.uint8))[0, 0]) == (0, 0, 0)
    assert COCO_STUFF_LABELS.colourise(np.array([[0]], np.uint8)).any()  # person is not drawn black
    assert SKY not in INDOOR_IDS and WALL in INDOOR_IDS and REAL_DATASETS.get("coco_stuff") is CocoStuff


@pytest.mark.parametrize("setup", ["official", "cocostuff_repo"])
def test_layouts_read(tmp_path, setup):
    root = official(tmp_path)
    if setup == "cocostuff_repo":  # the cocostuff README's setup: images/ and annotations/
        (root / "images").mkdir()
        for split in ("train2017", "val2017"):
            (root / split).rename(root / "images" / split)
        (root / "stuffthingmaps_trainval2017").rename(root / "annotations")
    data = CocoStuff(root)
    train = data.make_split("train")
    assert len(train) == 4 and len(data.make_split("val")) == 2
    item = train.item(2)
    assert item.name == "000000000003" and item.image.shape == (10, 10, 3)
    assert set(np.unique(item.label)) == {SKY, SEA, BUS}
    assert np.all(data.make_split("val").item(1).label[5:] == 255)  # unlabeled stays 255


def test_wrong_layout_and_mismatches(tmp_path):
    (tmp_path / "train2017").mkdir()
    with pytest.raises(DataError) as info:
        CocoStuff(tmp_path).make_split("train")
    assert "stuffthingmaps_trainval2017/train2017/*.png" in str(info.value) and "train2017.zip" in str(info.value)
    assert "run `python -m bench data download source=coco_stuff [root=DIR]`" in str(info.value)
    root = official(tmp_path / "c")
    (root / "val2017" / "000000000011.jpg").unlink()
    with pytest.raises(DataError, match=r"label maps have no image of the same name \(first: 000000000011\)"):
        CocoStuff(root).entries("val")
    small = np.zeros((7, 5), np.uint8)
    Image.fromarray(small, "L").save(root / "stuffthingmaps_trainval2017/train2017/000000000001.png")
    with pytest.raises(DataError, match="5×7 but its image"):
        CocoStuff(root).make_split("train").item(0)
    with pytest.raises(DataError, match="subset='indoor' is not known"):
        CocoStuff(root, subset="indoor")


def test_msca_outdoor_filter_rules():
    stats = outdoor_stats(scene(WALL, FLOOR, PERSON, 1))
    assert stats == {"indoor_fraction": 0.9, "largest_thing_fraction": 0.1, "largest_thing": PERSON}
    assert passes_msca_outdoor(scene(SKY, SEA), 0.2, 0.2)
    assert not passes_msca_outdoor(scene(WALL, SEA), 0.2, 0.2)  # half the image is indoor stuff
    assert not passes_msca_outdoor(scene(SKY, SEA, BUS, 3), 0.2, 0.2)  # a bus over 30 % of the image
    assert passes_msca_outdoor(scene(SKY, SEA, BUS, 3), 0.2, 0.3)  # ... small enough at a looser threshold
    assert outdoor_stats(scene(SKY, SEA))["largest_thing"] == -1


def test_msca_outdoor_subset_is_a_setting_in_the_fingerprint(tmp_path):
    root = official(tmp_path)
    outdoor = CocoStuff(root, subset="msca_outdoor")
    assert [e.name for e in outdoor.entries("train")] == ["000000000001", "000000000004"]
    loose = CocoStuff(root, subset="msca_outdoor", max_thing_fraction=0.5)
    assert [e.name for e in loose.entries("train")] == ["000000000001", "000000000003", "000000000004"]
    assert outdoor.make_split("val").fingerprint() != CocoStuff(root).make_split("val").fingerprint()


def test_a_subset_keeping_nothing_is_not_reported_as_missing_data(tmp_path):
    root = official(tmp_path)
    for stem in ("000000000001", "000000000002"):  # left: a bus and a person scene
        (root / "train2017" / f"{stem}.jpg").unlink()
        (root / "stuffthingmaps_trainval2017" / "train2017" / f"{stem}.png").unlink()
    with pytest.raises(DataError) as info:
        CocoStuff(root, subset="msca_outdoor", max_thing_fraction=0).make_split("train")
    text = str(info.value)
    assert text.splitlines()[0] == ("coco_stuff: the subset rule msca_outdoor kept none of the 2 train items "
                                    "(settings max_indoor_fraction=0.2, max_thing_fraction=0.0)")
    assert "expected the layout" not in text and "download" not in text and "fix: loosen" in text


@pytest.mark.parametrize("subset", ["all", "msca_outdoor"])
def test_reader_settings_are_type_and_range_checked(tmp_path, subset):
    root = official(tmp_path)
    for value, message in (("abc", r"coco_stuff: max_thing_fraction='abc' is not a number"),
                           (5, r"coco_stuff: max_thing_fraction=5\.0 is outside 0\.0\.\.1\.0"),
                           (-0.1, "is outside")):
        with pytest.raises(DataError, match=message) as info:
            CocoStuff(root, subset=subset, max_thing_fraction=value)
        assert "fix: give max_thing_fraction" in str(info.value)
    with pytest.raises(DataError, match="subset=3 is not a name"):
        CocoStuff(root, subset=3)
    data = CocoStuff(root, subset=subset, max_indoor_fraction="0.5")  # command-line strings are read as numbers
    assert data.settings["max_indoor_fraction"] == 0.5 and "max_indoor_fraction=0.5" in data.make_split(
        "val").description()


def test_same_label_pairs_exact_and_jaccard():
    assert label_set(scene(SKY, 255)) == {SKY}
    assert label_set(scene(SKY, SEA, PERSON, 1), min_fraction=0.1) == {SKY, SEA}  # person is exactly 10 %
    sets = [frozenset({1, 2}), frozenset({1, 2, 3}), frozenset({2, 1}), frozenset(), frozenset(), frozenset({1, 2})]
    assert same_label_pairs(sets) == [(0, 2, 1.0), (0, 5, 1.0), (2, 5, 1.0)]  # empty sets never pair
    loose = same_label_pairs(sets, min_jaccard=0.6, chunk=2)  # chunks smaller than the set list
    assert [(i, j) for i, j, _ in loose] == [(0, 1), (0, 2), (0, 5), (1, 2), (1, 5), (2, 5)]
    assert dict(((i, j), v) for i, j, v in loose)[(0, 1)] == pytest.approx(2 / 3)


def test_download_unpacks_the_three_archives(tmp_path, monkeypatch):
    source = official(tmp_path / "src")
    archives = {}
    for name, members in (("train2017.zip", ["train2017"]), ("val2017.zip", ["val2017"]),
                          ("stuffthingmaps_trainval2017.zip", ["stuffthingmaps_trainval2017"])):
        archives[name] = tmp_path / name
        with zipfile.ZipFile(archives[name], "w") as z:
            for member in members:
                base = source / member
                for path in base.rglob("*"):  # the stuff-thing zip holds train2017/ and val2017/ at its top
                    z.write(path, path.relative_to(base if member.startswith("stuff") else source))
    monkeypatch.setattr("datasets.coco_stuff.fetch", lambda remote, folder: archives[remote.filename])
    data = CocoStuff(tmp_path / "cache" / "coco_stuff")
    data.download()
    assert len(data.make_split("train")) == 4 and len(data.make_split("val")) == 2


def test_real_coco_stuff_samples(coco_stuff_samples):
    data = CocoStuff(coco_stuff_samples)
    train, val = data.make_split("train"), data.make_split("val")
    assert (len(train), len(val)) == (13, 8)
    for split in (train, val):
        for index, entry in enumerate(split.entries):
            raw = read_raw_label(entry.label)
            assert set(np.unique(raw).tolist()) <= set(range(182)) | {255}
            assert set(np.unique(raw).tolist()).isdisjoint(COCO_STUFF_UNUSED)
            item = split.item(index)
            assert item.image.shape[:2] == item.label.shape and max(item.image.shape[:2]) <= 640
    assert val.item(0).image.shape == (426, 640, 3)  # 000000000139
    outdoor = CocoStuff(coco_stuff_samples, subset="msca_outdoor")
    assert outdoor.present() and not CocoStuff(coco_stuff_samples / "train2017").present()
    chosen = [e.name for split in ("train", "val") for e in outdoor.entries(split)]
    # Kept: beach/sea/fog/street/snow/bridge scenes; dropped: rooms, and close-ups of a truck, bus, zebra, people.
    assert chosen == ["000000138805", "000000203744", "000000350505", "000000000785", "000000001268", "000000001490"]
    sets = split_label_sets(val, min_fraction=0.01)
    assert sets[1] == {PERSON, COCO_STUFF_NAMES.index("snow"), COCO_STUFF_NAMES.index("fog"),
                       COCO_STUFF_NAMES.index("skis")}
    assert same_label_pairs(sets) == []  # no two samples share exactly the same classes
    near = same_label_pairs(sets, min_jaccard=0.3)
    assert near == [(3, 5, 0.375)] and type(near[0][0]) is int  # sea/sky/building/person vs bus/road/sky/...
