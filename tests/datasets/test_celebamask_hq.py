"""CelebAMask-HQ readers (``celebahq``: merged maps, ``celebahqedge``: per-part masks): tiny fixture folders in both
layouts, wrong layouts, and the real CoCosNet samples in ../shared/data/cocosnet_samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets.celebamask_hq import (
    CELEBAMASK_HQ,
    PAINT_ORDER,
    PARTS,
    CelebAHQ,
    CelebAHQEdge,
    cocosnet_semantics,
    merge_parts,
    read_pairs,
)
from datasets.real import REAL_DATASETS, PublishedPairs


def _jpg(path: Path, size: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), np.uint8)).save(path)


def _png(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)


def _merged_map(seed: int) -> np.ndarray:
    label = np.zeros((32, 32), np.uint8)
    label[4:28, 6:26] = 1  # skin
    label[:6] = 2  # hair
    label[12:15, 9:13] = 5  # l_eye
    label[12:15, 19:23] = 6
    label[20:24, 12:20] = 10 + seed % 3
    return label


def _celebahq(root: Path, ids=(5, 2001), glasses_for=(2001,)) -> Path:
    for i in ids:
        _jpg(root / "CelebA-HQ-img" / f"{i}.jpg", 64, i)  # photos at twice the mask size, as in CelebA-HQ
        _png(root / "CelebAMask-HQ-mask-anno" / "all_parts_except_glasses" / f"{i:05d}.png", _merged_map(i))
        if i in glasses_for:
            glasses = np.zeros((32, 32, 3), np.uint8)
            glasses[11:16, 8:24] = 255
            _png(root / "CelebAMask-HQ-mask-anno" / str(i // 2000) / f"{i:05d}_eye_g.png", glasses)
    (root / "val.txt").write_text("\n".join(str(i) for i in ids))  # no trailing newline, as published
    (root / "celebahq_ref_test.txt").write_text(f"{ids[0]}.jpg,{ids[1]}.jpg\n{ids[1]}.jpg,{ids[0]}.jpg,9.jpg")
    return root


def _part_masks() -> dict[str, np.ndarray]:
    masks = {p: np.zeros((32, 32), bool) for p in ("skin", "hair", "nose", "l_eye", "cloth", "neck")}
    masks["skin"][4:28, 6:26] = True
    masks["nose"][14:20, 14:18] = True  # inside the skin: the nose paints over it
    masks["hair"][:8, 4:28] = True  # over the forehead: hair paints over skin
    masks["l_eye"][11:14, 18:22] = True
    masks["neck"][26:32, 12:20] = True
    masks["cloth"][29:32, :] = True  # cloth is painted last, over the neck
    return masks


def _celebahqedge(root: Path, ids=(7, 4123)) -> Path:
    for i in ids:
        _jpg(root / "CelebA-HQ-img" / f"{i}.jpg", 64, i)
        for part, mask in _part_masks().items():
            _png(root / "CelebAMask-HQ-mask-anno" / str(i // 2000) / f"{i:05d}_{part}.png",
                 np.where(mask, 255, 0).astype(np.uint8), "RGB")  # RGB 0/255, as published
    (root / "val.txt").write_text("\n".join(str(i) for i in ids) + "\n")
    return root


def test_label_set_is_cocosnets_order_with_glasses_at_16():
    assert len(CELEBAMASK_HQ) == 19 and CELEBAMASK_HQ.classes[0] == "background"
    assert CELEBAMASK_HQ.index("skin") == 1 and CELEBAMASK_HQ.index("hair") == 2
    assert CELEBAMASK_HQ.index("eye_g") == 16 and CELEBAMASK_HQ.index("neck_l") == 18
    assert sorted(PAINT_ORDER) == sorted(PARTS)
    assert len({tuple(c) for c in CELEBAMASK_HQ.palette}) == 19


def test_cocosnet_semantics_puts_glasses_on_channel_16_over_the_part():
    label = np.array([[0, 1], [5, 1]], np.uint8)
    glasses = np.array([[False, True], [True, False]])
    sem = cocosnet_semantics(label, glasses)
    assert sem.shape == (19, 2, 2) and sem.dtype == np.float32
    assert sem[16].tolist() == [[0, 1], [1, 0]]
    assert sem[1, 0, 1] == 1 and sem[5, 1, 0] == 1  # the part under the glasses stays on


def test_merge_parts_follows_celebamask_hq_paint_order():
    masks = _part_masks()
    label = merge_parts(masks)
    assert label[16, 15] == CELEBAMASK_HQ.index("nose")
    assert label[5, 10] == CELEBAMASK_HQ.index("hair")
    assert label[30, 15] == CELEBAMASK_HQ.index("cloth")
    assert label[27, 15] == CELEBAMASK_HQ.index("neck")
    assert label[12, 19] == CELEBAMASK_HQ.index("l_eye")
    assert label[0, 0] == 0
    with pytest.raises(ValueError, match="unknown CelebAMask-HQ parts"):
        merge_parts({"beard": masks["skin"]})


def test_celebahq_reads_its_fixture_layout(tmp_path):
    data = CelebAHQ(_celebahq(tmp_path / "celebahq"))
    assert "celebahq" in REAL_DATASETS and REAL_DATASETS.get("celebahq") is CelebAHQ
    assert data.present()
    split = data.make_split("val")
    assert [e.name for e in split.entries] == ["5", "2001"]
    item = split.item(1)
    assert item.image.shape == (32, 32, 3) and item.image.dtype == np.uint8  # photo brought to the mask size
    assert np.array_equal(item.label, _merged_map(2001))
    assert item.extra["glasses"].sum() == 5 * 16 and not split.item(0).extra["glasses"].any()
    assert "CelebAMask-HQ-mask-anno/1/02001_eye_g.png" in split.files
    assert "CelebA-HQ-img/2001.jpg" in split.files and len(split.fingerprint()) == 16
    pairs = data.published_pairs()
    assert isinstance(pairs, PublishedPairs) and pairs.source == data.root / "celebahq_ref_test.txt"
    assert pairs.pairs == [("5", "2001"), ("2001", "5")] and pairs.missing == [] and pairs.extra == {}
    assert data.missing_pairs([("5", "9")]) == ["9"]


def test_celebahqedge_merges_part_masks_and_gives_face_edges(tmp_path):
    data = CelebAHQEdge(_celebahqedge(tmp_path / "edge"))
    split = data.make_split("val")
    item = split.item(1)
    assert item.name == "4123" and item.image.shape == (32, 32, 3)
    assert np.array_equal(item.label, merge_parts(_part_masks()))
    edges = item.extra["face_edges"]
    assert edges.shape == (15, 32, 32) and edges.dtype == np.float32
    assert "CelebAMask-HQ-mask-anno/2/04123_skin.png" in split.files
    assert [e.name for e in data.entries("all")] == ["7", "4123"]


@pytest.mark.parametrize("breakage, expected", [
    (lambda r: (r / "CelebAMask-HQ-mask-anno" / "all_parts_except_glasses" / "00005.png").unlink(),
     "no CelebAMask-HQ-mask-anno/all_parts_except_glasses/00005.png for photo 5"),
    (lambda r: (r / "val.txt").unlink(), "no val.txt"),
    (lambda r: (r / "CelebA-HQ-img" / "5.jpg").rename(r / "CelebA-HQ-img" / "00005.jpg"),
     "photos are not zero-padded"),
    (lambda r: (r / "val.txt").write_text("5\nfive"), "not a photo id"),
])
def test_celebahq_wrong_layout_names_the_expected_layout(tmp_path, breakage, expected):
    root = _celebahq(tmp_path / "celebahq")
    breakage(root)
    with pytest.raises(DataError) as info:
        CelebAHQ(root).make_split("val")
    message = str(info.value)
    assert expected in message
    assert "expected the layout" in message and "all_parts_except_glasses/<id:05d>.png" in message
    assert "fix:" in message


def test_celebahqedge_wrong_layout_names_the_expected_layout(tmp_path):
    root = _celebahqedge(tmp_path / "edge")
    for path in (root / "CelebAMask-HQ-mask-anno" / "2").glob("04123_*.png"):
        path.unlink()
    with pytest.raises(DataError, match=r"no part masks CelebAMask-HQ-mask-anno/2/04123_<part>.png") as info:
        CelebAHQEdge(root).make_split("val")
    assert "<id // 2000>/<id:05d>_<part>.png" in str(info.value)
    with pytest.raises(DataError, match="does not exist"):
        CelebAHQEdge(tmp_path / "nowhere").make_split("val")
    assert not CelebAHQEdge(tmp_path / "nowhere").present()


def test_a_missing_split_list_names_the_lists_present(tmp_path):
    root = _celebahq(tmp_path / "celebahq")
    for cls in (CelebAHQ, CelebAHQEdge):
        with pytest.raises(DataError) as info:
            cls(root).make_split("train")
        assert str(info.value).startswith(f"{cls.registry_name}: no train.txt (val.txt is present: use split=val) in ")
        assert "fix: use split=val" in str(info.value)
    (root / "val.txt").unlink()
    with pytest.raises(DataError, match=r"no train\.txt in "):
        CelebAHQ(root).make_split("train")


def test_celebahqedge_refuses_a_folder_without_skin_masks(tmp_path):
    root = _celebahq(tmp_path / "celebahq", glasses_for=(5, 2001))  # the mask → face layout: eye_g masks only
    with pytest.raises(DataError) as info:
        CelebAHQEdge(root).make_split("val")
    text = str(info.value)
    assert "no skin mask CelebAMask-HQ-mask-anno/0/00005_skin.png for photo 5 (only eye_g)" in text
    assert "read it with the celebahq reader" in text
    (root / "CelebAMask-HQ-mask-anno" / "0" / "00005_eye_g.png").unlink()  # no part mask at all: the same advice
    with pytest.raises(DataError, match=r"no part masks (?s:.*)read it with the celebahq reader"):
        CelebAHQEdge(root).make_split("val")
    edge = _celebahqedge(tmp_path / "edge")
    (edge / "CelebAMask-HQ-mask-anno" / "0" / "00007_skin.png").unlink()
    with pytest.raises(DataError, match=r"no skin mask CelebAMask-HQ-mask-anno/0/00007_skin\.png") as info:
        CelebAHQEdge(edge).entries("all")
    assert "celebahq reader" not in str(info.value)


def test_no_download_gives_the_steps(tmp_path):
    with pytest.raises(DataError, match="cannot be downloaded automatically") as info:
        CelebAHQ(tmp_path).download()
    assert "switchablenorms/CelebAMask-HQ" in str(info.value) and "all_parts_except_glasses" in str(info.value)


# The real samples (CoCosNet's demo files in the official layouts).

def test_real_celebahq_samples(cocosnet_samples):
    data = CelebAHQ(cocosnet_samples / "celebahq")
    val = data.make_split("val")
    assert [e.name for e in val.entries] == ["29922", "29883", "26969", "25807"]
    every = data.make_split("all")
    assert len(every) == 8
    values = set()
    for item in every:
        assert item.image.shape == (512, 512, 3) and item.label.shape == (512, 512)
        CELEBAMASK_HQ.check(item.label)
        values |= set(np.unique(item.label).tolist())
        assert not item.extra["glasses"].any()  # none of the eight wears glasses
        # the separate per-part eye masks land on the map's eye ids (5 = l_eye on the image right)
        folder = cocosnet_samples / "celebahq" / "CelebAMask-HQ-mask-anno" / str(int(item.name) // 2000)
        for part in ("l_eye", "r_eye"):
            mask = np.asarray(Image.open(folder / f"{int(item.name):05d}_{part}.png").convert("L")) > 127
            assert (item.label[mask] == CELEBAMASK_HQ.index(part)).mean() > 0.99
        assert np.argwhere(item.label == 5)[:, 1].mean() > np.argwhere(item.label == 6)[:, 1].mean()
        assert np.argwhere(item.label == 2)[:, 0].min() < np.argwhere(item.label == 1)[:, 0].min()  # hair tops skin
    assert values == set(range(15)) | {17, 18}
    assert len(every.files) >= 16


def test_real_celebahq_folder_is_refused_by_the_edge_reader(cocosnet_samples):
    with pytest.raises(DataError, match=r"no skin mask .*_skin\.png(?s:.*)read it with the celebahq reader"):
        CelebAHQEdge(cocosnet_samples / "celebahq").make_split("val")
    with pytest.raises(DataError, match=r"did you mean root=.*cocosnet_samples/celebahqedge\?"):
        CelebAHQEdge(cocosnet_samples).make_split("val")


def test_real_celebahqedge_samples(cocosnet_samples):
    data = CelebAHQEdge(cocosnet_samples / "celebahqedge")
    assert [e.name for e in data.make_split("val").entries] == ["29642", "29539", "29318", "22233"]
    every = data.make_split("all")
    assert len(every) == 8
    for index in range(len(every)):
        item = every.item(index)
        assert item.image.shape == (512, 512, 3)
        present = set(np.unique(item.label).tolist())
        assert {0, 1, 2, 4, 5, 6, 9, 10, 12, 13} <= present and 16 not in present
        assert item.extra["face_edges"].shape == (15, 512, 512)
    assert len(every.files) > 8 * 10  # every part mask read was hashed


def test_real_published_pairs_against_files(cocosnet_samples):
    published = read_pairs(cocosnet_samples / "lists" / "celebahq_ref_test.txt")
    assert len(published) == 8
    mask = CelebAHQ(cocosnet_samples / "celebahq")
    edge = CelebAHQEdge(cocosnet_samples / "celebahqedge")
    found = mask.published_pairs()  # found in ../lists beside the dataset folder
    assert found.pairs == published and found.source == cocosnet_samples / "lists" / "celebahq_ref_test.txt"
    # CoCosNet's one list covers both demo folders: the first four pairs are the mask samples, the last four the edge
    assert found.missing == sorted({i for p in published[4:] for i in p}, key=int)
    assert edge.published_pairs().missing == sorted({i for p in published[:4] for i in p}, key=int)
    assert mask.missing_pairs(published[:4]) == [] and edge.missing_pairs(published[4:]) == []
    assert mask.missing_pairs(published[4:]) == sorted({i for p in published[4:] for i in p}, key=int)
    val = {e.name for e in mask.entries("val")} | {e.name for e in edge.entries("val")}
    assert {inp for inp, _ in published} == val  # every input is a val photo, every exemplar a non-val photo
    assert not {ex for _, ex in published} & val
