"""Poles (with traffic lights and signs) and things (vehicles, people, riders) of the ``streets`` world.

Each is drawn in its own bounding box in local metric coordinates (``lx`` metres right of its centre, ``ly`` metres
above the ground), scaled by its depth, so far ones are smaller; poles and things are painted together from the
farthest to the nearest (occlusion by the painter's algorithm). Things get instance ids 1..N in layout order.
"""

from __future__ import annotations

import numpy as np

from datasets.worlds.streets_layout import (
    BICYCLE,
    BUS,
    CAR,
    FACING,
    LIGHT,
    MOTORCYCLE,
    PERSON,
    POLE,
    RIDER,
    SIGN,
    TRAIN,
    TRUCK,
    UPRIGHT,
    Canvas,
    StreetLayout,
)

RED, AMBER, GREEN, WHITE = (1.0, 0.08, 0.05), (1.0, 0.6, 0.1), (0.1, 1.0, 0.4), (1.0, 0.95, 0.85)


class Local:
    """Local metric coordinates of one object's bounding box on a canvas; ``put`` paints a part of it."""

    def __init__(self, c: Canvas, x: float, z: float, half_w: float, top: float, inst: int = 0) -> None:
        self.c, self.z, self.inst, self.s = c, z, inst, c.f / z  # pixels per metre
        cx, base = c.xv + c.f * x / z, c.ground_row(z)
        x0, x1 = int(max(0, np.floor(cx - half_w * self.s))), int(min(c.w, np.ceil(cx + half_w * self.s)))
        y0, y1 = int(max(0, np.floor(base - top * self.s))), int(min(c.h, np.ceil(base + 1)))
        self.box = (slice(y0, y1), slice(x0, x1))
        self.empty = x1 <= x0 or y1 <= y0
        self.lx = (c.cols[x0:x1][None, :] - cx) / self.s
        self.ly = (base - c.rows[y0:y1][:, None]) / self.s
        self.px = 1.0 / self.s  # one pixel in metres: thin parts stay at least this wide

    def put(self, mask: np.ndarray, cls: int, detail: float | np.ndarray = 0.0, orient: int = FACING) -> None:
        c, box = self.c, self.box
        mask = mask & (self.ly >= -self.px)
        c.label[box][mask] = cls
        c.instance[box][mask] = self.inst
        c.depth[box][mask] = self.z
        c.orient[box][mask] = orient
        c.detail[box][mask] = np.broadcast_to(detail, mask.shape)[mask] if np.ndim(detail) else detail

    def light(self, mask: np.ndarray, colour: tuple[float, float, float]) -> None:
        self.c.emit[self.box][mask] = colour

    def rect(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        grow = self.px / 2
        return (self.lx >= x0 - grow) & (self.lx <= x1 + grow) & (self.ly >= y0 - grow) & (self.ly <= y1 + grow)

    def disc(self, x: float, y: float, r: float) -> np.ndarray:
        return (self.lx - x) ** 2 + (self.ly - y) ** 2 <= (r + self.px / 2) ** 2

    def segment(self, a: tuple[float, float], b: tuple[float, float], width: float) -> np.ndarray:
        (ax, ay), (bx, by) = a, b
        dx, dy = bx - ax, by - ay
        t = np.clip(((self.lx - ax) * dx + (self.ly - ay) * dy) / (dx * dx + dy * dy + 1e-12), 0, 1)
        return np.hypot(self.lx - ax - t * dx, self.ly - ay - t * dy) <= max(width, self.px) / 2


def draw_pole(c: Canvas, road_edge: float, p: np.ndarray) -> None:
    side, z, height, kind, arm, variant = p
    x = side * (road_edge + 0.4)
    reach = -side * arm  # traffic-light arms reach over the road
    o = Local(c, x + reach / 2, z, abs(reach) / 2 + 0.5, height + 0.6)
    if o.empty:
        return
    dx = -reach / 2  # the pole's local x
    o.put(o.rect(dx - 0.09, dx + 0.09, 0, height), POLE, 0.0, UPRIGHT)
    if kind == 1:
        end = dx + reach
        o.put(o.segment((dx, height - 0.2), (end, height - 0.2), 0.12), POLE, 0.0, UPRIGHT)
        body = o.rect(end - 0.2, end + 0.2, height - 1.3, height - 0.2)
        lamps = [o.disc(end, height - 0.45 - 0.33 * i, 0.11) for i in range(3)]
        o.put(body, LIGHT, np.clip(lamps[0] + lamps[1] + lamps[2], 0, 1).astype(np.float32))
        on = 0 if variant < 0.45 else 2 if variant < 0.9 else 1
        o.light(lamps[on] & body, (RED, AMBER, GREEN)[on])
    elif kind == 2:
        centre = height - 0.35
        shape = (o.disc(dx, centre, 0.36) if variant < 0.5 else o.rect(dx - 0.32, dx + 0.32, centre - 0.32,
                                                                          centre + 0.32))
        inner = o.disc(dx, centre, 0.24) if variant < 0.5 else o.rect(dx - 0.22, dx + 0.22, centre - 0.22,
                                                                      centre + 0.22)
        o.put(shape, SIGN, inner.astype(np.float32))


def draw_person(o: Local, h: float, stride: float, seated: bool, cls: int) -> None:
    if seated:  # a rider: torso and head above the saddle, legs down to the pedals
        hip = 0.9
        o.put(o.segment((-0.05, hip), (0.15, hip + 0.55), 0.32) | o.disc(0.2, hip + 0.8, 0.12), cls)
        o.put(o.segment((-0.05, hip), (0.25, 0.35), 0.14) | o.segment((0.15, hip + 0.45), (0.55, hip + 0.25), 0.09),
              cls, 1.0)
        return
    legs = o.segment((-0.08, 0.5 * h), (-0.08 - stride, 0), 0.13) | o.segment((0.08, 0.5 * h), (0.08 + stride, 0),
                                                                             0.13)
    o.put(legs, cls, 1.0)
    torso = o.rect(-0.2, 0.2, 0.48 * h, 0.82 * h) | o.disc(0, 0.93 * h, 0.11)
    arms = o.rect(-0.28, -0.2, 0.45 * h, 0.8 * h) | o.rect(0.2, 0.28, 0.45 * h, 0.8 * h)
    o.put(torso | arms, cls)


def draw_two_wheeler(o: Local, cls: int, variant: float) -> None:
    facing = 1.0 if variant < 0.5 else -1.0
    r, hub = (0.34, 0.52) if cls == BICYCLE else (0.32, 0.72)
    rings = [o.disc(facing * s * hub, r, r) & ~o.disc(facing * s * hub, r, r - (0.05 if cls == BICYCLE else 0.1))
             for s in (-1, 1)]
    if cls == BICYCLE:
        rear, front, seat, bar = (-facing * hub, r), (facing * hub, r), (-facing * 0.15, 0.85), (facing * 0.4, 0.95)
        frame = (o.segment(rear, seat, 0.04) | o.segment(seat, bar, 0.04) | o.segment(bar, front, 0.04)
                 | o.segment(rear, (0.0, r), 0.04) | o.segment((0.0, r), seat, 0.04) | o.segment((0.0, r), bar, 0.04))
        o.put(frame, cls)
    else:
        body = (((o.lx / 0.62) ** 2 + ((o.ly - 0.62) / 0.24) ** 2) <= 1) | o.segment((facing * 0.45, 0.8),
                                                                                     (facing * hub, r), 0.08)
        o.put(body, cls)
        o.light(o.disc(facing * 0.62, 0.72, 0.06), WHITE)
    o.put(rings[0] | rings[1], cls, 1.0)


def draw_vehicle(o: Local, cls: int, w: float, h: float, variant: float) -> None:
    hw = w / 2
    wheels = o.rect(-hw + 0.05, -hw + 0.4, 0, 0.38) | o.rect(hw - 0.4, hw - 0.05, 0, 0.38)
    if cls == CAR:
        taper = np.clip((o.ly - 0.85) / max(h - 0.85, 0.1), 0, 1)
        cabin = (np.abs(o.lx) <= hw * (0.92 - 0.22 * taper)) & (o.ly >= 0.85) & (o.ly <= h)
        body = o.rect(-hw, hw, 0.22, 0.88) | cabin
        glass = (np.abs(o.lx) <= hw * (0.8 - 0.22 * taper)) & (o.ly >= 0.95) & (o.ly <= h - 0.07)
        lamps = o.rect(-hw + 0.05, -hw + 0.35, 0.62, 0.78) | o.rect(hw - 0.35, hw - 0.05, 0.62, 0.78)
    elif cls == TRUCK:
        body = o.rect(-hw, hw, 0.55, h) | o.rect(-hw + 0.2, hw - 0.2, 0.3, 0.55)
        glass = o.rect(-0.03, 0.03, 0.7, h - 0.15)
        lamps = o.rect(-hw + 0.1, -hw + 0.35, 0.35, 0.5) | o.rect(hw - 0.35, hw - 0.1, 0.35, 0.5)
    else:  # bus / tram: tall rounded boxes with a big window band
        base = 0.35 if cls == BUS else 0.45
        top_round = (np.abs(o.lx) > hw - 0.3) & (o.ly > h - 0.3) & ~o.disc(np.sign(o.lx) * (hw - 0.3), h - 0.3, 0.3)
        body = o.rect(-hw, hw, base, h) & ~top_round
        glass = o.rect(-hw + 0.15, hw - 0.15, h * (0.5 if cls == BUS else 0.45), h - 0.25)
        lamps = o.rect(-hw + 0.1, -hw + 0.4, base + 0.2, base + 0.45) | o.rect(hw - 0.4, hw - 0.1, base + 0.2,
                                                                               base + 0.45)
        if cls == TRAIN:
            body |= o.segment((-0.4, h), (0.0, h + 0.6), 0.05) | o.segment((0.0, h + 0.6), (0.4, h + 0.6), 0.05)
            wheels = o.rect(-hw + 0.2, hw - 0.2, 0.1, base)
    o.put(body | wheels, cls, (glass | wheels).astype(np.float32))
    o.light(lamps & body & ~glass, RED if variant < 0.8 or cls == TRAIN else WHITE)


def paint_things(layout: StreetLayout, c: Canvas) -> None:
    """Poles and things, far to near; things get instance ids 1..N in layout order."""
    road_edge = layout.road[0]
    work = [(p[1], 0, i) for i, p in enumerate(layout.poles)] + [(o[2], 1, i) for i, o in enumerate(layout.objects)]
    for z, kind, i in sorted(work, key=lambda t: (-t[0], t[1], t[2])):
        if kind == 0:
            side = layout.poles[i][0]
            edge = road_edge + layout.road[1 if side < 0 else 2] + 0.1
            draw_pole(c, edge, layout.poles[i])
            continue
        cls, x, z, w, h, variant, view, seated = layout.objects[i]
        cls = int(cls)
        half = max(w / 2, 1.0 if view else w / 2) + 0.1
        o = Local(c, x, z, half, h + 0.8, inst=i + 1)
        if o.empty:
            continue
        if cls in (PERSON, RIDER):
            stride = 0.0 if not view else 0.25 * np.sin(variant * 6.3)
            draw_person(o, h, stride, bool(seated), cls)
        elif cls in (BICYCLE, MOTORCYCLE):
            draw_two_wheeler(o, cls, variant)
        elif cls in (CAR, TRUCK, BUS, TRAIN):
            draw_vehicle(o, cls, w, h, variant)

