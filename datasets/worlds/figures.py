"""``figures``: a procedural stand-in for DeepFashion In-shop (pose → person, CoCosNet §4) with exact ground truth.

A layout is a ``FigureLayout`` (``datasets.worlds.figures_body``): the figure's *identity and garment shapes*
(body proportions; sleeve length, top length, neckline; trousers / shorts / skirt / dress with its hem and flare;
hair cut; bag; boots) plus its *pose* (front / three-quarter / side / back view, arm and leg angles, standing or
walking, framing). The label map shows all of it; the OpenPose keypoints and CoCosNet's 20-channel pose input
(``inputs()["pose"]``) come from the pose. The style is appearance only: one material per class (garment colours,
stripes / dots / checks, skin tone, hair colour) plus the studio light. So ``render(layout_i, style_k)`` is the
figure of input i dressed in exemplar k's colours, and DeepFashion's real test situation, the *same* person in
another pose, is ``FiguresWorld.self_pair``: the layout reposed (``repose``: identity and garments kept, pose
redrawn) and rendered in the item's own style, with exact ground truth.

Classes (``FIGURE_LABELS``): 0 background (studio backdrop and floor), 1 skin (face, neck, arms, hands, legs),
2 hair, 3 top, 4 bottom (trousers, shorts, skirt, or a whole dress), 5 shoes, 6 bag. Images are square like
CoCosNet's 256×256 DeepFashion (the figure is placed in units of the image height, so any size works).
"""

from __future__ import annotations

import copy
import hashlib
from typing import ClassVar

import cv2
import numpy as np

from datasets.inputs.pose import pose_input
from datasets.labelled import LabelledItem, LabelSet
from datasets.worlds import figures_body as fb
from datasets.worlds.base import SPLITS, WORLDS, Style, World, WorldSplit, boundaries
from datasets.worlds.materials import PATTERNS, hsv_to_rgb, lattice_noise, material, paint, to_uint8

VERSION = "1"
FIGURE_LABELS = LabelSet("figures", ("background", "skin", "hair", "top", "bottom", "shoes", "bag"),
                         palette=np.array([[0, 0, 0], [250, 190, 150], [120, 60, 20], [220, 40, 40], [40, 80, 200],
                                           [240, 220, 40], [40, 180, 80]], np.uint8))
# glob: light direction (-1..1), backdrop gradient, floor shadow strength, texture seed, backdrop/floor contrast.
GLOB_DIM = 5
VIEWS = (("front", 0.42, 0.0, 0.15), ("three-quarter", 0.18, 0.3, 0.6), ("side", 0.25, 0.9, 1.5),
         ("back", 0.15, np.pi - 0.3, np.pi + 0.3))  # (name, probability, |yaw| range)


def _sample_pose(rng: np.random.Generator) -> fb.Pose:
    view = int(rng.choice(len(VIEWS), p=[v[1] for v in VIEWS]))
    yaw = float(rng.uniform(VIEWS[view][2], VIEWS[view][3])) * float(rng.choice([-1.0, 1.0]))
    walking = rng.random() < 0.35
    arms = np.zeros((2, 4))
    for s in range(2):
        style = rng.choice(["hang", "swing", "hip", "bent"], p=[0.45, 0.25, 0.15, 0.15])
        abd, flex = rng.uniform(0.06, 0.35), rng.uniform(-0.15, 0.15)
        if style == "swing" or walking:
            flex = rng.uniform(0.2, 0.5) * (1 if s == 0 else -1)
        bend_in, bend = (rng.uniform(1.6, 2.2), 0.0) if style == "hip" else (0.0, rng.uniform(0.0, 0.25))
        if style == "hip":
            abd = rng.uniform(0.55, 0.8)
        elif style == "bent":
            bend = rng.uniform(0.8, 1.6)
        arms[s] = (abd, flex, bend_in, bend)
    legs = np.zeros((2, 3))
    for s in range(2):
        legs[s] = (rng.uniform(0.0, 0.12), 0.0, rng.uniform(0.0, 0.12))
    if walking:
        stride = rng.uniform(0.25, 0.45)
        front = int(rng.integers(2))
        legs[front, 1], legs[1 - front, 1] = stride, -stride * 0.8
        legs[1 - front, 2] = rng.uniform(0.2, 0.5)
        arms[:, 1] = -legs[:, 1] * rng.uniform(0.6, 1.0)  # arms swing against the legs
    framing = rng.random()
    scale = rng.uniform(0.84, 0.92) if framing < 0.75 else rng.uniform(1.05, 1.35)  # full body or cut at the shins
    return fb.Pose(yaw=yaw, cx=float(rng.uniform(-0.05, 0.05)), top=float(rng.uniform(0.03, 0.07)),
                   scale=float(scale), arms=tuple(map(tuple, arms.tolist())), legs=tuple(map(tuple, legs.tolist())))


