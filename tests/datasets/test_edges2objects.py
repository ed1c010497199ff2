"""The procedural stand-in: determinism, parts, masks, edges that do not depend on style, exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.edges2objects import (
    N_PARTS,
    Edges2ObjectsSplit,
    edge_map,
    load_edges2objects,
    part_map,
    render_photo,
)


def test_items_are_a_pure_function_of_seed_split_and_index() -> None:
    small, large = Edges2ObjectsSplit(3, 48, seed=1), Edges2ObjectsSplit(6, 48, seed=1)
    assert np.array_equal(small.all().b, large.load([0, 1, 2]).b)
    other = Edges2ObjectsSplit(3, 48, seed=2)
    assert not np.array_equal(small.all().b, other.all().b)
    assert not np.array_equal(small.all().b, Edges2ObjectsSplit(3, 48, seed=1, split="val").all().b)


def test_every_object_shows_all_parts_on_a_white_background() -> None:
    split = Edges2ObjectsSplit(12, 64, seed=0)
    for i in range(len(split)):
        labels = split.labels(i)
        present = set(np.unique(labels)) - {0}
        assert present == set(range(1, N_PARTS + 1)), f"object {i} lacks parts {set(range(1, 6)) - present}"
    pairs = split.all()
    assert np.array_equal(pairs.mask, np.stack([split.labels(i) > 0 for i in range(12)]).astype(np.uint8))
    assert (pairs.b[pairs.mask == 0] == 255).all()  # background is white
    assert (pairs.a[..., 0] == pairs.a[..., 2]).all() and set(np.unique(pairs.a)) <= {0, 255}


def test_edges_depend_on_geometry_only_and_exact_translation_is_consistent() -> None:
    split = Edges2ObjectsSplit(4, 64, seed=5)
    g0, s0, s1 = split.records[0].geometry, split.records[0].style, split.records[1].style
    labels = part_map(g0, 64)
    assert np.array_equal(edge_map(labels), split.all().a[0])
    # the exact translation of input 0 under exemplar 0 is its own photo; under exemplar 1, its shape in 1's style
    assert np.array_equal(split.exact_translation([0], [0])[0], split.all().b[0])
    other = split.exact_translation([0], [1])[0]
    assert np.array_equal(other, render_photo(g0, s1, 64))
    assert np.array_equal(other == 255, split.all().b[0] == 255) or (other[labels == 0] == 255).all()
    assert not np.array_equal(render_photo(g0, s0, 64), other)


@pytest.mark.parametrize("size", [32, 128, 256])
def test_renders_at_any_size(size: int) -> None:
    split = Edges2ObjectsSplit(1, size, seed=0)
    pair = split.all()
    assert pair.a.shape == (1, size, size, 3) and pair.mask.shape == (1, size, size)
    assert 0.1 < pair.mask.mean() < 0.7


def test_data_source_names_itself_as_the_stand_in() -> None:
    data = load_edges2objects(size=32, n_train=4, n_val=3)
    assert data.source == "edges2objects" and "NOT edges2shoes" in data.description
    assert data.mask_source == "exact" and len(data.fingerprint) == 16
    assert load_edges2objects(size=32, n_train=4, n_val=3).fingerprint == data.fingerprint
