"""MNIST-Multiple invariants: one digit of every class in distinct cells, A black/white, B class hues with bounded
saturation/value jitter on a black or white background, exact ground truths, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.colors import rgb_to_hsv

from datasets.mnist import load_digits, load_mnist
from datasets.mnist_multiple import CELL, GRID, JITTER, GridImageSet, build_mnist_multiple


@pytest.fixture(scope="module")
def splits():  # type: ignore[no-untyped-def]
    d = load_digits()
    return build_mnist_multiple(d.train_images, d.train_labels, d.test_images, d.test_labels, seed=0)


def cell(image: np.ndarray, index: int) -> np.ndarray:
    r, c = divmod(int(index), GRID)
    return image[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL]


def test_every_image_holds_one_digit_of_each_class_in_distinct_cells(splits) -> None:  # type: ignore[no-untyped-def]
    for split in splits:
        for digits, cells in ((split.digits_a, split.cells_a), (split.digits_b, split.cells_b)):
            assert (split.labels[digits] == np.arange(10)).all()  # column c holds a digit of class c
            assert all(len(set(row)) == 10 for row in cells) and cells.min() >= 0 and cells.max() < 16


def test_domain_a_is_black_and_white_and_empty_cells_are_background(splits) -> None:  # type: ignore[no-untyped-def]
    test = splits[1]
    images = test.a(np.arange(20))
    assert images.shape == (20, 112, 112, 3) and images.dtype == np.uint8
    assert set(np.unique(images)) <= {0, 255} and (images == images[..., :1]).all()  # grey levels 0/255 only
    for i, image in enumerate(images):
        fg = 0 if test.a_dark_fg[i] else 255
        for c in range(10):
            mask = test.masks[test.digits_a[i, c]]
            assert (cell(image, test.cells_a[i, c])[..., 0] == np.where(mask, fg, 255 - fg)).all()
        for empty in set(range(16)) - set(test.cells_a[i]):
            assert (cell(image, empty) == 255 - fg).all()


def test_domain_b_colours_follow_the_class_hue_with_bounded_jitter(splits) -> None:  # type: ignore[no-untyped-def]
    test = splits[1]
    hsv = rgb_to_hsv(test.b_colours / 255.0)  # [N,10,3]
    hue_error = np.abs(((hsv[..., 0] - np.arange(10) / 10) + 0.5) % 1 - 0.5)
    assert hue_error.max() < 0.02  # 8-bit rounding only
    tolerance = 2 / 255
    for channel in (1, 2):  # saturation, value in 0.5·[1 − 0.4, 1 + 0.4]
        assert hsv[..., channel].min() >= 0.5 * (1 - JITTER) - tolerance
        assert hsv[..., channel].max() <= 0.5 * (1 + JITTER) + tolerance
    assert 0.3 < test.b_white_bg.mean() < 0.7 and 0.3 < test.a_dark_fg.mean() < 0.7
    images = test.b(np.arange(10))
    for i, image in enumerate(images):
        bg = 255 if test.b_white_bg[i] else 0
        for c in range(10):
            mask = test.masks[test.digits_b[i, c]]
            block = cell(image, test.cells_b[i, c])
            assert (block[mask] == test.b_colours[i, c]).all() and (block[~mask] == bg).all()


def test_ground_truths_are_the_content_layout_in_the_exemplar_scheme(splits) -> None:  # type: ignore[no-untyped-def]
    test = splits[1]
    idx = np.arange(10)
    a2b, b2a, a, b = test.gt_a2b(idx), test.gt_b2a(idx), test.a(idx), test.b(idx)
    for i in idx:
        bg_b = 255 if test.b_white_bg[i] else 0
        for c in range(10):
            mask = test.masks[test.digits_a[i, c]]
            block = cell(a2b[i], test.cells_a[i, c])
            assert (block[mask] == test.b_colours[i, c]).all() and (block[~mask] == bg_b).all()
        # B→A: B's layout (same cells lit) in A's black/white scheme
        assert ((b2a[i] != b2a[i, :1, :1]).any(-1) == (b[i] != b[i, :1, :1]).any(-1)).all()
        assert set(np.unique(b2a[i])) <= {0, 255} and b2a[i, 0, 0, 0] == a[i, 0, 0, 0]


def test_construction_is_deterministic_from_the_seed() -> None:
    d = load_digits()
    build = lambda seed: build_mnist_multiple(d.train_images, d.train_labels, d.test_images, d.test_labels,  # noqa: E731
                                              seed=seed)[1].fingerprint()
    assert build(0) == build(0) != build(1)


def test_grid_image_set_renders_float_batches(splits) -> None:  # type: ignore[no-untyped-def]
    train = splits[0].head(16)
    assert len(train) == 16 and len(splits[0]) == 1437
    batch = GridImageSet(train, "B").get_batch(torch.tensor([3, 5]))["image"]
    assert batch.shape == (2, 3, 112, 112) and batch.dtype == torch.float32 and 0 <= batch.min() <= batch.max() <= 1
    assert torch.equal(GridImageSet(train, "A")[5]["image"], torch.from_numpy(train.a([5])[0]).permute(2, 0, 1) / 255)


@pytest.mark.shared_data
def test_full_mnist_sizes(shared_mnist: Path) -> None:
    d = load_mnist(shared_mnist)
    train, test = build_mnist_multiple(d.train_images, d.train_labels, d.test_images, d.test_labels, seed=0)
    assert (len(train), len(test)) == (60000, 10000)
    assert (train.labels[train.digits_b] == np.arange(10)).all()
