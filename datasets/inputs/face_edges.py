"""CoCosNet's 15-channel CelebA-HQ edge input (edge-to-face), built from face-part masks and the photo.

Source: microsoft/CoCosNet ``data/celebahqedge_dataset.py`` (``CelebAHQEdgeDataset.get_label_tensor``), CVPR 2020
§4 "CelebA-HQ ... edge maps". Channels, float32 in [0,1]:

==== ===================================================================================================
0    part boundaries of the 13 ``INNER_PARTS`` plus Canny edges of the photo where no inner part lies (hair
     counts as outside: its Canny edges are kept); binary {0,1}
1-13 one map per ``INNER_PARTS`` entry: the L1 (3×3 mask, ``cv2.DIST_L1``) distance to that part's boundary,
     divided by 3, clipped to 255, truncated to an integer and divided by 255 (the official uint8 → ``ToTensor``
     round trip), so 0 on the boundary, 1 at ≥ 765 px away or when the part is absent
14   part boundaries only; binary {0,1}
==== ===================================================================================================

A *part boundary* is the official ``get_edges``: both pixels of every 4-neighbour pair whose mask values differ
(2 px thick). The official code works per part mask file (CelebAMask-HQ's masks overlap, e.g. hair over skin), so the
real reader passes the raw masks to ``face_edges_from_parts``; worlds and merged label maps go through
``face_edge_input``, whose parts are ``label == id`` (no overlaps).

Canny: the official code calls ``skimage.feature.canny`` (Gaussian σ = 1, hysteresis thresholds 0.1 / 0.2 of the
[0,1] grey range, L2 gradient of the unnormalised Sobel). scikit-image is not a runtime dependency here, so
``canny`` reproduces that with OpenCV: a float Gaussian blur (σ = 1), int16 Sobel derivatives at 16× scale, and
``cv2.Canny`` on them with the thresholds 25.5 / 51 grey levels (×16), ``L2gradient``. The tests measure the agreement
with scikit-image on the real photos.
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from datasets.labelled import LabelSet

# The official order of the 13 distance channels (``inner_parts`` in celebahqedge_dataset.py).
INNER_PARTS = ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "l_ear", "r_ear", "nose", "u_lip", "mouth", "l_lip",
               "eye_g", "hair")
CHANNELS = 2 + len(INNER_PARTS)
DIST_DIVISOR = 3.0  # official: im_dist / 3, then clip to [0, 255] and uint8
_SCALE = 16.0  # derivative fixed-point scale for cv2.Canny (max |Sobel| = 4·255·16 < 2^15)


def part_boundary(mask: np.ndarray) -> np.ndarray:
    """bool [H,W]: both pixels of every horizontal / vertical neighbour pair where ``mask`` changes (official
    ``get_edges``)."""
    edge = np.zeros(mask.shape, bool)
    dx = mask[:, 1:] != mask[:, :-1]
    dy = mask[1:, :] != mask[:-1, :]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    return edge


def distance_map(edge: np.ndarray) -> np.ndarray:
    """float32 [H,W] in [0,1]: the official per-part channel from a bool boundary map (see the module table)."""
    dist = cv2.distanceTransform(np.where(edge, 0, 255).astype(np.uint8), cv2.DIST_L1, 3)
    return np.floor(np.clip(dist / DIST_DIVISOR, 0, 255)).astype(np.float32) / 255.0


def grey(image: np.ndarray) -> np.ndarray:
    """uint8 [H,W]: PIL's ``convert('L')`` luma (ITU-R 601-2, 299/587/114 per mille, rounded) of uint8 RGB."""
    rgb = image.astype(np.uint32)
    return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def canny(grey_image: np.ndarray, sigma: float = 1.0, low: float = 0.1, high: float = 0.2) -> np.ndarray:
    """bool [H,W]: Canny edges of a uint8 grey image with scikit-image's defaults (σ, thresholds as fractions of the
    grey range), computed with OpenCV (see the module docstring)."""
    smooth = cv2.GaussianBlur(grey_image.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    dx = cv2.Sobel(smooth * _SCALE, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
    dy = cv2.Sobel(smooth * _SCALE, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    dx16 = np.round(dx).astype(np.int16)
    dy16 = np.round(dy).astype(np.int16)
    edges = cv2.Canny(dx16, dy16, low * 255 * _SCALE, high * 255 * _SCALE, L2gradient=True)
    edges[[0, -1], :] = 0  # scikit-image never marks the outermost pixels
    edges[:, [0, -1]] = 0
    return edges > 0


def face_edges_from_parts(parts: Mapping[str, np.ndarray], image: np.ndarray | None) -> np.ndarray:
    """float32 [15,H,W] in [0,1]: CoCosNet's face-edge input (module table).

    parts: part name → bool [H,W] mask; absent names count as empty parts (all-ones distance channel), names outside
    ``INNER_PARTS`` are ignored. image: uint8 [H,W,3] RGB whose Canny edges outside the inner parts go into channel 0,
    or ``None`` for none (channel 0 = channel 14). Raises ``ValueError`` on a size mismatch.
    """
    shape = image.shape[:2] if image is not None else next(iter(parts.values())).shape
    out = np.empty((CHANNELS, *shape), np.float32)
    edges = np.zeros(shape, bool)
    outside = np.ones(shape, bool)  # where Canny edges of the photo are kept
    for c, name in enumerate(INNER_PARTS, start=1):
        mask = parts.get(name)
        if mask is None:
            out[c] = 1.0
            continue
        if mask.shape != shape:
            raise ValueError(f"part {name!r} is {mask.shape}, the image {shape}")
        mask = mask.astype(bool)
        if name == "hair":  # the official loop visits hair last and re-opens it for Canny
            outside |= mask
        else:
            outside &= ~mask
        edge = part_boundary(mask)
        edges |= edge
        out[c] = distance_map(edge)
    out[-1] = edges
    out[0] = edges | (canny(grey(image)) & outside) if image is not None else edges
    return out


def face_edge_input(label: np.ndarray, image: np.ndarray | None, labels: LabelSet) -> np.ndarray:
    """float32 [15,H,W]: ``face_edges_from_parts`` with the parts of a merged label map (uint8 [H,W] ids of
    ``labels``, which must name the ``INNER_PARTS``, e.g. CelebAMask-HQ's set) and ``image`` uint8 [H,W,3] or
    ``None``."""
    present = set(np.unique(label).tolist())
    parts = {name: label == labels.index(name) for name in INNER_PARTS if labels.index(name) in present}
    return face_edges_from_parts(parts, image)
