"""CoCosNet's 15-channel face-edge input: hand-built label maps (exact values) and the real CelebAMask-HQ samples."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from datasets.celebamask_hq import CELEBAMASK_HQ, CelebAHQEdge
from datasets.inputs.face_edges import (
    CHANNELS,
    INNER_PARTS,
    canny,
    face_edge_input,
    face_edges_from_parts,
    grey,
    part_boundary,
)

L = CELEBAMASK_HQ


def _face() -> np.ndarray:
    label = np.zeros((64, 64), np.uint8)
    label[10:50, 12:52] = L.index("skin")
    label[20:26, 18:28] = L.index("l_eye")
    label[50:64, 24:40] = L.index("neck")  # not an inner part
    return label


def _expected_distance(mask: np.ndarray) -> np.ndarray:
    """The official channel, computed independently: exact L1 distance to the 2-px boundary, /3, floor, /255."""
    edge = part_boundary(mask)
    dist = ndimage.distance_transform_cdt(~edge, metric="taxicab").astype(np.float64)
    return np.floor(np.minimum(dist / 3, 255)) / 255


def test_part_boundary_marks_both_sides():
    mask = np.zeros((5, 6), bool)
    mask[:, 3:] = True
    edge = part_boundary(mask)
    assert edge[:, 2].all() and edge[:, 3].all() and edge.sum() == 10


def test_hand_built_label_map_channels():
    label = _face()
    out = face_edge_input(label, None, L)
    assert out.shape == (CHANNELS, 64, 64) == (15, 64, 64) and out.dtype == np.float32
    assert np.array_equal(out[0], out[14])  # no photo: no Canny edges
    skin = label == L.index("skin")
    eye = label == L.index("l_eye")
    assert np.array_equal(out[14], part_boundary(skin) | part_boundary(eye))  # neck is no inner part
    assert np.allclose(out[1 + INNER_PARTS.index("skin")], _expected_distance(skin))
    assert np.allclose(out[1 + INNER_PARTS.index("l_eye")], _expected_distance(eye))
    eye_channel = out[1 + INNER_PARTS.index("l_eye")]
    near = ndimage.distance_transform_cdt(~part_boundary(eye), metric="taxicab") <= 2  # floor(d / 3) == 0
    assert np.array_equal(eye_channel == 0, near)
    for name in INNER_PARTS:
        if name not in ("skin", "l_eye"):
            assert (out[1 + INNER_PARTS.index(name)] == 1).all(), name  # absent part: the official all-255 map
    assert out.min() >= 0 and out.max() <= 1
    assert set(np.unique(out[0]).tolist()) <= {0.0, 1.0}


def test_canny_only_outside_the_inner_parts_and_inside_hair():
    label = _face()
    label[0:8, 12:52] = L.index("hair")
    image = np.full((64, 64, 3), 60, np.uint8)
    image[:, 32:] = 200  # a vertical step through background, hair, skin and neck
    out = face_edge_input(label, image, L)
    extra = (out[0] > 0) & ~(out[14] > 0)
    rows = np.nonzero(extra.any(1))[0]
    assert extra[:, 30:34].any()
    inner_no_hair = np.isin(label, [L.index(p) for p in INNER_PARTS if p != "hair"])
    assert not (extra & inner_no_hair).any()  # suppressed inside skin / eye
    assert extra[2:7].any()  # kept inside hair (the official loop re-opens hair)
    assert extra[55:62].any()  # kept on the neck (no inner part)
    assert rows.size > 0


def test_overlapping_raw_masks_give_per_part_boundaries():
    skin = np.zeros((32, 32), bool)
    skin[4:28, 4:28] = True
    nose = np.zeros((32, 32), bool)
    nose[12:18, 14:18] = True  # inside the skin mask, which has no hole in the raw files
    out = face_edges_from_parts({"skin": skin, "nose": nose, "beard": skin}, None)
    assert out[1 + INNER_PARTS.index("skin")][15, 15] > 0  # the skin map does not see the nose
    assert np.array_equal(out[14], part_boundary(skin) | part_boundary(nose))
    with pytest.raises(ValueError, match="part 'nose'"):
        face_edges_from_parts({"nose": nose}, np.zeros((16, 16, 3), np.uint8))


def test_grey_is_pils_luma():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30, 3), np.uint8)
    assert np.array_equal(grey(image), np.asarray(Image.fromarray(image).convert("L")))


def test_real_samples_channels_sit_on_the_parts(cocosnet_samples):
    split = CelebAHQEdge(cocosnet_samples / "celebahqedge").make_split("val")
    for index in range(len(split)):
        item = split.item(index)
        out = item.extra["face_edges"]
        assert out.shape == (15, 512, 512) and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
        for c in (0, 14):
            assert set(np.unique(out[c]).tolist()) == {0.0, 1.0}
        assert (out[0] >= out[14]).all() and out[0].sum() > out[14].sum()  # Canny adds edges outside the face
        entry = split.entries[index]
        for c, name in enumerate(INNER_PARTS, start=1):
            if name not in entry.extra:
                assert (out[c] == 1).all(), name
                continue
            mask = np.asarray(Image.open(entry.extra[name]).convert("L")) >= 128
            zero = out[c] == 0
            assert zero.any(), name
            # 0 within L1 distance 2 of the 2-px boundary, i.e. within 3 px on either side of the mask's edge
            near = ndimage.binary_dilation(mask, iterations=3) & ndimage.binary_dilation(~mask, iterations=3)
            assert near[zero].all(), name
        # each part's distance map is low on that part and high away from it
        for name in ("nose", "l_eye", "u_lip"):
            channel = out[1 + INNER_PARTS.index(name)]
            assert channel[item.label == CELEBAMASK_HQ.index(name)].mean() < 0.5 * channel[item.label == 0].mean()


def test_opencv_canny_matches_scikit_image_on_real_photos(cocosnet_samples):
    feature = pytest.importorskip("skimage.feature")
    folder = cocosnet_samples / "celebahqedge" / "CelebA-HQ-img"
    for name in ("29642.jpg", "2994.jpg"):
        g = np.asarray(Image.open(folder / name).resize((256, 256), Image.BILINEAR).convert("L"))
        ours, official = canny(g), feature.canny(g)
        near = lambda e: ndimage.binary_dilation(e, np.ones((3, 3), bool))  # noqa: E731
        assert (ours & near(official)).sum() / ours.sum() > 0.95
        assert (official & near(ours)).sum() / official.sum() > 0.95
        assert 0.8 < ours.sum() / official.sum() < 1.2
