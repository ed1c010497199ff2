"""``faces``: a procedural stand-in for CelebA-HQ / CelebAMask-HQ with exact ground truth (CoCosNet edge/mask → face).

Layout (``FaceLayout``, resolution-free, in units of the image's shorter side from its centre, y down): a face
oval with a tapered jaw, small yaw (features slide sideways, the far eye and ear shrink) and roll (the head rotates
about the face centre; neck and clothes do not), eyes (almond, with a gaze point for the iris), brows, nose, lips
and an optionally open mouth, ears, hair in four styles (short, long, bob, bun) with an optional fringe, neck,
clothes with a round or V neckline, and optional hat, earrings, eyeglasses and necklace. Labels are CelebAMask-HQ's 19
classes (``datasets.celebamask_hq.CELEBAMASK_HQ``); glasses are the frames (``eye_g``), the eyes stay visible
through them.

Style (``Style``): one material per class (skin tone, hair colour with strands, lip colour, sclera, clothes colour and
pattern, background colour pair for a gradient, accessory metals) and ``glob`` = [light azimuth, light elevation,
warmth, iris r, g, b, ambient]. Shading comes from the geometry only (a sphere-like head normal, cylinders for neck
and clothes) lit by the style's light, so ``render(layout_i, style_k)`` is the exact translation of input ``i``
under exemplar ``k``.

``inputs`` gives CoCosNet's 15-channel face-edge input (``datasets.inputs.face_edges``). Its Canny channel must not
depend on the style (or the exact ground truth would not hold): it runs on ``neutral_render`` = the layout in one
fixed set of flat colours (``NEUTRAL``, a typical face), not on the item's photo. It therefore finds the class
boundaries outside the inner face parts (clothes, neck, necklace, hat, background) but none of the texture edges
Canny finds in a real photo's background and clothes.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from datasets.celebamask_hq import CELEBAMASK_HQ
from datasets.inputs.face_edges import face_edge_input
from datasets.labelled import LabelledItem
from datasets.worlds.base import WORLDS, Style, World
from datasets.worlds.face_layout import ID, FaceLayout, coords, draw, feature_x, head_coords, label_face, sample_face
from datasets.worlds.materials import MATERIAL_DIM, hsv_to_rgb, material, paint, to_uint8

HEAD = [ID[n] for n in ("skin", "hair", "l_brow", "r_brow", "l_eye", "r_eye", "l_ear", "r_ear", "nose", "u_lip",
                        "mouth", "l_lip", "hat", "eye_g", "ear_r")]
SPHERE, NECK, BODY = 0, 1, 2  # shading groups


def shading(lay: FaceLayout, label: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """float64 [H,W] Lambertian shade in (0,1]: a sphere-like normal over the head, cylinders for neck and clothes,
    lit from the style's direction (azimuth ``glob[0]``, elevation ``glob[1]``) with ambient ``glob[6]``."""
    X, Y = coords(label.shape)
    x, y = head_coords(lay, X, Y)
    az, el, ambient = glob[0], glob[1], glob[6]
    light = np.array([np.sin(az) * np.cos(el), -np.sin(el), np.cos(az) * np.cos(el)])
    group = np.full(label.shape, BODY)
    group[np.isin(label, HEAD)] = SPHERE
    group[label == ID["neck"]] = NECK
    r = np.where(group == SPHERE, 1.25, 1.0)
    nx = np.where(group == SPHERE, x / (lay.a * r), (X - lay.cx) / np.where(group == NECK, lay.neck_w * 1.6, 0.7))
    ny = np.where(group == SPHERE, (y + 0.1 * lay.b) / (lay.b * r), 0.0)
    nx, ny = np.clip(nx, -0.95, 0.95), np.clip(ny, -0.95, 0.95)
    nz = np.sqrt(np.clip(1 - nx ** 2 - ny ** 2, 0.05, 1))
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    return ambient + (1 - ambient) * lambert


def _hsv(rng: np.random.Generator, h: tuple[float, float], s: tuple[float, float], v: tuple[float, float]
         ) -> np.ndarray:
    return hsv_to_rgb(np.array(draw(rng, *h)), np.array(draw(rng, *s)), np.array(draw(rng, *v)))


