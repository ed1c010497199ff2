"""Geometry of the ``figures`` world: a posed body with garment shapes, its OpenPose keypoints and its label map.

Units: the figure is 1 tall (head top to sole). Body frame: x to the person's left, y down from the head top, z
forward (out of the chest). The body turns by ``yaw`` about the vertical axis and is projected orthographically:
image X = x·cos(yaw) + z·sin(yaw), depth D = −x·sin(yaw) + z·cos(yaw) (yaw 0: facing the camera, so the person's
right is on the image's left, as OpenPose's r_* keypoints of a front view; yaw π: seen from the back). The figure
is placed by ``Pose.cx`` (image-centre offset), ``Pose.top`` (head top) and ``Pose.scale`` (figure height), all in
units of the image height, so the same layout renders at any size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

# Label ids of the "figures" LabelSet (datasets.worlds.figures.FIGURE_LABELS).
BACKGROUND, SKIN, HAIR, TOP, BOTTOM, SHOES, BAG = range(7)
# Fixed vertical levels of the body (fractions of the figure height).
Y_NECK, Y_SHOULDER, Y_WAIST, Y_HIP, Y_CROTCH = 0.17, 0.195, 0.42, 0.50, 0.56
UPPER_ARM, FOREARM, THIGH, SHIN = 0.165, 0.145, 0.225, 0.235
SLEEVES = ("sleeveless", "short", "long")
BOTTOMS = ("trousers", "shorts", "skirt", "dress")
HAIRS = ("short", "bob", "long", "bun")
BAGS = ("none", "handbag", "shoulder bag")
SHIFT = 4  # cv2 sub-pixel bits: shapes are drawn at 1/16 px precision
ONE = 1 << SHIFT


@dataclass
class Body:
    """Identity (kept when reposing): half-widths in figure heights."""

    head: float       # head half-width (the head is an ellipsoid, 1.25× as tall)
    shoulder: float   # shoulder joint offset from the centre line
    waist: float      # waist half-width
    hip: float        # hip joint offset (the pelvis outline is 0.03 wider)
    arm: float        # upper-arm half-thickness
    leg: float        # thigh half-thickness


@dataclass
class Garments:
    """Garment and hair shapes (kept when reposing; shown by the label map, coloured by the style)."""

    sleeve: int        # index into SLEEVES
    top_len: float     # y of the top's hem
    neckline: float    # depth of the skin V/U below the neck (front views)
    bottom: int        # index into BOTTOMS (dress: bodice and skirt are both BOTTOM)
    hem: float         # trousers/shorts: fraction of the leg covered; skirt/dress: y of the hem
    flare: float       # skirt hem half-width / pelvis half-width; trousers: extra leg width
    hair: int          # index into HAIRS
    hair_len: float    # y where long hair ends
    bag: int           # index into BAGS
    bag_side: int      # -1 right, +1 left
    boots: int         # 1: shoes reach up the shin


@dataclass
class Pose:
    """Viewpoint, framing and joint angles (radians); what ``repose`` redraws."""

    yaw: float
    cx: float
    top: float
    scale: float
    arms: tuple[tuple[float, ...], ...]  # [2][4] right, left: abduction, flexion, elbow in-bend, elbow flexion
    legs: tuple[tuple[float, ...], ...]  # [2][3] right, left: abduction, flexion (forward), knee bend


@dataclass
class FigureLayout:
    body: Body
    garments: Garments
    pose: Pose


def v(*xs: float) -> np.ndarray:
    """float64 vector of ``xs``."""
    return np.array(xs, np.float64)


def _direction(side: float, abduction: float, flexion: float) -> np.ndarray:
    return np.array([side * math.sin(abduction) * math.cos(flexion), math.cos(abduction) * math.cos(flexion),
                     math.sin(flexion)])


def joints(layout: FigureLayout) -> dict[str, np.ndarray]:
    """Body-frame 3-D points (float64 [3]) of the skeleton: the OpenPose joints plus hands and feet."""
    b, p = layout.body, layout.pose
    ry = 1.25 * b.head
    out = {"head": np.array([0.0, ry, 0.0]), "neck": np.array([0.0, Y_SHOULDER, 0.0])}
    for s, side in ((0, -1.0), (1, 1.0)):
        lr = "rl"[s]
        shoulder = np.array([side * b.shoulder, Y_SHOULDER, 0.0])
        abd, flex, bend_in, bend = p.arms[s]
        elbow = shoulder + UPPER_ARM * _direction(side, abd, flex)
        wrist = elbow + FOREARM * _direction(side, abd - bend_in, flex + bend)
        hand = wrist + 0.022 * _direction(side, abd - bend_in, flex + bend)
        hip = np.array([side * b.hip, Y_HIP, 0.0])
        abd, flex, knee_bend = p.legs[s]
        knee = hip + THIGH * _direction(side, abd, flex)
        ankle = knee + SHIN * _direction(side, abd, flex - knee_bend)
        out.update({f"{lr}_shoulder": shoulder, f"{lr}_elbow": elbow, f"{lr}_wrist": wrist, f"{lr}_hand": hand,
                    f"{lr}_hip": hip, f"{lr}_knee": knee, f"{lr}_ankle": ankle,
                    f"{lr}_heel": ankle + np.array([0.0, 0.025, -0.015]),
                    f"{lr}_toe": ankle + np.array([0.0, 0.035, 0.075]),
                    f"{lr}_eye": out["head"] + np.array([side * 0.35 * b.head, -0.05 * ry, 0.78 * b.head]),
                    f"{lr}_ear": out["head"] + np.array([side * 0.88 * b.head, 0.02 * ry, -0.05 * b.head])})
    out["nose"] = out["head"] + np.array([0.0, 0.15 * ry, 0.88 * b.head])
    return out


class Projector:
    """Body frame → image pixels (float) and depth for one pose at ``size`` = (H, W)."""

    def __init__(self, pose: Pose, size: tuple[int, int]) -> None:
        self.h, self.w = size
        self.c, self.s = math.cos(pose.yaw), math.sin(pose.yaw)
        self.pose = pose
        self.px = pose.scale * self.h  # pixels per figure height

    def __call__(self, point: np.ndarray) -> np.ndarray:
        x = point[0] * self.c + point[2] * self.s
        return np.array([self.w / 2 + self.pose.cx * self.h + x * self.px, (self.pose.top + point[1] * self.pose.scale)
                         * self.h])

    def depth(self, point: np.ndarray) -> float:
        return float(-point[0] * self.s + point[2] * self.c)

    def width(self, half_x: float, half_z: float) -> float:
        """Projected half-width (pixels) of a horizontal ellipse section with half-axes ``half_x``, ``half_z``."""
        return math.hypot(half_x * self.c, half_z * self.s) * self.px


def keypoints(layout: FigureLayout, size: tuple[int, int]) -> np.ndarray:
    """float32 [18,3] OpenPose COCO-18 keypoints (x, y px, confidence 1; missing = (-1,-1,0)).

    Face points facing away are missing as OpenPose misses them (nose and eyes in back views, the far eye and ear in
    side views); points outside the image (a figure framed at the knees) are missing too.
    """
    from datasets.labelled import OPENPOSE_18

    pts, proj = joints(layout), Projector(layout.pose, size)
    head = pts["head"]
    hidden = {"nose": -0.1, "r_eye": 0.0, "l_eye": 0.0, "r_ear": -0.2, "l_ear": -0.2}
    out = np.tile(np.array([-1.0, -1.0, 0.0], np.float32), (18, 1))
    for k, name in enumerate(OPENPOSE_18):
        if name in hidden and proj.depth(pts[name] - head) <= hidden[name] * layout.body.head:
            continue
        x, y = proj(pts[name])
        if 0 <= x < size[1] and 0 <= y < size[0]:
            out[k] = (x, y, 1.0)
    return out


class Canvas:
    """A uint8 label canvas drawn with cv2 at 1/16-px precision."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.label = np.zeros(size, np.uint8)

    @staticmethod
    def _fix(points: np.ndarray) -> np.ndarray:
        return np.round(np.asarray(points, np.float64) * ONE).astype(np.int32).reshape(-1, 2)

    def polygon(self, points: np.ndarray, cls: int) -> None:
        cv2.fillPoly(self.label, [self._fix(points)], cls, cv2.LINE_8, SHIFT)

    def circle(self, centre: np.ndarray, radius: float, cls: int) -> None:
        c = self._fix(centre)[0]
        cv2.circle(self.label, (int(c[0]), int(c[1])), max(1, round(radius * ONE)), cls, -1, cv2.LINE_8, SHIFT)

    def ellipse(self, centre: np.ndarray, rx: float, ry: float, cls: int) -> None:
        c = self._fix(centre)[0]
        cv2.ellipse(self.label, (int(c[0]), int(c[1])), (max(1, round(rx * ONE)), max(1, round(ry * ONE))), 0, 0,
                    360, cls, -1, cv2.LINE_8, SHIFT)

    def capsule(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float, cls: int) -> None:
        """A tapered stroke from ``a`` (radius ``ra`` px) to ``b`` (``rb``)."""
        d = b - a
        n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
        self.polygon(np.stack([a + ra * n, b + rb * n, b - rb * n, a - ra * n]), cls)
        self.circle(a, ra, cls)
        self.circle(b, rb, cls)


