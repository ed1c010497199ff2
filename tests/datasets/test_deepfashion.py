"""The DeepFashion In-shop reader (CoCosNet's layout): fixture folders, wrong layouts, the real samples and lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.deepfashion import DEEPFASHION_LABELS, DeepFashion, list_path, pose_paths
from datasets.labelled import IGNORE
from datasets.real import REAL_DATASETS, PublishedPairs

IMAGES = ("img/WOMEN/Dresses/id_00000001/01_1_front.jpg", "img/MEN/Denim/id_00000002/02_2_side.jpg")


def _person(root: Path, image: str, size: int = 64, neck: tuple[int, int] = (30, 20)) -> None:
    path = root / image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), 200, np.uint8)).save(path)
    candidate, subset = (root / p for p in pose_paths(image))
    candidate.parent.mkdir(parents=True, exist_ok=True)
    candidate.write_text(f"{neck[0]} {neck[1]} 0.9 0\n{neck[0] - 8} {neck[1]} 0.8 1\n")
    subset.write_text(" ".join(["-1", "0", "1"] + ["-1"] * 15 + ["1.7", "2"]) + "\n")


def _fixture(tmp_path: Path) -> Path:
    root = tmp_path / "DeepFashion"
    for image in IMAGES:
        _person(root, image)
    (root / "val.txt").write_text("\n".join(i.replace("/", "\\") for i in IMAGES))  # as published: no final newline
    return root


def test_registered_and_path_helpers():
    assert REAL_DATASETS.get("deepfashion") is DeepFashion
    assert list_path("img\\WOMEN\\Dresses\\id_1\\01_1_front.jpg ") == "img/WOMEN/Dresses/id_1/01_1_front.jpg"
    assert pose_paths("img/WOMEN/img_x/id_1/01_1_front.jpg") == (
        "pose/WOMEN/img_x/id_1/01_1_front_candidate.txt", "pose/WOMEN/img_x/id_1/01_1_front_subset.txt")
    assert len(DEEPFASHION_LABELS) == 0 and DEEPFASHION_LABELS.ignore == IGNORE


def test_fixture_folder_reads_with_keypoints_pose_input_and_ignored_labels(tmp_path: Path):
    split = DeepFashion(_fixture(tmp_path)).make_split("val")
    assert len(split) == 2 and split.entries[1].name == IMAGES[1]
    item = split.item(0)
    assert item.name == IMAGES[0] and item.image.shape == (64, 64, 3)
    assert item.label.dtype == np.uint8 and np.all(item.label == IGNORE)
    DEEPFASHION_LABELS.check(item.label)
    assert item.keypoints.shape == (18, 3) and item.keypoints.dtype == np.float32
    assert item.keypoints[1].tolist() == pytest.approx([30, 20, 0.9])
    assert item.keypoints[2].tolist() == pytest.approx([22, 20, 0.8])
    assert (item.keypoints[:, 2] > 0).sum() == 2
    assert item.extra["pose"].shape == (20, 64, 64)
    assert split.index("img\\MEN\\Denim\\id_00000002\\02_2_side.jpg") == 1
    fingerprint = split.fingerprint()
    assert len(split.files) == 6
    assert fingerprint == DeepFashion(tmp_path / "DeepFashion").make_split("val").fingerprint()


def test_wrong_layouts_name_the_expected_layout(tmp_path: Path):
    root = _fixture(tmp_path)
    with pytest.raises(DataError, match=r"no train\.txt.*expected the layout(?s:.*)pose/<MEN\|WOMEN>") as info:
        DeepFashion(root).make_split("train")
    assert str(info.value).startswith("deepfashion: no train.txt (val.txt is present: use split=val) in ")
    with pytest.raises(DataError, match=r"did you mean root=.*DeepFashion\?"):  # the folder above the dataset
        DeepFashion(root.parent).make_split("val")
    (root / pose_paths(IMAGES[1])[1]).unlink()
    with pytest.raises(DataError, match=r"1 files named by val\.txt are missing \(first: pose/MEN/Denim"):
        DeepFashion(root).make_split("val")
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(flat / "01_1_front.jpg")
    assert not DeepFashion(flat).present() and DeepFashion(root.parent / "nowhere").present() is False
    with pytest.raises(DataError, match=r"img/<MEN\|WOMEN>/<category>/<id>/<pose>\.jpg"):
        DeepFashion(flat).make_split("val")


def test_keypoints_outside_the_image_are_refused(tmp_path: Path):
    root = tmp_path / "DeepFashion"
    _person(root, IMAGES[0], size=32, neck=(200, 100))
    (root / "val.txt").write_text(IMAGES[0])
    with pytest.raises(DataError, match="lie outside its 32×32 image"):
        DeepFashion(root).make_split("val").item(0)


def test_published_lists_are_parsed_and_checked_against_the_files(tmp_path: Path):
    root = _fixture(tmp_path)
    with pytest.raises(DataError, match=r"deepfashion_ref_test\.txt"):
        DeepFashion(root).published_pairs()
    absent = "img\\WOMEN\\Dresses\\id_00000009\\01_1_front.jpg"
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deepfashion_ref_test.txt").write_text(
        f"{IMAGES[0].replace('/', chr(92))},{IMAGES[1].replace('/', chr(92))}\n{absent},{IMAGES[0]}\n")
    (lists / "deepfashion_self_pair.txt").write_text(f"{IMAGES[1]},{absent},{IMAGES[0]}")
    pairs = DeepFashion(root).published_pairs()
    assert isinstance(pairs, PublishedPairs) and pairs.source == lists / "deepfashion_ref_test.txt"
    assert pairs.extra["lists"]["self_pairs"] == lists / "deepfashion_self_pair.txt"
    ref_test, self_pairs = pairs.extra["ref_test"], pairs.extra["self_pairs"]
    assert ref_test[IMAGES[0]] == [IMAGES[1]] and self_pairs[IMAGES[1]] == [list_path(absent), IMAGES[0]]
    assert pairs.missing == [list_path(absent)]
    assert pairs.pairs == [(IMAGES[0], IMAGES[1]), (list_path(absent), IMAGES[0])]
    assert pairs.present_pairs() == [(IMAGES[0], IMAGES[1])], "the pair with an absent input is reported, not raised"
    assert DeepFashion(root, lists=str(lists)).published_pairs().extra["ref_test"] == ref_test
    (lists / "deepfashion_self_pair.txt").write_text(f"{IMAGES[0]},{IMAGES[0]}")  # a same-person exemplar comes first
    assert DeepFashion(root).published_pairs().pairs[0] == (IMAGES[0], IMAGES[0])
    with pytest.raises(DataError, match="deepfashion: lists=3 is not a path"):
        DeepFashion(root, lists=3)
    with pytest.raises(DataError, match="deepfashion has no setting 'list'"):
        DeepFashion(root, list=str(lists))


def test_real_samples(cocosnet_samples: Path):
    dataset = DeepFashion(cocosnet_samples / "DeepFashion")
    assert dataset.present()
    split = dataset.make_split("val")
    assert [e.name for e in split.entries] == [
        "img/WOMEN/Dresses/id_00000244/02_1_front.jpg", "img/WOMEN/Dresses/id_00000203/03_1_front.jpg",
        "img/WOMEN/Cardigans/id_00006462/02_7_additional.jpg", "img/WOMEN/Cardigans/id_00006266/02_2_side.jpg"]
    counts = []
    for item in split:
        assert item.image.shape == (256, 256, 3), "CoCosNet's In-shop images are 256×256"
        assert np.all(item.label == IGNORE)
        assert item.keypoints.shape == (18, 3)
        counts.append(int((item.keypoints[:, 2] > 0).sum()))
        pose = item.extra["pose"]
        assert pose.shape == (20, 256, 256) and pose.min() >= 0 and pose.max() <= 1
    assert counts == [15, 16, 18, 12], "the count column of each published subset file"
    assert len(split.files) == 12 and len(split.fingerprint()) == 16
    pairs = dataset.published_pairs()
    ref_test, self_pairs = pairs.extra["ref_test"], pairs.extra["self_pairs"]
    assert len(ref_test) == 4 and all(len(v) == 1 for v in ref_test.values())
    assert pairs.pairs == [(k, v[0]) for k, v in ref_test.items()]
    named = set(ref_test) | {v[0] for v in ref_test.values()}
    on_disk = {str(p.relative_to(dataset.root)) for p in (dataset.root / "img").rglob("*.jpg")}
    assert named == on_disk and len(on_disk) == 8, "the published test pairs name exactly the 8 sample images"
    assert len(pairs.present_pairs()) == 4
    assert self_pairs == {"img/MEN/Denim/id_00000265/01_1_front.jpg": [
        "img/MEN/Denim/id_00000265/01_2_side.jpg", "img/MEN/Denim/id_00000265/01_7_additional.jpg"]}
    assert pairs.missing == sorted(["img/MEN/Denim/id_00000265/01_1_front.jpg", *self_pairs[
        "img/MEN/Denim/id_00000265/01_1_front.jpg"]]), "the same-person example's images are not in the samples"
