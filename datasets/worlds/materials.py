"""Materials: how a region of a procedural world is painted. Shared by every world (and ``edges2objects``).

A material is one float64 row of ``MATERIAL_DIM`` numbers (so a style is a plain array that hashes and compares
exactly):

====== =====================================================================================================
0:3    base colour, linear RGB in [0,1]
3:6    pattern colour, RGB in [0,1]
6      pattern id into ``PATTERNS``
7      pattern frequency, cycles per image width
8      pattern angle, radians
9      pattern phase, radians
10     pattern strength in [0,1] (0 = the base colour only)
11     texture amplitude in [0,1]: how much the world's noise fields modulate brightness (photographic texture)
12     texture scale in [0,1]: 0 = coarse blotches (foliage, clouds), 1 = fine grain (sand, asphalt)
13     shading strength in [0,1]: how much the world's geometry shading darkens the material
====== =====================================================================================================

A *style* is one material per class plus a world-defined global vector (illumination, camera); the exact ground truth
of input ``i`` under exemplar ``k`` is the renderer applied to ``(layout_i, style_k)``.
"""

from __future__ import annotations

import cv2
import numpy as np

PATTERNS = ("solid", "stripes", "dots", "checks", "grain")
MATERIAL_DIM = 14


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """HSV in [0,1] (hue wraps) → RGB in [0,1]; broadcasts, the channel axis last."""
    h = np.mod(h, 1.0) * 6.0
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack([v, t, p], -1), np.stack([q, v, p], -1), np.stack([p, v, t], -1),
                      np.stack([p, q, v], -1), np.stack([t, p, v], -1), np.stack([v, p, q], -1)])
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def pattern_cover(material: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pattern coverage in [0,1] of ``material`` (columns 6..10) at image coordinates ``(a, b)`` (fractions of the
    image width, any origin)."""
    pattern, freq, angle, phase, strength = int(material[6]), *material[7:11]
    s = a * np.cos(angle) + b * np.sin(angle)
    t = -a * np.sin(angle) + b * np.cos(angle)
    if PATTERNS[pattern] == "solid":
        return np.zeros_like(a)
    if PATTERNS[pattern] == "stripes":
        cover = np.clip(0.5 + 2.0 * np.sin(2 * np.pi * freq * s + phase), 0, 1)
    elif PATTERNS[pattern] == "dots":
        ds = (s * freq + phase / (2 * np.pi)) % 1.0 - 0.5
        dt = (t * freq) % 1.0 - 0.5
        cover = np.clip((0.28 - np.sqrt(ds ** 2 + dt ** 2)) * 8, 0, 1)
    elif PATTERNS[pattern] == "checks":
        cover = np.clip(0.5 + 2.0 * np.sin(np.pi * freq * s + phase) * np.sin(np.pi * freq * t), 0, 1)
    else:  # grain: a few incommensurate sinusoids, fine and subtle
        field = (np.sin(2 * np.pi * 2.3 * freq * s + phase) + np.sin(2 * np.pi * 1.7 * freq * t + 2 * phase)
                 + np.sin(2 * np.pi * 3.1 * freq * (s + t) + 3 * phase)) / 3
        cover = 0.5 * (0.5 + 0.5 * field)
    return cover * strength


def material(base: np.ndarray, pattern_colour: np.ndarray | None = None, pattern: str = "solid", frequency: float = 8.0,
             angle: float = 0.0, phase: float = 0.0, strength: float = 0.0, texture: float = 0.0, scale: float = 0.5,
             shading: float = 1.0) -> np.ndarray:
    """One material row (float64 [MATERIAL_DIM]) from named parts; see the module table."""
    pattern_colour = np.asarray(base if pattern_colour is None else pattern_colour, np.float64)
    return np.array([*np.asarray(base, np.float64), *pattern_colour, PATTERNS.index(pattern), frequency, angle, phase,
                     strength, texture, scale, shading], np.float64)


def grid(size: int | tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(u, v)`` [H,W] in fractions of the image *width* (so patterns keep their
    aspect ratio in non-square images); ``u`` left→right, ``v`` top→bottom."""
    h, w = (size, size) if isinstance(size, int) else size
    return np.meshgrid((np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / w, indexing="xy")


def lattice_noise(seed: int, size: tuple[int, int], cells: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """[len(cells),H,W] smooth value noise, roughly in [-1,1] before the caller's gain: one seeded lattice per entry
    of ``cells`` (lattice cells across the width), upsampled bicubically (OpenCV). A pure function of ``seed`` and
    ``size``; worlds scale and clip it to taste."""
    h, w = size
    rng = np.random.default_rng([int(seed), 104729])
    out = np.empty((len(cells), h, w), dtype)
    for f, n in enumerate(cells):
        lattice = rng.uniform(-1, 1, (max(2, int(np.ceil(n * h / w))) + 1, n + 1)).astype(np.float32)
        out[f] = cv2.resize(lattice, (w, h), interpolation=cv2.INTER_CUBIC)
    return out


def paint(labels: np.ndarray, materials: np.ndarray, shade: np.ndarray | None = None,
          noise: np.ndarray | None = None, origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """float64 [H,W,3] RGB (not clipped): each pixel painted with the material of its label.

    labels: int [H,W] indices into ``materials`` (float [K,MATERIAL_DIM]); ids outside ``0..K-1`` stay black.
    shade: float [H,W] geometry shading multiplier (1 = none), applied with each material's shading strength.
    noise: float [F,H,W] (e.g. ``lattice_noise``); a material's texture scale picks (and blends) the fields.
    origin: the pattern origin in ``grid`` units (object-centred patterns move with the object).
    """
    h, w = labels.shape
    u, v = grid((h, w))
    a, b = u - origin[0], v - origin[1]
    out = np.zeros((h, w, 3))
    for k in np.unique(labels):
        if not 0 <= k < len(materials):
            continue
        where = labels == k
        m = materials[k]
        cover = pattern_cover(m, a[where], b[where])[:, None]
        colour = m[0:3] * (1 - cover) + m[3:6] * cover
        gain = np.ones(int(where.sum()))
        if noise is not None and m[11] > 0:
            position = m[12] * (len(noise) - 1)
            lo = int(np.floor(position))
            hi = min(lo + 1, len(noise) - 1)
            t = position - lo
            field = (1 - t) * noise[lo][where] + t * noise[hi][where]
            gain = gain * (1 + 0.6 * m[11] * field)
        if shade is not None:
            gain = gain * (1 - m[13] * (1 - shade[where]))
        out[where] = colour * gain[:, None]
    return out


def to_uint8(image: np.ndarray) -> np.ndarray:
    """float [...,3] in [0,1] → uint8, rounded and clipped."""
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