def _along(points: list[np.ndarray], t: float) -> list[np.ndarray]:
    """The polyline ``points`` cut at fraction ``t`` of its length."""
    lengths = [float(np.linalg.norm(b - a)) for a, b in itertools.pairwise(points)]
    left, out = t * sum(lengths), [points[0]]
    for (a, b), length in zip(itertools.pairwise(points), lengths, strict=True):
        if left >= length:
            out.append(b)
            left -= length
            continue
        out.append(a + (b - a) * (left / max(length, 1e-9)))
        break
    return out


def _torso_levels(b: Body) -> list[tuple[float, float, float]]:
    """(y, half-width, half-depth) of the torso outline from the shoulder tops to the crotch."""
    return [(Y_SHOULDER - 0.02, b.shoulder + 0.3 * b.arm, 0.05), (Y_SHOULDER + 0.05, b.shoulder * 0.9 + 0.3 * b.arm,
                                                                   0.075),
            (0.30, max(b.waist, b.shoulder * 0.85), 0.08), (Y_WAIST, b.waist, 0.065), (Y_HIP, b.hip + 0.03, 0.075),
            (Y_CROTCH, b.hip + 0.03, 0.07)]


def _section(levels: list[tuple[float, float, float]], y0: float, y1: float, proj: Projector) -> np.ndarray:
    """Outline polygon (pixels) of the stacked sections ``levels`` between heights ``y0`` and ``y1``."""
    ys = np.array([lv[0] for lv in levels])
    keep = [y0, *[y for y in ys if y0 < y < y1], y1]
    hx = np.interp(keep, ys, [lv[1] for lv in levels])
    hz = np.interp(keep, ys, [lv[2] for lv in levels])
    centre = [proj(np.array([0.0, y, 0.0])) for y in keep]
    half = [proj.width(x, z) for x, z in zip(hx, hz, strict=True)]
    right = [c + v(w, 0.0) for c, w in zip(centre, half, strict=True)]
    left = [c - v(w, 0.0) for c, w in zip(centre, half, strict=True)]
    return np.array(right + left[::-1])


