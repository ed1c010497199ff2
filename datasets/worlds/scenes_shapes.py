"""Silhouettes of the ``scenes`` world's ground-standing objects, in metres.

Each shape has ``sample(rng) -> p`` (float64 parameters), ``extent(p) -> (half width, height)`` in metres (the
bounding box the rasteriser evaluates) and ``draw(p, x, y) -> (mask, shade)``: ``x`` [1,W] metres right of the
object's centre, ``y`` [H,1] metres above its ground contact; ``mask`` bool [H,W] and ``shade`` float [H,W] geometry
shading (1 = lit; crowns darker at the bottom, windows and wheels dark, rocks lit from the upper left). Shapes depend
on their parameters only, never on the style.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shape:
    sample: Callable[[np.random.Generator], np.ndarray]
    extent: Callable[[np.ndarray], tuple[float, float]]
    draw: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def capsule(x: np.ndarray, y: np.ndarray, a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    """bool: points within ``r`` of the segment ``a``–``b``."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy + 1e-12), 0, 1)
    return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 < r * r


def _puffs(x: np.ndarray, y: np.ndarray, centres: list[tuple[float, float, float, float]]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Union of ellipses ``(cx, cy, rx, ry)`` and their shading as spheres lit from the upper left (the brightest
    covering puff wins, so a crown reads as a cluster of lit clumps)."""
    mask = np.zeros(np.broadcast(x, y).shape, bool)
    lit = np.zeros(mask.shape)
    for cx, cy, rx, ry in centres:
        nx, ny = (x - cx) / rx, (y - cy) / ry
        d2 = nx * nx + ny * ny
        inside = d2 < 1
        lambert = -0.45 * nx + 0.55 * ny + 0.7 * np.sqrt(np.clip(1 - d2, 0, 1))
        mask |= inside
        lit = np.where(inside, np.maximum(lit, lambert), lit)
    return mask, lit


def _clumps(x: np.ndarray, y: np.ndarray, phase: float, f: float) -> np.ndarray:
    """Leaf clumps: a smooth pattern in object coordinates (moves and scales with the object)."""
    return np.sin(f * x + 6.3 * phase) * np.sin(f * 1.1 * y + 2.1 * phase) + 0.5 * np.sin(
        f * 1.9 * (x + y) + phase)


# -- person: height, leg spread, arm swing, bulk --------------------------------------------------------------------
def _person_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, spread, swing, bulk = p
    xn, yn = x / height, y / height
    legs = capsule(xn, yn, (-0.045, 0.5), (-0.045 - spread, 0.03), 0.045) | capsule(
        xn, yn, (0.045, 0.5), (0.045 + spread, 0.03), 0.045)
    torso = capsule(xn, yn, (0, 0.56), (0, 0.74), 0.1 * bulk)
    arms = capsule(xn, yn, (-0.11 * bulk, 0.77), (-0.13 * bulk - swing, 0.46), 0.032) | capsule(
        xn, yn, (0.11 * bulk, 0.77), (0.13 * bulk + swing, 0.46), 0.032)
    head = (xn ** 2 + (yn - 0.915) ** 2 < 0.068 ** 2) | capsule(xn, yn, (0, 0.8), (0, 0.88), 0.03)
    mask = legs | torso | arms | head
    shade = np.where(head, 1.15, np.where(legs & (yn < 0.52), 0.6, 0.95 - 0.9 * xn))
    return mask, shade


PERSON = Shape(lambda rng: np.array([rng.uniform(1.55, 1.9), rng.uniform(0.0, 0.09), rng.uniform(0.0, 0.05),
                                     rng.uniform(0.9, 1.25)]),
               lambda p: (0.35 * p[0], 1.0 * p[0]), _person_draw)


# -- car: height, length, view (0 side, 1 rear), flip ---------------------------------------------------------------
def _car_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, length, view, flip = p
    yn = y / height
    x = -x if flip else x
    if view < 0.5:
        half = length / 2
        body = ((np.abs(x) / half) ** 8 + (np.abs(yn - 0.42) / 0.24) ** 8) < 1
        t = np.clip((yn - 0.6) / 0.4, 0, 1)
        back, front = -0.3 * length + 0.1 * length * t, 0.22 * length - 0.14 * length * t
        cabin = (yn >= 0.6) & (yn < 1.0) & (x > back) & (x < front)
        wr = 0.2 * height
        wheels = ((np.abs(x) - 0.31 * length) ** 2 + (y - wr) ** 2) < wr ** 2
        window = cabin & (yn > 0.66) & (yn < 0.94) & (x > back + 0.04 * length) & (x < front - 0.04 * length) & (
            np.abs(x + 0.03 * length) > 0.025 * length)
    else:
        half = 0.9
        body = (np.abs(x) < half) & (yn > 0.18) & (yn < 0.62)
        cabin = (yn >= 0.6) & (yn < 1.0) & (np.abs(x) < half - 0.12 - 0.25 * (yn - 0.6))
        wheels = (np.abs(x) > 0.55) & (np.abs(x) < 0.85) & (yn <= 0.2)
        window = cabin & (yn > 0.66) & (yn < 0.94) & (np.abs(x) < half - 0.2 - 0.25 * (yn - 0.6))
    mask = body | cabin | wheels
    shade = np.where(wheels & ~body, 0.18, np.where(window, 0.32, 1.05 - 0.35 * np.clip(0.6 - yn, 0, 1)))
    return mask, shade


CAR = Shape(lambda rng: np.array([rng.uniform(1.35, 1.7), rng.uniform(3.8, 4.8), float(rng.random() < 0.35),
                                  float(rng.random() < 0.5)]),
            lambda p: (p[1] / 2 + 0.1 if p[2] < 0.5 else 1.0, p[0]), _car_draw)


# -- tree: height, conifer?, crown width ratio, trunk height ratio, phase, 5 puffs (dx, dy, r) -----------------------
def _tree_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, conifer, wr, tr, phase = p[:5]
    xn, yn = x / height, y / height
    R = wr / 2
    if conifer > 0.5:
        tiers = 5 + int(phase * 3)
        frac = (yn * tiers) % 1.0
        edge = (1 - yn) / (1 - tr) * R * (0.75 + 0.35 * frac)
        crown = (yn >= tr) & (yn <= 1) & (np.abs(xn) < edge)
        lo, hi = tr, 1.0
    else:
        cy = 1 - R * 1.05
        crown, lit = _puffs(xn, yn, [(dx * R * 0.55, cy + dy * R * 0.45, r * R, r * R)
                                     for dx, dy, r in p[5:].reshape(-1, 3)])
        lo, hi = cy - R, 1.0
    trunk = (np.abs(xn) < 0.025 + 0.02 * np.clip(0.08 - yn, 0, None) / 0.08) & (yn < max(tr + 0.1, lo + 0.15))
    mask = crown | trunk
    up = np.clip((yn - lo) / (hi - lo), 0, 1)
    if conifer > 0.5:
        lit = 0.6 + 0.5 * frac - 0.3 * xn / np.maximum(edge, 1e-3)  # each tier lit at its top, darker to the right
    crown_shade = 0.35 + 0.3 * up + 0.45 * lit + 0.05 * _clumps(xn / R, yn / R, phase, 23.0)
    shade = np.where(crown, crown_shade, 0.45 - 0.2 * np.sign(xn))
    return mask, shade


def _tree_sample(rng: np.random.Generator) -> np.ndarray:
    conifer = float(rng.random() < 0.35)
    puffs = np.stack([rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 5), rng.uniform(0.5, 0.8, 5)], 1)
    puffs[0] = (0, 0, 0.85)
    return np.array([rng.uniform(4, 14), conifer, rng.uniform(0.25, 0.4) if conifer else rng.uniform(0.45, 0.8),
                     rng.uniform(0.08, 0.15) if conifer else rng.uniform(0.3, 0.45), rng.uniform(0, 1),
                     *puffs.reshape(-1)])


TREE = Shape(_tree_sample, lambda p: (p[0] * p[2] * 0.75 + 0.3, p[0] * 1.15), _tree_draw)


# -- bush: height, width ratio, phase, 4 puffs (dx, dy, r) ----------------------------------------------------------
def _bush_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, wr, phase = p[:3]
    xn, yn = x / height, y / height
    mask, lit = _puffs(xn, yn, [(dx * wr * 0.35, 0.45 + dy * 0.1, wr * 0.3 * r + 0.25, 0.55 * r)
                                for dx, dy, r in p[3:].reshape(-1, 3)])
    shade = 0.35 + 0.3 * np.clip(yn, 0, 1) + 0.45 * lit + 0.05 * _clumps(xn * 2, yn * 2, phase, 19.0)
    return mask, shade


BUSH = Shape(lambda rng: np.array([rng.uniform(0.5, 1.8), rng.uniform(1.0, 3.0), rng.uniform(0, 1),
                                   *np.stack([rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4),
                                              rng.uniform(0.6, 1.0, 4)], 1).reshape(-1)]),
             lambda p: (p[0] * (p[1] * 0.65 + 0.25) + 0.1, p[0] * 1.15), _bush_draw)


# -- rock: height, width ratio, 3 harmonics (amplitude, phase) -------------------------------------------------------
def _rock_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, wr = p[:2]
    ry, rx = height / 0.8, height * wr / 2
    nx, ny = x / rx, (y - 0.2 * ry) / ry
    theta = np.arctan2(ny, nx)
    radius = 1 + sum(a * np.cos((k + 2) * theta + ph) for k, (a, ph) in enumerate(p[2:].reshape(-1, 2)))
    rho = np.sqrt(nx ** 2 + ny ** 2)
    mask = rho < radius
    shade = 0.72 + 0.3 * (0.8 * ny - 0.6 * nx) / np.maximum(radius, 0.5)
    return mask, shade


ROCK = Shape(lambda rng: np.array([rng.uniform(0.25, 1.3), rng.uniform(1.0, 2.5),
                                   *np.stack([rng.uniform(0, 0.12, 3), rng.uniform(0, 6.3, 3)], 1).reshape(-1)]),
             lambda p: (p[0] * p[1] / 2 * 1.4, p[0] * 2.0), _rock_draw)


# -- building: height, width, roof (0 flat, 1 gable), roof ratio, window ratio, side fraction -------------------------
def _building_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width, roof, rr, wf, side = p
    half = width / 2
    body = (np.abs(x) < half) & (y < height)
    rh = rr * width
    gable = (roof > 0.5) & (y >= height) & (y < height + rh) & (np.abs(x) < (half + 0.3) * (1 - (y - height) / rh))
    mask = body | gable
    fy, fx = (y - 1.0) % 3.0, (x + half) % 3.0
    window = body & (y > 1.0) & (y < height - 0.6) & (fy > 0.8) & (fy < 2.2) & (np.abs(fx - 1.5) < 0.75 * wf) & (
        np.abs(x) < half - 0.8)
    left = x < -half + side * width
    shade = np.where(gable, 0.62, np.where(window, 0.42, 1.0)) * np.where(left & body, 0.78, 1.0)
    return mask, shade


BUILDING = Shape(lambda rng: np.array([rng.uniform(4, 22), rng.uniform(6, 28), float(rng.random() < 0.55),
                                       rng.uniform(0.15, 0.35), rng.uniform(0.3, 0.8), rng.uniform(0, 0.3)]),
                 lambda p: (p[1] / 2 + 0.4, p[0] + (p[3] * p[1] if p[2] > 0.5 else 0)), _building_draw)


# -- fence: height, half length (metres), picket?, post spacing -------------------------------------------------------
def _fence_draw(p: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, half, picket, spacing = p
    yn = y / height
    inside = (np.abs(x) < half) & (yn <= 1)
    post = (x % spacing) < 0.12
    rails = (np.abs(yn - 0.8) < 0.06) | (np.abs(yn - 0.35) < 0.06)
    if picket > 0.5:
        board = (x % 0.18) < 0.11
        post = post | (board & (yn < 0.92 - 0.4 * np.abs((x % 0.18) / 0.11 - 0.5) * 0.3))
    mask = inside & (post | rails)
    shade = np.where(rails & ~post, 1.0, 0.82) - 0.15 * (1 - yn)
    return mask, shade


FENCE = Shape(lambda rng: np.array([rng.uniform(0.9, 1.5), rng.uniform(4, 40), float(rng.random() < 0.5),
                                    rng.uniform(1.8, 3.0)]),
              lambda p: (p[1] + 0.2, p[0]), _fence_draw)

SHAPES = {"person": PERSON, "car": CAR, "tree": TREE, "bush": BUSH, "rock": ROCK, "building": BUILDING,
          "fence": FENCE}
