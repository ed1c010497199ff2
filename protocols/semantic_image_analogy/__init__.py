"""Semantic Image Analogy's evaluation (§4.2, Table 1): source image + its layout + a target layout → the source
re-laid-out; pixel accuracy and mIoU of a segmenter against the target layout (``protocol.py``; README.md)."""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.semantic_image_analogy.protocol import SemanticImageAnalogy

PROTOCOLS.register("semantic_image_analogy")(SemanticImageAnalogy)