def _hair(canvas: Canvas, layout: FigureLayout, proj: Projector, pts: dict[str, np.ndarray], back: bool) -> None:
    """Hair: the long part behind the body (``back``) or the cap and face (the rest)."""
    b, g = layout.body, layout.garments
    r, ry, head = b.head, 1.25 * b.head, pts["head"]
    px = proj.px
    facing = proj.c > -0.1
    if back:
        if HAIRS[g.hair] == "long":
            top = head + v(0.0, 0.1 * ry, -0.3 * r)
            centre = proj(top)
            w0, w1 = proj.width(1.08 * r, 0.9 * r), proj.width(1.45 * r, 0.8 * r)
            y1 = proj(np.array([0.0, g.hair_len, 0.0]))[1]
            canvas.polygon(np.array([centre + v(-w0, 0), centre + v(w0, 0), [centre[0] + w1, y1],
                                     [centre[0] - w1, y1]]), HAIR)
        return
    cap = head + v(0.0, -0.1 * ry, -0.12 * r)
    canvas.ellipse(proj(cap), proj.width(1.1 * r, 1.1 * r), 1.0 * ry * px, HAIR)
    if HAIRS[g.hair] == "bob":
        canvas.ellipse(proj(head + v(0.0, 0.3 * ry, -0.15 * r)), proj.width(1.2 * r, 1.15 * r), 0.95 * ry * px, HAIR)
    elif HAIRS[g.hair] == "bun":
        canvas.circle(proj(head + v(0.0, -0.95 * ry, -0.35 * r)), 0.5 * r * px, HAIR)
    if facing:
        face = head + v(0.0, 0.2 * ry, 0.4 * r)
        canvas.ellipse(proj(face), proj.width(0.82 * r, 0.5 * r), 0.82 * ry * px, SKIN)


