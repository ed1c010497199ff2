"""``edges2objects``: an offline, procedural stand-in for edges2shoes / edges2handbags with exact ground truth.

Every object has a *geometry* (a class — shoe, boot or bag — position, size, facing and part proportions) and a
*style* (one material per semantic part: base colour, pattern type, pattern colour, frequency, angle, phase). The
geometry alone gives the part map, the foreground mask, the shading and the edge map (black part outlines on white,
like pix2pix's HED edges); the photo is the geometry rendered in the style on a white background. Because the edge
map does not depend on the style, the exact translation of an input under an exemplar is known: the input's
geometry rendered in the exemplar's style (``render(geometry_i, style_k)``). That exact ground truth for exemplar
fidelity is what no real dataset has.

Parts (the same five labels for every class, so every exemplar shows a material for every part of every input):
1 body, 2 base (sole / bag bottom), 3 front (toe cap / pocket), 4 trim (collar / flap), 5 accessory (heel / handle).

Everything is a pure function of ``(seed, split, index)`` (numpy; no files): item ``i`` is identical whatever the
split size, and images render at any size (64×64 by default, up to 256×256) from the same parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from core.hashing import settings_hash
from datasets import DATA_SOURCES
from datasets.paired import PairedArrays, PairedData, PairedSource
from datasets.worlds.materials import PATTERNS, hsv_to_rgb, pattern_cover

VERSION = "1"  # bump when the generator changes: it is part of the data fingerprint
CLASSES = ("shoe", "boot", "bag")
PARTS = ("background", "body", "base", "front", "trim", "accessory")
SPLITS = {"train": 0, "val": 1}
# Geometry vector: kind, cx, cy, w, h, flip, q0..q4 (part proportions in [0,1]).
GEOMETRY_DIM = 11
# Style per part: base rgb, pattern rgb, pattern id, frequency (cycles per image), angle, phase, strength.
STYLE_DIM = 11
N_PARTS = 5

# Colour families: (name, body hue/sat/val ranges); "similar" styles share a family.
FAMILIES = (
    ("black leather", (0.0, 1.0), (0.0, 0.15), (0.08, 0.22)),
    ("brown leather", (0.04, 0.09), (0.5, 0.8), (0.25, 0.55)),
    ("tan suede", (0.07, 0.12), (0.35, 0.6), (0.55, 0.8)),
    ("red", (0.97, 1.02), (0.6, 0.9), (0.55, 0.85)),
    ("navy", (0.58, 0.66), (0.5, 0.85), (0.2, 0.45)),
    ("pastel", (0.0, 1.0), (0.2, 0.4), (0.75, 0.9)),
    ("sport", (0.0, 1.0), (0.7, 1.0), (0.6, 0.95)),
    ("grey canvas", (0.0, 1.0), (0.0, 0.1), (0.45, 0.7)),
)


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), SPLITS[split], int(index)])


def sample_geometry(rng: np.random.Generator) -> np.ndarray:
    kind = int(rng.integers(len(CLASSES)))
    w, h = {0: (rng.uniform(0.70, 0.86), rng.uniform(0.40, 0.52)),
            1: (rng.uniform(0.52, 0.66), rng.uniform(0.66, 0.80)),
            2: (rng.uniform(0.55, 0.74), rng.uniform(0.42, 0.56))}[kind]
    cx = 0.5 + rng.uniform(-0.04, 0.04)
    cy = 0.5 + rng.uniform(-0.04, 0.04) + (0.12 if kind == 2 else 0.0)
    flip = float(rng.random() < 0.5) if kind != 2 else 0.0
    return np.array([kind, cx, cy, w, h, flip, *rng.uniform(0, 1, 5)], np.float64)


def sample_style(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One material per part and the colour family index (styles of the same family look alike)."""
    family = int(rng.integers(len(FAMILIES)))
    _, hue, sat, val = FAMILIES[family]
    style = np.zeros((N_PARTS, STYLE_DIM), np.float64)
    body_h, body_s, body_v = rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val)
    for part in range(N_PARTS):
        if part == 0:  # body: the family colour
            hsv = (body_h, body_s, body_v)
        elif part == 1:  # base: white, black or gum, or the body colour darker
            hsv = [(0.0, 0.0, 0.9), (0.0, 0.0, 0.12), (0.09, 0.55, 0.55),
                   (body_h, body_s, body_v * 0.6)][int(rng.integers(4))]
        else:  # front / trim / accessory: the body colour, shifted hue, or a contrasting one
            choice = int(rng.integers(3))
            hsv = [(body_h, body_s, np.clip(body_v * rng.uniform(0.7, 1.2), 0.05, 0.92)),
                   (body_h + rng.uniform(0.05, 0.15), body_s, body_v),
                   (rng.uniform(0, 1), rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.9))][choice]
        base = hsv_to_rgb(np.array(hsv[0]), np.array(hsv[1]), np.array(hsv[2]))
        pattern_weights = np.array([0.45, 0.15, 0.12, 0.1, 0.18]) if part == 0 else np.array([0.7, 0.1, 0.07, 0.05,
                                                                                               0.08])
        pattern = int(rng.choice(len(PATTERNS), p=pattern_weights))
        contrast = hsv_to_rgb(np.array(rng.uniform(0, 1)), np.array(rng.uniform(0.0, 0.8)),
                               np.array(rng.uniform(0.1, 0.95)))
        style[part] = [*base, *contrast, pattern, rng.uniform(5, 14), rng.uniform(0, np.pi),
                       rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.0)]
    return style, family


