"""The ``streets`` world: determinism, labels and instances, exact cross-domain translation, and measured domain
statistics (the synthetic and photo domains differ in appearance but share the label distribution unless shifted)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from datasets.cityscapes import CITYSCAPES_19
from datasets.worlds.base import WORLDS, WorldSplit
from datasets.worlds.streets import (
    GLOB_DIM,
    HAZE,
    HAZE_RGB,
    NOISE,
    SEED,
    TIME,
    VIGNETTE,
    WEATHER,
    StreetsWorld,
    render_street,
)
from datasets.worlds.streets_layout import CAR, Canvas

SIZE = (64, 128)


def split(domain: str = "synthetic", n: int = 8, size: tuple[int, int] = SIZE, seed: int = 0, shift: float = 0.0,
          name: str = "train") -> WorldSplit:
    return WorldSplit(StreetsWorld(domain, shift), n, size, seed=seed, split=name)


def class_frequencies(s: WorldSplit) -> np.ndarray:
    counts = sum(np.bincount(s.world.label_map(s.record(i).layout, s.size).ravel(), minlength=256)
                 for i in range(len(s)))
    return counts[:19] / counts.sum()


def test_registered_with_cityscapes_labels_and_settings() -> None:
    assert WORLDS.get("streets") is StreetsWorld
    world = StreetsWorld("photo", 0.5)
    assert world.labels is CITYSCAPES_19 and world.settings() == {"domain": "photo", "layout_shift": 0.5}
    with pytest.raises(ValueError, match="domain"):
        StreetsWorld("cartoon")
    with pytest.raises(ValueError, match="layout_shift"):
        StreetsWorld("photo", -1)
    assert split("synthetic").fingerprint() != split("photo").fingerprint()


@pytest.mark.parametrize("domain", ["synthetic", "photo"])
def test_deterministic_and_independent_of_split_size(domain: str) -> None:
    a, b = split(domain, 3), split(domain, 9)
    for i in range(3):
        x, y = a.item(i), b.item(i)
        assert np.array_equal(x.image, y.image) and np.array_equal(x.label, y.label)
        assert np.array_equal(x.instance, y.instance) and np.array_equal(x.edges, y.edges)
    layout, style = a.record(1).layout, a.record(1).style
    first = a.world.render(layout, style, SIZE)
    a.world.render(a.record(2).layout, style, SIZE)  # another call in between changes nothing
    assert np.array_equal(first, a.world.render(layout, style, SIZE))
    assert np.array_equal(first, StreetsWorld(domain).render(layout, style, SIZE))  # a fresh world, same bytes
    assert not np.array_equal(a.item(0).image, split(domain, 3, seed=1).item(0).image)


def test_labels_instances_and_edges() -> None:
    s = split("synthetic", 48, (96, 192))
    seen = np.zeros(256, bool)
    things = np.array(CITYSCAPES_19.things)
    for i in range(len(s)):
        item = s.item(i)
        assert item.label.dtype == np.uint8 and item.label.shape == (96, 192) and item.image.shape == (96, 192, 3)
        CITYSCAPES_19.check(item.label)
        seen[np.unique(item.label)] = True
        assert item.instance.dtype == np.int32
        assert np.array_equal(item.instance > 0, np.isin(item.label, things))  # things, and only things, have ids
        for inst in np.unique(item.instance[item.instance > 0]):  # one class per instance
            assert len(np.unique(item.label[item.instance == inst])) == 1
        edge = item.edges[..., 0] == 0
        assert edge.any() and (item.label[:, :-1] != item.label[:, 1:]).any()
    assert seen[:19].all(), [CITYSCAPES_19.classes[k] for k in range(19) if not seen[k]]
    assert not seen[19:].any()


def test_street_geometry_road_at_bottom_sky_at_top_far_cars_smaller() -> None:
    s = split("synthetic", 40, (128, 256))
    areas, depths = [], []
    for i in range(len(s)):
        layout = s.record(i).layout
        label, inst = s.world.label_map(layout, s.size), s.world.instance_map(layout, s.size)
        assert (label[-1] == 0).mean() > 0.2 or (label[-1] == 13).any()  # the road (or a car on it) at the bottom
        assert (label[0] == 10).any() or (label[0] == 2).all()  # sky at the top unless buildings fill it
        cars = np.flatnonzero(layout.objects[:, 0] == CAR)
        counts = np.bincount(inst.ravel(), minlength=len(layout.objects) + 1)
        for j in cars:
            if counts[j + 1] > 0:
                areas.append(counts[j + 1])
                depths.append(layout.objects[j, 2])
    rank = np.corrcoef(np.argsort(np.argsort(depths)), np.argsort(np.argsort(areas)))[0, 1]
    assert len(areas) > 40 and rank < -0.6  # perspective: the farther, the smaller


def test_renders_any_resolution_from_the_same_layout() -> None:
    world, s = StreetsWorld("photo"), split("photo", 4)
    for i in range(4):
        layout = s.record(i).layout
        small, big = world.label_map(layout, (64, 128)), world.label_map(layout, (128, 256))
        assert (big[::2, ::2] == small).mean() > 0.9
        assert world.render(layout, s.record(i).style, (40, 100)).shape == (40, 100, 3)


def test_exact_translation_is_render_of_layout_in_the_other_domains_style() -> None:
    syn, pho = split("synthetic", 4), split("photo", 4)
    for i, k in ((0, 1), (2, 3)):
        want = syn.world.render(syn.record(i).layout, pho.record(k).style, SIZE)
        got = syn.exact_translation(i, k, pho)
        assert np.array_equal(got, want) and not np.array_equal(got, syn.item(i).image)
        assert np.array_equal(syn.exact_translation(i, k, pho), got)  # the style's noise is seeded, not the call
        # the photo style carries its camera: the translation is noisy where the synthetic render is flat
        flat = np.median(np.abs(cv2.Laplacian(cv2.cvtColor(syn.item(i).image, cv2.COLOR_RGB2GRAY), cv2.CV_32F)))
        noisy = np.median(np.abs(cv2.Laplacian(cv2.cvtColor(got, cv2.COLOR_RGB2GRAY), cv2.CV_32F)))
        assert flat == 0 and noisy > 4
    mask = syn.visible_mask(0, 1, pho)
    ex = pho.world.label_map(pho.record(1).layout, SIZE)
    assert np.array_equal(mask, np.isin(syn.item(0).label, np.unique(ex)))
    # the domains never share a layout at the same index (unpaired, like GTA5 and BDD100K)
    assert not np.array_equal(syn.item(0).label, pho.item(0).label)


def test_noise_is_a_function_of_the_style_seed() -> None:
    s = split("photo", 2)
    layout, style = s.record(0).layout, s.record(0).style
    assert style.glob.shape == (GLOB_DIM,)
    other = type(style)(style.materials, style.glob.copy())
    other.glob[SEED] += 1
    a, b = s.world.render(layout, style, SIZE), s.world.render(layout, other, SIZE)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 2  # different grain and texture ...
    assert np.abs(a.reshape(-1, 3).mean(0) - b.reshape(-1, 3).mean(0)).max() < 4  # ... same scene and colours
    c = Canvas(layout, SIZE)
    assert c.label.shape == SIZE and render_street(s.world.canvas(layout, SIZE), style).shape == (*SIZE, 3)


def domain_statistics(s: WorldSplit) -> dict[str, np.ndarray]:
    sat, noise, contrast, sharp, hist = [], [], [], [], np.zeros(16)
    for i in range(len(s)):
        item = s.item(i)
        hsv = cv2.cvtColor(item.image, cv2.COLOR_RGB2HSV)
        grey = cv2.cvtColor(item.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        sat.append(hsv[..., 1].mean())
        noise.append(np.median(np.abs(cv2.Laplacian(grey, cv2.CV_32F))))  # robust to edges: the flat-region grain
        contrast.append(grey.std())
        # edge sharpness: the one-pixel step across a label boundary over the three-pixel step
        b = np.argwhere(item.label[:, 1:-2] != item.label[:, 2:-1])
        one = np.abs(grey[b[:, 0], b[:, 1] + 2] - grey[b[:, 0], b[:, 1] + 1])
        three = np.abs(grey[b[:, 0], b[:, 1] + 3] - grey[b[:, 0], b[:, 1]])
        keep = three > 20
        sharp.append(np.median(one[keep] / three[keep]))
        hist += np.bincount(hsv[..., 1].ravel() // 16, minlength=16)
    return {"saturation": np.array(sat), "noise": np.array(noise), "contrast": np.array(contrast),
            "sharpness": np.array(sharp), "hist": hist / hist.sum()}


def test_domains_differ_in_appearance_statistics() -> None:
    syn, pho = domain_statistics(split("synthetic", 24, (128, 256))), domain_statistics(split("photo", 24, (128, 256)))
    assert syn["saturation"].mean() > 2 * pho["saturation"].mean()  # saturated paint vs muted photo colours
    assert syn["noise"].max() == 0 and pho["noise"].min() > 4  # no grain vs sensor noise + texture
    assert syn["contrast"].mean() > 1.1 * pho["contrast"].mean()
    assert syn["sharpness"].mean() > 0.95 and pho["sharpness"].mean() < 0.75  # clean edges vs lens blur
    half = domain_statistics(split("synthetic", 24, (128, 256), seed=9))
    between = 0.5 * np.abs(syn["hist"] - pho["hist"]).sum()
    within = 0.5 * np.abs(syn["hist"] - half["hist"]).sum()
    assert between > 0.45 and between > 2.5 * within  # the saturation histograms differ far beyond sampling


def test_photo_styles_cover_weather_and_time_of_day_and_night_is_dark() -> None:
    world = StreetsWorld("photo")
    styles = [world.sample_style(np.random.default_rng(i)) for i in range(80)]
    assert {int(s.glob[WEATHER]) for s in styles} == {0, 1, 2, 3}
    assert {int(s.glob[TIME]) for s in styles} == {0, 1, 2}
    synthetic = [StreetsWorld("synthetic").sample_style(np.random.default_rng(i)) for i in range(80)]
    assert {int(s.glob[WEATHER]) for s in synthetic} <= {0, 1} and {int(s.glob[TIME]) for s in synthetic} <= {0, 1}
    layout = split("photo", 1).record(0).layout
    day = [world.render(layout, s, SIZE).mean() for s in styles if s.glob[TIME] == 0][:5]
    night = [world.render(layout, s, SIZE).mean() for s in styles if s.glob[TIME] == 2][:5]
    assert max(night) < min(day)


def test_label_distribution_shared_unless_shifted() -> None:
    def tv(shift: float) -> float:
        a, b = split("synthetic", 64, shift=shift), split("photo", 64, shift=shift)
        return 0.5 * float(np.abs(class_frequencies(a) - class_frequencies(b)).sum())

    same, shifted = tv(0.0), tv(1.0)
    assert same < 0.06 and shifted > 0.09 and shifted > 2.5 * same
    # the synthetic domain is the reference: the shift moves only the photo layouts
    assert np.array_equal(split("synthetic", 2, shift=1.0).item(1).label, split("synthetic", 2).item(1).label)


def test_photo_camera_effects_are_measurable_in_isolation() -> None:
    """Vignetting darkens the corners, haze pulls far pixels toward the haze colour (same layout, same style)."""
    s = split("photo", 6, (96, 192))
    for i in range(6):
        layout, style = s.record(i).layout, s.record(i).style
        if style.glob[TIME] != 0:
            continue
        plain = type(style)(style.materials, style.glob.copy())
        plain.glob[[VIGNETTE, HAZE, NOISE]] = 0.0
        vignetted = type(style)(style.materials, plain.glob.copy())
        vignetted.glob[VIGNETTE] = 0.5
        hazy = type(style)(style.materials, plain.glob.copy())
        hazy.glob[HAZE] = 0.05
        a, v, hz = (s.world.render(layout, st, (96, 192)).astype(float) for st in (plain, vignetted, hazy))
        corner = (slice(0, 12), slice(0, 24))
        assert v[corner].mean() < 0.85 * a[corner].mean() and abs(v[40:56, 80:112].mean() - a[40:56, 80:112].mean()) < 8
        depth = s.world.depth_map(layout, (96, 192))
        far = np.isfinite(depth) & (depth > 60)
        target = np.clip(hazy.glob[HAZE_RGB] * 255, 0, 255)
        if far.sum() > 20:
            assert np.abs(hz[far] - target).mean() < np.abs(a[far] - target).mean()
        return
    pytest.fail("no daytime style among the first items")
