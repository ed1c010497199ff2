"""CoCosNet's 20-channel pose input and the OpenPose keypoint parser, on hand-built cases and the real samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError
from datasets.inputs.pose import (
    COLOURS_BGR,
    LIMBS,
    POSE_CHANNELS,
    draw_skeleton,
    keypoints_from_openpose,
    pose_input,
    read_openpose,
)
from datasets.labelled import OPENPOSE_18

# The joints CoCosNet's published subset files mark -1 (OPENPOSE_18 indices), per sample image.
PUBLISHED_MISSING = {
    "Blouses_Shirts/id_00007636/01_1_front": {9, 10, 12, 13},
    "Cardigans/id_00006266/02_2_side": {7, 9, 10, 12, 13, 17},
    "Cardigans/id_00006462/02_7_additional": set(),
    "Dresses/id_00000203/03_1_front": {10, 13},
    "Dresses/id_00000244/02_1_front": {10, 13, 16},
    "Dresses/id_00002791/01_2_side": {3, 4, 10, 13, 16},
    "Dresses/id_00006245/03_2_side": {10, 13},
    "Tees_Tanks/id_00007059/03_3_back": {0, 9, 10, 12, 13, 14},
}


def _missing() -> np.ndarray:
    return np.tile(np.array([-1.0, -1.0, 0.0], np.float32), (18, 1))


def test_limb_table_is_openposes_first_17_limbs():
    assert len(LIMBS) == 17 and POSE_CHANNELS == 20
    assert LIMBS[0] == (OPENPOSE_18.index("neck"), OPENPOSE_18.index("r_shoulder"))
    assert LIMBS[12] == (OPENPOSE_18.index("neck"), OPENPOSE_18.index("nose"))
    assert LIMBS[16] == (OPENPOSE_18.index("l_eye"), OPENPOSE_18.index("l_ear"))


def test_one_keypoint_is_a_radius_4_disc_in_its_channel_reversed_colour():
    kp = _missing()
    kp[1] = (100, 120, 0.9)  # the neck
    rgb, masks = draw_skeleton(kp, (256, 256))
    assert tuple(rgb[120, 100]) == tuple(COLOURS_BGR[1][::-1]) == (0, 85, 255)
    drawn = rgb.any(-1)
    ys, xs = np.nonzero(drawn)
    assert ys.min() == 116 and ys.max() == 124 and xs.min() == 96 and xs.max() == 104
    assert not masks.any()
    out = pose_input(kp, (256, 256))
    assert out.shape == (20, 256, 256) and out.dtype == np.float32
    assert np.all(out[3:] == 1.0), "a limb with a missing end has the all-255 distance map"


def test_a_limb_is_a_stick_blended_at_60_percent_with_its_distance_map():
    kp = _missing()
    kp[1], kp[2] = (60, 100, 1), (160, 100, 1)  # neck → r_shoulder: limb 0, BGR (255,0,0)
    rgb, masks = draw_skeleton(kp, (256, 256))
    assert tuple(rgb[100, 110]) == (0, 0, 153), "0.6 × blue over black, in RGB"
    column = masks[0][:, 110] > 0
    assert column.sum() == 9, "stick half-width 4 px: 9 rows across a horizontal limb"
    out = pose_input(kp, (256, 256))
    dist = out[3]
    assert dist[100, 110] == 0 and dist[100 - 4 - 30, 110] == pytest.approx(np.floor(30 / 3) / 255)
    assert np.all(out[4:] == 1.0)
    small = pose_input(kp / [2, 2, 1], (128, 128))
    assert (draw_skeleton(kp / [2, 2, 1], (128, 128))[1][0][:, 55] > 0).sum() == 5, "stick scales with H/256"
    assert small.shape == (20, 128, 128)
    assert pose_input(kp, (256, 256), out_size=(64, 32)).shape == (20, 64, 32)


def test_parser_takes_candidate_rows_by_subset_index_and_the_fullest_person():
    candidate = np.array([[10, 20, 0.9, 0], [30, 40, 0.8, 1], [50, 60, 0.7, 2]], float)
    person_a = [0, 1] + [-1] * 16 + [1.7, 2]
    person_b = [2, 0, 1] + [-1] * 15 + [2.4, 3]
    kp = keypoints_from_openpose(candidate, np.array([person_a, person_b]))
    assert kp.dtype == np.float32 and kp.shape == (18, 3)
    assert kp[0].tolist() == pytest.approx([50, 60, 0.7]) and kp[2].tolist() == pytest.approx([30, 40, 0.8])
    assert np.all(kp[3:] == [-1, -1, 0])
    assert np.all(keypoints_from_openpose(candidate, np.zeros((0, 20))) == _missing())
    with pytest.raises(ValueError, match="candidate 5"):
        keypoints_from_openpose(candidate, np.array([[5] + [-1] * 17 + [1, 1]]))


def test_read_openpose_reports_the_bad_file(tmp_path: Path):
    (tmp_path / "a_candidate.txt").write_text("1 2 0.5 0\n")
    (tmp_path / "a_subset.txt").write_text(" ".join(["3"] + ["-1"] * 17 + ["1", "1"]))
    with pytest.raises(DataError, match=r"a_subset\.txt"):
        read_openpose(tmp_path / "a_candidate.txt", tmp_path / "a_subset.txt")
    with pytest.raises(DataError, match=r"b_candidate\.txt"):
        read_openpose(tmp_path / "b_candidate.txt", tmp_path / "a_subset.txt")


def test_real_keypoints_and_pose_inputs(cocosnet_samples: Path):
    root = cocosnet_samples / "DeepFashion"
    for name, missing in PUBLISHED_MISSING.items():
        stem = root / "pose" / "WOMEN" / name
        kp = read_openpose(f"{stem}_candidate.txt", f"{stem}_subset.txt")
        assert kp.shape == (18, 3) and kp.dtype == np.float32
        assert set(np.flatnonzero(kp[:, 2] == 0)) == missing, name
        assert np.all(kp[sorted(missing)] == [-1, -1, 0])
        present = kp[:, 2] > 0
        assert np.all((kp[present, :2] >= 0) & (kp[present, :2] <= 255))
        out = pose_input(kp, (256, 256))
        assert out.shape == (20, 256, 256) and out.min() >= 0 and out.max() <= 1
        rgb = out[:3].sum(0)
        for x, y in kp[present, :2].astype(int):
            assert rgb[y, x] > 0, f"{name}: no skeleton at keypoint ({x}, {y})"
        for i, (a, b) in enumerate(LIMBS):
            dist = out[3 + i]
            if present[a] and present[b]:
                mid = ((kp[a, :2] + kp[b, :2]) / 2).astype(int)
                assert dist[mid[1], mid[0]] == 0 and dist.max() > 0.1
            else:
                assert np.all(dist == 1.0)
    stem = root / "pose/WOMEN/Dresses/id_00000244/02_1_front"
    kp = read_openpose(f"{stem}_candidate.txt", f"{stem}_subset.txt")
    assert kp[1].tolist() == pytest.approx([132, 74, 0.9348551630973816]), "the neck is candidate row 1"
    assert kp[11, :2].tolist() == [160, 175], "l_hip is candidate row 10 (r_ankle before it is missing)"