# -- rendering -------------------------------------------------------------------------------------------------------
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(size) + 0.5) / size
    return np.meshgrid(t, t, indexing="xy")  # u (x, left→right), v (y, top→bottom)


def part_map(geometry: np.ndarray, size: int) -> np.ndarray:
    """uint8 [size,size] part labels (0 background, 1..5 parts) of one geometry."""
    kind, cx, cy, w, h, flip, q0, q1, q2, q3, q4 = geometry
    u, v = _grid(size)
    x = (u - cx) / (w / 2)
    y = (v - cy) / (h / 2)
    if flip:
        x = -x  # +x is always the front of the object
    labels = np.zeros((size, size), np.uint8)
    if int(kind) in (0, 1):  # shoe or boot
        boot = int(kind) == 1
        foot_cy, foot_ry = (0.55, 0.45) if boot else (0.3, 0.7)
        foot = (x ** 2 + ((y - foot_cy) / foot_ry) ** 2 <= 1) & (y >= foot_cy - foot_ry * 0.55)
        back = -0.95 if boot else -0.92
        front = (0.1 + 0.3 * q0) if boot else (-0.25 + 0.25 * q0)
        bottom = 0.5 if boot else 0.35
        mid_x, half_x = (back + front) / 2, (front - back) / 2
        ankle = (np.abs((x - mid_x) / half_x) ** 4 + np.abs((y - (-1 + bottom) / 2) / ((bottom + 1) / 2)) ** 4) <= 1
        obj = foot | ankle
        labels[obj] = 1
        sole_top = 1 - (0.2 + 0.12 * q1) * (2 * foot_ry if not boot else 1.0)
        labels[obj & (y > sole_top)] = 2
        labels[obj & (x > 0.5 + 0.25 * q2) & (y <= sole_top)] = 3
        labels[ankle & (y < -1 + 0.18 + 0.15 * q3)] = 4
        heel = obj & (x < -0.55 + 0.2 * q4) & (y > sole_top - 0.25 - 0.2 * q4)
        labels[heel] = 5
    else:  # bag: rounded body, handle arc above, flap, bottom band, pocket
        body = (np.abs(x) ** 4 + np.abs(y) ** 4) <= 1
        rx, ry, thick = 0.45 + 0.25 * q0, 0.45 + 0.35 * q1, 0.14
        ring = (x / rx) ** 2 + ((y + 0.95) / ry) ** 2
        handle = (ring <= 1) & (ring >= (1 - thick) ** 2) & (y < -0.9)
        labels[body] = 1
        labels[body & (y > 0.72 - 0.2 * q2)] = 2
        pocket = body & (np.abs(x) < 0.25 + 0.25 * q4) & (y > 0.05) & (y < 0.6 - 0.2 * q2)
        labels[pocket] = 3
        labels[body & (y < -0.45 + 0.3 * q3 + 0.12 * np.cos(np.pi * x))] = 4
        labels[handle & ~body] = 5
    return labels


