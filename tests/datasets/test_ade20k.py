"""ADE20k / ADE20k-outdoor readers: label set, CoCosNet one-hot, both on-disk layouts, layout errors, the published
exemplar list, the outdoor selection rules, and the real CoCosNet sample files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.ade20k import ADE20K_FULL_NAMES, ADE20K_LABELS, ADE20k, cocosnet_one_hot
from datasets.ade20k_outdoor import ADE20kOutdoor, is_outdoor_scene
from datasets.real import REAL_DATASETS, PublishedPairs, read_raw_label
from datasets.real_files import unpack


def write_item(image_dir: Path, label_dir: Path, stem: str, value: int, size=(12, 8), label_size=None) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    rgb = np.full((size[1], size[0], 3), value, np.uint8)
    Image.fromarray(rgb).save(image_dir / f"{stem}.jpg")
    w, h = label_size or size
    label = np.zeros((h, w), np.uint8)
    label[: h // 2] = value  # top half class `value`, bottom half "other"
    Image.fromarray(label, "L").save(label_dir / f"{stem}.png")


def official(root: Path, values=(3, 5, 150), val_values=(3, 1)) -> Path:
    for i, v in enumerate(values):
        write_item(root / "images/training", root / "annotations/training", f"ADE_train_{i + 1:08d}", v)
    for i, v in enumerate(val_values):
        write_item(root / "images/validation", root / "annotations/validation", f"ADE_val_{i + 1:08d}", v)
    return root


def cocosnet(root: Path) -> Path:
    for i, v in enumerate((3, 5)):
        write_item(root / "training", root / "training", f"ADE_train_{i + 1:08d}", v)
    write_item(root / "validation", root / "validation", "ADE_val_00000001", 3)
    return root


def test_label_set_follows_objectinfo150():
    assert len(ADE20K_LABELS) == 151 and len(ADE20K_FULL_NAMES) == 150
    assert ADE20K_LABELS.classes[:4] == ("other", "wall", "building", "sky")
    assert ADE20K_LABELS.classes[13] == "person" and ADE20K_LABELS.classes[150] == "flag"
    assert ADE20K_FULL_NAMES[74].endswith("information processing system")  # the entry split over two lines
    assert REAL_DATASETS.get("ade20k") is ADE20k and REAL_DATASETS.get("ade20k_outdoor") is ADE20kOutdoor


def test_cocosnet_one_hot_has_151_channels_and_maps_255_to_150():
    label = np.array([[0, 5], [150, 255]], np.uint8)
    one_hot = cocosnet_one_hot(label)
    assert one_hot.shape == (151, 2, 2) and one_hot.dtype == np.float32
    assert np.array_equal(one_hot.sum(0), np.ones((2, 2)))
    assert one_hot[0, 0, 0] == 1 and one_hot[5, 0, 1] == 1 and one_hot[150, 1, 0] == 1 and one_hot[150, 1, 1] == 1
    with pytest.raises(ValueError, match="label_nc=150"):
        cocosnet_one_hot(np.array([[200]], np.uint8))


def test_official_layout_reads_items_and_records_provenance(tmp_path):
    data = ADE20k(official(tmp_path / "ADEChallengeData2016"))
    train, val = data.make_split("train"), data.make_split("val")
    assert (len(train), len(val)) == (3, 2) and data.present()
    item = train.item(2)
    assert item.name == "ADE_train_00000003" and item.image.shape == (8, 12, 3) and item.label.shape == (8, 12)
    assert set(np.unique(item.label)) == {0, 150}
    assert "annotations/training/ADE_train_00000003.png" in train.files
    before = train.fingerprint()
    root = tmp_path / "ADEChallengeData2016"
    write_item(root / "images/training", root / "annotations/training", "ADE_train_00000003", 7)
    assert data.make_split("train").fingerprint() != before


@pytest.mark.parametrize("nested", [False, True])
def test_cocosnet_layout_is_detected(tmp_path, nested):
    root = cocosnet(tmp_path / "ADEChallengeData2016" / "images")
    data = ADE20k(root.parent if nested else root)
    assert [e.name for e in data.entries("train")] == ["ADE_train_00000001", "ADE_train_00000002"]
    assert data.make_split("val").item(0).label.max() == 3


def test_wrong_layout_names_the_expected_layout(tmp_path):
    (tmp_path / "images").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "ADE_train_00000001.jpg")
    with pytest.raises(DataError) as info:
        ADE20k(tmp_path).make_split("train")
    text = str(info.value)
    assert "annotations/training/ADE_train_*.png" in text and "CoCosNet" in text and str(tmp_path) in text
    assert "ADEChallengeData2016.zip" in text  # the fix says where to get it
    assert not ADE20k(tmp_path).present()
    with pytest.raises(DataError, match="ade20k has no setting 'subset'"):
        ADE20k(tmp_path, subset="outdoor")


def test_image_without_label_and_size_mismatch_are_errors(tmp_path):
    root = official(tmp_path)
    (root / "annotations/training/ADE_train_00000002.png").unlink()
    with pytest.raises(DataError, match="have no label map of the same name \\(first: ADE_train_00000002\\)"):
        ADE20k(root).entries("train")
    write_item(root / "images/validation", root / "annotations/validation", "ADE_val_00000002", 4, label_size=(6, 4))
    with pytest.raises(DataError, match=r"6×4 but its image ADE_val_00000002\.jpg is 12×8"):
        ADE20k(root).make_split("val").item(1)


def test_published_pairs_report_absent_files(tmp_path):
    root = official(tmp_path / "data")
    (root / "ade20k_ref_test.txt").write_text("ADE_val_00000002.jpg,ADE_train_00000003.jpg\n"
                                              "ADE_val_00000001.jpg,ADE_train_00000099.jpg,ADE_train_00000001.jpg\n"
                                              "ADE_val_00000042.jpg,ADE_train_00000001.jpg")
    pairs = ADE20k(root).published_pairs()
    assert isinstance(pairs, PublishedPairs) and pairs.source == root / "ade20k_ref_test.txt"
    assert pairs.pairs == [("ADE_val_00000002", "ADE_train_00000003"), ("ADE_val_00000001", "ADE_train_00000099"),
                           ("ADE_val_00000042", "ADE_train_00000001")]  # the first exemplar, as CoCosNet tests
    assert pairs.extra["rows"][1].exemplars == ("ADE_train_00000099", "ADE_train_00000001")
    assert pairs.missing == ["ADE_train_00000099", "ADE_val_00000042"]
    assert pairs.extra["resolved"] == [(1, 2)]  # only the first line has both its input and first exemplar
    assert pairs.present_pairs() == [("ADE_val_00000002", "ADE_train_00000003")]
    with pytest.raises(DataError, match="no exemplar list"):
        ADE20k(root).published_pairs(tmp_path / "absent.txt")


def test_outdoor_scene_category_rule(tmp_path):
    root = official(tmp_path / "ADEChallengeData2016")
    with pytest.raises(DataError, match=r"no sceneCategories\.txt"):
        ADE20kOutdoor(root, rule="scene_category").entries("train")
    (root / "sceneCategories.txt").write_text("ADE_train_00000001 street\nADE_train_00000002 bedroom\n"
                                              "ADE_train_00000003 church_outdoor\nADE_val_00000001 mountain_snowy\n"
                                              "ADE_val_00000002 bathroom\n")
    data = ADE20kOutdoor(root, rule="scene_category")
    assert [e.name for e in data.entries("train")] == ["ADE_train_00000001", "ADE_train_00000003"]
    assert [e.name for e in data.entries("val")] == ["ADE_val_00000001"]
    assert is_outdoor_scene("highway") and not is_outdoor_scene("kitchen") and not is_outdoor_scene("")
    # The default rule reads the label maps: an outdoor cue (sky, id 3, in the top half) and no indoor cue.
    by_classes = ADE20kOutdoor(root)
    assert [e.name for e in by_classes.entries("train")] == ["ADE_train_00000001"]
    assert by_classes.make_split("val").fingerprint() != data.make_split("val").fingerprint()
    with pytest.raises(DataError, match="rule='indoorness' is not known"):
        ADE20kOutdoor(root, rule="indoorness")
    with pytest.raises(DataError, match="no setting 'threshold'"):
        ADE20kOutdoor(root, threshold=0.5)
    with pytest.raises(DataError, match="'skies', which is no ADE20k class"):
        ADE20kOutdoor(root, outdoor_cues=("skies",))
    assert ADE20kOutdoor(root, outdoor_cues="sky,hill").settings["outdoor_cues"] == ("sky", "hill")  # command line
    for value, message in (("abc", "min_class_fraction='abc' is not a number"), (1.5, r"is outside 0\.0\.\.1\.0")):
        with pytest.raises(DataError, match=message):
            ADE20kOutdoor(root, min_class_fraction=value)
    with pytest.raises(DataError, match="outdoor_cues=3 is not a list of names"):
        ADE20kOutdoor(root, outdoor_cues=3)


def test_outdoor_rule_keeping_nothing_is_not_reported_as_missing_data(tmp_path):
    root = official(tmp_path / "ADEChallengeData2016", values=(1, 1), val_values=(1,))  # walls only: all indoor
    with pytest.raises(DataError) as info:
        ADE20kOutdoor(root).make_split("train")
    first = str(info.value).splitlines()[0]
    assert first.startswith("ade20k_outdoor: the subset rule classes kept none of the 2 train items (settings ")
    assert "min_class_fraction=0.0" in first and "expected the layout" not in str(info.value)


def test_missing_root_and_root_one_level_off(tmp_path, cocosnet_samples):
    with pytest.raises(DataError) as info:
        ADE20k(tmp_path / "absent").make_split("val")
    assert str(info.value).splitlines()[0] == f"ade20k: {(tmp_path / 'absent').resolve()} does not exist"
    for root, meant in ((cocosnet_samples, cocosnet_samples / "ade20k"),  # too high
                        (cocosnet_samples / "ade20k" / "training", cocosnet_samples / "ade20k")):  # too low
        with pytest.raises(DataError) as info:
            ADE20k(root).make_split("val")
        assert f"fix: did you mean root={meant.resolve()}?" in str(info.value)
    official(tmp_path / "holder" / "ADEChallengeData2016")  # a folder holding the unpacked archive
    with pytest.raises(DataError, match=r"did you mean root=.*holder/ADEChallengeData2016\?"):
        ADE20k(tmp_path / "holder").make_split("train")


def test_hints_name_the_download_command(tmp_path):
    for cls, name in ((ADE20k, "ade20k"), (ADE20kOutdoor, "ade20k_outdoor")):
        (tmp_path / name).mkdir()
        with pytest.raises(DataError) as info:
            cls(tmp_path / name).make_split("train")
        assert f"run `python -m bench data download source={name} [root=DIR]`" in str(info.value)
        assert "(`root=` in `bench data`, `data.root=` in `bench run`)" in str(info.value)


def test_outdoor_classes_rule_drops_indoor_cues(tmp_path):
    root = official(tmp_path, values=(3, 3), val_values=(17,))
    label = np.asarray(Image.open(root / "annotations/training/ADE_train_00000002.png")).copy()
    label[-1, -1] = ADE20K_LABELS.index("ceiling")  # one pixel of ceiling under the sky: a room with a skylight?
    Image.fromarray(label, "L").save(root / "annotations/training/ADE_train_00000002.png")
    assert [e.name for e in ADE20kOutdoor(root).entries("train")] == ["ADE_train_00000001"]
    assert len(ADE20kOutdoor(root).entries("val")) == 1  # mountain (17) is an outdoor cue
    tolerant = ADE20kOutdoor(root, min_class_fraction=0.05)  # a single pixel no longer counts
    assert len(tolerant.entries("train")) == 2 and tolerant.settings["min_class_fraction"] == 0.05


def test_download_unpacks_the_archive_into_the_official_layout(tmp_path, monkeypatch):
    source = official(tmp_path / "src" / "ADEChallengeData2016")
    archive = tmp_path / "ADEChallengeData2016.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in source.rglob("*"):
            z.write(path, path.relative_to(source.parent))
    monkeypatch.setattr("datasets.download.fetch", lambda remote, folder: archive)
    data = ADE20k(tmp_path / "cache" / "ade20k")
    data.download()
    assert (data.root / "annotations" / "training").is_dir() and len(data.make_split("train")) == 3
    unpack(archive, data.root, strip="ADEChallengeData2016")  # again: what is there is kept
    assert len(data.entries("val")) == 2


def test_real_cocosnet_ade20k_samples(cocosnet_samples):
    data = ADE20k(cocosnet_samples / "ade20k")
    train, val = data.make_split("train"), data.make_split("val")
    assert (len(train), len(val)) == (6, 6)
    for split in (train, val):
        for entry in split.entries:
            raw = read_raw_label(entry.label)
            assert raw.max() <= 150  # ids 0..150, no 255
            item = split.item(split.entries.index(entry))
            assert item.image.shape[:2] == item.label.shape and np.array_equal(item.label, raw)
            ADE20K_LABELS.check(item.label)
    assert val.item(0).image.shape == (512, 683, 3)  # ADE_val_00001232 is 683×512
    one_hot = cocosnet_one_hot(val.item(0).label)
    assert one_hot.shape == (151, 512, 683) and np.all(one_hot.sum(0) == 1)
    pairs = data.published_pairs(cocosnet_samples / "lists" / "ade20k_ref_test.txt")
    assert len(pairs.pairs) == 6 and pairs.missing == [] and len(pairs.extra["resolved"]) == 6
    for pair, (i, k) in zip(pairs.pairs, pairs.extra["resolved"], strict=True):
        assert (val.entries[i].name, train.entries[k].name) == pair
    assert data.published_pairs().source.name == "ade20k_ref_test.txt"  # found beside the dataset folder


def test_real_samples_outdoor(cocosnet_samples):
    data = ADE20kOutdoor(cocosnet_samples / "ade20k")
    chosen = [e.name for split in ("train", "val") for e in data.entries(split)]
    # The four dropped samples are rooms (wall, floor, ceiling); the kept ones show sky, trees, water, fields.
    assert chosen == ["ADE_train_00004996", "ADE_train_00007860", "ADE_train_00010793", "ADE_train_00017763",
                      "ADE_val_00001232", "ADE_val_00001349", "ADE_val_00001599", "ADE_val_00001996"]
    assert data.present() and len(data.make_split("val")) == 4
    scene_rule = ADE20kOutdoor(cocosnet_samples / "ade20k", rule="scene_category")
    assert not scene_rule.present()  # no sceneCategories.txt among the demo files