HAIR_COLOURS = (((0.0, 1.0), (0.0, 0.2), (0.06, 0.14)), ((0.05, 0.08), (0.4, 0.7), (0.15, 0.3)),
                ((0.06, 0.09), (0.45, 0.7), (0.3, 0.5)), ((0.1, 0.13), (0.35, 0.6), (0.6, 0.85)),
                ((0.02, 0.05), (0.6, 0.85), (0.35, 0.6)), ((0.0, 1.0), (0.0, 0.08), (0.5, 0.8)))
IRIS_COLOURS = (((0.06, 0.09), (0.6, 0.8), (0.2, 0.4)), ((0.55, 0.6), (0.4, 0.7), (0.45, 0.7)),
                ((0.25, 0.35), (0.4, 0.6), (0.35, 0.55)), ((0.0, 1.0), (0.0, 0.1), (0.4, 0.6)))
METALS = ((0.85, 0.68, 0.3), (0.78, 0.78, 0.8), (0.1, 0.1, 0.1), (0.45, 0.25, 0.12))


def sample_face_style(rng: np.random.Generator) -> Style:
    """Materials for all 19 classes and ``glob`` (see the module docstring)."""
    skin = _hsv(rng, (0.03, 0.08), (0.25, 0.6), (0.35, 0.95))
    hair = _hsv(rng, *HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))])
    lips = _hsv(rng, (0.95, 1.02), (0.35, 0.7), (0.45, 0.8)) * (0.6 + 0.4 * skin.max())
    cloth = _hsv(rng, (0.0, 1.0), (0.0, 0.9), (0.15, 0.95))
    pattern = str(rng.choice(["solid", "solid", "stripes", "dots", "checks"]))
    m = np.zeros((len(CELEBAMASK_HQ), MATERIAL_DIM))
    bg = _hsv(rng, (0.0, 1.0), (0.0, 0.5), (0.2, 0.95))
    m[ID["background"]] = material(bg, _hsv(rng, (0.0, 1.0), (0.0, 0.5), (0.2, 0.95)), angle=draw(rng, 0, 2 * np.pi),
                                   shading=0.0)
    for name, colour in (("skin", skin), ("nose", skin * 0.98), ("l_ear", skin * 0.95), ("r_ear", skin * 0.95),
                         ("neck", skin * 0.88)):
        m[ID[name]] = material(colour, shading=0.9)
    m[ID["hair"]] = material(hair, hair * 1.5 + 0.05, "stripes", frequency=draw(rng, 50, 80),
                             angle=draw(rng, -0.15, 0.15), strength=0.25, shading=0.8)  # strands
    for name in ("l_brow", "r_brow"):
        m[ID[name]] = material(hair * 0.75, shading=0.6)
    for name in ("l_eye", "r_eye"):
        m[ID[name]] = material(_hsv(rng, (0.0, 1.0), (0.0, 0.08), (0.8, 0.95)), shading=0.5)
    m[ID["u_lip"]] = material(lips * 0.9, shading=0.8)
    m[ID["l_lip"]] = material(lips, shading=0.8)
    m[ID["mouth"]] = material(np.array([0.3, 0.08, 0.08]) * draw(rng, 0.6, 1.0), shading=0.3)
    m[ID["cloth"]] = material(cloth, _hsv(rng, (0.0, 1.0), (0.0, 0.9), (0.15, 0.95)), pattern,
                              frequency=draw(rng, 10, 30), angle=draw(rng, 0, np.pi), strength=0.9, shading=0.8)
    m[ID["hat"]] = material(_hsv(rng, (0.0, 1.0), (0.1, 0.8), (0.1, 0.9)), shading=0.8)
    for name in ("eye_g", "ear_r", "neck_l"):
        m[ID[name]] = material(np.array(METALS[int(rng.integers(len(METALS)))]), shading=0.5)
    iris = _hsv(rng, *IRIS_COLOURS[int(rng.integers(len(IRIS_COLOURS)))])
    glob = np.array([draw(rng, -0.8, 0.8), draw(rng, 0.0, 0.7), draw(rng, -1, 1), *iris, draw(rng, 0.3, 0.55)])
    return Style(m, glob)


