"""The ``faces`` world's specifics: declared classes, parts inside the face, mirror symmetry at yaw = 0, styles that
change colours and not labels, a style-independent face-edge input. (Determinism, split-size independence and the
exact-ground-truth contract are the shared world contract test's.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from datasets.celebamask_hq import CELEBAMASK_HQ
from datasets.worlds import face_layout
from datasets.worlds.base import WORLDS, WorldSplit
from datasets.worlds.faces import FacesWorld

L = CELEBAMASK_HQ
FEATURES = [L.index(n) for n in ("l_eye", "r_eye", "l_brow", "r_brow", "nose", "u_lip", "l_lip", "mouth")]
MIRROR = np.arange(19)
for left, right in (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")):
    MIRROR[L.index(left)], MIRROR[L.index(right)] = L.index(right), L.index(left)


@pytest.fixture(scope="module")
def split() -> WorldSplit:
    return WorldSplit(FacesWorld(), 40, size=128, seed=3)


def test_registered_with_the_celebamask_hq_labels():
    assert WORLDS.get("faces") is FacesWorld
    assert FacesWorld.labels is CELEBAMASK_HQ


def test_only_declared_classes_and_all_of_them_occur(split):
    seen = np.zeros(256, bool)
    for i in range(len(split)):
        label = split.world.label_map(split.record(i).layout, (128, 128))
        assert label.dtype == np.uint8 and label.shape == (128, 128)
        seen[np.unique(label)] = True
    assert not seen[19:].any()
    assert seen[:19].all(), [L.classes[i] for i in np.nonzero(~seen[:19])[0]]


def test_parts_lie_inside_the_face_in_order(split):
    face_classes = [L.index("skin"), L.index("eye_g"), *FEATURES]
    for i in range(len(split)):
        label = split.world.label_map(split.record(i).layout, (128, 128))
        face = ndimage.binary_fill_holes(np.isin(label, face_classes))
        features = np.isin(label, FEATURES)
        assert features[face].sum() == features.sum(), i
        row = {n: np.argwhere(label == L.index(n))[:, 0].mean() for n in ("l_brow", "l_eye", "nose", "u_lip")}
        assert row["l_brow"] < row["l_eye"] < row["nose"] < row["u_lip"], (i, row)
        assert np.argwhere(label == L.index("l_eye"))[:, 1].mean() > np.argwhere(label == L.index("r_eye"))[:, 1].mean()
        rows = np.nonzero((label == L.index("cloth")).any(1))[0]
        assert rows.size == 0 or rows.min() > np.argwhere(label == L.index("nose"))[:, 0].max()


@pytest.mark.parametrize("index", range(6))
def test_symmetric_layout_when_yaw_is_zero(split, index):
    lay = dataclasses.replace(split.record(index).layout, yaw=0.0, roll=0.0, cx=0.0)
    label = split.world.label_map(lay, (96, 96))
    assert np.array_equal(MIRROR[label[:, ::-1]], label)
    turned = split.world.label_map(dataclasses.replace(lay, yaw=0.2), (96, 96))
    assert not np.array_equal(MIRROR[turned[:, ::-1]], turned)


def test_styles_change_colours_not_labels(split):
    world, lay = split.world, split.record(0).layout
    label = world.label_map(lay, (128, 128))
    images = [world.render(lay, split.record(k).style, (128, 128)) for k in range(1, 4)]
    skin = label == L.index("skin")
    colours = [img[skin].mean(0) for img in images]
    assert np.abs(colours[0] - colours[1]).max() > 3 or np.abs(colours[0] - colours[2]).max() > 3
    assert all(np.array_equal(world.label_map(lay, (128, 128)), label) for _ in range(2))
    assert np.array_equal(split.exact_translation(0, 2), images[1])
    item = split.item(0)
    edges = [world.inputs(lay, (128, 128), dataclasses.replace(item, image=img))["face_edges"] for img in images]
    assert edges[0].shape == (15, 128, 128) and edges[0].dtype == np.float32
    assert all(np.array_equal(e, edges[0]) for e in edges)  # the input depends on the layout only


def test_face_edges_follow_the_layout(split):
    item = WorldSplit(split.world, 4, size=128, seed=3, with_inputs=True).item(1)
    out = item.extra["face_edges"]
    assert out.min() >= 0 and out.max() <= 1
    skin = out[1]
    assert skin[item.label == L.index("skin")].min() == 0  # the skin map reaches 0 on the face's boundaries
    assert (out[0] >= out[14]).all()
    cloth, background = item.label == L.index("cloth"), item.label == 0
    shoulder = ndimage.binary_dilation(cloth) & ndimage.binary_dilation(background)  # both sides of the line
    shoulder[:, :2] = shoulder[:, -2:] = shoulder[-2:] = False
    cols = np.nonzero(shoulder.any(0))[0]
    found = np.nonzero((out[0] * shoulder).any(0))[0]
    assert len(found) > 0.8 * len(cols) and out[14][shoulder].sum() == 0  # Canny finds the shoulders


def test_windows_change_nothing(monkeypatch, split):
    """The shapes are evaluated in windows for speed; evaluated over the whole image they give the same map."""
    layouts = [split.record(i).layout for i in range(12)]
    fast = [face_layout.label_face(lay, (80, 112)) for lay in layouts]
    monkeypatch.setattr(face_layout, "_window", lambda size, *box: (slice(0, size[0]), slice(0, size[1])))
    assert all(np.array_equal(face_layout.label_face(lay, (80, 112)), f) for lay, f in zip(layouts, fast, strict=True))


def test_any_resolution_from_the_same_layout(split):
    lay = split.record(5).layout
    small, large = (split.world.label_map(lay, (s, s)) for s in (64, 256))
    for cls in np.unique(large):
        assert abs((small == cls).mean() - (large == cls).mean()) < 0.01
    image = split.world.render(lay, split.record(6).style, (64, 256))
    assert image.shape == (64, 256, 3) and image.dtype == np.uint8