def _fashion_colour(rng: np.random.Generator) -> np.ndarray:
    kind = rng.random()
    if kind < 0.3:  # neutrals: black, white, grey, beige
        value = rng.choice([rng.uniform(0.08, 0.2), rng.uniform(0.75, 0.95), rng.uniform(0.4, 0.7)])
        return hsv_to_rgb(np.array(rng.uniform(0.05, 0.12)), np.array(rng.uniform(0.0, 0.25)), np.array(value))
    return hsv_to_rgb(np.array(rng.uniform(0, 1)), np.array(rng.uniform(0.3, 0.9)), np.array(rng.uniform(0.25, 0.9)))


def _garment(rng: np.random.Generator) -> np.ndarray:
    base = _fashion_colour(rng)
    pattern = str(rng.choice(PATTERNS, p=[0.5, 0.2, 0.1, 0.1, 0.1]))
    other = _fashion_colour(rng) if rng.random() < 0.6 else np.clip(1.0 - base, 0, 1)
    return material(base, other, pattern, frequency=float(rng.uniform(10, 28)), angle=float(rng.choice(
        [0.0, np.pi / 2, rng.uniform(0, np.pi)])), phase=float(rng.uniform(0, 2 * np.pi)),
        strength=float(rng.uniform(0.6, 1.0)), texture=float(rng.uniform(0.04, 0.2)),
        scale=float(rng.uniform(0.5, 1.0)), shading=float(rng.uniform(0.7, 1.0)))


def _noise(seed: int, size: tuple[int, int]) -> np.ndarray:
    """float64 [3,H,W] smooth noise in [-1,1] at 4, 16 and 64 cells across the width (``materials.lattice_noise``)."""
    return np.clip(lattice_noise(seed, size, (4, 16, 64), np.float64) / 0.6, -1, 1)


