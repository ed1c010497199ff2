"""The ``figures`` world's specifics: keypoints on the figure, connected limbs, views, reposing, the pose input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from datasets.inputs.pose import LIMBS, pose_input
from datasets.labelled import OPENPOSE_18
from datasets.worlds import WORLDS
from datasets.worlds import figures_body as fb
from datasets.worlds.base import WorldSplit
from datasets.worlds.figures import FIGURE_LABELS, FiguresWorld

SIZE = (128, 128)


@pytest.fixture(scope="module")
def split() -> WorldSplit:
    return WorldSplit(FiguresWorld(), 40, SIZE, seed=3)


def test_registered_with_its_label_set():
    assert WORLDS.get("figures") is FiguresWorld
    assert FIGURE_LABELS.classes == ("background", "skin", "hair", "top", "bottom", "shoes", "bag")
    ids = {"background": fb.BACKGROUND, "skin": fb.SKIN, "hair": fb.HAIR, "top": fb.TOP, "bottom": fb.BOTTOM,
           "shoes": fb.SHOES, "bag": fb.BAG}
    assert all(FIGURE_LABELS.index(name) == cls for name, cls in ids.items())


def test_keypoints_lie_inside_the_image_on_the_figure_and_limbs_are_connected(split):
    for i in range(len(split)):
        item = split.item(i)
        kp, label = item.keypoints, item.label
        assert kp.shape == (18, 3) and kp.dtype == np.float32
        present = kp[:, 2] > 0
        assert present.sum() >= 8, "at least the upper body is always seen"
        assert np.all(kp[~present] == [-1, -1, 0])
        xy = kp[present, :2]
        assert np.all((xy >= 0) & (xy < [SIZE[1], SIZE[0]]))
        assert np.all(label[xy[:, 1].astype(int), xy[:, 0].astype(int)] != fb.BACKGROUND), f"item {i}: off figure"
        for a, b in LIMBS:
            if present[a] and present[b]:
                t = np.linspace(0, 1, 20)[:, None]
                pts = (kp[a, :2] + t * (kp[b, :2] - kp[a, :2])).astype(int)
                assert np.all(label[pts[:, 1], pts[:, 0]] != fb.BACKGROUND), \
                    f"item {i}: limb {OPENPOSE_18[a]}-{OPENPOSE_18[b]} leaves the figure"
        assert ndimage.label(label != fb.BACKGROUND)[1] == 1, f"item {i}: the figure is in pieces"


def test_views_and_framings_vary_like_deepfashion():
    split = WorldSplit(FiguresWorld(), 80, 64)
    kps = np.stack([split.item(i).keypoints for i in range(len(split))])
    seen = kps[:, :, 2] > 0
    nose, eyes, ears = seen[:, 0], seen[:, 14:16], seen[:, 16:18]
    assert (~nose & ears.any(1)).sum() >= 5, "back views: no nose or eyes, ears seen"
    assert not (~nose & eyes.any(1)).any(), "eyes are never seen without the nose"
    assert (nose & (eyes.sum(1) == 1)).sum() >= 5, "side views: one eye"
    assert (eyes.sum(1) == 2).sum() >= 25, "front views"
    assert (~seen[:, 10] & ~seen[:, 13]).sum() >= 8, "figures framed at the shins (ankles out of the picture)"
    assert seen[:, 10].sum() >= 40


def test_garment_shapes_show_in_the_label_map(split):
    for i in range(len(split)):
        g, label = split.record(i).layout.garments, split.item(i).label
        present = set(np.unique(label).tolist())
        assert {fb.SKIN, fb.HAIR, fb.BOTTOM} <= present
        assert (fb.TOP in present) == (fb.BOTTOMS[g.bottom] != "dress")
        assert (fb.BAG in present) == (g.bag != 0)


def test_repose_keeps_identity_garments_and_style_and_changes_the_pose(split):
    world = split.world
    for i in range(6):
        record = split.record(i)
        layout = FiguresWorld.reposed(split, i)
        assert layout.body == record.layout.body and layout.garments == record.layout.garments
        assert layout.pose != record.layout.pose and layout.pose.arms != record.layout.pose.arms
        pair = FiguresWorld.self_pair(split, i)
        assert np.array_equal(pair.image, world.render(layout, record.style, SIZE)), "exact ground truth"
        assert np.array_equal(pair.label, world.label_map(layout, SIZE))
        assert pair.extra["exemplar"] == i
        assert np.array_equal(pair.extra["pose"], pose_input(pair.keypoints, SIZE))
        original = split.item(i)
        both = (pair.keypoints[:, 2] > 0) & (original.keypoints[:, 2] > 0)
        assert np.abs(pair.keypoints[both, :2] - original.keypoints[both, :2]).max() > 5
        garments = {fb.TOP, fb.BOTTOM, fb.HAIR}
        assert set(np.unique(pair.label)) & garments == set(np.unique(original.label)) & garments
        # the same style: each garment keeps its colour (median over its pixels, robust to patterns and pose)
        for cls in (fb.SKIN, fb.BOTTOM):
            a, b = np.median(pair.image[pair.label == cls], 0), np.median(original.image[original.label == cls], 0)
            assert np.abs(a.astype(int) - b.astype(int)).max() < 40, f"class {cls} changed colour"
    assert np.array_equal(FiguresWorld.self_pair(split, 2).image, FiguresWorld.self_pair(split, 2).image)
    assert FiguresWorld.reposed(split, 2, 1).pose != FiguresWorld.reposed(split, 2, 2).pose
    with pytest.raises(ValueError, match="variant"):
        FiguresWorld.reposed(split, 2, 0)


def test_inputs_are_cocosnets_pose_channels():
    split = WorldSplit(FiguresWorld(), 2, (96, 64), with_inputs=True)
    item = split.item(1)
    assert item.extra["pose"].shape == (20, 96, 64) and item.extra["pose"].dtype == np.float32
    assert np.array_equal(item.extra["pose"], pose_input(item.keypoints, (96, 64)))
    assert item.image.shape == (96, 64, 3)
