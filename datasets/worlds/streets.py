"""``streets``: driving scenes labelled with the 19 Cityscapes classes in two render domains, the procedural stand-in
for EGSC-IT's GTA5 → BDD100K segmentation transfer (EGSC-IT §4, Table 3) with exact ground truth.

Layouts (``streets_layout``, ``streets_objects``): a driving camera over a road to a vanishing point, sidewalks,
facades, walls, fences, vegetation, terrain, sky, poles with traffic lights and signs, and cars, trucks, buses, trams,
people, riders, motorcycles, bicycles (far ones smaller), with an instance map and an edge map.

Style = one material per class (base colour, *detail* colour for windows / markings / glass / trousers, detail
strength, texture amplitude and scale, shading strength; the ``materials`` row layout with columns 3:6 and 10 read
as the detail colour and strength) plus a global vector ``glob`` that carries the whole camera and atmosphere, so the
domain lives in the style:

- ``synthetic`` (GTA5-like): saturated flat materials, hard two-tone facade shading, clean edges, no texture, no
  noise, no blur, no vignetting; clear or overcast daylight or dusk.
- ``photo`` (BDD100K-like): muted materials with photographic texture, sensor noise, lens blur, distance haze,
  vignetting, weather (clear / overcast / rain with streaks / fog) and time of day (day / dusk / night with lamps,
  lit windows, tail lights and their glow).

``render(layout_i, style_k)`` with ``k`` from the other domain is therefore the exact translation of ``i`` into that
domain. Texture, streaks and sensor noise are seeded by the style's noise seed (``glob[SEED]``) and the image size,
never by the call.

``layout_shift`` = 0: both domains draw layouts from one distribution (the per-class pixel frequencies agree);
> 0: the ``photo`` domain's layouts move by that many units (camera higher and pitched down, narrower lanes, denser
traffic, lower and fewer buildings). Layout draws are salted with the domain, so the two domains never share a layout
at the same index (unpaired, as GTA5 and BDD100K are).

Use: ``WorldSplit(StreetsWorld("synthetic"), n, (256, 512))`` for the source domain and
``WorldSplit(StreetsWorld("photo", layout_shift=0.5), n, (256, 512))`` for the target; the exact GTA5 → BDD100K
translation of source item ``i`` under target exemplar ``k`` is ``source.exact_translation(i, k, target)``.
Speed (one core): about 5 / 9 / 22-28 ms per item at 64² / 128² / 256² (label, instances, edges and image).
"""

from __future__ import annotations

import colorsys
from typing import Any

import cv2
import numpy as np

from datasets.cityscapes import CITYSCAPES_19
from datasets.worlds.base import WORLDS, Style, World
from datasets.worlds.materials import lattice_noise, material, to_uint8
from datasets.worlds.streets_layout import (
    FACING,
    FLAT,
    LEFT_WALL,
    RIGHT_WALL,
    SKY,
    UPRIGHT,
    Canvas,
    StreetLayout,
    paint_static,
    sample_street,
)
from datasets.worlds.streets_objects import paint_things

DOMAINS = ("synthetic", "photo")
TIMES = ("day", "dusk", "night")
WEATHERS = ("clear", "overcast", "rain", "fog")
# glob layout (float64 [GLOB_DIM]).
DOMAIN, SEED, TIME, WEATHER, EXPOSURE, SATURATION, CONTRAST, HAZE, BLUR, NOISE, VIGNETTE, TEXTURE, RAIN, LAMPS, SUN, \
    SHADOW = range(16)
LIGHT_RGB, HAZE_RGB, BALANCE = slice(16, 19), slice(19, 22), slice(22, 25)
GLOB_DIM = 25