def _arm(canvas: Canvas, layout: FigureLayout, proj: Projector, pts: dict[str, np.ndarray], lr: str) -> None:
    b, g = layout.body, layout.garments
    s, e, w, hand = (proj(pts[f"{lr}_{k}"]) for k in ("shoulder", "elbow", "wrist", "hand"))
    a = b.arm * proj.px
    canvas.capsule(s, e, a, 0.8 * a, SKIN)
    canvas.capsule(e, w, 0.8 * a, 0.6 * a, SKIN)
    canvas.circle(hand, 0.75 * a, SKIN)
    if SLEEVES[g.sleeve] != "sleeveless":
        cls = BOTTOM if BOTTOMS[g.bottom] == "dress" else TOP
        path = _along([s, e, w], 0.3 if SLEEVES[g.sleeve] == "short" else 0.96)
        widths = [1.12 * a, 1.0 * a, 0.82 * a]
        for k in range(len(path) - 1):
            canvas.capsule(path[k], path[k + 1], widths[k], widths[k + 1], cls)
    if BAGS[g.bag] == "handbag" and "rl"[(g.bag_side + 1) // 2] == lr:
        centre, half = hand + v(0.0, 0.075 * proj.px), 0.05 * proj.px
        strap = max(0.15 * a, 0.7)  # at least ~1.4 px wide so the handle stays connected at any size
        canvas.capsule(hand, centre + v(-0.6 * half, -0.7 * half), strap, strap, BAG)
        canvas.capsule(hand, centre + v(0.6 * half, -0.7 * half), strap, strap, BAG)
        canvas.polygon(np.array([centre + v(-half, -0.8 * half), centre + v(half, -0.8 * half),
                                 centre + v(1.1 * half, 0.9 * half), centre + v(-1.1 * half, 0.9 * half)]), BAG)


def _leg(canvas: Canvas, layout: FigureLayout, proj: Projector, pts: dict[str, np.ndarray], lr: str) -> None:
    b, g = layout.body, layout.garments
    hip, knee, ankle, heel, toe = (proj(pts[f"{lr}_{k}"]) for k in ("hip", "knee", "ankle", "heel", "toe"))
    r = b.leg * proj.px
    canvas.capsule(hip, knee, r, 0.72 * r, SKIN)
    canvas.capsule(knee, ankle, 0.72 * r, 0.45 * r, SKIN)
    if BOTTOMS[g.bottom] in ("trousers", "shorts"):
        extra = g.flare * proj.px
        path = _along([hip, knee, ankle], g.hem)
        widths = [1.12 * r + extra, 0.85 * r + extra, 0.6 * r + 1.5 * extra]
        for k in range(len(path) - 1):
            canvas.capsule(path[k], path[k + 1], widths[k], widths[k + 1], BOTTOM)
    canvas.capsule(heel, toe, 0.5 * r, 0.42 * r, SHOES)
    if g.boots:
        canvas.capsule(_along([ankle, knee], 0.55)[-1], ankle, 0.62 * r, 0.55 * r, SHOES)


def label_map(layout: FigureLayout, size: tuple[int, int]) -> np.ndarray:
    """uint8 [H,W] class ids (BACKGROUND..BAG) of ``layout`` at ``size``; parts painted back to front."""
    b, g = layout.body, layout.garments
    proj, pts, canvas = Projector(layout.pose, size), joints(layout), Canvas(size)
    facing = proj.c > 0
    if facing:
        _hair(canvas, layout, proj, pts, back=True)
    arm_depth = {lr: proj.depth(pts[f"{lr}_elbow"] + pts[f"{lr}_wrist"]) for lr in "rl"}
    for lr in "rl":
        if arm_depth[lr] < -0.02:
            _arm(canvas, layout, proj, pts, lr)
    for lr in sorted("rl", key=lambda k: proj.depth(pts[f"{k}_knee"])):
        _leg(canvas, layout, proj, pts, lr)
    levels, dress = _torso_levels(b), BOTTOMS[g.bottom] == "dress"
    canvas.polygon(_section(levels, Y_SHOULDER - 0.02, Y_CROTCH, proj), SKIN)  # bare midriff under a short top
    if BOTTOMS[g.bottom] in ("trousers", "shorts"):
        canvas.polygon(_section(levels, Y_WAIST - 0.01, Y_CROTCH, proj), BOTTOM)
    else:
        hem = b.hip + 0.03
        skirt = [(Y_WAIST, b.waist, 0.065), (Y_HIP, hem * (1 + 0.2 * (g.flare - 1)), 0.075),
                 (max(g.hem, Y_HIP + 0.02), hem * g.flare, 0.8 * hem * g.flare)]
        canvas.polygon(_section(skirt, Y_WAIST - 0.01, max(g.hem, Y_HIP + 0.02), proj), BOTTOM)
    canvas.polygon(_section(levels, Y_SHOULDER - 0.02, Y_WAIST if dress else g.top_len, proj),
                   BOTTOM if dress else TOP)
    neck_top, neck_r = pts["head"] + v(0.0, 0.7 * b.head, 0.0), 0.42 * b.head * proj.px
    canvas.capsule(proj(neck_top), proj(np.array([0.0, Y_SHOULDER - 0.01, 0.0])), neck_r, 1.1 * neck_r, SKIN)
    if proj.c > 0.3 and g.neckline > 0:
        y0 = Y_SHOULDER - 0.02
        canvas.polygon(np.array([proj(np.array([-0.55 * b.head, y0, 0.0])), proj(np.array([0.55 * b.head, y0, 0.0])),
                                 proj(np.array([0.0, y0 + g.neckline, 0.05]))]), SKIN)
    canvas.ellipse(proj(pts["head"]), b.head * proj.px, 1.25 * b.head * proj.px, SKIN)
    _hair(canvas, layout, proj, pts, back=False)
    if not facing:
        _hair(canvas, layout, proj, pts, back=True)
    if BAGS[g.bag] == "shoulder bag":
        side = float(g.bag_side)
        start, end = proj(np.array([side * b.shoulder * 0.8, Y_SHOULDER - 0.01, 0.0])), proj(
            np.array([-side * (b.hip + 0.05), Y_HIP + 0.01, 0.08]))
        canvas.capsule(start, end, max(0.006 * proj.px, 0.7), max(0.006 * proj.px, 0.7), BAG)
        canvas.ellipse(end + v(0.0, 0.03 * proj.px), proj.width(0.06, 0.02), 0.045 * proj.px, BAG)
    for lr in "rl":
        if arm_depth[lr] >= -0.02:
            _arm(canvas, layout, proj, pts, lr)
    return canvas.label
