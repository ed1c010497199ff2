"""CoCosNet's DeepFashion pose input (20 channels) and the OpenPose keypoint files it is built from.

Source: microsoft/CoCosNet ``data/deepfashion_dataset.py`` (``get_label_tensor``), which draws OpenPose's standard
body skeleton (the ``limbSeq`` / ``colors`` tables of the OpenPose demo code) on a black canvas of the image's size
and adds one distance-transform map per limb. The facts this module reproduces:

- a filled circle of radius 4 px at every detected keypoint, in that keypoint's colour;
- for each of the first 17 limbs of the 19-entry ``limbSeq`` (the last two, shoulder→ear, are never drawn): a filled
  ellipse (``cv2.ellipse2Poly``, half-axes ``(int(length / 2), 4)``, angle in whole degrees, 1° steps) between its
  two keypoints, blended onto the canvas as ``0.4 · canvas + 0.6 · (canvas with the ellipse)``; a limb with a
  missing end is skipped;
- the colours are given in the code as written into an OpenCV (BGR) canvas that is converted ``BGR2RGB`` at the
  end, so the RGB drawing has them channel-reversed (the nose circle is blue in RGB, not red);
- distance maps: ``cv2.distanceTransform(255 - limb_mask, DIST_L1, 3) / 3``, clipped to 0..255 and truncated to
  uint8; a missing limb has no zero pixel, so its map is 255 everywhere;
- both parts then go through ``ToTensor`` without normalisation: every channel lies in [0, 1]. The skeleton is
  resized to the load size with nearest-neighbour sampling, the distance maps bilinearly (``out_size`` here).

The stick width (4), circle radius (4) and distance divisor (3) are pixels of CoCosNet's 256-row images. At other
heights ``pose_input`` scales them by ``H / 256`` (stick and radius rounded, at least 1) so that a world renders the
same drawing at any resolution; at H = 256 the output equals the official encoding.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from core.errors import DataError

# OpenPose limbSeq (1-based keypoint ids in COCO-18 order) as in CoCosNet; only the first 17 are drawn.
LIMB_SEQ_1BASED = ((2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
                   (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18), (3, 17), (6, 18))
LIMBS: tuple[tuple[int, int], ...] = tuple((a - 1, b - 1) for a, b in LIMB_SEQ_1BASED[:17])  # 0-based, drawn
# OpenPose colours, in the order of the code (written into a BGR canvas): keypoint i and limb i use colour i.
COLOURS_BGR = np.array([[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
                        [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
                        [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]],
                       np.uint8)
COLOURS_RGB = COLOURS_BGR[:, ::-1].copy()  # what the final RGB drawing shows
STICK_WIDTH, CIRCLE_RADIUS, DIST_DIVISOR, REFERENCE_HEIGHT = 4, 4, 3.0, 256
POSE_CHANNELS = 3 + len(LIMBS)  # 20: CoCosNet's label_nc for DeepFashion


def _present(keypoints: np.ndarray) -> np.ndarray:
    return keypoints[:, 2] > 0


def draw_skeleton(keypoints: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenPose drawing of ``keypoints`` (float [18,3] x, y px, confidence; confidence 0 = missing).

    Returns ``(rgb, masks)``: uint8 [H,W,3] the skeleton on black, and uint8 [17,H,W] the filled limb ellipses (255 on
    the limb, 0 elsewhere; all 0 for a limb with a missing end). Coordinates are truncated to whole pixels as in the
    official code.
    """
    h, w = size
    scale = h / REFERENCE_HEIGHT
    stick, radius = max(1, round(STICK_WIDTH * scale)), max(1, round(CIRCLE_RADIUS * scale))
    kp = np.asarray(keypoints, np.float64)
    present = _present(kp)
    canvas = np.zeros((h, w, 3), np.uint8)
    for i in np.flatnonzero(present):
        cv2.circle(canvas, (int(kp[i, 0]), int(kp[i, 1])), radius, COLOURS_BGR[i].tolist(), thickness=-1)
    masks = np.zeros((len(LIMBS), h, w), np.uint8)
    for i, (a, b) in enumerate(LIMBS):
        if not (present[a] and present[b]):
            continue
        (xa, ya), (xb, yb) = kp[a, :2], kp[b, :2]
        length = math.hypot(xa - xb, ya - yb)
        angle = math.degrees(math.atan2(ya - yb, xa - xb))
        polygon = cv2.ellipse2Poly((int((xa + xb) / 2), int((ya + yb) / 2)), (int(length / 2), stick), int(angle),
                                   0, 360, 1)
        drawn = canvas.copy()
        cv2.fillConvexPoly(drawn, polygon, COLOURS_BGR[i].tolist())
        canvas = cv2.addWeighted(canvas, 0.4, drawn, 0.6, 0)
        cv2.fillConvexPoly(masks[i], polygon, 255)
    return canvas[:, :, ::-1].copy(), masks


