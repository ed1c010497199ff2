"""``scenes``: procedural outdoor scenes with COCO-Stuff / ADE20k-like classes and exact ground truth.

A stand-in for the outdoor-scene data of CoCosNet (ADE20k-outdoor masks → image), MSCA and Semantic Image Analogy
(COCO-Stuff outdoor): a layered layout (horizon, sky with clouds, one or two fractal mountain/hill ridges with snow
caps, a sea or lake with a beach, a grass / sand / snow ground, a perspective road, buildings, fences, trees, bushes,
rocks, people and cars that shrink toward the horizon) painted in a style (one material per class from plausible
colour families: clear, sunset or overcast skies, green or dry vegetation, water reflecting the sky, …) under a global
illumination (brightness, colour temperature, sky gradient toward the horizon colour, sun glow, haze toward the
horizon). Geometry and shading come from the layout only (``scenes_layout``, ``scenes_shapes``), so
``render(layout_i, style_k)`` is the exact translation of input ``i`` under exemplar ``k``.

Classes (ids in ``SCENES``): sky, clouds, mountain, hill, snow, water, sand, grass, road, rock, building, fence, bush,
tree, person, car; things (with instance ids): tree, person, car. ``REAL_NAMES`` maps each to the COCO-Stuff 2017 and
ADE20k (SceneParse150) class it stands for, to compare with segmenters trained on the real data.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from datasets.labelled import LabelSet
from datasets.worlds.base import WORLDS, Style, World
from datasets.worlds.materials import hsv_to_rgb, material, paint, to_uint8
from datasets.worlds.scenes_layout import CLASSES, ID, THINGS, Raster, SceneLayout, rasterise, sample_layout

VERSION = "1"  # bump when the generator changes: it is part of the data fingerprint

# Drawing colours: Cityscapes' colours where a class has one (sky, road, building, fence, vegetation → tree,
# terrain → grass, person, car), distinct readable colours for the rest.
PALETTE = np.array([(70, 130, 180), (200, 210, 230), (140, 100, 70), (170, 180, 100), (245, 245, 255),
                    (40, 90, 210), (235, 205, 140), (152, 251, 152), (128, 64, 128), (120, 110, 100), (70, 70, 70),
                    (190, 153, 153), (60, 170, 120), (107, 142, 35), (220, 20, 60), (0, 0, 142)], np.uint8)
SCENES = LabelSet("scenes", CLASSES, PALETTE, things=tuple(ID[t] for t in THINGS))

# class → (COCO-Stuff 2017 label name, its id in ``stuffthingmaps_trainval2017`` PNGs (0-based; 255 unlabeled),
#          ADE20k SceneParse150 name (first synonym of objectInfo150), its id in ``ADEChallengeData2016``
#          annotations (1..150; 0 other)). Sources: nightrome/cocostuff labels.md (1-based there, minus 1 here);
# CSAILVision objectInfo150. ADE20k has no clouds (annotated as sky) nor snow (None: no counterpart, leave unscored);
# bush is ADE's "plant"; our water (sea or lake) is COCO's "water-other" (COCO's "sea" is 154) and ADE's "water"
# (ADE's "sea" is 27, "lake" 129); building is COCO's "building-other" (COCO "house" is 127, ADE "house" 26).
REAL_NAMES: dict[str, tuple[str, int, str | None, int | None]] = {
    "sky": ("sky-other", 156, "sky", 3),
    "clouds": ("clouds", 105, "sky", 3),
    "mountain": ("mountain", 134, "mountain", 17),
    "hill": ("hill", 126, "hill", 69),
    "snow": ("snow", 158, None, None),
    "water": ("water-other", 177, "water", 22),
    "sand": ("sand", 153, "sand", 47),
    "grass": ("grass", 123, "grass", 10),
    "road": ("road", 148, "road", 7),
    "rock": ("rock", 149, "rock", 35),
    "building": ("building-other", 95, "building", 2),
    "fence": ("fence", 112, "fence", 33),
    "bush": ("bush", 96, "plant", 18),
    "tree": ("tree", 168, "tree", 5),
    "person": ("person", 0, "person", 13),
    "car": ("car", 2, "car", 21),
}

MOODS = ("clear", "sunset", "overcast")
# Global vector: brightness, warmth (-1 cool .. 1 warm), haze amount, haze rgb, horizon sky rgb, sun u,
# sun elevation (0 at the horizon .. 1 at the top), glow strength, glow rgb, mood id.
GLOB = ("brightness", "warmth", "haze", "haze_r", "haze_g", "haze_b", "horizon_r", "horizon_g", "horizon_b", "sun_u",
        "sun_elevation", "glow", "glow_r", "glow_g", "glow_b", "mood")

# Colour families per class: (hue, saturation, value) ranges; the first index picks by mood / season.
Range = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
SKY: dict[str, tuple[Range, Range]] = {  # (zenith, horizon)
    "clear": (((0.55, 0.62), (0.4, 0.75), (0.62, 0.9)), ((0.53, 0.6), (0.08, 0.3), (0.85, 1.0))),
    "sunset": (((0.6, 0.75), (0.35, 0.65), (0.3, 0.55)), ((0.02, 0.11), (0.5, 0.85), (0.85, 1.0))),
    "overcast": (((0.55, 0.65), (0.0, 0.1), (0.5, 0.75)), ((0.55, 0.65), (0.0, 0.06), (0.72, 0.9))),
}
CLOUDS = {"clear": ((0.55, 0.62), (0.0, 0.06), (0.9, 1.0)), "sunset": ((0.0, 0.1), (0.25, 0.55), (0.7, 0.95)),
          "overcast": ((0.55, 0.65), (0.0, 0.06), (0.5, 0.72))}
FAMILIES: dict[str, tuple[Range, ...]] = {  # season-independent classes: any family
    "mountain": (((0.55, 0.68), (0.1, 0.3), (0.35, 0.6)), ((0.05, 0.1), (0.15, 0.4), (0.3, 0.5))),
    "snow": (((0.55, 0.62), (0.0, 0.08), (0.88, 1.0)),),
    "sand": (((0.08, 0.13), (0.2, 0.5), (0.68, 0.9)),),
    "road": (((0.0, 1.0), (0.0, 0.06), (0.25, 0.5)), ((0.07, 0.1), (0.3, 0.45), (0.45, 0.6))),
    "rock": (((0.05, 0.12), (0.05, 0.25), (0.35, 0.6)), ((0.55, 0.65), (0.02, 0.12), (0.35, 0.55))),
    "building": (((0.08, 0.14), (0.08, 0.3), (0.75, 0.95)), ((0.0, 0.04), (0.45, 0.7), (0.45, 0.65)),
                 ((0.0, 1.0), (0.0, 0.06), (0.5, 0.85)), ((0.1, 0.16), (0.3, 0.55), (0.7, 0.9))),
    "fence": (((0.06, 0.1), (0.35, 0.6), (0.35, 0.6)), ((0.0, 1.0), (0.0, 0.05), (0.82, 0.95)),
              ((0.55, 0.62), (0.0, 0.1), (0.3, 0.5))),
    "person": (((0.0, 1.0), (0.2, 0.85), (0.15, 0.8)),),
    "car": (((0.0, 1.0), (0.5, 0.9), (0.35, 0.85)), ((0.0, 1.0), (0.0, 0.06), (0.08, 0.92))),
}
SEASONAL: dict[str, tuple[Range, Range]] = {  # (green season, dry / autumn season)
    "hill": (((0.22, 0.33), (0.3, 0.6), (0.3, 0.55)), ((0.1, 0.15), (0.3, 0.5), (0.45, 0.65))),
    "grass": (((0.2, 0.3), (0.45, 0.75), (0.35, 0.65)), ((0.11, 0.16), (0.4, 0.65), (0.55, 0.75))),
    "bush": (((0.22, 0.35), (0.4, 0.7), (0.2, 0.4)), ((0.07, 0.13), (0.45, 0.7), (0.3, 0.5))),
    "tree": (((0.22, 0.36), (0.45, 0.8), (0.18, 0.4)), ((0.02, 0.12), (0.6, 0.9), (0.4, 0.7))),
}
# Texture amplitude, texture scale (0 coarse .. 1 fine), shading strength per class.
SURFACE = {"sky": (0.03, 0.0, 0.0), "clouds": (0.2, 0.0, 0.8), "mountain": (0.2, 0.6, 1.0), "hill": (0.2, 0.6, 0.8),
           "snow": (0.08, 0.5, 0.7), "water": (0.1, 0.9, 1.0), "sand": (0.2, 1.0, 0.5), "grass": (0.22, 0.85, 0.6),
           "road": (0.15, 1.0, 0.6), "rock": (0.35, 0.6, 1.0), "building": (0.1, 0.9, 1.0), "fence": (0.1, 1.0, 0.8),
           "bush": (0.25, 0.8, 1.0), "tree": (0.25, 0.8, 1.0), "person": (0.05, 0.5, 1.0), "car": (0.03, 0.5, 1.0)}


def _hsv(rng: np.random.Generator, family: Range) -> np.ndarray:
    h, s, v = (rng.uniform(*r) for r in family)
    return hsv_to_rgb(np.array(h), np.array(s), np.array(v))


def sample_style(rng: np.random.Generator) -> Style:
    """One material per class (float64 [16, MATERIAL_DIM]) and the ``GLOB`` vector (float64 [16])."""
    mood = int(rng.choice(3, p=[0.55, 0.2, 0.25]))
    name = MOODS[mood]
    dry = rng.random() < 0.3
    zenith, horizon = _hsv(rng, SKY[name][0]), _hsv(rng, SKY[name][1])
    colours = {"sky": zenith, "clouds": _hsv(rng, CLOUDS[name])}
    for cls, families in FAMILIES.items():
        colours[cls] = _hsv(rng, families[int(rng.integers(len(families)))])
    for cls, (green, autumn) in SEASONAL.items():
        colours[cls] = _hsv(rng, autumn if dry and rng.random() < 0.85 else green)
    tint = _hsv(rng, ((0.45, 0.6), (0.35, 0.7), (0.25, 0.5)))
    colours["water"] = 0.5 * tint + 0.5 * (zenith + horizon) / 2  # water takes the sky's tone
    rows = []
    for cls in CLASSES:
        texture, scale, shading = SURFACE[cls]
        fine = cls in ("sand", "road", "snow")
        rows.append(material(colours[cls], colours[cls] * rng.uniform(0.8, 1.15), "grain" if fine else "solid",
                             frequency=rng.uniform(30, 60), angle=rng.uniform(0, np.pi), phase=rng.uniform(0, 6.3),
                             strength=rng.uniform(0.3, 0.8) if fine else 0.0,
                             texture=texture * rng.uniform(0.7, 1.3), scale=scale, shading=shading))
    # (low, high) per mood: clear, sunset, overcast
    warmth = rng.uniform(*((-0.3, 0.3), (0.4, 1.0), (-0.4, 0.0))[mood])
    brightness = rng.uniform(*((0.9, 1.1), (0.7, 0.95), (0.75, 0.95))[mood])
    haze = rng.uniform(*((0.1, 0.4), (0.2, 0.5), (0.35, 0.7))[mood])
    sun_el = rng.uniform(*((0.4, 1.2), (0.0, 0.25), (0.4, 1.2))[mood])
    glow = rng.uniform(*((0.1, 0.3), (0.4, 0.8), (0.0, 0.0))[mood])
    glow_rgb = _hsv(rng, ((0.05, 0.13), (0.2, 0.6) if name == "sunset" else (0.0, 0.2), (0.9, 1.0)))
    glob = np.array([brightness, warmth, haze, *(0.6 * horizon + 0.4 * glow_rgb * (glow > 0)), *horizon,
                     rng.uniform(0, 1), sun_el, glow, *glow_rgb, mood], np.float64)
    return Style(np.stack(rows), glob)


@WORLDS.register("scenes")
class ScenesWorld(World):
    """Outdoor scenes over ``SCENES`` (16 classes; things tree, person, car). Any (H, W); layouts and styles are
    resolution-free. ``render`` returns uint8 [H,W,3]; ``label_map`` uint8 [H,W] ids into ``SCENES``;
    ``instance_map`` int32 [H,W] (0 = stuff, 1.. = tree / person / car instances, painter's order far → near)."""

    version = VERSION
    labels = SCENES
    # MSCA's COCO-Stuff outdoor split (the real data this stands in for; a protocol may ask for fewer)
    stands_in_for = "COCO-Stuff outdoor scenes (MSCA), ADE20k-outdoor (CoCosNet), SIA's COCO-Stuff pairs"
    default_counts: ClassVar[dict[str, int]] = {"train": 34698, "val": 499}  # MSCA's COCO-Stuff outdoor split

    def __init__(self) -> None:
        self._cache: tuple[SceneLayout, tuple[int, int], Raster, np.ndarray | None] | None = None

    def sample_layout(self, rng: np.random.Generator) -> SceneLayout:
        return sample_layout(rng)

    def sample_style(self, rng: np.random.Generator) -> Style:
        return sample_style(rng)

    def raster(self, layout: SceneLayout, size: tuple[int, int]) -> Raster:
        """The label / instance / shading / depth maps (the last layout's are kept, by identity, so that label_map,
        instance_map and render of one item rasterise once; layouts are never changed in place)."""
        size = (int(size[0]), int(size[1]))
        if self._cache is None or self._cache[0] is not layout or self._cache[1] != size:
            self._cache = (layout, size, rasterise(layout, size), None)
        return self._cache[2]

    def _noise(self, layout: SceneLayout, size: tuple[int, int]) -> np.ndarray:
        self.raster(layout, size)
        assert self._cache is not None
        if self._cache[3] is None:
            self._cache = (*self._cache[:3], value_noise(layout.texture_seed, size))
        return self._cache[3]

    def label_map(self, layout: SceneLayout, size: tuple[int, int]) -> np.ndarray:
        return self.raster(layout, size).label.copy()

    def instance_map(self, layout: SceneLayout, size: tuple[int, int]) -> np.ndarray:
        return self.raster(layout, size).instance.copy()

    def render(self, layout: SceneLayout, style: Style, size: tuple[int, int], label: np.ndarray | None = None
               ) -> np.ndarray:
        size = (int(size[0]), int(size[1]))
        r = self.raster(layout, size)
        image = paint(r.label, style.materials, r.shade, self._noise(layout, size))
        return to_uint8(illuminate(image, r, layout.horizon, style.glob))


def value_noise(seed: int, size: tuple[int, int], cells: tuple[int, ...] = (6, 24, 96)) -> np.ndarray:
    """float32 [len(cells),H,W] smooth value noise in [-1,1] (lattice of ``cells`` points across the width, cubic
    B-spline interpolation; fields with under 3 pixels per cell fade out), a pure function of ``seed`` at any size:
    separable and faded below 3 pixels per cell (unlike ``materials.lattice_noise``), computed as two small matrix
    products."""
    hgt, wid = size
    rng = np.random.default_rng([int(seed), 7919])
    out = np.empty((len(cells), hgt, wid), np.float32)
    for f, n in enumerate(cells):
        rows = int(np.ceil(n * hgt / wid)) + 4
        lattice = rng.uniform(-1, 1, (rows, n + 4)).astype(np.float32)
        out[f] = _interp(hgt, wid, n, rows) @ lattice @ _interp(wid, wid, n, n + 4).T
        out[f] *= np.clip((wid / n - 1) / 2, 0, 1) / 0.4  # fade lattices finer than the pixels (no aliasing)
    return np.clip(out, -1, 1)


def _interp(m: int, wid: int, n: int, points: int) -> np.ndarray:
    """float32 [m,points]: cubic B-spline weights of ``m`` pixel centres on a lattice of ``n`` cells per image width
    (lattice point ``j`` sits at ``j - 1`` cells)."""
    t = (np.arange(m) + 0.5) / wid * n
    i = np.floor(t).astype(int)
    f = t - i
    taps = np.stack([(1 - f) ** 3, 3 * f ** 3 - 6 * f ** 2 + 4, -3 * f ** 3 + 3 * f ** 2 + 3 * f + 1, f ** 3], 1) / 6
    w = np.zeros((m, points), np.float32)
    for k in range(4):
        np.add.at(w, (np.arange(m), np.minimum(i + k, points - 1)), taps[:, k])
    return w


def illuminate(image: np.ndarray, r: Raster, horizon: float, glob: np.ndarray) -> np.ndarray:
    """Global illumination of a painted scene (float [H,W,3] → float32 [H,W,3]): the sky's vertical gradient to the
    horizon colour and the sun glow, water reflecting the sky, haze growing with depth, brightness and colour
    temperature."""
    g = dict(zip(GLOB, glob, strict=True))
    hgt, wid = r.label.shape
    image = image.astype(np.float32)
    horizon_rgb, haze_rgb, glow_rgb = (glob[a:a + 3].astype(np.float32) for a in (6, 3, 12))
    rows, cols = np.nonzero((r.label == ID["sky"]) | (r.label == ID["clouds"]))
    v, u = (rows + 0.5) / hgt, (cols + 0.5) / wid
    t = (np.clip(v / max(horizon, 1e-3), 0, 1) ** 1.8 * np.where(r.label[rows, cols] == ID["sky"], 1.0, 0.3))[:, None]
    sun_v = horizon * (1 - g["sun_elevation"])
    d2 = ((u - g["sun_u"]) * wid / hgt) ** 2 + (v - sun_v) ** 2
    glow = (g["glow"] * (0.6 * np.exp(-d2 / 0.06) + 0.4 * np.exp(-d2 / 0.004)))[:, None]
    image[rows, cols] = image[rows, cols] * (1 - t) + horizon_rgb * t + glow * glow_rgb
    water = r.label == ID["water"]
    mix = (0.2 + 0.5 * r.depth[water])[:, None]
    image[water] = image[water] * (1 - mix) + horizon_rgb * mix * r.shade[water][:, None]
    haze = (np.float32(g["haze"]) * r.depth ** 1.5)[..., None]
    haze[r.label == ID["sky"]] = 0
    image += haze * (haze_rgb - image)
    gains = np.array([1 + 0.12 * g["warmth"], 1 + 0.02 * g["warmth"], 1 - 0.15 * g["warmth"]], np.float32)
    return image * (gains * np.float32(g["brightness"]))
