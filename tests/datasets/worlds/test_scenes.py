"""The ``scenes`` world: determinism, declared classes, layered structure, perspective, style/label separation and
resolution consistency."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.worlds.base import WORLDS, WorldSplit
from datasets.worlds.scenes import MOODS, REAL_NAMES, SCENES, ScenesWorld, value_noise
from datasets.worlds.scenes_layout import CLASSES, ID, SceneLayout, Thing, rasterise
from datasets.worlds.scenes_shapes import SHAPES

N = 24
GROUND = [ID[c] for c in ("grass", "water", "sand", "road")]
SKYLIKE = [ID[c] for c in ("sky", "clouds", "mountain", "hill")]


@pytest.fixture(scope="module")
def split() -> WorldSplit:
    return WorldSplit(ScenesWorld(), N, 64, seed=3)


def test_registered_with_the_required_classes() -> None:
    assert WORLDS.get("scenes") is ScenesWorld
    required = {"sky", "clouds", "mountain", "hill", "tree", "bush", "grass", "water", "sand", "snow", "rock", "road",
                "building", "fence", "person", "car"}
    assert required <= set(SCENES.classes)
    assert {SCENES.classes[i] for i in SCENES.things} == {"tree", "person", "car"}
    assert set(REAL_NAMES) == set(SCENES.classes)
    # a few spot checks against COCO-Stuff's labels.md (1-based there) and ADE20k's objectInfo150
    assert REAL_NAMES["sky"][:2] == ("sky-other", 156) and REAL_NAMES["person"][:2] == ("person", 0)
    assert REAL_NAMES["grass"][2:] == ("grass", 10) and REAL_NAMES["car"][2:] == ("car", 21)


def test_deterministic_and_independent_of_split_size(split: WorldSplit) -> None:
    other = WorldSplit(ScenesWorld(), N + 7, 64, seed=3)
    for i in (0, 5, N - 1):
        a, b = split.item(i), other.item(i)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
        assert np.array_equal(a.instance, b.instance) and np.array_equal(a.edges, b.edges)
    assert WorldSplit(ScenesWorld(), 4, 64, seed=4).item(0).image.tobytes() != split.item(0).image.tobytes()
    small = WorldSplit(ScenesWorld(), 5, 64, seed=3)
    assert small.fingerprint() == WorldSplit(ScenesWorld(), 5, 64, seed=3).fingerprint()
    assert small.fingerprint() != WorldSplit(ScenesWorld(), 5, 64, seed=4).fingerprint()


def test_only_declared_classes_and_instances_match_the_label_map(split: WorldSplit) -> None:
    seen: set[int] = set()
    for item in split:
        assert item.image.dtype == np.uint8 and item.image.shape == (64, 64, 3)
        assert item.label.dtype == np.uint8 and item.instance.dtype == np.int32
        SCENES.check(item.label)
        assert item.label.max() < len(CLASSES)
        seen |= set(np.unique(item.label).tolist())
        things = np.isin(item.label, SCENES.things)
        assert not item.instance[~things].any()  # stuff has no instance
        assert (item.instance[things] > 0).all()  # every tree, person and car pixel belongs to an instance
        for k in np.unique(item.instance[item.instance > 0]):
            assert len(np.unique(item.label[item.instance == k])) == 1  # one class per instance
    assert len(seen) >= 12  # the scene types together show most classes


def test_layers_sky_above_the_horizon_ground_below() -> None:
    world, split = ScenesWorld(), WorldSplit(ScenesWorld(), N, 128, seed=5)
    for i in range(N):
        layout = split.record(i).layout
        label = world.label_map(layout, (128, 128))
        h = layout.horizon * 128
        above, below = label[: int(np.floor(h)) - 1], label[int(np.ceil(h)) + 1:]
        assert not np.isin(above, GROUND).any()  # water, sand, grass and roads lie on the ground
        assert not np.isin(below, SKYLIKE).any()  # sky, clouds and ridges stand above the horizon
        assert layout.ground == "snow" or not (below == ID["snow"]).any()  # snow below: a winter ground only
        assert label[0].tolist().count(ID["sky"]) + label[0].tolist().count(ID["clouds"]) > 0 or np.isin(
            label[0], [ID[c] for c in ("tree", "building", "mountain", "snow")]).any()


def _layout(things: list[Thing]) -> SceneLayout:
    return SceneLayout("meadow", 0.4, 1.6, "grass", 1, np.zeros((0, 21)), [], np.zeros(6), np.zeros(5), things)


def test_far_things_are_smaller_in_proportion_to_their_distance_from_the_horizon() -> None:
    p = SHAPES["person"].sample(np.random.default_rng(0))
    layout = _layout([Thing("person", 0.3, 0.5, p), Thing("person", 0.7, 0.8, p)])
    r = rasterise(layout, (256, 256))
    heights = []
    for k in (1, 2):
        rows = np.nonzero((r.instance == k).any(1))[0]
        heights.append(rows.max() - rows.min() + 1)
        assert (r.label[r.instance == k] == ID["person"]).all()
    assert heights[1] > 3 * heights[0] * 0.9
    assert heights[1] / heights[0] == pytest.approx((0.8 - 0.4) / (0.5 - 0.4), rel=0.1)
    # the feet touch the ground row, and the near one occludes nothing of the far one here
    assert np.nonzero((r.instance == 2).any(1))[0].max() == pytest.approx(0.8 * 256, abs=2)


def test_every_shape_draws_inside_its_extent() -> None:
    rng = np.random.default_rng(1)
    for kind, shape in SHAPES.items():
        for _ in range(20):
            p = shape.sample(rng)
            half, top = shape.extent(p)
            x = np.linspace(-2 * half, 2 * half, 161)[None]
            y = np.linspace(-0.5, 2 * top, 161)[:, None]
            mask, shade = shape.draw(p, x, y)
            mask = mask & (y >= 0)
            assert mask.any(), kind
            assert not (mask & ((np.abs(x) > half) | (y > top))).any(), kind
            assert np.isfinite(np.broadcast_to(shade, mask.shape)[mask]).all()


def test_styles_change_colours_not_labels(split: WorldSplit) -> None:
    world = split.world
    layout = split.record(0).layout
    label = world.label_map(layout, (64, 64))
    renders = [world.render(layout, split.record(k).style, (64, 64)) for k in range(6)]
    assert np.array_equal(world.label_map(layout, (64, 64)), label)
    assert len({r.tobytes() for r in renders}) == 6
    assert np.array_equal(split.exact_translation(0, 3), renders[3])
    # one material per class: under any style, each class's pixels vary less than the whole image
    for image in renders:
        for k in np.unique(label):
            inside = image[label == k].astype(float)
            if len(inside) > 50 and k != ID["sky"]:
                assert inside.std(0).mean() < image.reshape(-1, 3).astype(float).std(0).mean() + 1


def test_sky_colour_families_follow_the_mood() -> None:
    world, rng = ScenesWorld(), np.random.default_rng(0)
    layout = _layout([])
    blue, warm = 0, 0
    for _ in range(40):
        style = world.sample_style(rng)
        image = world.render(layout, style, (64, 64)).astype(float)
        top = image[:4].reshape(-1, 3).mean(0)
        mood = MOODS[int(style.glob[-1])]
        blue += mood == "clear" and top[2] > top[0]
        warm += mood == "sunset" and image[23:25].reshape(-1, 3).mean(0)[0] > top[0]  # orange toward the horizon
        assert int(style.glob[-1]) in range(len(MOODS)) and style.materials.shape[0] == len(CLASSES)
    assert blue >= 15 and warm >= 4


@pytest.mark.parametrize("size", [(64, 64), (96, 64)])
def test_two_resolutions_agree_and_noise_is_resolution_free(split: WorldSplit, size: tuple[int, int]) -> None:
    world = split.world
    big = (size[0] * 2, size[1] * 2)
    for i in range(8):
        layout = split.record(i).layout
        small, large = world.label_map(layout, size), world.label_map(layout, big)
        blocks = large.reshape(size[0], 2, size[1], 2).transpose(0, 2, 1, 3).reshape(*size, 4)
        assert (blocks == small[..., None]).any(-1).mean() > 0.98  # thin fence posts may vanish at the small size
        assert (blocks[..., 3] == small).mean() > 0.9
    a, b = value_noise(7, size), value_noise(7, big)
    assert np.abs(b[:2, ::2, ::2] - a[:2]).mean() < 0.1  # the lattices both sizes resolve


def test_edges_mark_class_and_instance_boundaries(split: WorldSplit) -> None:
    item = split.item(1)
    assert set(np.unique(item.edges)) <= {0, 255}
    black = item.edges[..., 0] == 0
    assert black.any() and black.mean() < 0.3
    changes = np.zeros_like(black)
    changes[:, :-1] |= item.label[:, :-1] != item.label[:, 1:]
    assert black[changes].all()


def _mean_rows(files: list, column: int) -> dict[str, float]:
    """Mean row (fraction of the height) of each of our classes' real ids over the real label maps ``files``."""
    from PIL import Image

    rows: dict[str, list[float]] = {}
    for path in files:
        label = np.asarray(Image.open(path))
        for name, names in REAL_NAMES.items():
            if names[column] is None:
                continue
            r = np.nonzero(label == names[column])[0]
            if len(r):
                rows.setdefault(name, []).append(r.mean() / label.shape[0])
    return {name: float(np.mean(v)) for name, v in rows.items()}


def _check_real_ids(rows: dict[str, float]) -> None:
    upper = [rows[c] for c in ("sky", "clouds") if c in rows]
    lower = [rows[c] for c in ("grass", "road", "sand", "water") if c in rows]
    assert upper and lower, f"the samples should show sky and ground classes, got {rows}"
    assert max(upper) < 0.3 and min(lower) > 0.5, rows  # off-by-one ids would land on unrelated classes


def test_coco_stuff_ids_name_the_right_regions_of_real_label_maps(coco_stuff_samples) -> None:
    files = sorted(coco_stuff_samples.glob("stuffthingmaps_trainval2017/*/*.png"))
    assert files
    _check_real_ids(_mean_rows(files, 1))


def test_ade20k_ids_name_the_right_regions_of_real_label_maps(cocosnet_samples) -> None:
    files = sorted(cocosnet_samples.glob("ade20k/*/ADE_*.png"))
    assert files
    _check_real_ids(_mean_rows(files, 3))
