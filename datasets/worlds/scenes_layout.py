"""Geometry of the ``scenes`` world: resolution-free layouts and their rasterisation (label, instance, shading, depth).

Coordinates: ``u`` = fraction of the image width (left→right), ``v`` = fraction of the image height (top→bottom).
The camera looks horizontally from ``cam_h`` metres above flat ground, so the horizon is one image row ``horizon``
and an object standing at row ``vb`` (its ground contact) is ``(vb - horizon) / cam_h`` image heights tall per metre:
far things are smaller and higher up. Object shapes are given in metres (x right, y up from the ground), so they keep
their proportions at any size and aspect. Everything here depends on the layout only (never on the style), so
``render(layout_i, style_k)`` is the exact translation of input ``i`` under exemplar ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.worlds.scenes_shapes import SHAPES

CLASSES = ("sky", "clouds", "mountain", "hill", "snow", "water", "sand", "grass", "road", "rock", "building", "fence",
           "bush", "tree", "person", "car")
THINGS = ("tree", "person", "car")
ID = {name: i for i, name in enumerate(CLASSES)}
SCENE_TYPES = ("meadow", "coast", "alpine", "town", "winter", "desert")
N_OCTAVES = 6


@dataclass
class Ridge:
    """A mountain or hill silhouette: height above the horizon (image heights) at column ``u`` is
    ``base + sum_k amps[k] * wave(freqs[k] * u + phases[k])`` (triangle waves for peaks, sines for hills); pixels
    higher than ``snowline`` above the horizon are snow (``inf``: no snow)."""

    cls: str
    base: float
    amps: np.ndarray
    freqs: np.ndarray
    phases: np.ndarray
    peaky: bool
    snowline: float
    distance: float  # haze depth of the ridge in [0,1]

    def top(self, u: np.ndarray) -> np.ndarray:
        t = self.freqs[:, None] * u[None] + self.phases[:, None]
        wave = 1 - 4 * np.abs(t - np.floor(t) - 0.5) if self.peaky else np.sin(2 * np.pi * t)
        return self.base + (self.amps[:, None] * wave).sum(0)


@dataclass
class Thing:
    """A ground-standing object of ``kind`` (a key of ``SHAPES``) centred at column ``u`` with ground contact at row
    ``vb``; ``p`` its shape parameters (metres and unit-free numbers, see ``scenes_shapes``)."""

    kind: str
    u: float
    vb: float
    p: np.ndarray


@dataclass
class SceneLayout:
    """One scene. ``clouds`` float [N,3+3P] (u, v, size, then P puffs dx, dy, r); ``water`` float [6]
    (kind 0 none / 1 sea / 2 lake, then shore row offset, shore wobble, beach width, lake centre u, lake half width);
    ``road`` float [5] (present, vanishing u, bottom centre u, bottom half width, curve)."""

    scene: str
    horizon: float
    cam_h: float
    ground: str
    texture_seed: int
    clouds: np.ndarray
    ridges: list[Ridge]
    water: np.ndarray
    road: np.ndarray
    things: list[Thing] = field(default_factory=list)

    def shore(self, u: np.ndarray) -> np.ndarray:
        """Row of the sea's shore line at columns ``u``."""
        w = self.water
        return self.horizon + w[1] + w[2] * np.sin(2 * np.pi * (1.3 * u + w[4])) + 0.3 * w[2] * np.sin(
            2 * np.pi * (4.1 * u + 2 * w[4]))

    def road_centre(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Road centre column and half width at rows ``v`` (0 width at the horizon)."""
        _, vu, bu, bw, curve = self.road
        t = np.clip((v - self.horizon) / (1 - self.horizon), 0, None)
        return vu + (bu - vu) * t + curve * t * (1 - t), bw * t

    def region(self, u: float, v: float) -> str:
        """What the ground is at ``(u, v)`` below the horizon: water, sand, road or the ground class."""
        kind = int(self.water[0])
        if kind == 1:
            shore = float(self.shore(np.array([u]))[0])
            if v < shore:
                return "water"
            if v < shore + self.water[3] * (v - self.horizon) * 4:
                return "sand"
        if kind == 2:
            d = self._lake(np.array([u]), np.array([v]))[0]
            if d < 1:
                return "water"
            if d < 1.25:
                return "sand"
        if self.road[0]:
            c, hw = self.road_centre(np.array([v]))
            if abs(u - c[0]) < hw[0] * 1.05 + 0.004:
                return "road"
        return self.ground

    def _lake(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        w, h = self.water, self.horizon
        half_v = max(w[1] - 0.004, 0.01)
        return ((u - w[4]) / w[5]) ** 2 + ((v - h - 0.004 - half_v) / half_v) ** 2


# -- sampling -------------------------------------------------------------------------------------------------------
def _ridge(rng: np.random.Generator, cls: str, horizon: float, near: bool) -> Ridge:
    mountain = cls == "mountain"
    room = horizon  # image heights of sky above the horizon
    base = rng.uniform(0.1, 0.35) * room if mountain else rng.uniform(0.05, 0.2) * room
    amp0 = rng.uniform(0.12, 0.3) * room if mountain else rng.uniform(0.03, 0.1) * room
    f0 = rng.uniform(0.6, 1.6) if mountain else rng.uniform(0.4, 1.0)
    k = np.arange(N_OCTAVES)
    freqs = f0 * 2.0 ** k * rng.uniform(0.85, 1.15, N_OCTAVES)
    amps = amp0 * (2.0 ** (-k * rng.uniform(0.8, 1.1))) * rng.uniform(0.6, 1.0, N_OCTAVES)
    snow = mountain and rng.random() < 0.55
    top = base + amps.sum()
    snowline = base + rng.uniform(0.25, 0.65) * (top - base) if snow else float("inf")
    return Ridge(cls, float(base), amps, freqs, rng.uniform(0, 1, N_OCTAVES), mountain, float(snowline),
                 0.55 if near else 0.8)


def _clouds(rng: np.random.Generator, horizon: float, scene: str) -> np.ndarray:
    n = int(rng.integers(0, 6)) if scene != "desert" else int(rng.integers(0, 2))
    puffs = 6
    out = np.zeros((n, 3 + 3 * puffs))
    for i in range(n):
        stratus = rng.random() < 0.35
        size = rng.uniform(0.05, 0.16) * horizon * 2
        out[i, :3] = rng.uniform(-0.05, 1.05), rng.uniform(0.05, 0.8) * horizon, size
        dx = rng.uniform(-1, 1, puffs) * (2.5 if stratus else 1.2)
        dy = rng.uniform(-0.4, 0.1, puffs) * (0.3 if stratus else 1.0)
        r = rng.uniform(0.35, 0.75, puffs) * (0.6 if stratus else 1.0)
        out[i, 3:] = np.stack([dx, dy, r], 1).reshape(-1)
    return out


# Expected number of each thing per scene type (Poisson means): building, fence, tree, bush, rock, person, car.
THING_MEANS = {
    "meadow": (0.3, 0.4, 4.0, 3.0, 0.6, 1.0, 0.1),
    "coast": (0.4, 0.2, 0.6, 0.6, 1.5, 2.0, 0.1),
    "alpine": (0.2, 0.3, 5.0, 1.0, 2.5, 0.6, 0.1),
    "town": (3.5, 0.8, 2.5, 1.5, 0.2, 2.0, 2.5),
    "winter": (0.5, 0.5, 3.0, 0.6, 0.6, 1.0, 0.3),
    "desert": (0.2, 0.2, 0.2, 1.0, 3.0, 0.6, 0.3),
}
KINDS = ("building", "fence", "tree", "bush", "rock", "person", "car")
MAX_HEIGHT = {"building": 0.7, "fence": 0.3, "tree": 0.85, "bush": 0.3, "rock": 0.25, "person": 0.5, "car": 0.35}
ALLOWED = {"water": (), "road": ("person", "car"), "sand": ("person", "rock", "bush", "fence", "building")}


def sample_layout(rng: np.random.Generator) -> SceneLayout:
    """A scene drawn from ``rng`` (numbers only; rasterised by ``rasterise``)."""
    scene = SCENE_TYPES[int(rng.choice(len(SCENE_TYPES), p=[0.25, 0.2, 0.2, 0.2, 0.08, 0.07]))]
    horizon = float(rng.uniform(0.35, 0.62))
    cam_h = float(rng.uniform(1.5, 3.5))
    ground = {"winter": "snow", "desert": "sand"}.get(scene, "grass")
    ridges: list[Ridge] = []
    if scene in ("alpine", "winter") or rng.random() < 0.45:
        ridges.append(_ridge(rng, "mountain", horizon, False))
    if rng.random() < (0.35 if scene == "alpine" else 0.6):
        ridges.append(_ridge(rng, "hill", horizon, True))
    water = np.zeros(6)
    if scene == "coast" or (scene in ("meadow", "alpine") and rng.random() < 0.35):
        sea = scene == "coast"
        water = np.array([1.0 if sea else 2.0, rng.uniform(0.04, 0.2) if sea else rng.uniform(0.02, 0.07),
                          rng.uniform(0.0, 0.02), rng.uniform(0.02, 0.08), rng.uniform(0, 1) if sea else
                          rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.45)])
    road = np.zeros(5)
    if scene == "town" or (scene != "coast" and rng.random() < 0.25):
        road = np.array([1.0, rng.uniform(0.2, 0.8), rng.uniform(-0.2, 1.2), rng.uniform(0.25, 0.6),
                         rng.uniform(-0.3, 0.3)])
    layout = SceneLayout(scene, horizon, cam_h, ground, int(rng.integers(2 ** 31)),
                         _clouds(rng, horizon, scene), ridges, water, road)
    for kind, mean in zip(KINDS, THING_MEANS[scene], strict=True):
        for _ in range(int(rng.poisson(mean))):
            _place(rng, layout, kind)
    layout.things.sort(key=lambda t: t.vb)  # painter's order: far (near the horizon) first
    return layout


def _place(rng: np.random.Generator, layout: SceneLayout, kind: str) -> None:
    """Add one ``kind`` at a legal spot (a few tries; buildings stay far, cars prefer the road)."""
    h = layout.horizon
    for _ in range(8):
        far = {"building": (0.01, 0.2), "fence": (0.03, 0.5)}.get(kind, (0.015, 1.0))
        depth = rng.uniform(*far) ** 1.5 if kind not in ("building", "fence") else rng.uniform(*far)
        vb = h + depth * (1.05 - h)
        u = float(rng.uniform(-0.05, 1.05))
        if kind == "car" and layout.road[0] and rng.random() < 0.8:
            c, hw = layout.road_centre(np.array([vb]))
            u = float(c[0] + rng.uniform(-0.6, 0.6) * hw[0])
        region = layout.region(u, vb)
        if region in ALLOWED and kind not in ALLOWED[region]:
            continue
        p = SHAPES[kind].sample(rng)
        if (vb - h) / layout.cam_h * SHAPES[kind].extent(p)[1] > MAX_HEIGHT[kind]:
            continue  # a photographer frames the scene: nothing fills the picture
        layout.things.append(Thing(kind, u, float(vb), p))
        return


# -- rasterising ----------------------------------------------------------------------------------------------------
@dataclass
class Raster:
    """``label`` uint8 [H,W], ``instance`` int32 [H,W] (things only), ``shade`` float32 [H,W] geometry shading
    (1 = unshaded), ``depth`` float32 [H,W] in [0,1] (1 = at the horizon / sky; drives haze)."""

    label: np.ndarray
    instance: np.ndarray
    shade: np.ndarray
    depth: np.ndarray


def ground_depth(v: np.ndarray, horizon: float) -> np.ndarray:
    return np.clip(0.03 / np.maximum(v - horizon + 0.03, 1e-6), 0, 1)


def rasterise(layout: SceneLayout, size: tuple[int, int]) -> Raster:
    """Label, instance, shading and depth maps of ``layout`` at ``size`` = (H, W)."""
    hgt, wid = size
    u = (np.arange(wid) + 0.5) / wid
    v = (np.arange(hgt) + 0.5) / hgt
    h = layout.horizon
    label = np.full(size, ID["sky"], np.uint8)
    instance = np.zeros(size, np.int32)
    shade = np.ones(size, np.float32)
    depth = np.ones(size, np.float32)
    vv = v[:, None]
    _draw_clouds(layout, u, v, hgt / wid, label, shade)
    for ridge in sorted(layout.ridges, key=lambda r: -r.distance):
        top = h - ridge.top(u)  # row of the crest per column
        mask = vv >= top[None]
        below = np.maximum(vv - top[None], 0) / max(h, 1e-3)
        slope = np.gradient(top) * wid  # d(row)/d(u): > 0 where the crest descends to the right
        lit = np.tanh(-2.5 * slope)[None] * np.exp(-below / 0.25)
        gully = np.sin(2 * np.pi * (9 * u[None] + 3.0 * below + ridge.phases[0])) * np.sin(
            2 * np.pi * (23 * u[None] - 5.0 * below + ridge.phases[1]))
        s = 0.78 + 0.2 * lit + (0.08 if ridge.cls == "mountain" else 0.04) * gully - 0.1 * np.clip(below * 3, 0, 1)
        label[mask] = ID[ridge.cls]
        shade[mask] = np.broadcast_to(s, size)[mask]
        depth[mask] = ridge.distance
        if np.isfinite(ridge.snowline):
            wob = 0.03 * h * np.sin(2 * np.pi * (17 * u + ridge.phases[2])) + 0.02 * h * np.sin(
                2 * np.pi * (41 * u + ridge.phases[3]))
            snow = mask & (vv < (h - ridge.snowline + wob)[None])
            label[snow] = ID["snow"]
    ground = vv >= h
    gmask = np.broadcast_to(ground, size)
    label[gmask] = ID[layout.ground]
    gd = ground_depth(v, h)[:, None]
    depth[gmask] = np.broadcast_to(gd, size)[gmask]
    shade[gmask] = np.broadcast_to(0.86 + 0.14 * gd, size)[gmask]
    _draw_water(layout, u, v, label, shade)
    if layout.road[0]:
        c, hw = layout.road_centre(v)
        road = ground & (np.abs(u[None] - c[:, None]) < hw[:, None])
        label[road] = ID["road"]
        edge = np.abs(np.abs(u[None] - c[:, None]) - hw[:, None] * 0.92) < hw[:, None] * 0.025
        shade[road] = 1.0
        shade[road & edge] = 1.25  # painted side lines
    count = 0
    for thing in layout.things:
        if thing.kind in THINGS:
            count += 1
        _draw_thing(layout, thing, count if thing.kind in THINGS else 0, size, label, instance, shade, depth)
    return Raster(label, instance, shade, depth)


def _draw_clouds(layout: SceneLayout, u: np.ndarray, v: np.ndarray, aspect: float, label: np.ndarray,
                 shade: np.ndarray) -> None:
    for cloud in layout.clouds:
        cu, cv, s = cloud[:3]
        puffs = cloud[3:].reshape(-1, 3)
        ext_u = (np.abs(puffs[:, 0]).max() + 1) * s * aspect
        cols = np.nonzero(np.abs(u - cu) < ext_u)[0]
        rows = np.nonzero((v > cv - 1.2 * s) & (v < cv + 0.5 * s))[0]
        if not len(cols) or not len(rows):
            continue
        sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))  # contiguous ranges: views
        x = (u[sl[1]][None] - cu) / aspect / s
        y = (v[sl[0]][:, None] - cv) / s
        inside = np.zeros((len(rows), len(cols)), bool)
        for dx, dy, r in puffs:
            inside |= (x - dx) ** 2 + (y - dy) ** 2 < r * r
        inside &= y < 0.15  # flat base
        label[sl][inside] = ID["clouds"]
        shade[sl][inside] = np.broadcast_to(np.clip(0.72 - 0.45 * y, 0.6, 1.1), inside.shape)[inside]


def _draw_water(layout: SceneLayout, u: np.ndarray, v: np.ndarray, label: np.ndarray, shade: np.ndarray) -> None:
    kind, h = int(layout.water[0]), layout.horizon
    vv = v[:, None]
    if kind == 1:
        shore = layout.shore(u)[None]
        sea = (vv >= h) & (vv < shore)
        beach = (vv >= shore) & (vv < shore + layout.water[3] * (vv - h) * 4)
        label[beach] = ID["sand"]
        label[sea] = ID["water"]
    elif kind == 2:
        d = layout._lake(u[None], vv)
        label[(d >= 1) & (d < 1.25) & (vv >= h)] = ID["sand"]
        label[(d < 1) & (vv >= h)] = ID["water"]
    else:
        return
    water = label == ID["water"]
    ripple = np.sin(2 * np.pi * (0.35 / np.maximum(vv - h, 0.004) + 3 * u[None])) * np.sin(2 * np.pi * 11 * u[None])
    s = 0.92 + 0.06 * ripple
    shade[water] = np.broadcast_to(s, label.shape)[water]


def _draw_thing(layout: SceneLayout, thing: Thing, inst: int, size: tuple[int, int], label: np.ndarray,
                instance: np.ndarray, shade: np.ndarray, depth: np.ndarray) -> None:
    hgt, wid = size
    scale = (thing.vb - layout.horizon) / layout.cam_h  # image heights per metre
    shape = SHAPES[thing.kind]
    half_x, top_y = shape.extent(thing.p)
    half_u = half_x * scale * hgt / wid
    c0, c1 = int(np.floor((thing.u - half_u) * wid)), int(np.ceil((thing.u + half_u) * wid)) + 1
    r0, r1 = int(np.floor((thing.vb - top_y * scale) * hgt)) - 1, int(np.ceil(thing.vb * hgt)) + 1
    c0, c1, r0, r1 = max(c0, 0), min(c1, wid), max(r0, 0), min(r1, hgt)
    if c0 >= c1 or r0 >= r1:
        return
    x = ((np.arange(c0, c1) + 0.5) / wid - thing.u) * wid / hgt / scale
    y = (thing.vb - (np.arange(r0, r1) + 0.5) / hgt) / scale
    mask, s = shape.draw(thing.p, x[None], y[:, None])
    mask &= (y >= 0)[:, None]
    if not mask.any():
        return
    sl = (slice(r0, r1), slice(c0, c1))
    label[sl][mask] = ID[thing.kind]
    instance[sl][mask] = inst
    shade[sl][mask] = np.broadcast_to(s, mask.shape)[mask]
    depth[sl][mask] = float(ground_depth(np.array(thing.vb), layout.horizon))