@WORLDS.register("figures")
class FiguresWorld(World):
    """Posed, dressed figures on a studio backdrop (see the module docstring). No settings."""

    version = VERSION
    labels = FIGURE_LABELS
    stands_in_for = "DeepFashion In-shop with OpenPose keypoints (CoCosNet pose → image)"
    # The paper's 52,712 images; the val size is not published (CoCosNet's val.txt is a Google-Drive file).
    default_counts: ClassVar[dict[str, int]] = {"train": 52712, "val": 1000}

    def sample_layout(self, rng: np.random.Generator) -> fb.FigureLayout:
        slim = rng.uniform(0.85, 1.15)
        body = fb.Body(head=float(rng.uniform(0.056, 0.064)), shoulder=float(rng.uniform(0.095, 0.115) * slim),
                       waist=float(rng.uniform(0.07, 0.09) * slim), hip=float(rng.uniform(0.055, 0.07) * slim),
                       arm=float(rng.uniform(0.022, 0.028) * slim), leg=float(rng.uniform(0.038, 0.048) * slim))
        bottom = int(rng.choice(len(fb.BOTTOMS), p=[0.35, 0.15, 0.25, 0.25]))
        hem = {0: rng.uniform(0.85, 1.0), 1: rng.uniform(0.2, 0.4), 2: rng.uniform(0.6, 0.82),
               3: rng.uniform(0.62, 0.88)}[bottom]
        flare = rng.uniform(0.0, 0.012) if bottom < 2 else rng.uniform(1.1, 1.9)
        garments = fb.Garments(sleeve=int(rng.choice(3, p=[0.3, 0.35, 0.35])), top_len=float(rng.uniform(0.4, 0.56)),
                               neckline=float(rng.choice([0.0, rng.uniform(0.02, 0.07)])), bottom=bottom,
                               hem=float(hem), flare=float(flare), hair=int(rng.choice(4, p=[0.2, 0.25, 0.4, 0.15])),
                               hair_len=float(rng.uniform(0.26, 0.4)), bag=int(rng.choice(3, p=[0.7, 0.15, 0.15])),
                               bag_side=int(rng.choice([-1, 1])), boots=int(rng.random() < 0.15))
        return fb.FigureLayout(body, garments, _sample_pose(rng))

    def repose(self, layout: fb.FigureLayout, rng: np.random.Generator) -> fb.FigureLayout:
        """The same figure (identity, garment and hair shapes) in a new pose, view and framing drawn from ``rng``."""
        return fb.FigureLayout(copy.deepcopy(layout.body), copy.deepcopy(layout.garments), _sample_pose(rng))

    def sample_style(self, rng: np.random.Generator) -> Style:
        backdrop = hsv_to_rgb(np.array(rng.uniform(0, 1)), np.array(rng.uniform(0.0, 0.08)),
                              np.array(rng.uniform(0.8, 0.97)))
        skin = hsv_to_rgb(np.array(rng.uniform(0.04, 0.08)), np.array(rng.uniform(0.3, 0.6)),
                          np.array(rng.uniform(0.4, 0.95)))
        hair_hsv = [(0.07, 0.5, 0.08), (0.07, 0.6, 0.25), (0.08, 0.55, 0.45), (0.11, 0.5, 0.75), (0.03, 0.7, 0.45),
                    (0.0, 0.0, 0.6)][int(rng.choice(6, p=[0.3, 0.3, 0.15, 0.12, 0.08, 0.05]))]
        hair = hsv_to_rgb(*(np.array(x * rng.uniform(0.9, 1.1)) for x in hair_hsv))
        shoes = _fashion_colour(rng) if rng.random() < 0.5 else np.full(3, float(rng.choice([0.06, 0.9])))
        bag = hsv_to_rgb(np.array(rng.uniform(0.02, 0.1)), np.array(rng.uniform(0.2, 0.8)),
                         np.array(rng.uniform(0.15, 0.7)))
        materials = np.stack([
            material(backdrop, texture=0.02, scale=0.0, shading=1.0),
            material(skin, texture=0.03, scale=0.3, shading=0.9),
            material(hair, hair * 0.6, "stripes", frequency=60.0, angle=np.pi / 2, strength=0.35, texture=0.25,
                     scale=1.0, shading=1.0),
            _garment(rng), _garment(rng),
            material(shoes, texture=0.05, scale=0.8, shading=0.9),
            material(bag, _fashion_colour(rng), str(rng.choice(["solid", "checks"])), frequency=20.0,
                     strength=float(rng.uniform(0.0, 0.8)), texture=0.1, scale=0.6, shading=0.9)])
        glob = np.array([rng.uniform(-1, 1), rng.uniform(0.0, 0.12), rng.uniform(0.15, 0.45),
                         float(rng.integers(1 << 30)), rng.uniform(0.9, 1.0)])
        return Style(materials, glob)

    def label_map(self, layout: fb.FigureLayout, size: tuple[int, int]) -> np.ndarray:
        return fb.label_map(layout, size)

    def keypoints(self, layout: fb.FigureLayout, size: tuple[int, int]) -> np.ndarray:
        return fb.keypoints(layout, size)

    def inputs(self, layout: fb.FigureLayout, size: tuple[int, int], item: LabelledItem) -> dict[str, np.ndarray]:
        """``{"pose": float32 [20,H,W]}``: CoCosNet's DeepFashion input from the keypoints
        (``datasets.inputs.pose.pose_input``)."""
        kp = item.keypoints if item.keypoints is not None else self.keypoints(layout, size)
        return {"pose": pose_input(kp, size)}

    def render(self, layout: fb.FigureLayout, style: Style, size: tuple[int, int], label: np.ndarray | None = None
               ) -> np.ndarray:
        h, w = size
        label = self.label_map(layout, size) if label is None else label
        light, gradient, shadow, seed, floor = style.glob
        person = label > 0
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        # figure: rounded by the distance to any part boundary, lit from one side
        edge = boundaries(label)
        dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
        rounded = 0.72 + 0.28 * np.sqrt(np.clip(dist / (0.02 * h * layout.pose.scale), 0, 1))
        shade = np.where(person, rounded * (1 + 0.08 * light * (xs / w - 0.5) * 2), 1.0)
        # backdrop: vertical gradient, a floor below the feet with a soft shadow
        proj, pts = fb.Projector(layout.pose, size), fb.joints(layout)
        feet = [proj(pts[f"{lr}_heel"]) for lr in "rl"]
        floor_y = max(f[1] for f in feet)
        back = 1 - gradient * (ys / h) + 0.04 * light * (xs / w - 0.5)
        back = np.where(ys > floor_y - 0.01 * h, back * floor, back)
        blob = np.zeros((h, w), np.float32)
        centre = (int(np.mean([f[0] for f in feet])), int(floor_y))
        axes = (max(1, int(0.16 * h * layout.pose.scale)), max(1, int(0.02 * h * layout.pose.scale)))
        cv2.ellipse(blob, centre, axes, 0, 0, 360, 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), max(0.5, 0.02 * h))
        shade = np.where(person, shade, back * (1 - shadow * blob))
        image = paint(label, style.materials, shade, _noise(int(seed), size))
        self._face(image, layout, proj, pts, label)
        image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), max(0.3, 0.5 * h / 256))
        return to_uint8(image)

    @staticmethod
    def _face(image: np.ndarray, layout: fb.FigureLayout, proj: fb.Projector, pts: dict[str, np.ndarray],
              label: np.ndarray) -> None:
        """Dark eyes and a mouth on the face skin of views that show it (layout-only detail, style-independent)."""
        r = layout.body.head * proj.px
        if proj.c < 0.2 or r < 4:
            return
        head = pts["head"]
        marks = np.zeros(label.shape, np.float32)
        for lr in "rl":
            if proj.depth(pts[f"{lr}_eye"] - head) > 0.1 * layout.body.head:
                x, y = proj(pts[f"{lr}_eye"])
                cv2.ellipse(marks, (int(x), int(y)), (max(1, int(0.16 * r)), max(1, int(0.09 * r))), 0, 0, 360, 1, -1)
        mouth = head + fb.v(0.0, 0.62 * 1.25 * layout.body.head, 0.85 * layout.body.head)
        x, y = proj(mouth)
        cv2.ellipse(marks, (int(x), int(y)), (max(1, int(0.2 * r * max(proj.c, 0.3))), max(1, int(0.06 * r))), 0,
                    0, 360, 0.6, -1)
        marks *= label == fb.SKIN
        image *= 1 - 0.75 * marks[..., None]

    @staticmethod
    def reposed(split: WorldSplit, index: int, variant: int = 1) -> fb.FigureLayout:
        """Item ``index`` of ``split`` in another pose: a pure function of (seed, split, index, ``variant`` ≥ 1)."""
        if variant < 1:
            raise ValueError(f"variant must be ≥ 1 (0 is the item itself), got {variant}")
        salt = int.from_bytes(hashlib.sha256(b"figures-repose").digest()[:4], "little")
        rng = np.random.default_rng([split.seed, SPLITS[split.split], int(index), salt, int(variant)])
        if not isinstance(split.world, FiguresWorld):
            raise TypeError(f"reposing needs a figures split, got {split.world.registry_name}")
        return split.world.repose(split.record(index).layout, rng)

    @classmethod
    def self_pair(cls, split: WorldSplit, index: int, variant: int = 1) -> LabelledItem:
        """DeepFashion's same-person pair with exact ground truth: item ``index`` (the exemplar, ``split.item``)
        reposed. Returns the reposed item: ``image`` = ``render(reposed layout, style of index)`` (the exact answer),
        ``label``, ``keypoints``, ``extra["pose"]`` (the input) and ``extra["exemplar"]`` = ``index``."""
        layout, style, size = cls.reposed(split, index, variant), split.record(index).style, split.size
        world = split.world
        label = world.label_map(layout, size)
        item = LabelledItem(f"{split.name}-{split.split}-{index:06d}-pose{variant}", world.render(layout, style, size,
                                                                                                  label), label,
                            keypoints=world.keypoints(layout, size))
        item.edges = world.edges(layout, size, label, None)
        item.extra.update(world.inputs(layout, size, item))
        item.extra["exemplar"] = index
        return item