def pose_input(keypoints: np.ndarray, size: tuple[int, int], out_size: tuple[int, int] | None = None) -> np.ndarray:
    """CoCosNet's DeepFashion input: float32 [20,H,W] in [0,1] for keypoints in pixels of an image of ``size``.

    Channels 0..2: the RGB skeleton drawing / 255. Channels 3..19: one map per limb of ``LIMBS``: the L1 distance to
    the limb ellipse / (3 · H/256), truncated to 1/255 steps and capped at 1 (0 on the limb; 1 everywhere for a
    missing limb). ``out_size`` = (H', W') resizes as the official loader does (skeleton nearest, distances
    bilinear, after the uint8 quantisation); default: no resize.
    """
    h, w = size
    rgb, masks = draw_skeleton(keypoints, size)
    divisor = DIST_DIVISOR * h / REFERENCE_HEIGHT
    dists = np.empty((len(LIMBS), h, w), np.uint8)
    for i, mask in enumerate(masks):
        if not mask.any():  # OpenCV gives FLT_MAX where no zero pixel exists: the official map is 255 everywhere
            dists[i] = 255
            continue
        d = cv2.distanceTransform(255 - mask, cv2.DIST_L1, 3)
        dists[i] = np.clip(d / divisor, 0, 255).astype(np.uint8)
    if out_size is not None and tuple(out_size) != (h, w):
        oh, ow = out_size
        rgb = cv2.resize(rgb, (ow, oh), interpolation=cv2.INTER_NEAREST)
        dists = np.stack([cv2.resize(d, (ow, oh), interpolation=cv2.INTER_LINEAR) for d in dists])
    out = np.concatenate([rgb.transpose(2, 0, 1), dists]).astype(np.float32)
    return out / np.float32(255)


def keypoints_from_openpose(candidate: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """float32 [18,3] (x, y, score; missing = (-1,-1,0)) from OpenPose's body-estimation arrays.

    candidate: float [N,4] rows ``x y score id``; subset: float [P,20] or [20] rows of 18 candidate row indices
    (-1 = missing), the person's total score and its keypoint count. CoCosNet reads both with ``np.loadtxt`` and
    indexes the subset as one person (a one-row file). Where a file holds several people we take the one with the
    most keypoints, then the highest score (the official code would fail); no person → every keypoint missing.
    Raises ``ValueError`` on a malformed array or an index outside the candidate rows.
    """
    candidate = np.asarray(candidate, np.float64).reshape(-1, 4) if np.size(candidate) else np.zeros((0, 4))
    subset = np.atleast_2d(np.asarray(subset, np.float64))
    out = np.tile(np.array([-1.0, -1.0, 0.0], np.float32), (18, 1))
    if subset.size == 0:
        return out
    if subset.shape[1] != 20:
        raise ValueError(f"an OpenPose subset row has 20 values (18 indices, score, count), got {subset.shape[1]}")
    person = subset[np.lexsort((-subset[:, 18], -subset[:, 19]))[0]]
    for k in range(18):
        index = int(person[k])
        if index < 0:
            continue
        if index >= len(candidate):
            raise ValueError(f"keypoint {k} names candidate {index} but there are {len(candidate)}")
        out[k] = candidate[index, :3]
    return out


def read_openpose(candidate_path: str | Path, subset_path: str | Path) -> np.ndarray:
    """float32 [18,3] keypoints from an OpenPose ``*_candidate.txt`` / ``*_subset.txt`` pair (the files CoCosNet
    publishes for DeepFashion). Raises ``DataError`` naming the file when one is missing or malformed."""
    arrays = []
    for path in (Path(candidate_path), Path(subset_path)):
        try:
            arrays.append(np.loadtxt(path, ndmin=2))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read OpenPose keypoints {path}: {exc}",
                            hint="use the candidate/subset files published with CoCosNet's DeepFashion lists") from None
    try:
        return keypoints_from_openpose(*arrays)
    except ValueError as exc:
        raise DataError(f"OpenPose keypoints {subset_path}: {exc}",
                        hint="the _candidate.txt and _subset.txt files must come from the same image") from None