# The fixed flat colours of the Canny rendering (a typical face; neighbouring classes differ in grey level so that
# Canny finds their boundaries): only the layout varies it.
_NEUTRAL = {"background": (205, 205, 200), "skin": (215, 165, 140), "hair": (70, 50, 35), "l_brow": (60, 45, 30),
            "r_brow": (60, 45, 30), "l_eye": (235, 235, 230), "r_eye": (235, 235, 230), "l_ear": (205, 155, 130),
            "r_ear": (205, 155, 130), "nose": (210, 160, 135), "u_lip": (170, 80, 80), "mouth": (60, 20, 20),
            "l_lip": (180, 90, 90), "neck": (190, 140, 115), "cloth": (60, 70, 110), "hat": (200, 120, 60),
            "eye_g": (30, 30, 30), "ear_r": (240, 200, 70), "neck_l": (245, 215, 90)}


def _neutral() -> np.ndarray:
    return np.array([_NEUTRAL[name] for name in CELEBAMASK_HQ.classes], np.uint8)


NEUTRAL = _neutral()


def neutral_render(label: np.ndarray) -> np.ndarray:
    """uint8 [H,W,3]: the layout in ``NEUTRAL`` flat colours, what ``inputs`` runs Canny on (style-independent)."""
    return NEUTRAL[label]


def render_face(lay: FaceLayout, style: Style, size: tuple[int, int], label: np.ndarray) -> np.ndarray:
    """uint8 [H,W,3]: ``lay`` (label map ``label``) painted in ``style`` (see the module docstring): materials with
    the geometry shading, a background gradient, irises, the light's warmth, a slight blur (σ = size / 512)."""
    m, g = style.materials, style.glob
    img = paint(label, m, shading(lay, label, g))
    X, Y = coords(size)
    bgm = m[ID["background"]]
    bg = np.nonzero(label == ID["background"])
    t = np.clip(0.5 + 0.9 * (X[bg] * np.cos(bgm[8]) + Y[bg] * np.sin(bgm[8])), 0, 1)[:, None]
    img[bg] = bgm[0:3] * (1 - t) + bgm[3:6] * t
    for sgn, eye in ((1, "l_eye"), (-1, "r_eye")):
        where = np.nonzero(label == ID[eye])
        if not len(where[0]):
            continue
        x, y = head_coords(lay, X[where], Y[where])
        ex = feature_x(lay, sgn * lay.eye_x) + lay.gaze_x * lay.eye_w * 0.4
        r = (np.sqrt((x - ex) ** 2 + (y - lay.eye_y - lay.gaze_y * lay.eye_h) ** 2) / (lay.eye_h * 1.1))[:, None]
        colour = np.where(r <= 0.4, 0.04, g[3:6][None] * (0.55 + 0.45 * r))
        img[where] = np.where(r <= 1, colour, img[where])
    img *= np.array([1 + 0.08 * g[2], 1.0, 1 - 0.08 * g[2]])
    out = to_uint8(np.clip(img, 0, 1))
    sigma = min(size) / 512
    return cv2.GaussianBlur(out, (0, 0), sigma) if sigma >= 0.25 else out


@WORLDS.register("faces")
class FacesWorld(World):
    """CelebAMask-HQ-labelled faces (module docstring); ``inputs``: ``{"face_edges": float32 [15,H,W]}``."""

    version = "1"
    labels = CELEBAMASK_HQ
    stands_in_for = "CelebA-HQ with CelebAMask-HQ masks (CoCosNet mask/edge → face)"
    # CelebAMask-HQ has 30,000 images; CoCosNet's random split is on Drive, unpublished: this 28k/2k split is ours.
    default_counts: ClassVar[dict[str, int]] = {"train": 28000, "val": 2000}

    def sample_layout(self, rng: np.random.Generator) -> FaceLayout:
        return sample_face(rng)

    def sample_style(self, rng: np.random.Generator) -> Style:
        return sample_face_style(rng)

    def label_map(self, layout: FaceLayout, size: tuple[int, int]) -> np.ndarray:
        return label_face(layout, size)

    def render(self, layout: FaceLayout, style: Style, size: tuple[int, int], label: np.ndarray | None = None
               ) -> np.ndarray:
        return render_face(layout, style, size, self.label_map(layout, size) if label is None else label)

    def inputs(self, layout: FaceLayout, size: tuple[int, int], item: LabelledItem) -> dict[str, np.ndarray]:
        """CoCosNet's face edges of the layout: parts from ``item.label``, Canny on ``neutral_render``."""
        return {"face_edges": face_edge_input(item.label, neutral_render(item.label), CELEBAMASK_HQ)}
