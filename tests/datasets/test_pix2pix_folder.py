"""pix2pix AB-folder loader: layout, masks (files or the near-white rule), errors, offline download failure."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from datasets import DATA_SOURCES
from datasets.edges2objects import Edges2ObjectsSplit
from datasets.pix2pix_folder import (
    ARCHIVES,
    Pix2PixFolder,
    download_pix2pix,
    foreground_mask,
    load_pix2pix,
    write_pix2pix,
)


def tiny_folder(root: Path, n_train: int = 5, n_val: int = 4, size: int = 64, masks: bool = False) -> Path:
    for split, n in (("train", n_train), ("val", n_val)):
        pairs = Edges2ObjectsSplit(n, size, seed=3, split="train" if split == "train" else "val").all()
        write_pix2pix(root, split, pairs.a, pairs.b, pairs.mask if masks else None)
    return root


def test_reads_side_by_side_pairs_and_resizes(tmp_path: Path) -> None:
    root = tiny_folder(tmp_path / "edges2shoes")
    data = load_pix2pix("edges2shoes", root, size=32, verify=False)
    assert data.source == "edges2shoes" and len(data.train) == 5 and len(data.val) == 4
    assert data.mask_source == "derived" and "val" in data.files
    batch = data.val.load([0, 2])
    assert batch.a.shape == (2, 32, 32, 3) and batch.b.shape == (2, 32, 32, 3) and batch.mask.shape == (2, 32, 32)
    # A is the edge map (mostly white, some black), B the photo (coloured object on white)
    assert batch.a.mean() > 200 and batch.a.min() < 60
    assert np.abs(batch.b.astype(int) - batch.a.astype(int)).mean() > 10
    view = data.train.domain("B").get_batch(np.array([1, 3]))
    assert view["image"].shape == (2, 3, 32, 32) and view["mask"].shape == (2, 1, 32, 32)
    assert float(view["image"].max()) <= 1.0
    assert DATA_SOURCES.get("edges2handbags") is not None


def test_derived_masks_follow_the_rendered_silhouette(tmp_path: Path) -> None:
    root = tiny_folder(tmp_path / "d", n_train=2, n_val=3)
    truth = Edges2ObjectsSplit(3, 64, seed=3, split="val").all().mask
    derived = Pix2PixFolder(root, "val", 64).all().mask
    iou = (derived & truth).sum() / (derived | truth).sum()
    assert iou > 0.9


def test_mask_files_take_precedence_and_are_counted(tmp_path: Path) -> None:
    root = tiny_folder(tmp_path / "m", masks=True)
    data = load_pix2pix("edges2shoes", root, size=64, verify=False)
    assert data.mask_source == "files"
    truth = Edges2ObjectsSplit(4, 64, seed=3, split="val").all().mask
    assert (data.val.all().mask == truth).mean() > 0.99


def test_near_white_rule_keeps_enclosed_white_and_outlined_white_objects() -> None:
    photo = np.full((40, 40, 3), 255, np.uint8)
    photo[10:30, 10:30] = (200, 30, 30)
    photo[15:25, 15:25] = 240  # shaded white material enclosed by the object: foreground
    mask = foreground_mask(photo)
    assert mask[20, 20] == 1 and mask[12, 12] == 1 and mask[2, 2] == 0 and mask.sum() == 400
    photo[15:25, 15:25] = 255  # studio white enclosed by the object (a handle's hole): background
    mask = foreground_mask(photo)
    assert mask[20, 20] == 0 and mask[12, 12] == 1 and mask.sum() == 300
    white_shoe = np.full((40, 40, 3), 255, np.uint8)  # white object on white: only its outline separates it
    white_shoe[9:31, 9:31] = 242
    edges = np.full((40, 40, 3), 255, np.uint8)
    edges[8, 8:32] = edges[31, 8:32] = 0
    edges[8:32, 8] = edges[8:32, 31] = 0
    assert foreground_mask(white_shoe)[20, 20] == 0  # without the edge map it is background
    assert foreground_mask(white_shoe, edges)[20, 20] == 1


def test_layout_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="train/ and val/ sub-folders"):
        Pix2PixFolder(tmp_path / "missing", "train")
    (tmp_path / "bad" / "val").mkdir(parents=True)
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "bad" / "val" / "1_AB.jpg")
    with pytest.raises(DataError, match="twice as wide"):
        Pix2PixFolder(tmp_path / "bad", "val").load([0])
    with pytest.raises(DataError, match=r"data\.root"):
        load_pix2pix("edges2shoes", None)


def test_download_fails_fast_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="could not download") as err:
        download_pix2pix("edges2shoes", tmp_path / "edges2shoes")
    assert "edges2objects" in str(err.value) and ARCHIVES["edges2shoes"].url in str(err.value)
    assert not list(tmp_path.glob("*.part"))


def test_16_bit_grey_ab_pngs_are_rescaled_not_read_as_white(tmp_path: Path) -> None:
    """Issue 13, failure kind 5: Pillow's RGB conversion clips 16-bit values at 255 (all-white photos)."""
    rng = np.random.default_rng(0)
    (tmp_path / "val").mkdir()
    eight_bit = rng.integers(0, 256, (2, 16, 32), dtype=np.uint8)
    for i, image in enumerate(eight_bit):
        Image.fromarray(image.astype(np.uint16) * 257).save(tmp_path / "val" / f"{i + 1}_AB.png")
    folder = Pix2PixFolder(tmp_path, "val", size=16)
    for i in range(2):
        a, b, _ = folder.read_pair(i)
        assert np.array_equal(a[..., 0], eight_bit[i][:, :16]) and np.array_equal(b[..., 2], eight_bit[i][:, 16:])
