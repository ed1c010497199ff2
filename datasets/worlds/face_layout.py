"""Face geometry of the ``faces`` world: ``FaceLayout`` (resolution-free parameters), ``sample_face`` and
``label_face`` (the CelebAMask-HQ label map at any size). See ``datasets.worlds.faces`` for the world.

Units: the image's shorter side, from the image centre, y down; the head frame has its origin at the face centre and
rolls with the head. Shapes are evaluated only inside their window of the image (``_window``), for speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from datasets.celebamask_hq import CELEBAMASK_HQ

HAIR_STYLES = ("short", "long", "bob", "bun")
ID = {name: i for i, name in enumerate(CELEBAMASK_HQ.classes)}


@dataclass
class FaceLayout:
    """Face geometry (floats in units of the shorter image side; angles in radians; flags as 0/1 ints)."""

    cx: float
    cy: float
    a: float  # face half-width
    b: float  # face half-height
    jaw: float  # jaw taper in [0,1)
    yaw: float
    roll: float
    eye_x: float
    eye_y: float
    eye_w: float
    eye_h: float
    gaze_x: float
    gaze_y: float
    brow_gap: float
    brow_arch: float
    brow_t: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip_u: float
    lip_l: float
    mouth_open: float
    ear_w: float
    ear_h: float
    hair: int
    hairline: float
    hair_volume: float
    fringe: int
    neck_w: float
    shoulder_y: float
    neckline: int  # 0 round, 1 V
    neckline_depth: float
    hat: int
    earrings: int
    glasses: int
    necklace: int


def draw(rng: np.random.Generator, lo: float, hi: float) -> float:
    """One uniform draw in [lo, hi) as a plain float (layouts hash exactly)."""
    return float(rng.uniform(lo, hi))


def sample_face(rng: np.random.Generator) -> FaceLayout:
    """A frontal-ish face with CelebA-HQ's framing (eyes near mid-height, chin at ~3/4, shoulders at the bottom)."""
    a = draw(rng, 0.17, 0.21)
    return FaceLayout(
        cx=draw(rng, -0.02, 0.02), cy=draw(rng, 0.0, 0.05), a=a, b=a * draw(rng, 1.3, 1.45), jaw=draw(rng, 0.15, 0.45),
        yaw=draw(rng, -0.25, 0.25), roll=draw(rng, -0.12, 0.12),
        eye_x=a * draw(rng, 0.36, 0.44), eye_y=draw(rng, -0.05, -0.02), eye_w=a * draw(rng, 0.22, 0.27),
        eye_h=a * draw(rng, 0.07, 0.11), gaze_x=draw(rng, -0.3, 0.3), gaze_y=draw(rng, -0.15, 0.15),
        brow_gap=a * draw(rng, 0.2, 0.3), brow_arch=a * draw(rng, 0.03, 0.09), brow_t=a * draw(rng, 0.05, 0.09),
        nose_len=a * draw(rng, 0.55, 0.7), nose_w=a * draw(rng, 0.17, 0.24),
        mouth_y=a * draw(rng, 1.0, 1.15), mouth_w=a * draw(rng, 0.38, 0.5), lip_u=a * draw(rng, 0.06, 0.1),
        lip_l=a * draw(rng, 0.08, 0.13), mouth_open=a * float(rng.choice([0.0, rng.uniform(0.01, 0.06)])),
        ear_w=a * draw(rng, 0.16, 0.22), ear_h=a * draw(rng, 0.33, 0.42),
        hair=int(rng.integers(len(HAIR_STYLES))), hairline=draw(rng, 0.45, 0.62), hair_volume=draw(rng, 1.05, 1.2),
        fringe=int(rng.random() < 0.35), neck_w=a * draw(rng, 0.5, 0.62), shoulder_y=draw(rng, 0.4, 0.46),
        neckline=int(rng.integers(2)), neckline_depth=draw(rng, 0.03, 0.12), hat=int(rng.random() < 0.12),
        earrings=int(rng.random() < 0.25), glasses=int(rng.random() < 0.2), necklace=int(rng.random() < 0.15))