# Per class (train id order): hue range, saturation range, value range of the base colour; detail hsv; texture
# amplitude, texture scale (0 coarse .. 1 fine), shading strength, detail strength.
_FAMILIES: tuple[tuple[Any, ...], ...] = (
    ((0.0, 1.0), (0.0, 0.08), (0.22, 0.42), (0.13, 0.1, 0.9), 0.25, 1.0, 0.3, 0.9),   # road / white markings
    ((0.05, 0.12), (0.05, 0.2), (0.5, 0.72), (0.0, 0.0, 0.35), 0.2, 1.0, 0.4, 0.6),   # sidewalk / joints
    ((0.0, 0.14), (0.05, 0.55), (0.35, 0.85), (0.6, 0.3, 0.22), 0.2, 0.7, 1.0, 0.9),  # building / windows
    ((0.05, 0.15), (0.0, 0.2), (0.45, 0.7), (0.0, 0.0, 0.3), 0.3, 0.7, 1.0, 0.5),     # wall / joints
    ((0.0, 0.12), (0.0, 0.45), (0.3, 0.65), (0.0, 0.0, 0.2), 0.2, 0.8, 1.0, 0.6),     # fence / slats
    ((0.0, 1.0), (0.0, 0.06), (0.35, 0.6), (0.0, 0.0, 0.3), 0.1, 0.9, 0.8, 0.0),      # pole
    ((0.1, 0.16), (0.0, 0.8), (0.08, 0.3), (0.0, 0.0, 0.12), 0.05, 0.9, 0.5, 0.8),    # traffic light / lamps off
    ((0.0, 1.0), (0.6, 0.9), (0.5, 0.9), (0.0, 0.0, 0.95), 0.05, 0.9, 0.3, 0.8),      # traffic sign / inner field
    ((0.2, 0.33), (0.35, 0.7), (0.18, 0.45), (0.25, 0.5, 0.2), 0.7, 0.7, 0.6, 0.0),   # vegetation
    ((0.1, 0.28), (0.25, 0.6), (0.3, 0.55), (0.1, 0.3, 0.3), 0.4, 0.9, 0.2, 0.0),     # terrain
    ((0.55, 0.62), (0.3, 0.6), (0.6, 0.9), (0.58, 0.1, 0.95), 0.15, 0.0, 0.0, 1.0),   # sky / horizon tint
    ((0.0, 1.0), (0.1, 0.8), (0.2, 0.9), (0.62, 0.4, 0.2), 0.15, 0.8, 0.7, 1.0),      # person / trousers
    ((0.0, 1.0), (0.1, 0.8), (0.2, 0.9), (0.0, 0.0, 0.15), 0.15, 0.8, 0.7, 1.0),      # rider / trousers
    ((0.0, 1.0), (0.0, 0.75), (0.1, 0.95), (0.6, 0.2, 0.1), 0.08, 0.9, 0.8, 1.0),     # car / glass, tyres
    ((0.0, 1.0), (0.0, 0.6), (0.3, 0.95), (0.6, 0.2, 0.1), 0.1, 0.9, 0.8, 1.0),       # truck
    ((0.0, 1.0), (0.3, 0.8), (0.4, 0.9), (0.6, 0.2, 0.12), 0.08, 0.9, 0.8, 1.0),      # bus
    ((0.0, 1.0), (0.2, 0.7), (0.5, 0.9), (0.6, 0.2, 0.12), 0.08, 0.9, 0.8, 1.0),      # train (tram)
    ((0.0, 1.0), (0.0, 0.8), (0.05, 0.6), (0.0, 0.0, 0.08), 0.05, 0.9, 0.6, 1.0),     # motorcycle / tyres
    ((0.0, 1.0), (0.0, 0.8), (0.1, 0.7), (0.0, 0.0, 0.08), 0.05, 0.9, 0.6, 1.0),      # bicycle / tyres
)
_SKIES = {  # (time, weather) → sky hsv (zenith), horizon hsv
    "day": ((0.58, 0.55, 0.85), (0.57, 0.2, 0.97)), "dusk": ((0.64, 0.45, 0.45), (0.07, 0.55, 0.95)),
    "night": ((0.64, 0.5, 0.06), (0.6, 0.35, 0.16)), "overcast": ((0.6, 0.04, 0.72), (0.6, 0.02, 0.85)),
}


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    """RGB float64 [3] of one HSV colour (hue wraps; s, v clipped to [0,1]); scalar colorsys is fast here."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)))


def sample_street_style(rng: np.random.Generator, domain: str) -> Style:
    """Materials [19,MATERIAL_DIM] and glob [GLOB_DIM] of one style of ``domain``."""
    photo = domain == "photo"
    time = int(rng.choice(3, p=[0.65, 0.15, 0.2] if photo else [0.85, 0.15, 0.0]))
    weather = int(rng.choice(4, p=[0.5, 0.3, 0.12, 0.08] if photo else [0.8, 0.2, 0.0, 0.0]))
    materials = np.zeros((len(_FAMILIES), 14))
    for k, (hue, sat, val, det, tex, scale, shading, strength) in enumerate(_FAMILIES):
        h, s, v = rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val)
        dh, ds, dv = det[0] + rng.uniform(-0.03, 0.03), det[1] * rng.uniform(0.6, 1.4), det[2] * rng.uniform(0.8, 1.2)
        if k == SKY:
            (h, s, v), (dh, ds, dv) = _SKIES["overcast" if weather in (1, 3) and time == 0 else TIMES[time]]
            h, s, v = h + rng.uniform(-0.02, 0.02), s * rng.uniform(0.8, 1.2), v * rng.uniform(0.9, 1.05)
        if photo:  # muted, textured
            s, ds = s * rng.uniform(0.5, 0.8), ds * 0.7
        else:  # saturated flat paint
            s, v, ds = min(1.0, s * 1.6 + 0.1), min(1.0, v * 1.15 + 0.05), min(1.0, ds * 1.5 + 0.1)
        materials[k] = material(_hsv(h, s, v), _hsv(dh, ds, dv), strength=strength, texture=tex if photo else 0.0,
                                scale=scale, shading=shading)
    glob = np.zeros(GLOB_DIM)
    glob[[DOMAIN, SEED, TIME, WEATHER]] = DOMAINS.index(domain), rng.integers(1 << 30), time, weather
    glob[EXPOSURE] = (1.0, 0.6, 0.22)[time] * (0.85 if weather in (1, 2) else 1.0) * rng.uniform(0.9, 1.1)
    glob[LIGHT_RGB] = _hsv(0.1, (0.05, 0.35, 0.3)[time], 1.0) if time != 2 else _hsv(0.6, 0.25, 1.0)
    glob[LAMPS] = (0.15, 0.7, 1.4)[time]
    glob[SUN] = rng.uniform(-1, 1)
    fog = (0.0015, 0.006, 0.012, 0.035)[weather] * rng.uniform(0.7, 1.4)
    if photo:
        glob[[SATURATION, CONTRAST, HAZE]] = rng.uniform(0.7, 0.95), rng.uniform(0.8, 1.0), fog
        glob[[BLUR, NOISE, VIGNETTE, TEXTURE]] = (rng.uniform(0.0015, 0.004), rng.uniform(0.012, 0.03) * (
            2.0 if time == 2 else 1.0), rng.uniform(0.25, 0.55), rng.uniform(0.8, 1.2))
        glob[RAIN] = rng.uniform(0.5, 1.0) if weather == 2 else 0.0
        glob[SHADOW] = rng.uniform(0.3, 0.5) if weather == 0 else rng.uniform(0.05, 0.15)
        glob[BALANCE] = 1 + rng.uniform(-0.06, 0.06, 3)
        glob[HAZE_RGB] = _hsv(0.6, 0.08, (0.85, 0.6, 0.12)[time] * (0.9 if weather else 1.0))
    else:
        glob[[SATURATION, CONTRAST, HAZE]] = rng.uniform(1.2, 1.45), rng.uniform(1.1, 1.25), 0.3 * fog
        glob[SHADOW], glob[BALANCE] = rng.uniform(0.55, 0.8), 1.0
        glob[HAZE_RGB] = _hsv(0.58, 0.25, (0.95, 0.7, 0.2)[time])
    return Style(materials, glob)


def noise_fields(seed: int, size: tuple[int, int], cells: tuple[int, ...] = (5, 20, 80)) -> np.ndarray:
    """float32 [len(cells),H,W] value noise in [-1,1] (``materials.lattice_noise`` with the streets' gain)."""
    return np.clip(lattice_noise(seed, size, cells) * 1.4, -1, 1)


def shade_map(orient: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """float32 [H,W] light on each surface orientation: the sun side lit, the other in shadow (style ``SHADOW``)."""
    sun, shadow = glob[SUN], glob[SHADOW]
    table = np.ones(8, np.float32)
    table[FLAT], table[FACING], table[UPRIGHT] = 1.0, 1 - 0.35 * shadow, 1 - 0.2 * shadow
    table[LEFT_WALL] = 1 - shadow * (1 - sun) / 2 * 0.9
    table[RIGHT_WALL] = 1 - shadow * (1 + sun) / 2 * 0.9
    return table[orient]


def render_street(c: Canvas, style: Style) -> np.ndarray:
    """uint8 [H,W,3]: the rasterised layout ``c`` in ``style`` (materials, lighting, atmosphere, camera)."""
    g = style.glob
    h, w = c.label.shape
    sky = c.label == SKY
    mat = style.materials.astype(np.float32)[c.label]  # [H,W,MATERIAL_DIM]
    d = (c.detail * mat[..., 10])[..., None]
    img = mat[..., 0:3] + (mat[..., 3:6] - mat[..., 0:3]) * d
    gain = 1 - mat[..., 13] * (1 - shade_map(c.orient, g))  # one brightness factor: shading × texture × exposure
    seed = int(g[SEED])
    if g[TEXTURE] > 0:
        noise = noise_fields(seed, (h, w))
        pos = mat[..., 12] * (len(noise) - 1)
        field = sum(noise[i] * np.maximum(0, 1 - np.abs(pos - i)) for i in range(len(noise)))
        gain *= 1 + (0.6 * g[TEXTURE]) * mat[..., 11] * field
    gain = np.where(sky, gain, gain * np.float32(g[EXPOSURE]))
    img *= gain[..., None]
    img[~sky] *= g[LIGHT_RGB].astype(np.float32)
    if g[LAMPS] > 0 and c.emit.any():
        sigma = 0.006 * w
        glow = cv2.GaussianBlur(c.emit, (0, 0), sigma) if sigma > 0.3 else c.emit
        img += np.float32(g[LAMPS]) * (c.emit + np.float32(2.0 * g[LAMPS]) * glow)
    t = np.exp(np.float32(-g[HAZE]) * np.minimum(c.depth, np.float32(1e6)))
    t[sky] = 1.0
    img = img * t[..., None] + g[HAZE_RGB].astype(np.float32) * (1 - t[..., None])
    if g[RAIN] > 0:
        rng = np.random.default_rng([seed, h, w, 17])
        drops = (rng.random((h, w), np.float32) < 0.004 * g[RAIN]).astype(np.float32)
        length = max(3, int(0.04 * w))
        kernel = np.zeros((length, length), np.float32)
        cv2.line(kernel, (length // 3, 0), (0, length - 1), 1.0)
        img += 0.35 * cv2.filter2D(drops, -1, kernel / kernel.sum() * 3)[..., None]
    img *= g[BALANCE].astype(np.float32)
    luma = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    img = luma + np.float32(g[SATURATION]) * (img - luma)
    img = (img - np.float32(0.45)) * np.float32(g[CONTRAST]) + np.float32(0.45)
    if g[VIGNETTE] > 0:
        yy, xx = np.ogrid[:h, :w]
        r2 = (((xx + 0.5) / w - 0.5) ** 2 * 2 + ((yy + 0.5) / h - 0.5) ** 2 * 2).astype(np.float32)
        img *= (1 - np.float32(g[VIGNETTE]) * r2)[..., None]
    if g[BLUR] * w > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), g[BLUR] * w)
    if g[NOISE] > 0:
        rng = np.random.default_rng([seed, h, w, 31])
        grain = rng.standard_normal((h, w, 3), np.float32) * np.float32(0.6) + rng.standard_normal((h, w, 1),
                                                                                                  np.float32)
        img += np.float32(g[NOISE]) * grain
    return to_uint8(img)


@WORLDS.register("streets")
class StreetsWorld(World):
    """Driving scenes over ``CITYSCAPES_19`` in render ``domain`` "synthetic" (GTA5-like) or "photo" (BDD100K-like),
    with ``layout_shift`` ≥ 0 between the domains' layout distributions (see the module docstring).

    Raises ``ValueError`` on an unknown domain or a negative shift."""

    version = "1"
    labels = CITYSCAPES_19

    def __init__(self, domain: str = "synthetic", layout_shift: float = 0.0) -> None:
        if domain not in DOMAINS:
            raise ValueError(f"streets domain must be one of {list(DOMAINS)}, got {domain!r}")
        if not 0 <= float(layout_shift) <= 4:
            raise ValueError(f"streets layout_shift must be in 0..4, got {layout_shift}")
        self.domain, self.layout_shift = domain, float(layout_shift)
        self._last: tuple[StreetLayout, tuple[int, int], Canvas] | None = None

    def settings(self) -> dict[str, Any]:
        return {"domain": self.domain, "layout_shift": self.layout_shift}

    def sample_layout(self, rng: np.random.Generator) -> StreetLayout:
        own = np.random.default_rng([int(rng.integers(1 << 62)), DOMAINS.index(self.domain)])  # unpaired domains
        return sample_street(own, self.layout_shift if self.domain == "photo" else 0.0)

    def sample_style(self, rng: np.random.Generator) -> Style:
        return sample_street_style(rng, self.domain)

    def canvas(self, layout: StreetLayout, size: tuple[int, int]) -> Canvas:
        """The rasterised layout at ``size`` (the last one is kept: label, instance and image share it)."""
        size = (int(size[0]), int(size[1]))
        if self._last is None or self._last[0] is not layout or self._last[1] != size:
            c = Canvas(layout, size)
            paint_static(layout, c)
            paint_things(layout, c)
            self._last = (layout, size, c)
        return self._last[2]

    def label_map(self, layout: StreetLayout, size: tuple[int, int]) -> np.ndarray:
        return self.canvas(layout, size).label.copy()

    def instance_map(self, layout: StreetLayout, size: tuple[int, int]) -> np.ndarray:
        return self.canvas(layout, size).instance.copy()

    def depth_map(self, layout: StreetLayout, size: tuple[int, int]) -> np.ndarray:
        """float32 [H,W] metres from the camera plane (inf for the sky)."""
        return self.canvas(layout, size).depth.copy()

    def render(self, layout: StreetLayout, style: Style, size: tuple[int, int], label: np.ndarray | None = None
               ) -> np.ndarray:
        return render_street(self.canvas(layout, size), style)
