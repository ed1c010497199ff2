"""The world machinery on a toy world: splits, exact translation, visible mask, the disk cache, ``load_world``."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DataError
from datasets.worlds import WORLDS, load_world
from datasets.worlds.base import WorldSplit
from datasets.worlds.cache import SHARD, CachedWorldSplit
from tests.datasets.worlds.toy import ToyWorld


def test_items_do_not_depend_on_split_length_and_differ_by_seed():
    short, long = WorldSplit(ToyWorld(), 3, 48, seed=1), WorldSplit(ToyWorld(), 30, 48, seed=1)
    for i in range(3):
        assert np.array_equal(short.item(i).image, long.item(i).image)
    other = WorldSplit(ToyWorld(), 3, 48, seed=2)
    assert not np.array_equal(short.item(0).image, other.item(0).image)
    assert short.fingerprint() != other.fingerprint()
    assert short.fingerprint() == WorldSplit(ToyWorld(), 3, 48, seed=1).fingerprint()
    assert short.fingerprint() != WorldSplit(ToyWorld(with_disc=False), 3, 48, seed=1).fingerprint()


def test_exact_translation_is_the_layout_in_the_exemplar_style():
    split = WorldSplit(ToyWorld(), 4, (40, 56))
    out = split.exact_translation(0, 3)
    assert out.shape == (40, 56, 3)
    expected = split.world.render(split.record(0).layout, split.record(3).style, (40, 56))
    assert np.array_equal(out, expected)
    assert np.array_equal(split.exact_translation(2, 2), split.item(2).image)
    assert np.array_equal(split.item(0).label, split.world.label_map(split.record(0).layout, (40, 56)))


def test_visible_mask_on_hand_built_layouts():
    split = WorldSplit(ToyWorld(), 2, 64)
    # input: box and disc; exemplar: a box only (disc of radius 0) → disc pixels are not visible in the exemplar
    split.record(0).layout[:] = [0.1, 0.9, 0.5, 0.2, 0.5]
    split.record(1).layout[:] = [0.2, 0.4, 0.5, 0.2, 0.0]
    label = split.item(0).label
    mask = split.visible_mask(0, 1)
    assert set(np.unique(label)) == {0, 1, 2}
    assert np.array_equal(mask, label != 2)
    assert split.visible_mask(0, 0).all()
    # a class must cover min_pixels of the exemplar to count as visible
    box_pixels = int((split.item(1).label == 1).sum())
    assert np.array_equal(split.visible_mask(0, 1, min_pixels=box_pixels + 1), label == 0)


def test_bad_split_and_size_are_refused():
    with pytest.raises(ValueError, match="split"):
        WorldSplit(ToyWorld(), 2, 64, split="dev")
    with pytest.raises(ValueError, match=r"32\.\.1024"):
        WorldSplit(ToyWorld(), 2, 16)
    with pytest.raises(IndexError):
        WorldSplit(ToyWorld(), 2, 64).item(2)


def test_cache_round_trip_shares_shards_and_leaves_no_partial_files(tmp_path):
    plain = WorldSplit(ToyWorld(), 5, 48, seed=3, split="val")
    cached = CachedWorldSplit(ToyWorld(), 5, 48, seed=3, split="val", cache_dir=tmp_path)
    assert cached.missing_shards() == [0]
    assert cached.prepare(progress=False) == 1
    assert cached.prepare(progress=False) == 0
    for i in range(5):
        a, b = plain.item(i), cached.item(i)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
        assert np.array_equal(a.edges, b.edges)
    longer = CachedWorldSplit(ToyWorld(), SHARD + 1, 48, seed=3, split="val", cache_dir=tmp_path)
    assert longer.missing_shards() == [1]  # shard 0 is shared with the shorter split
    assert np.array_equal(longer.item(SHARD).image, WorldSplit(ToyWorld(), SHARD + 1, 48, 3, "val").item(SHARD).image)
    assert not list(tmp_path.rglob("*.part"))
    assert cached.fingerprint() == plain.fingerprint()


def test_load_world_refuses_unknown_names_and_settings():
    with pytest.raises(DataError, match="unknown world"):
        load_world("no-such-world")
    for name in WORLDS.names():
        with pytest.raises(DataError, match=name):
            load_world(name, n_train=1, n_val=1, no_such_setting=1)