@lru_cache(maxsize=8)
def coords(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """float32 [H,W] (X, Y) pixel centres in units of the shorter side from the image centre (mirror-exact;
    cached, read-only)."""
    h, w = size
    s = min(h, w)
    X, Y = np.meshgrid(((np.arange(w) + 0.5 - w / 2) / s).astype(np.float32),
                       ((np.arange(h) + 0.5 - h / 2) / s).astype(np.float32), indexing="xy")
    X.flags.writeable = Y.flags.writeable = False
    return X, Y


def _window(size: tuple[int, int], x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
    """(rows, cols) slices of the pixels whose centres can fall in [x0,x1]×[y0,y1] (image units, one pixel
    margin): the shapes are evaluated only there."""
    h, w = size
    s = min(h, w)
    cols = slice(int(np.clip(np.floor(x0 * s + w / 2) - 1, 0, w)), int(np.clip(np.ceil(x1 * s + w / 2) + 1, 0, w)))
    rows = slice(int(np.clip(np.floor(y0 * s + h / 2) - 1, 0, h)), int(np.clip(np.ceil(y1 * s + h / 2) + 1, 0, h)))
    return rows, cols


def _head_window(lay: FaceLayout, size: tuple[int, int], left: float, right: float, up: float, down: float
                 ) -> tuple[slice, slice]:
    """The window of a head-frame box (extents from the face centre) after the roll."""
    c, s = abs(np.cos(lay.roll)), abs(np.sin(lay.roll))
    hx, hy = (right - left) / 2, (down - up) / 2  # half extents
    mx, my = (left + right) / 2, (up + down) / 2  # centre
    cx = lay.cx + np.cos(lay.roll) * mx - np.sin(lay.roll) * my
    cy = lay.cy + np.sin(lay.roll) * mx + np.cos(lay.roll) * my
    ex, ey = hx * c + hy * s, hx * s + hy * c
    return _window(size, cx - ex, cx + ex, cy - ey, cy + ey)


def head_coords(lay: FaceLayout, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in the head frame (origin at the face centre, rolled with the head)."""
    dx, dy = X - np.float32(lay.cx), Y - np.float32(lay.cy)
    c, s = np.float32(np.cos(lay.roll)), np.float32(np.sin(lay.roll))
    return c * dx + s * dy, -s * dx + c * dy


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1


def _face_oval(lay: FaceLayout, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = y / lay.b
    taper = 1 - lay.jaw * np.clip(w, 0, 1) ** 2
    return (x / (lay.a * taper)) ** 2 + w ** 2 <= 1


def feature_x(lay: FaceLayout, x: float) -> float:
    """Head-frame x of a feature at frontal position ``x`` under the yaw (features slide towards the turn)."""
    return x * np.cos(lay.yaw) + lay.yaw * lay.a * 0.9


def _far(lay: FaceLayout, sgn: int) -> float:
    """Size factor of the feature on side ``sgn`` (+1 = image right) under the yaw (the far side shrinks)."""
    return 1 - 1.2 * lay.yaw * sgn


def _body(lay: FaceLayout, lab: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> None:
    """Clothes below sloping shoulders minus the neckline, the neck column, the necklace (no roll)."""
    bx = gx - lay.cx
    top = lay.shoulder_y + 0.5 * np.maximum(np.abs(bx) - lay.neck_w, 0) ** 1.5 - 0.02
    depth = lay.shoulder_y - 0.02 + lay.neckline_depth
    open_w = lay.neck_w * 1.3
    neckline = ((bx / open_w) ** 2 + ((gy - top) / (depth - top + 1e-6)) ** 2 <= 1) if not lay.neckline else (
        np.abs(bx) <= open_w * (depth - gy) / (depth - lay.shoulder_y + 0.02))
    lab[(gy >= top) & ~(neckline & (gy <= depth))] = ID["cloth"]
    lab[(np.abs(bx) <= lay.neck_w) & (gy >= lay.cy + 0.3 * lay.b) & (lab == 0)] = ID["neck"]
    if lay.necklace:
        curve = lay.shoulder_y - 0.01 + 0.06 * (1 - (bx / (lay.neck_w * 1.2)) ** 2)
        lab[(np.abs(gy - curve) <= 0.006) & (np.abs(bx) <= lay.neck_w * 1.1)] = ID["neck_l"]


def _ears(lay: FaceLayout, lab: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    for sgn, name in ((1, "l_ear"), (-1, "r_ear")):
        ex = sgn * lay.a * np.cos(lay.yaw) * 0.97 + lay.yaw * lay.a * 0.3
        scale = np.clip(_far(lay, sgn), 0.2, 1.4)
        lab[_ellipse(x, y, ex + sgn * lay.ear_w * 0.4 * scale, 0.04 * lay.b, lay.ear_w * scale, lay.ear_h)] = ID[name]
        if lay.earrings:
            lab[_ellipse(x, y, ex + sgn * lay.ear_w * 0.3 * scale, 0.04 * lay.b + lay.ear_h * 1.05, 0.012, 0.018)
                ] = ID["ear_r"]


def _hair_back(lay: FaceLayout, lab: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """Long hair to the shoulders or a bob to the jaw, widening downwards with rounded ends, behind the face."""
    long = HAIR_STYLES[lay.hair] == "long"
    bottom = lay.shoulder_y + 0.1 - lay.cy if long else lay.b * 0.8
    top = -lay.b * 0.3
    t = np.clip((y - top) / (bottom - top), 0, 1)
    width = lay.a * lay.hair_volume * ((1.12 + 0.25 * t) if long else (1.18 + 0.06 * t))
    end = np.sqrt(np.clip(1 - (np.maximum(y - bottom + 0.06, 0) / 0.06) ** 2, 0, 1))
    width = width * (0.55 + 0.45 * end) * (1 + 0.02 * np.cos(y / lay.b * 14))
    lab[(np.abs(x) <= width) & (y >= top) & (y <= bottom) & (end > 0)] = ID["hair"]


def _head(lay: FaceLayout, lab: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """Face, the hair cap in front of the forehead (fringe, bun), glasses frames, eyes, brows, nose, lips, hat."""
    hv = lay.hair_volume
    oval = _face_oval(lay, x, y)
    lab[oval] = ID["skin"]
    head = _ellipse(x, y, 0, -lay.b * 0.15, lay.a * 1.08 * hv, lay.b * 0.92 * hv)
    hairline = -lay.b * lay.hairline + 0.25 * lay.a * (x / lay.a) ** 2
    cap = head & ((y <= hairline) | ~oval) & (y <= 0.05 * lay.b)
    if lay.fringe:
        cap |= head & (y <= -lay.b * 0.3 + 0.012 * np.cos(x / lay.a * 9) + 0.1 * lay.a * (x / lay.a) ** 2)
    if HAIR_STYLES[lay.hair] == "bun":
        cap |= _ellipse(x, y, 0, -lay.b * 1.08 * hv, lay.a * 0.45, lay.b * 0.28)
    lab[cap] = ID["hair"]
    if lay.glasses:
        ring = np.zeros(lab.shape, bool)
        inner = []
        for sgn in (1, -1):
            cx, r = feature_x(lay, sgn * lay.eye_x), lay.eye_w * 1.45 * np.clip(_far(lay, sgn), 0.6, 1.3)
            d = np.sqrt(((x - cx) / r) ** 2 + ((y - lay.eye_y) / (r * 0.8)) ** 2)
            ring |= np.abs(d - 1) * r <= 0.008
            ring |= (np.abs(y - lay.eye_y + 0.2 * r) <= 0.006) & (sgn * (x - cx) >= r) & (sgn * x <= lay.a)
            inner.append(cx - sgn * r)
        ring |= (np.abs(y - lay.eye_y + 0.01) <= 0.006) & (x <= inner[0]) & (x >= inner[1])
        lab[ring & ((lab != ID["hair"]) | oval)] = ID["eye_g"]
    for sgn, eye, brow in ((1, "l_eye", "l_brow"), (-1, "r_eye", "r_brow")):
        ex, k = feature_x(lay, sgn * lay.eye_x), np.clip(_far(lay, sgn), 0.5, 1.5)
        u = (x - ex) / (lay.eye_w * k)
        almond = (np.abs(u) <= 1) & (np.abs(y - lay.eye_y) <= lay.eye_h * (1 - u ** 2) * (1 + 0.3 * sgn * u))
        lab[almond] = ID[eye]
        bu = (x - ex) / (lay.eye_w * 1.25 * k)
        centre = lay.eye_y - lay.brow_gap - lay.brow_arch * (1 - bu ** 2)
        thick = lay.brow_t * (0.5 + 0.5 * np.clip(1 - sgn * bu, 0, 1.3))
        lab[(np.abs(bu) <= 1) & (np.abs(y - centre) <= thick / 2)] = ID[brow]
    nx = feature_x(lay, 0.0)
    t = (y - lay.eye_y - 0.2 * lay.nose_len) / (0.8 * lay.nose_len)
    half = lay.nose_w * (0.25 + 0.75 * np.clip(t, 0, 1) ** 2)
    nose = (t >= 0) & (t <= 1) & (np.abs(x - nx) <= half)
    nose |= _ellipse(x, y, nx, lay.eye_y + lay.nose_len - lay.nose_w * 0.2, lay.nose_w, lay.nose_w * 0.45)
    lab[nose] = ID["nose"]
    mu = (x - nx) / lay.mouth_w
    inside = np.abs(mu) <= 1
    bow = 1 - mu ** 2
    gap = lay.mouth_open * bow
    upper = lay.mouth_y - gap - lay.lip_u * bow * (1 + 0.35 * np.abs(mu) - 0.35 * np.exp(-(mu / 0.12) ** 2))
    lab[inside & (y >= upper) & (y <= lay.mouth_y - gap)] = ID["u_lip"]
    lab[inside & (y > lay.mouth_y + gap) & (y <= lay.mouth_y + gap + lay.lip_l * bow)] = ID["l_lip"]
    if lay.mouth_open > 0:
        lab[inside & (np.abs(y - lay.mouth_y) <= gap)] = ID["mouth"]
    if lay.hat:
        crown = _ellipse(x, y, 0, -lay.b * 0.75 * hv, lay.a * 1.15 * hv, lay.b * 0.55)
        brim = _ellipse(x, y, 0, -lay.b * 0.62 * hv, lay.a * 1.6 * hv, lay.b * 0.08)
        lab[(crown & (y <= -lay.b * 0.6 * hv)) | brim] = ID["hat"]


def label_face(lay: FaceLayout, size: tuple[int, int]) -> np.ndarray:
    """uint8 [H,W] CelebAMask-HQ ids of ``lay`` at ``size``, painted back to front; each group of shapes is
    evaluated only in its window of the image."""
    X, Y = coords(size)
    lab = np.zeros(size, np.uint8)
    rows, cols = _window(size, -2, 2, lay.cy + 0.3 * lay.b, 2)
    _body(lay, lab[rows, cols], X[rows, cols], Y[rows, cols])
    head = (-2.0 * lay.a, 2.0 * lay.a, -1.7 * lay.b, 1.05 * lay.b)
    rows, cols = _head_window(lay, size, head[0], head[1], -lay.b, lay.b * 0.1 + lay.ear_h * 1.3 + 0.03)
    _ears(lay, lab[rows, cols], *head_coords(lay, X[rows, cols], Y[rows, cols]))
    if HAIR_STYLES[lay.hair] in ("long", "bob"):
        rows, cols = _head_window(lay, size, -1.8 * lay.a, 1.8 * lay.a, -0.3 * lay.b, 2.0)
        _hair_back(lay, lab[rows, cols], *head_coords(lay, X[rows, cols], Y[rows, cols]))
    rows, cols = _head_window(lay, size, *head)
    _head(lay, lab[rows, cols], *head_coords(lay, X[rows, cols], Y[rows, cols]))
    return lab
