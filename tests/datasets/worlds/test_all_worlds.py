"""The contract every registered world keeps (parametrised over ``WORLDS``)."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.worlds import WORLDS, load_world
from datasets.worlds.base import WorldSplit

NAMES = WORLDS.names()
SIZE = (64, 64)


def _split(name: str, n: int = 4, seed: int = 0, split: str = "train", size=SIZE) -> WorldSplit:
    return load_world(name, n_train=n, n_val=n, size=size, seed=seed).splits[split]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes_and_items_independent_of_split_size(name):
    a, b, long = _split(name), _split(name), _split(name, n=9)
    for i in range(4):
        ia, ib, il = a.item(i), b.item(i), long.item(i)
        for field in ("image", "label", "instance", "keypoints", "edges"):
            va, vb, vl = getattr(ia, field), getattr(ib, field), getattr(il, field)
            if va is None:
                assert vb is None and vl is None
                continue
            assert va.tobytes() == vb.tobytes() == vl.tobytes(), field
    assert a.fingerprint() == b.fingerprint() != _split(name, seed=1).fingerprint()
    assert not np.array_equal(a.item(0).image, _split(name, seed=1).item(0).image)
    assert a.item(0).label.tobytes() != _split(name, split="val").item(0).label.tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_items_have_the_declared_types_and_classes_only(name):
    split = _split(name, n=6, size=(64, 96))
    labels = split.labels
    seen: set[int] = set()
    for item in split:
        assert item.image.dtype == np.uint8 and item.image.shape == (64, 96, 3)
        assert item.label.dtype == np.uint8 and item.label.shape == (64, 96)
        labels.check(item.label)
        seen |= set(np.unique(item.label).tolist())
        assert item.edges is not None and item.edges.shape == (64, 96, 3) and item.edges.dtype == np.uint8
        if item.instance is not None:
            assert item.instance.shape == (64, 96)
            things = item.instance > 0
            assert np.isin(item.label[things], labels.things).all(), "instances only on thing classes"
        if item.keypoints is not None:
            assert item.keypoints.shape == (18, 3) and item.keypoints.dtype == np.float32
    assert len(seen) >= 3, f"a world should show several classes over 6 items, saw {sorted(seen)}"


@pytest.mark.parametrize("name", NAMES)
def test_exact_ground_truth_is_the_render_of_layout_i_in_style_k(name):
    split = _split(name)
    world = split.world
    for i, k in ((0, 1), (2, 3), (3, 0)):
        expected = world.render(split.record(i).layout, split.record(k).style, SIZE)
        assert np.array_equal(split.exact_translation(i, k), expected)
    assert np.array_equal(split.exact_translation(1, 1), split.item(1).image)
    # the input (label map, edges) does not depend on the style: a different exemplar changes only the colours
    assert not np.array_equal(split.exact_translation(0, 1), split.exact_translation(0, 2))
    val = _split(name, split="val")
    assert np.array_equal(split.exact_translation(0, 2, val),
                          world.render(split.record(0).layout, val.record(2).style, SIZE))


@pytest.mark.parametrize("name", NAMES)
def test_visible_mask_is_the_input_classes_present_in_the_exemplar(name):
    split = _split(name)
    for i, k in ((0, 1), (1, 2)):
        mask = split.visible_mask(i, k)
        label, exemplar = split.item(i).label, split.item(k).label
        assert mask.shape == label.shape and mask.dtype == bool
        assert np.array_equal(mask, np.isin(label, np.unique(exemplar)))
    assert split.visible_mask(0, 0).all()


@pytest.mark.parametrize("name", NAMES)
def test_renders_any_resolution_from_the_same_parameters(name):
    small, large = _split(name, n=2, size=(64, 64)), _split(name, n=2, size=(128, 128))
    a, b = small.item(0).label, large.item(0).label[::2, ::2]
    assert (a == b).mean() > 0.85, "the label map at 128 px, subsampled, should match the one at 64 px"
