"""The data of CoCosNet's protocols: a split of a world or a real reader, resized and encoded as the method input.

``Encoding`` (one per dataset family, ``ENCODINGS``) turns a ``LabelledItem`` into CoCosNet's conditioning:
- ``one_hot`` (ADE20k, ADE20k-outdoor): one channel per class plus the don't-care channel; on the real ADE20k
  exactly CoCosNet's 151 channels (``datasets.ade20k.cocosnet_one_hot``: 255 shares channel 150), on a world its
  ``LabelSet.one_hot(dont_care=True)`` (classes + 1). Computed from the stored label map when a batch asks for it.
- ``face_edges`` (CelebA-HQ edge): the 15 channels of ``datasets.inputs.face_edges`` (the world's ``inputs()`` or the
  real reader's ``extra["face_edges"]``), area-resized to the protocol size when the item is larger.
- ``pose`` (DeepFashion): the 20 channels of ``datasets.inputs.pose`` from the keypoints, drawn at the item's size
  and resized as the official loader does (``pose_input(..., out_size=)``).

Splits, resizing and the training sets live in the label-map kit (``protocols/labelled.py``): a split holds uint8
images and labels, and the conditioning of the non-one-hot encodings as float32 (paper scale at 256 px: ~4–5 MB an
item; one-hot maps are never stored).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from datasets.inputs.pose import pose_input
from datasets.labelled import LabelledItem
from protocols.labelled import ONE_HOT, Encoding


def _face_edges(item: LabelledItem, size: int) -> np.ndarray:
    edges = torch.from_numpy(np.ascontiguousarray(item.extra["face_edges"], np.float32))
    if edges.shape[-1] != size:
        edges = F.interpolate(edges[None], size=(size, size), mode="area")[0]
    return edges.numpy()


def _pose(item: LabelledItem, size: int) -> np.ndarray:
    if item.keypoints is None:
        raise ValueError(f"{item.name} has no keypoints for the pose input")
    return pose_input(item.keypoints, item.image.shape[:2], out_size=(size, size))


ENCODINGS = {
    "one_hot": ONE_HOT,
    "face_edges": Encoding("face_edges", "15 face-edge channels (datasets/inputs/face_edges.py)", True, _face_edges),
    "pose": Encoding("pose", "20 pose channels (datasets/inputs/pose.py)", True, _pose),
}