def edge_map(labels: np.ndarray, thickness: int | None = None) -> np.ndarray:
    """uint8 [H,W,3]: black outlines where the part label changes (4-neighbourhood), white elsewhere."""
    size = labels.shape[0]
    boundary = np.zeros(labels.shape, bool)
    boundary[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    boundary[:-1, :] |= labels[:-1, :] != labels[1:, :]
    thickness = max(1, size // 128) if thickness is None else thickness
    if thickness > 1:
        boundary = ndimage.binary_dilation(boundary, iterations=thickness - 1)
    edges = np.where(boundary, 0, 255).astype(np.uint8)
    return np.repeat(edges[..., None], 3, axis=-1)


def shading(labels: np.ndarray) -> np.ndarray:
    """float [H,W]: darker toward the silhouette and the bottom (depends on the geometry only)."""
    size = labels.shape[0]
    inside = labels > 0
    dist = ndimage.distance_transform_edt(inside) / size
    _, v = _grid(size)
    return (0.72 + 0.28 * np.clip(dist / 0.06, 0, 1)) * (1.0 - 0.12 * v)


def render_photo(geometry: np.ndarray, style: np.ndarray, size: int, labels: np.ndarray | None = None
                 ) -> np.ndarray:
    """uint8 [H,W,3]: ``geometry`` painted in ``style`` on white. The exact translation of input i under exemplar k
    is ``render_photo(geometry_i, style_k)``."""
    labels = part_map(geometry, size) if labels is None else labels
    u, v = _grid(size)
    a, b = u - geometry[1], v - geometry[2]
    shade = shading(labels)
    photo = np.ones((size, size, 3), np.float64)
    for part in range(1, N_PARTS + 1):
        where = labels == part
        if not where.any():
            continue
        st = style[part - 1]
        cover = pattern_cover(st, a[where], b[where])[:, None]
        colour = st[0:3] * (1 - cover) + st[3:6] * cover
        photo[where] = colour * shade[where][:, None]
    return np.clip(np.round(photo * 255), 0, 255).astype(np.uint8)


@dataclass
class ObjectRecord:
    geometry: np.ndarray
    style: np.ndarray
    family: int


def object_record(seed: int, split: str, index: int) -> ObjectRecord:
    rng = _rng(seed, split, index)
    geometry = sample_geometry(rng)
    style, family = sample_style(rng)
    return ObjectRecord(geometry, style, family)


class Edges2ObjectsSplit(PairedSource):
    """``n`` procedural pairs of one split at ``size``; rendered on demand (cached while small)."""

    CACHE_BYTES = 1 << 30

    def __init__(self, n: int, size: int = 64, seed: int = 0, split: str = "train") -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
        if not 32 <= size <= 512:
            raise ValueError(f"edges2objects renders 32..512 pixels, got {size}")
        self.n, self.size, self.seed, self.split = int(n), int(size), int(seed), split
        self.records = [object_record(seed, split, i) for i in range(self.n)]
        cacheable = self.n * size * size * 7 <= self.CACHE_BYTES
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = {} if cacheable else None

    def __len__(self) -> int:
        return self.n

    @property
    def geometries(self) -> np.ndarray:
        return np.stack([r.geometry for r in self.records])

    @property
    def styles(self) -> np.ndarray:
        return np.stack([r.style for r in self.records])

    @property
    def families(self) -> np.ndarray:
        return np.array([r.family for r in self.records])

    def labels(self, index: int) -> np.ndarray:
        return part_map(self.records[index].geometry, self.size)

    def item(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        record = self.records[index]
        labels = part_map(record.geometry, self.size)
        out = (edge_map(labels), render_photo(record.geometry, record.style, self.size, labels),
               (labels > 0).astype(np.uint8))
        if self._cache is not None:
            self._cache[index] = out
        return out

    def _load(self, indices: np.ndarray) -> PairedArrays:
        items = [self.item(int(i)) for i in indices]
        return PairedArrays(np.stack([t[0] for t in items]), np.stack([t[1] for t in items]),
                            np.stack([t[2] for t in items]))

    def exact_translation(self, content: np.ndarray, exemplar: np.ndarray,
                          exemplar_split: Edges2ObjectsSplit | None = None) -> np.ndarray:
        """uint8 [N,H,W,3]: content object ``content[j]`` of this split in the style of ``exemplar[j]`` (an index
        into ``exemplar_split``, default this split)."""
        other = exemplar_split or self
        return np.stack([render_photo(self.records[int(c)].geometry, other.records[int(e)].style, self.size)
                         for c, e in zip(np.asarray(content).reshape(-1), np.asarray(exemplar).reshape(-1),
                                         strict=True)])

    def fingerprint(self) -> str:
        h = hashlib.sha256(f"edges2objects-v{VERSION}:{self.seed}:{self.split}:{self.n}:{self.size}".encode())
        for r in self.records:
            h.update(np.ascontiguousarray(r.geometry).tobytes())
            h.update(np.ascontiguousarray(r.style).tobytes())
        return h.hexdigest()


DEFAULT_TRAIN, DEFAULT_VAL = 49825, 200  # edges2shoes' split sizes, used when a count is not given


@DATA_SOURCES.register("edges2objects")
def load_edges2objects(root: object = None, download: bool = False, verify: bool = True, size: int = 64,
                       n_train: int | None = None, n_val: int | None = None, seed: int = 0,
                       **_: object) -> PairedData:
    """The procedural stand-in as ``PairedData`` (``root``/``download``/``verify`` are accepted and unused)."""
    train = Edges2ObjectsSplit(n_train or DEFAULT_TRAIN, size, seed, "train")
    val = Edges2ObjectsSplit(n_val or DEFAULT_VAL, size, seed, "val")
    files = {"train": train.fingerprint(), "val": val.fingerprint()}
    fingerprint = settings_hash({"generator": VERSION, "files": files}, length=16)
    description = (f"edges2objects v{VERSION} (procedural stand-in, NOT edges2shoes): {len(train)} train / "
                   f"{len(val)} val pairs at {size}×{size}, data seed {seed}; exact masks and exact ground truth")
    return PairedData(train, val, "edges2objects", fingerprint, files, description, "exact")
