"""GTA5 and BDD100K readers on tiny fixture folders in their published layouts; the Cityscapes label tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from core.errors import DataError
from datasets.bdd100k import BDD100K
from datasets.cityscapes import CITYSCAPES_19, LABEL_ID_TO_TRAIN_ID, id_to_train_id
from datasets.download import Remote
from datasets.gta5 import GTA5
from datasets.real import REAL_DATASETS


def test_cityscapes_tables_match_cityscapes_scripts() -> None:
    assert len(CITYSCAPES_19) == 19 and CITYSCAPES_19.ignore == 255
    assert CITYSCAPES_19.classes[:3] == ("road", "sidewalk", "building")
    assert [CITYSCAPES_19.classes[i] for i in CITYSCAPES_19.things] == [
        "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
    assert tuple(CITYSCAPES_19.palette[CITYSCAPES_19.index("road")]) == (128, 64, 128)
    assert tuple(CITYSCAPES_19.palette[CITYSCAPES_19.index("bicycle")]) == (119, 11, 32)
    table = id_to_train_id()
    # labels.py: road 7→0, sky 23→10, train 31→16, bicycle 33→18; parking 9, caravan 29, trailer 30 are void
    assert (table[7], table[23], table[31], table[33]) == (0, 10, 16, 18)
    assert table[9] == table[29] == table[30] == table[0] == table[34] == 255
    assert sorted(v for v in LABEL_ID_TO_TRAIN_ID.values() if v != 255) == list(range(19))
    assert set(LABEL_ID_TO_TRAIN_ID) == set(range(34))


def palette_png(path: Path, ids: np.ndarray) -> None:
    im = Image.fromarray(ids.astype(np.uint8), mode="P")
    im.putpalette([c for i in range(256) for c in (i, 255 - i, (7 * i) % 256)])
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def gta_folder(root: Path, n: int = 4, size: tuple[int, int] = (12, 20)) -> Path:
    rng = np.random.default_rng(0)
    for i in range(1, n + 1):
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "images" / f"{i:05d}.png")
        ids = np.full(size, 7)  # road
        ids[: size[0] // 2] = 23  # sky
        ids[0, 0], ids[0, 1], ids[1, 0] = 29, 0, 33  # caravan (void), unlabeled, bicycle
        palette_png(root / "labels" / f"{i:05d}.png", ids)
    return root


def test_gta5_reads_ids_as_train_ids(tmp_path: Path) -> None:
    assert REAL_DATASETS.get("gta5") is GTA5
    data = GTA5(gta_folder(tmp_path / "gta5"))
    assert data.present()
    split = data.make_split("all")
    assert len(split) == 4 and split.labels is CITYSCAPES_19
    item = split.item(2)
    assert item.name == "00003" and item.image.shape == (12, 20, 3) and item.label.shape == (12, 20)
    assert item.label[-1, -1] == 0 and item.label[1, 5] == 10  # road, sky (palette index, not colour)
    assert item.label[0, 0] == item.label[0, 1] == 255 and item.label[1, 0] == 18
    assert {"images/00003.png", "labels/00003.png"} <= set(split.files)
    assert len(split.files["images/00003.png"]) == 64
    assert split.fingerprint() == GTA5(tmp_path / "gta5").make_split("all").fingerprint()


def test_gta5_official_split_from_split_mat(tmp_path: Path) -> None:
    root = gta_folder(tmp_path / "gta5")
    with pytest.raises(DataError, match=r"split\.mat"):
        GTA5(root).entries("train")
    savemat(root / "split.mat", {"trainIds": np.array([[1], [3]]), "valIds": np.array([[2]]),
                                 "testIds": np.array([[4], [9]])})
    data = GTA5(root)
    assert [e.name for e in data.entries("train")] == ["00001", "00003"]
    assert [e.name for e in data.entries("val")] == ["00002"]
    with pytest.raises(DataError, match="00009"):
        data.entries("test")


def test_gta5_wrong_layout_names_the_expected_layout(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(flat / "00001.png")
    with pytest.raises(DataError) as err:
        GTA5(flat).make_split("all")
    text = str(err.value)
    assert "no images/*.png" in text and "labels/00001.png" in text and str(flat) in text
    assert "or run `python -m bench data download source=gta5 [root=DIR]`" in text  # the command that exists
    assert "(`root=` in `bench data`, `data.root=` in `bench run`)" in text
    assert not GTA5(flat).present()
    root = gta_folder(tmp_path / "gta5")
    (root / "labels" / "00002.png").unlink()
    with pytest.raises(DataError, match=r"without a label file.*00002"):
        GTA5(root).entries("all")


def test_gta5_mismatched_sizes_error_or_skip(tmp_path: Path) -> None:
    root = gta_folder(tmp_path / "gta5")
    palette_png(root / "labels" / "00002.png", np.full((10, 20), 7))
    split = GTA5(root).make_split("all")
    with pytest.raises(DataError, match=r"00002\.png is 20×10 but its image 00002\.png is 20×12"):
        split.item(1)
    assert [e.name for e in GTA5(root, mismatched="skip").entries("all")] == ["00001", "00003", "00004"]
    with pytest.raises(DataError, match="gta5: mismatched='resize' is not known") as err:
        GTA5(root, mismatched="resize")
    assert "use one of ['error', 'skip']" in str(err.value)


def test_gta5_download_merges_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 21 archives unpack into one images/ + labels/ + split.mat tree (network replaced by local zips)."""
    made: list[str] = []

    def fake_fetch(remote: Remote, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / remote.filename
        with zipfile.ZipFile(path, "w") as z:
            part = remote.filename.split("_")[0]
            if "images" in remote.filename or "labels" in remote.filename:
                kind = "images" if "images" in remote.filename else "labels"
                z.writestr(f"{kind}/{int(part) * 10:05d}.png", b"png")
            else:
                z.writestr("read_mapping/split.mat", b"mat")
        made.append(remote.filename)
        return path

    monkeypatch.setattr("datasets.gta5.fetch", fake_fetch)
    root = tmp_path / "data" / "gta5"
    GTA5(root).download()
    assert len(made) == 21 and made[-1] == "read_mapping.zip"
    assert sorted(p.name for p in (root / "images").iterdir())[:2] == ["00010.png", "00020.png"]
    assert len(list((root / "labels").iterdir())) == 10 and (root / "split.mat").read_bytes() == b"mat"
    assert all(r.sha256 is None and r.url.startswith("https://download.visinf.tu-darmstadt.de/data/from_games/")
               for r in GTA5.remotes)


def bdd_folder(root: Path, split: str = "train", n: int = 3, size: tuple[int, int] = (18, 32)) -> Path:
    rng = np.random.default_rng(1)
    (root / "images" / "10k" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / "sem_seg" / "masks" / split).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"{i:08x}-0000beef"
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
            root / "images" / "10k" / split / f"{name}.jpg", quality=90)
        mask = (np.arange(size[0] * size[1]).reshape(size) % 19).astype(np.uint8)
        mask[0, :4] = (255, 19, 200, 18)
        Image.fromarray(mask, mode="L").save(root / "labels" / "sem_seg" / "masks" / split / f"{name}.png")
    return root


