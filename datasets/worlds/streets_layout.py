"""Layouts of the ``streets`` world: a driving camera looking down a street, as resolution-free parameters in metres.

A layout is a pinhole camera (horizon row, vanishing-point column, camera height, focal length as a fraction of the
image width) over a flat ground plane: a road (lanes, markings) with a terrain verge and a sidewalk on each side,
then per side a sequence of street-side segments along the depth axis (building facades with windows, walls and
fences with trees behind, hedges, open ground), a far skyline band at the horizon, poles with traffic lights and
signs, and things (cars, trucks, buses, trams, people, riders on bicycles and motorcycles). Everything projects with
the same camera, so far objects are smaller and the street converges to the vanishing point.

``Canvas`` holds what a layout rasterises to at one size (layout-only, style-free): the label map, instance map, depth
(metres, inf for sky), a *detail* map in [0,1] (windows, lane markings, tyres, the sky's height gradient: where a
class shows its second colour), surface orientation (shading) and emitted light (lamps, lit windows) that the
renderer lights according to the style's time of day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Train ids of CITYSCAPES_19 (datasets.cityscapes), named once here for the geometry code.
(ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS,
 TRAIN, MOTORCYCLE, BICYCLE) = range(19)
# Surface orientation codes (the renderer shades each differently).
FLAT, FACING, LEFT_WALL, RIGHT_WALL, UPRIGHT = range(5)
# Street-side segment kinds.
OPEN, HOUSE, WALLED, FENCED, HEDGE = range(5)
Z_FAR = 260.0  # metres: segments end here; the skyline band stands beyond
SEGMENTS = 14  # per side
OBJECT_DIM = 8  # class, X, z, width, height, variant, view (0 rear / 1 side), seated rider flag
POLE_DIM = 6  # side (-1/+1), z, height, kind (0 plain, 1 traffic light, 2 sign), arm length, variant


@dataclass
class StreetLayout:
    """camera [4]: horizon (fraction of H), vanishing x (fraction of W), height (m), focal (fraction of W);
    road [6]: half width, verge left, verge right, sidewalk left, sidewalk right, lane width (m);
    segments [2,SEGMENTS,8] per side: z0, z1, kind, height, low wall height, canopy height, window spacing, phase;
    skyline [6]: band height, roughness, building share, three phases; poles [P,POLE_DIM]; objects [N,OBJECT_DIM]."""

    camera: np.ndarray
    road: np.ndarray
    segments: np.ndarray
    skyline: np.ndarray
    poles: np.ndarray
    objects: np.ndarray


def sample_street(rng: np.random.Generator, shift: float = 0.0) -> StreetLayout:
    """A layout; ``shift`` ≥ 0 moves the distribution (camera higher and pitched down, narrower road, denser traffic,
    lower buildings) by that many units, the controlled layout gap between render domains."""
    camera = np.array([rng.uniform(0.40, 0.50) - 0.1 * shift, rng.uniform(0.42, 0.58), rng.uniform(1.3, 1.8)
                       + 0.4 * shift, rng.uniform(0.55, 0.8)])
    lanes = int(rng.integers(1, 4)) * 2 if rng.random() < 0.8 else 1
    lane_w = rng.uniform(3.0, 3.6) * (1 - 0.25 * min(shift, 2.0))
    verge = rng.uniform(0, 2.5, 2) * (rng.random(2) < 0.4)
    road = np.array([lanes * lane_w / 2, *verge, *rng.uniform(1.5, 4.5, 2), lane_w])
    height_scale = 1.0 / (1.0 + shift)
    kinds = np.array([0.12, 0.5 * height_scale, 0.13, 0.13, 0.12])
    segments = np.zeros((2, SEGMENTS, 8))
    for side in range(2):
        z = rng.uniform(0, 6)
        for s in range(SEGMENTS):
            length = rng.uniform(8, 40) if s < SEGMENTS - 1 else Z_FAR
            kind = int(rng.choice(5, p=kinds / kinds.sum()))
            height = rng.uniform(6, 30) * height_scale if kind == HOUSE else rng.uniform(1.0, 2.4)
            segments[side, s] = (z, min(z + length, Z_FAR), kind, height, rng.uniform(0.8, 2.2),
                                 rng.uniform(4, 12) * (kind != OPEN), rng.uniform(2.0, 3.6), rng.uniform(0, 6.3))
            z = min(z + length, Z_FAR)
    skyline = np.array([rng.uniform(0.01, 0.06), rng.uniform(0.2, 1.0), rng.uniform(0, 1), *rng.uniform(0, 6.3, 3)])
    poles = []
    for side in (-1.0, 1.0):
        z = rng.uniform(4, 20)
        while z < 120:
            kind = int(rng.choice(3, p=[0.45, 0.25, 0.3]))
            poles.append((side, z, rng.uniform(4, 8) if kind != 2 else rng.uniform(2.6, 3.4), kind,
                          rng.uniform(1, 3.5) * (kind == 1), rng.uniform(0, 1)))
            z += rng.uniform(12, 40)
    objects: list[tuple[float, ...]] = []
    density = 1.0 + shift
    half = road[0]
    for _ in range(rng.poisson(5 * density)):  # traffic in lanes (rear views)
        cls = int(rng.choice([CAR, TRUCK, BUS, TRAIN, MOTORCYCLE], p=[0.72, 0.1, 0.08, 0.03, 0.07]))
        lane = int(rng.integers(max(lanes, 1)))
        x = -half + (lane + 0.5) * lane_w + rng.uniform(-0.3, 0.3) if cls != TRAIN else rng.uniform(-0.5, 0.5)
        z = rng.uniform(6, 90)
        w, h = {CAR: (rng.uniform(1.7, 1.95), rng.uniform(1.35, 1.7)), TRUCK: (rng.uniform(2.3, 2.5),
                rng.uniform(2.8, 3.6)), BUS: (2.5, rng.uniform(2.9, 3.3)), TRAIN: (2.6, rng.uniform(3.3, 3.7)),
                MOTORCYCLE: (0.8, 1.2)}[cls]
        objects.append((cls, x, z, w, h, rng.uniform(0, 1), float(cls == MOTORCYCLE), 0.0))
        if cls == MOTORCYCLE:
            objects.append((RIDER, x, z - 0.05, 0.5, rng.uniform(1.55, 1.75), rng.uniform(0, 1), 1.0, 1.0))
    for side in (-1.0, 1.0):
        for _ in range(rng.poisson(1.5 * density)):  # parked cars at the kerb
            objects.append((CAR, side * (half - 1.1), rng.uniform(5, 70), rng.uniform(1.7, 1.9),
                            rng.uniform(1.35, 1.6), rng.uniform(0, 1), 0.0, 0.0))
        walk = road[2 if side > 0 else 1] + road[4 if side > 0 else 3]
        for _ in range(rng.poisson(3 * density)):  # pedestrians on the sidewalk
            x = side * (half + walk - rng.uniform(0.3, max(0.4, road[4 if side > 0 else 3] - 0.3)))
            objects.append((PERSON, x, rng.uniform(4, 60), 0.5, rng.uniform(1.55, 1.9), rng.uniform(0, 1),
                            float(rng.random() < 0.5), 0.0))
        for _ in range(rng.poisson(0.8 * density)):  # cyclists at the road edge, bicycles parked on the walk
            ridden = rng.random() < 0.6
            x = side * (half - 0.6) if ridden else side * (half + walk - 0.4)
            z = rng.uniform(5, 50)
            objects.append((BICYCLE, x, z, 1.7, 1.0, rng.uniform(0, 1), 1.0, 0.0))
            if ridden:
                objects.append((RIDER, x, z - 0.05, 0.5, rng.uniform(1.55, 1.8), rng.uniform(0, 1), 1.0, 1.0))
    for _ in range(rng.poisson(0.5 * density)):  # people crossing the road
        objects.append((PERSON, rng.uniform(-half, half), rng.uniform(6, 40), 0.5, rng.uniform(1.55, 1.9),
                        rng.uniform(0, 1), 1.0, 0.0))
    return StreetLayout(camera, road, segments, skyline, np.array(poles, np.float64).reshape(-1, POLE_DIM),
                        np.array(objects, np.float64).reshape(-1, OBJECT_DIM))


class Canvas:
    """The rasterised layout at ``size`` = (H, W); see the module docstring. Painting is back to front."""

    def __init__(self, layout: StreetLayout, size: tuple[int, int]) -> None:
        self.h, self.w = size
        horizon, vp_x, cam_h, focal = layout.camera
        self.yh, self.xv, self.cam_h, self.f = horizon * self.h, vp_x * self.w, cam_h, focal * self.w
        self.label = np.full(size, SKY, np.uint8)
        self.instance = np.zeros(size, np.int32)
        self.depth = np.full(size, np.inf, np.float32)
        self.detail = np.zeros(size, np.float32)
        self.orient = np.full(size, FACING, np.uint8)
        self.emit = np.zeros((*size, 3), np.float32)
        self.rows = np.arange(self.h) + 0.5
        self.cols = np.arange(self.w) + 0.5

    def ground_row(self, z: np.ndarray | float) -> np.ndarray | float:
        """Image row of the ground at depth ``z`` (m)."""
        return self.yh + self.f * self.cam_h / z

    def row_at(self, height: np.ndarray | float, z: np.ndarray | float) -> np.ndarray | float:
        """Image row of a point ``height`` m above the ground at depth ``z``."""
        return self.yh + self.f * (self.cam_h - height) / z


def paint_static(layout: StreetLayout, c: Canvas) -> None:
    """Sky gradient, skyline band, ground (road, markings, verges, sidewalks) and the street-side segments."""
    rows, cols = c.rows[:, None], c.cols[None, :]
    c.detail[:] = np.clip((rows - c.yh * 0.2) / max(c.yh * 0.8, 1.0), 0, 1)  # sky: zenith 0 → horizon 1
    band, rough, share, p1, p2, p3 = layout.skyline
    t = c.cols / c.w
    wave = 0.5 + 0.25 * np.sin(6 * t + p1) + 0.15 * np.sin(17 * t + p2) * rough + 0.1 * np.sin(41 * t + p3) * rough
    blocky = np.floor(t * 24 + p3) % 3 / 2
    is_town = (np.sin(5 * t + p2) * 0.5 + 0.5) < share
    top = c.yh - c.w * band * np.where(is_town, 0.4 + 0.8 * blocky, wave)
    far = (rows >= top[None, :]) & (rows < c.yh)
    c.label[far] = np.broadcast_to(np.where(is_town, BUILDING, VEGETATION)[None, :], far.shape)[far]
    c.depth[far], c.detail[far], c.orient[far] = 400.0, 0.0, FACING
    # Ground plane below the horizon: lateral position X (m) at depth z (m).
    g = rows[:, 0] > c.yh + 0.5
    zg = c.f * c.cam_h / (c.rows[g] - c.yh)
    x = (cols - c.xv) * zg[:, None] / c.f
    half, verge_l, verge_r, walk_l, walk_r, lane_w = layout.road
    verge = np.where(x < 0, verge_l, verge_r)
    walk = np.where(x < 0, walk_l, walk_r)
    ax = np.abs(x)
    cls = np.full(x.shape, TERRAIN, np.uint8)
    cls[ax < half + verge + walk] = SIDEWALK
    cls[(ax >= half) & (ax < half + verge)] = TERRAIN
    cls[ax < half] = ROAD
    z = np.broadcast_to(zg[:, None], x.shape)
    detail = np.zeros(x.shape, np.float32)
    on_road = cls == ROAD  # lane lines: dashed inside, solid at the edges; ≥ ~1 px wide, fading as they thin
    xr, zr = x[on_road], z[on_road]
    px_m = np.maximum(0.12, 1.2 * zr / c.f)
    lines = np.zeros(xr.shape)
    for k in np.arange(-half, half + 1e-6, lane_w):
        dashed = abs(k) < half - 1e-6
        on = (np.abs(xr - k) < px_m / 2) & (((zr / 6.0) % 1.0 < 0.5) if dashed else True)
        lines = np.maximum(lines, on * (0.12 / px_m))
    detail[on_road] = lines
    walk = cls == SIDEWALK  # paving joints, fading with distance
    zw, xw = z[walk], ax[walk]
    px_w = np.maximum(0.12, 1.2 * zw / c.f) * 0.5
    detail[walk] = (((zw % 1.2) < px_w) | ((xw % 1.2) < px_w)) * np.exp(-zw / 25.0) * 0.6
    c.label[g], c.depth[g], c.detail[g], c.orient[g] = cls, z, detail, FLAT
    for side, sign in ((0, -1.0), (1, 1.0)):
        paint_side(layout, c, side, sign, half + layout.road[1 + side] + layout.road[3 + side])


def paint_side(layout: StreetLayout, c: Canvas, side: int, sign: float, xb: float) -> None:
    """One side's street-side segments, standing on the plane X = ``sign * xb``."""
    dx = sign * (c.cols - c.xv)
    ok = dx > 0.5
    zf = np.where(ok, c.f * xb / np.maximum(dx, 1e-6), 1e4)
    seg = layout.segments[side]
    idx = np.clip(np.searchsorted(seg[:, 1], zf), 0, SEGMENTS - 1)
    ok &= zf < Z_FAR
    z0, kind, height, low, canopy, spacing, phase = (seg[idx, j] for j in (0, 2, 3, 4, 5, 6, 7))
    bottom = c.ground_row(zf)
    wave = 1 + 0.2 * np.sin(zf * 0.9 + phase) + 0.1 * np.sin(zf * 2.3 + 2 * phase)
    veg_top = c.row_at(canopy * wave, zf)
    main_top = np.where(kind == HOUSE, c.row_at(height, zf), c.row_at(np.where(kind == HEDGE, 0.0, low), zf))
    main_cls = np.select([kind == HOUSE, kind == WALLED, kind == FENCED], [BUILDING, WALL, FENCE], VEGETATION)
    rows = c.rows[:, None]
    orient = LEFT_WALL if side == 0 else RIGHT_WALL
    veg = ok[None, :] & (kind != HOUSE)[None, :] & (rows >= veg_top[None, :]) & (rows < bottom[None, :])
    main = ok[None, :] & (rows >= main_top[None, :]) & (rows < bottom[None, :]) & (kind != OPEN)[None, :]
    for mask, cls in ((veg, np.full_like(main_cls, VEGETATION)), (main, main_cls)):
        c.label[mask] = np.broadcast_to(cls[None, :], mask.shape)[mask]
        c.depth[mask] = np.broadcast_to(zf[None, :], mask.shape)[mask]
        c.orient[mask] = orient
        c.detail[mask] = 0.0
    # Facade details in facade coordinates: metres along the street from the segment start, metres above ground.
    r, q = np.nonzero(main)
    kq, zq, sp, ph, lo = kind[q], zf[q], spacing[q], phase[q], low[q]
    hgt = c.cam_h - (c.rows[r] - c.yh) * zq / c.f
    along = zq - z0[q]
    fade = np.exp(-zq / 120.0)
    floor, bay = hgt % 3.2, along % sp
    win = (floor > 1.0) & (floor < 2.4) & (bay > 0.3 * sp) & (bay < 0.8 * sp) & (hgt > 3.0)
    shop = (hgt > 0.4) & (hgt < 2.6) & ((along % 7.0) > 0.6) & (np.sin(ph) > 0)
    slats = ((along % 0.35) < 0.15) & (hgt < lo - 0.1)
    joints = hgt % 0.6 < 0.08
    c.detail[r, q] = np.select([kq == HOUSE, kq == FENCED, kq == WALLED], [win | shop, slats, joints], 0) * fade
    lit = (kq == HOUSE) & win & (np.sin(np.floor(along / sp) * 12.9898 + np.floor(hgt / 3.2) * 78.233 + ph) > 0.55)
    c.emit[r[lit], q[lit]] = (0.6, 0.45, 0.25)  # lit windows: dimmer than lamps
