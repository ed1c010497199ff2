"""MSCA's protocol (Zheng et al., ECCV 2020, §4, Table 1): COCO-Stuff outdoor scenes, label map + scene exemplar →
image, under the duplicating, mirroring and retrieving tasks (``protocols/coco_stuff/protocol.py``; README.md)."""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.coco_stuff.protocol import CocoStuffScenes

PROTOCOLS.register("coco_stuff_scenes")(CocoStuffScenes)