def test_bdd100k_reads_masks_and_maps_unknown_ids_to_ignore(tmp_path: Path) -> None:
    assert REAL_DATASETS.get("bdd100k") is BDD100K and BDD100K.remotes == ()
    bdd_folder(tmp_path / "bdd100k", "train")
    bdd_folder(tmp_path / "bdd100k", "val", n=2)
    for root in (tmp_path / "bdd100k", tmp_path):  # the unzipped bdd100k/ folder or its parent
        data = BDD100K(root)
        train, val = data.make_split("train"), data.make_split("val")
        assert (len(train), len(val)) == (3, 2)
    item = train.item(1)
    assert item.name == "00000001-0000beef" and item.image.shape == (18, 32, 3) and item.image.dtype == np.uint8
    assert tuple(item.label[0, :4]) == (255, 255, 255, 18)
    assert set(np.unique(item.label)) == set(range(19)) | {255}
    assert any(k.endswith("00000001-0000beef.jpg") for k in train.files)
    with pytest.raises(DataError, match="cannot be downloaded") as err:
        data.download()
    assert "bdd-data.berkeley.edu" in str(err.value)
    with pytest.raises(DataError, match="bdd100k has no setting 'subset'"):
        BDD100K(tmp_path, subset="all")


def test_bdd100k_wrong_layout_and_mismatches(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    (wrong / "seg" / "images" / "train").mkdir(parents=True)  # the older bdd100k/seg/ layout
    with pytest.raises(DataError) as err:
        BDD100K(wrong).make_split("train")
    assert "labels/sem_seg/masks/train" in str(err.value) and "images/10k/train/<name>.jpg" in str(err.value)
    root = bdd_folder(tmp_path / "bdd100k")
    (root / "images" / "10k" / "train" / "00000002-0000beef.jpg").unlink()
    with pytest.raises(DataError, match=r"without an image.*00000002-0000beef"):
        BDD100K(root).entries("train")
    root = bdd_folder(tmp_path / "other")
    Image.fromarray(np.zeros((9, 32), np.uint8), mode="L").save(
        root / "labels" / "sem_seg" / "masks" / "train" / "00000000-0000beef.png")
    with pytest.raises(DataError, match="is 32×9 but its image"):
        BDD100K(root).make_split("train").item(0)
    with pytest.raises(DataError, match="no split 'test'"):
        BDD100K(root).make_split("test")
