"""The one image reader (issue 13, failure kinds 5 and 8): 16-bit files rescaled instead of clipped to white,
transparency composited on white and counted, 8-bit files exactly as Pillow converts them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DataError
from core.images import read_image, read_rgb


def test_16_bit_grey_png_is_rescaled_not_clipped_to_white(tmp_path: Path) -> None:
    grey = np.array([[0, 257 * 64], [257 * 128, 65535]], np.uint16)  # 8-bit 0, 64, 128, 255 in 16-bit
    Image.fromarray(grey).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as image:
        assert np.asarray(image.convert("RGB")).min(axis=-1).tolist() == [[0, 255], [255, 255]]  # Pillow clips
    read = read_image(tmp_path / "g16.png")
    assert read.depth == "16-bit" and read.pixels.shape == (2, 2, 3)
    np.testing.assert_allclose(read.pixels[..., 0], grey / 65535, atol=1e-7)
    assert read_rgb(tmp_path / "g16.png")[..., 1].tolist() == [[0, 64], [128, 255]]


def test_8_bit_files_read_exactly_as_pillow_converts_them(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert np.array_equal(read_rgb(tmp_path / "a.png"), rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png").pixels, rgb.astype(np.float32) / 255)
    with Image.open(tmp_path / "p.png") as image:
        assert np.array_equal(read_rgb(tmp_path / "p.png"), np.asarray(image.convert("RGB")))


def test_transparency_is_composited_on_white_and_counted(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)
    rgba[:3, :, 3] = 0  # transparent rows hide random colours
    rgba[3:, :, 3] = 255
    rgba[5, 0, 3] = 128  # one half-transparent pixel
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    read = read_image(tmp_path / "rgba.png")
    alpha = rgba[..., 3:] / 255
    expected = rgba[..., :3] / 255 * alpha + (1 - alpha)
    np.testing.assert_allclose(read.pixels, expected, atol=1e-6)
    assert read.transparent == 19 and (read.pixels[:3] == 1).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_rgb(tmp_path / "rgba.png")
        read_rgb(tmp_path / "rgba.png")
    assert len(caught) == 1 and "composited on white" in str(caught[0].message)  # once per folder


def test_32_bit_integers_beyond_16_bit_are_refused_with_the_reason(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 70000]], np.int32), "I").save(tmp_path / "i32.tif")
    with pytest.raises(DataError, match="outside 8- and 16-bit range"):
        read_image(tmp_path / "i32.tif")


def test_an_image_deleted_after_its_folder_was_listed_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "listed.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    listed = sorted(tmp_path.glob("*.png"))  # a dataset indexes its folder ...
    path.unlink()  # ... and the file goes away mid-run
    with pytest.raises(DataError) as info:
        read_rgb(listed[0])
    assert str(info.value).startswith(f"image {path} is missing (deleted or moved after its folder was listed)")
    assert info.value.hint.startswith("restore the file and rerun")
